#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::finish::*;
use super::*;
use crate::posture::exceptions::Exceptions;
use crate::posture::report::{Control, Finding, PostureReport};

const NOW: &str = "2026-11-30T03:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn namespace(name: &str, labels: Value) -> NamespaceInput {
    from(json!({"metadata": {"name": name, "labels": labels}}))
}

/// A pod: `owner` is its controller, `containers` (name, image, imageID) its regular
/// containers; `spec` is merged into the spec.
fn pod(
    ns: &str,
    name: &str,
    owner: Option<(&str, &str)>,
    phase: &str,
    labels: Value,
    containers: &[(&str, &str, &str)],
    spec: Value,
) -> PodInput {
    let owners: Vec<Value> = owner
        .iter()
        .map(|(k, n)| json!({"apiVersion": "apps/v1", "kind": k, "name": n, "controller": true}))
        .collect();
    let mut s = json!({
        "containers": containers.iter().map(|(n, image, _)| json!({"name": n, "image": image})).collect::<Vec<_>>(),
    });
    for (k, v) in spec.as_object().unwrap() {
        s[k] = v.clone();
    }
    from(json!({
        "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owners},
        "spec": s,
        "status": {
            "phase": phase,
            "containerStatuses": containers.iter().map(|(n, image, id)| json!({"name": n, "image": image, "imageID": id})).collect::<Vec<_>>(),
        }
    }))
}

#[allow(clippy::too_many_arguments)]
fn report(
    ns: &str,
    kind: &str,
    name: &str,
    container: &str,
    repo: &str,
    digest: &str,
    updated: &str,
    critical: u64,
) -> VulnerabilityReportInput {
    from(json!({
        "metadata": {
            "name": format!("{}-{name}-{container}", kind.to_lowercase()),
            "namespace": ns,
            "labels": {
                "trivy-operator.resource.kind": kind,
                "trivy-operator.resource.name": name,
                "trivy-operator.resource.namespace": ns,
                "trivy-operator.container.name": container,
            }
        },
        "report": {
            "artifact": {"repository": repo, "tag": "1.0", "digest": digest},
            "registry": {"server": "registry.example.com"},
            "summary": {"criticalCount": critical, "highCount": 5, "mediumCount": 0, "lowCount": 0, "unknownCount": 0},
            "updateTimestamp": updated,
        }
    }))
}

fn restricted_security() -> Value {
    json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
}

/// The small crafted cluster of the coverage test (expectations computed by hand there).
fn small_cluster() -> (ClusterObjects, Vec<PodInput>) {
    let mut o = ClusterObjects {
        namespaces: vec![
            namespace("kube-system", json!({})),
            namespace(
                "shop",
                json!({"pod-security.kubernetes.io/enforce": "restricted"}),
            ),
            namespace(
                "team-a",
                json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/audit": "restricted"}),
            ),
            namespace(
                "team-b",
                json!({"pod-security.kubernetes.io/warn": "baseline"}),
            ),
            namespace("team-c", json!({})),
        ],
        ..ClusterObjects::default()
    };
    o.cluster_roles = vec![from(json!({
        "metadata": {"name": "secret-reader"},
        "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]
    }))];
    o.role_bindings = vec![from(json!({
        "metadata": {"name": "read", "namespace": "team-a"},
        "roleRef": {"kind": "ClusterRole", "name": "secret-reader"},
        "subjects": [{"kind": "User", "name": "alice"}]
    }))];
    o.network_policies = vec![
        from(
            json!({"metadata": {"name": "deny", "namespace": "shop"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        ),
        from(
            json!({"metadata": {"name": "web", "namespace": "team-a"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}}),
        ),
    ];
    o.calico_policies = vec![from(json!({
        "metadata": {"name": "deny", "namespace": "team-c"},
        "spec": {"selector": "all()", "types": ["Ingress"]}
    }))];
    o.secrets = vec![
        from(
            json!({"metadata": {"name": "creds", "namespace": "team-a", "ownerReferences": [{"kind": "ExternalSecret", "name": "creds", "controller": true}]}}),
        ),
        from(json!({"metadata": {"name": "db-pass", "namespace": "team-a"}})),
    ];
    o.replica_set_owners = vec![from(json!({
        "metadata": {"name": "web-abc", "namespace": "team-a", "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]}
    }))];
    o.vulnerability_reports = vec![
        report(
            "team-a",
            "ReplicaSet",
            "web-abc",
            "web",
            "team/web",
            "sha256:web1",
            "2026-11-30T01:00:00Z",
            3,
        ),
        report(
            "team-a",
            "StatefulSet",
            "worker",
            "app",
            "team/worker",
            "sha256:old",
            "2026-11-30T01:00:00Z",
            0,
        ),
        report(
            "shop",
            "Pod",
            "api",
            "api",
            "shop/api",
            "sha256:api1",
            "2026-11-28T01:00:00Z",
            0,
        ),
    ];
    o.constraints = vec![from(json!({
        "kind": "K8sRequiredLabels",
        "metadata": {"name": "owner"},
        "status": {"totalViolations": 4, "violations": [{"kind": "Namespace", "name": "team-b", "message": "no owner"}]}
    }))];

    let web_env = json!({"containers": [{"name": "web", "image": "registry.example.com/team/web:1.0",
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-pass", "key": "p"}}}]}]});
    let web = |name: &str, phase: &str| {
        pod(
            "team-a",
            name,
            Some(("ReplicaSet", "web-abc")),
            phase,
            json!({"app": "web"}),
            &[(
                "web",
                "registry.example.com/team/web:1.0",
                "registry.example.com/team/web@sha256:web1",
            )],
            web_env.clone(),
        )
    };
    let worker = |name: &str| {
        pod(
            "team-a",
            name,
            Some(("StatefulSet", "worker")),
            "Running",
            json!({"app": "worker"}),
            &[
                (
                    "app",
                    "registry.example.com/team/worker:1.0",
                    "registry.example.com/team/worker@sha256:new",
                ),
                (
                    "sidecar",
                    "registry.example.com/team/proxy:1.0",
                    "registry.example.com/team/proxy@sha256:p",
                ),
            ],
            json!({
                "containers": [
                    {"name": "app", "image": "registry.example.com/team/worker:1.0", "securityContext": {"privileged": true}},
                    {"name": "sidecar", "image": "registry.example.com/team/proxy:1.0"}
                ],
                "volumes": [{"name": "creds", "secret": {"secretName": "creds"}}]
            }),
        )
    };
    let api = pod(
        "shop",
        "api",
        None,
        "Running",
        json!({"app": "api"}),
        &[(
            "api",
            "registry.example.com/shop/api:1.0",
            "registry.example.com/shop/api@sha256:api1",
        )],
        json!({
            "securityContext": restricted_security(),
            "containers": [{"name": "api", "image": "registry.example.com/shop/api:1.0",
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "s", "csi": {"driver": "secrets-store.csi.k8s.io", "volumeAttributes": {"secretProviderClass": "api"}}}]
        }),
    );
    let done = pod(
        "team-a",
        "migrate-x",
        Some(("Job", "migrate")),
        "Succeeded",
        json!({}),
        &[("m", "registry.example.com/team/m:1", "")],
        json!({"hostNetwork": true}),
    );
    let pods = vec![
        web("web-abc-1", "Running"),
        worker("worker-0"),
        web("web-abc-2", "Running"),
        api,
        done,
        web("web-abc-3", "Pending"),
        worker("worker-1"),
    ];
    (o, pods)
}

fn evaluate(objects: ClusterObjects, pods: &[PodInput], exceptions: Exceptions) -> PostureReport {
    let mut settings = EvaluationSettings::new("c1", 33, now());
    settings.exceptions = exceptions;
    let mut e = PostureEvaluator::new(objects, settings);
    for p in pods {
        e.observe_pod(p);
    }
    e.finish(7)
}

/// (eligible, covered, excepted) of a control.
fn figures(r: &PostureReport, c: Control) -> (u64, u64, u64) {
    let c = r.control(c).unwrap();
    (c.eligible, c.covered, c.excepted)
}

fn detail(r: &PostureReport, c: Control, key: &str) -> u64 {
    *r.control(c)
        .unwrap()
        .details
        .get(key)
        .unwrap_or_else(|| panic!("{c} has no detail {key}"))
}

fn find<'a>(r: &'a PostureReport, rule: &str, object: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.rule == rule && f.object.to_string() == object)
        .unwrap_or_else(|| panic!("no {rule} on {object}: {:#?}", r.findings))
}

#[test]
fn coverage_arithmetic_on_a_small_cluster() {
    let (o, pods) = small_cluster();
    let r = evaluate(o, &pods, Exceptions::none());
    assert_eq!(r.duration_ms, 7);
    assert_eq!(r.kubernetes_minor, 33);
    let order: Vec<Control> = r.controls.iter().map(|c| c.control).collect();
    assert_eq!(order, Control::ALL);

    // RBAC: 5 namespaces, team-a's RoleBinding grants secrets read.
    assert_eq!(figures(&r, Control::Rbac), (5, 4, 0));
    let rb = find(&r, "rbac.secrets-read", "RoleBinding/team-a/read");
    assert_eq!(rb.field_path, "subjects[0]");
    assert_eq!(detail(&r, Control::Rbac, "gatekeeperConstraints"), 1);
    assert_eq!(detail(&r, Control::Rbac, "gatekeeperViolations"), 4);
    find(&r, "gatekeeper.audit-violation", "Namespace/team-b");
    let rbac = r.control(Control::Rbac).unwrap();
    assert_eq!(
        rbac.findings, 2,
        "one binding finding, one Gatekeeper violation"
    );

    // Pod Security: shop (restricted) and team-a (baseline) enforce; kube-system, team-b
    // (warn only) and team-c do not.
    assert_eq!(figures(&r, Control::PodSecurity), (5, 2, 0));
    assert_eq!(
        detail(&r, Control::PodSecurity, "namespacesEnforceRestricted"),
        1
    );
    assert_eq!(
        detail(&r, Control::PodSecurity, "namespacesEnforceBaseline"),
        1
    );
    assert_eq!(
        detail(&r, Control::PodSecurity, "namespacesEnforcePrivileged"),
        3
    );
    assert_eq!(
        detail(&r, Control::PodSecurity, "namespacesAuditOrWarnOnly"),
        1
    );
    // api restricted; the 3 web pods (one Pending) baseline; 2 privileged workers; the
    // Succeeded Job pod is not counted.
    assert_eq!(detail(&r, Control::PodSecurity, "podsRestricted"), 1);
    assert_eq!(detail(&r, Control::PodSecurity, "podsBaseline"), 3);
    assert_eq!(detail(&r, Control::PodSecurity, "podsPrivileged"), 2);
    assert_eq!(detail(&r, Control::PodSecurity, "podsViolatingEnforce"), 2);
    let not_enforced = find(&r, RULE_PSS_NOT_ENFORCED, "Namespace/team-b");
    assert!(
        not_enforced.message.contains("audit/warn-only"),
        "{}",
        not_enforced.message
    );
    assert!(
        !find(&r, RULE_PSS_NOT_ENFORCED, "Namespace/team-c")
            .message
            .contains("audit/warn-only")
    );
    let privileged = find(&r, "pss.privileged", "StatefulSet/team-a/worker");
    assert_eq!(privileged.count, 2);
    assert_eq!(privileged.severity, Severity::High);
    assert_eq!(
        privileged.field_path,
        "spec.containers[0].securityContext.privileged"
    );
    let run_as = find(&r, "pss.runAsNonRoot", "Deployment/team-a/web");
    assert_eq!((run_as.count, run_as.severity), (3, Severity::Low));

    // Network policy: kube-system exempt; shop (default deny) and team-c (Calico all())
    // covered; team-a has an unselected worker; team-b has nothing.
    assert_eq!(figures(&r, Control::NetworkPolicy), (4, 2, 0));
    assert_eq!(
        detail(&r, Control::NetworkPolicy, "namespacesWithAnyPolicy"),
        3
    );
    assert_eq!(
        detail(&r, Control::NetworkPolicy, "namespacesDefaultDeny"),
        2
    );
    find(&r, RULE_NAMESPACE_UNCOVERED, "Namespace/team-a");
    find(&r, RULE_NAMESPACE_UNCOVERED, "Namespace/team-b");
    let unselected = find(&r, RULE_WORKLOAD_UNSELECTED, "StatefulSet/team-a/worker");
    assert_eq!(unselected.field_path, "spec.template.metadata.labels");
    assert!(
        !r.findings
            .iter()
            .any(|f| f.rule == RULE_WORKLOAD_UNSELECTED && f.object.name == "web")
    );

    // Secrets: web (env, plain), worker (ExternalSecret mount), api (CSI).
    assert_eq!(figures(&r, Control::Secrets), (3, 2, 0));
    assert_eq!(detail(&r, Control::Secrets, "workloadsWithSecretEnv"), 1);
    assert_eq!(detail(&r, Control::Secrets, "secretsExternallyManaged"), 1);
    assert_eq!(detail(&r, Control::Secrets, "secretsUnmanaged"), 1);
    let env = find(&r, "secrets.secret-in-env", "Deployment/team-a/web");
    assert_eq!(env.count, 3);
    assert_eq!(
        env.field_path,
        "spec.containers[0].env[0].valueFrom.secretKeyRef"
    );

    // Images: running containers web 2 (fresh), worker 2x2 (app mismatched, sidecar
    // missing), api 1 (stale): 7, of which 2 fresh.
    assert_eq!(figures(&r, Control::ImageScanning), (7, 2, 0));
    assert_eq!(
        detail(&r, Control::ImageScanning, "criticalVulnerabilities"),
        3,
        "one report, counted once"
    );
    assert_eq!(detail(&r, Control::ImageScanning, "highVulnerabilities"), 5);
    assert_eq!(detail(&r, Control::ImageScanning, "imagesScanned"), 1);
    assert_eq!(
        find(&r, RULE_IMAGE_MISMATCH, "StatefulSet/team-a/worker").count,
        2
    );
    let missing = find(&r, RULE_NOT_SCANNED, "StatefulSet/team-a/worker");
    assert_eq!(
        (missing.count, missing.field_path.as_str()),
        (2, "spec.containers[1].image")
    );
    let stale = find(&r, RULE_STALE_REPORT, "Pod/shop/api");
    assert_eq!(stale.count, 1);
    assert_eq!(
        stale.message,
        "container api (registry.example.com/shop/api:1.0): report pod-api-api is 2d2h old, past the 24h TTL"
    );
    let mismatch = find(&r, RULE_IMAGE_MISMATCH, "StatefulSet/team-a/worker");
    assert!(
        mismatch
            .message
            .contains("the report scanned registry.example.com/team/worker:1.0@sha256:old"),
        "{}",
        mismatch.message
    );
    let critical = find(&r, RULE_CRITICAL, "Deployment/team-a/web");
    assert_eq!((critical.count, critical.severity), (2, Severity::Critical));

    // Rule counts are complete and agree with the findings.
    let total: u64 = r.rules.iter().map(|c| c.findings).sum();
    assert_eq!(total as usize, r.findings.len());
    let per_control: u64 = r.controls.iter().map(|c| c.findings).sum();
    assert_eq!(per_control, total);
    assert!(r.findings.iter().all(|f| f.excepted.is_none()));
}

#[test]
fn exceptions_turn_uncovered_into_excepted_without_hiding_findings() {
    let (o, pods) = small_cluster();
    let ex = Exceptions::parse(
        "apiVersion: posture.toolkit.io/v1alpha1
kind: PostureExceptions
exceptions:
  - name: ci-reads-secrets
    reason: the CI reads its own secrets
    control: rbac
    rules: [rbac.secrets-read]
    namespaces: [team-a]
  - name: team-b-later
    reason: team-b moves to Cilium next quarter
    control: network-policy
    namespaces: [team-b]
  - name: worker-scan
    reason: scanned by the vendor
    control: image-scanning
    objects: [StatefulSet/worker]
  - name: old
    reason: expired one
    control: secrets
    expires: 2026-01-01T00:00:00Z
",
    )
    .unwrap();
    let r = evaluate(o, &pods, ex);
    assert_eq!(figures(&r, Control::Rbac), (5, 4, 1));
    assert_eq!(
        figures(&r, Control::NetworkPolicy),
        (4, 2, 1),
        "team-a is not excepted"
    );
    assert_eq!(figures(&r, Control::ImageScanning), (7, 2, 4));
    assert_eq!(
        figures(&r, Control::Secrets),
        (3, 2, 0),
        "the expired exception applies to nothing"
    );
    let rb = find(&r, "rbac.secrets-read", "RoleBinding/team-a/read");
    assert_eq!(rb.excepted.as_deref(), Some("the CI reads its own secrets"));
    assert_eq!(r.control(Control::Rbac).unwrap().excepted_findings, 1);
    assert!(
        find(&r, RULE_NAMESPACE_UNCOVERED, "Namespace/team-b")
            .excepted
            .is_some()
    );
    assert!(
        find(&r, RULE_NAMESPACE_UNCOVERED, "Namespace/team-a")
            .excepted
            .is_none()
    );
    let matched: Vec<(&str, u64)> = r
        .exceptions
        .iter()
        .map(|e| (e.name.as_str(), e.matched))
        .collect();
    assert_eq!(
        matched,
        [
            ("ci-reads-secrets", 1),
            ("team-b-later", 1),
            ("worker-scan", 2),
            ("old", 0)
        ]
    );
    let expired: Vec<(&str, bool)> = r
        .exceptions
        .iter()
        .map(|e| (e.name.as_str(), e.expired))
        .collect();
    assert_eq!(
        expired,
        [
            ("ci-reads-secrets", false),
            ("team-b-later", false),
            ("worker-scan", false),
            ("old", true)
        ]
    );
    assert_eq!(
        r.exceptions[3].expires,
        Some("2026-01-01T00:00:00Z".parse().unwrap())
    );
    assert_eq!(
        r.exceptions[3].reason, "expired one",
        "the reason as written"
    );
    let rule = r
        .rules
        .iter()
        .find(|c| c.rule == RULE_IMAGE_MISMATCH)
        .unwrap();
    assert_eq!((rule.findings, rule.excepted), (1, 1));
}

#[test]
fn cluster_role_binding_findings_count_against_every_namespace() {
    let (mut o, pods) = small_cluster();
    o.cluster_roles.push(from(json!({
        "metadata": {"name": "exec"},
        "rules": [{"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}]
    })));
    o.cluster_role_bindings = vec![from(json!({
        "metadata": {"name": "oncall-exec"},
        "roleRef": {"kind": "ClusterRole", "name": "exec"},
        "subjects": [{"kind": "Group", "name": "oncall"}]
    }))];
    let r = evaluate(o.clone(), &pods, Exceptions::none());
    assert_eq!(figures(&r, Control::Rbac), (5, 0, 0));
    // Excepting the cluster-wide finding leaves team-a's own finding open.
    let ex = Exceptions::parse(
        "apiVersion: posture.toolkit.io/v1alpha1
kind: PostureExceptions
exceptions:
  - name: oncall
    reason: break-glass group
    control: rbac
    objects: [ClusterRoleBinding/oncall-exec]
",
    )
    .unwrap();
    let r = evaluate(o, &pods, ex);
    assert_eq!(figures(&r, Control::Rbac), (5, 0, 4));
}

/// The same cluster evaluated with the controller cache and with every pod checked in full
/// gives the same report.
#[test]
fn the_cache_gives_the_same_result_as_evaluating_every_pod() {
    let (o, pods) = small_cluster();
    let run = |no_cache: bool| {
        let mut e = PostureEvaluator::new(o.clone(), EvaluationSettings::new("c1", 33, now()));
        e.no_cache = no_cache;
        for p in &pods {
            e.observe_pod(p);
        }
        let entries = e.entries.len();
        (entries, e.finish(0))
    };
    let (cached_entries, cached) = run(false);
    let (full_entries, full) = run(true);
    assert_eq!(
        (cached_entries, full_entries),
        (3, 6),
        "3 controllers, 6 pods not Succeeded"
    );
    assert_eq!(cached, full);
}

#[test]
fn findings_are_bounded_on_a_big_cluster() {
    // 2,000 Deployments of 10 pods in 100 namespaces, none compliant anywhere.
    let objects = ClusterObjects {
        namespaces: (0..100).map(|i| namespace(&format!("ns-{i}"), json!({}))).collect(),
        replica_set_owners: (0..2000)
            .map(|w| {
                from(json!({"metadata": {"name": format!("app-{w}-rs"), "namespace": format!("ns-{}", w % 100),
                    "ownerReferences": [{"kind": "Deployment", "name": format!("app-{w}"), "controller": true}]}}))
            })
            .collect(),
        ..ClusterObjects::default()
    };
    let mut settings = EvaluationSettings::new("big", 33, now());
    settings.limits = PostureLimits {
        findings_per_control: 50,
    };
    let mut e = PostureEvaluator::new(objects, settings);
    for w in 0..2000 {
        let p = pod(
            &format!("ns-{}", w % 100),
            &format!("app-{w}-rs-0"),
            Some(("ReplicaSet", &format!("app-{w}-rs"))),
            "Running",
            json!({"app": format!("app-{w}")}),
            &[("c", "nginx:1", "docker.io/library/nginx@sha256:x")],
            json!({"hostNetwork": true}),
        );
        for i in 0..10 {
            let mut p = p.clone();
            p.metadata.name = format!("app-{w}-rs-{i}");
            e.observe_pod(&p);
        }
    }
    assert_eq!(e.entries.len(), 2000, "one entry per ReplicaSet");
    let r = e.finish(0);
    for c in Control::ALL {
        assert!(r.findings_for(c).count() <= 50, "{c}");
    }
    let img = r.control(Control::ImageScanning).unwrap();
    assert_eq!((img.eligible, img.covered, img.findings), (20_000, 0, 2000));
    let pss = r.control(Control::PodSecurity).unwrap();
    assert_eq!(detail(&r, Control::PodSecurity, "podsPrivileged"), 20_000);
    // 100 namespaces not enforced + 2000 workloads x hostNetwork.
    assert_eq!(pss.findings, 2100);
    let np = r.control(Control::NetworkPolicy).unwrap();
    assert_eq!((np.eligible, np.covered, np.findings), (100, 0, 2100));
    let host = r
        .rules
        .iter()
        .find(|c| c.rule == "pss.hostNamespaces")
        .unwrap();
    assert_eq!(host.findings, 2000);
    // The kept findings are the most severe, the most pods first.
    let kept: Vec<&Finding> = r.findings_for(Control::PodSecurity).collect();
    assert!(kept.iter().all(|f| f.severity == Severity::High));
}

/// A namespace pinned to an older Pod Security version than the cluster's is judged at that
/// version: a `hostUsers: false` pod that leaves `runAsNonRoot` unset passes restricted from
/// v1.35 but not at v1.34.
#[test]
fn a_pinned_enforce_version_is_the_one_checked() {
    let pinned = namespace(
        "pinned",
        json!({"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.34"}),
    );
    let latest = namespace(
        "latest",
        json!({"pod-security.kubernetes.io/enforce": "restricted"}),
    );
    let spec = json!({
        "hostUsers": false,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "image": "app:1", "securityContext": {
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
    });
    let objects = ClusterObjects {
        namespaces: vec![pinned, latest],
        ..ClusterObjects::default()
    };
    let mut evaluator = PostureEvaluator::new(objects, EvaluationSettings::new("c", 35, now()));
    for ns in ["pinned", "latest"] {
        evaluator.observe_pod(&pod(
            ns,
            "p",
            Some(("ReplicaSet", "web-1")),
            "Running",
            json!({}),
            &[("app", "app:1", "")],
            spec.clone(),
        ));
    }
    let report = evaluator.finish(0);
    let pss: Vec<&Finding> = report.findings_for(Control::PodSecurity).collect();
    assert!(
        pss.iter()
            .any(|f| f.object.namespace == "pinned" && f.rule == "pss.runAsNonRoot"),
        "{pss:?}"
    );
    assert!(
        pss.iter().all(|f| f.object.namespace != "latest"),
        "{pss:?}"
    );
}
