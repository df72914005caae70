//! OPA Gatekeeper: the ConstraintTemplate CRD, four gatekeeper-library templates, the
//! constraint CRD each template creates (group `constraints.gatekeeper.sh`, cluster-scoped,
//! category `constraint` so that `kubectl get constraints` lists them all), and one
//! constraint per template whose `status` is what the audit controller writes: the last
//! audit's `auditTimestamp`, `totalViolations`, and at most 20 `violations` (the default
//! `--constraint-violations-limit`) naming real objects of the cluster.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Emitter;
use super::posture::WorkloadRecord;
use crate::objects::{self as o, CrdDef};

/// Gatekeeper's `--constraint-violations-limit` default.
const VIOLATIONS_LIMIT: usize = 20;

const TEMPLATES: [(&str, &str); 4] = [
    ("K8sRequiredLabels", "k8srequiredlabels"),
    ("K8sPSPPrivilegedContainer", "k8spspprivilegedcontainer"),
    ("K8sAllowedRepos", "k8sallowedrepos"),
    ("K8sContainerLimits", "k8scontainerlimits"),
];

/// Registries the allowed-repos constraint admits.
const ALLOWED_REPOS: [&str; 3] = [
    "registry.example.com/",
    "registry.k8s.io/",
    "quay.io/cilium/",
];

pub(crate) fn crds() -> Vec<CrdDef> {
    let mut out = vec![CrdDef {
        group: "templates.gatekeeper.sh",
        version: "v1",
        kind: "ConstraintTemplate".into(),
        plural: "constrainttemplates".into(),
        namespaced: false,
        short_names: &[],
        categories: &[],
        status_subresource: true,
        columns: &[],
    }];
    for (kind, plural) in TEMPLATES {
        out.push(CrdDef {
            group: "constraints.gatekeeper.sh",
            version: "v1beta1",
            kind: kind.into(),
            plural: plural.into(),
            namespaced: false,
            short_names: &[],
            categories: &["constraint", "constraints"],
            status_subresource: true,
            columns: &[
                ("enforcement-action", "string", ".spec.enforcementAction", 0),
                ("total-violations", "integer", ".status.totalViolations", 0),
            ],
        });
    }
    out
}

/// The library's Rego, abbreviated to the rule heads the audit runs.
fn rego(kind: &str) -> &'static str {
    match kind {
        "K8sRequiredLabels" => {
            "package k8srequiredlabels\n\nviolation[{\"msg\": msg, \"details\": {\"missing_labels\": missing}}] {\n  provided := {label | input.review.object.metadata.labels[label]}\n  required := {label | label := input.parameters.labels[_].key}\n  missing := required - provided\n  count(missing) > 0\n  msg := sprintf(\"you must provide labels: %v\", [missing])\n}\n"
        }
        "K8sPSPPrivilegedContainer" => {
            "package k8spspprivileged\n\nviolation[{\"msg\": msg, \"details\": {}}] {\n  c := input_containers[_]\n  c.securityContext.privileged\n  msg := sprintf(\"Privileged container is not allowed: %v, securityContext: %v\", [c.name, c.securityContext])\n}\n"
        }
        "K8sAllowedRepos" => {
            "package k8sallowedrepos\n\nviolation[{\"msg\": msg}] {\n  container := input.review.object.spec.containers[_]\n  not strings.any_prefix_match(container.image, input.parameters.repos)\n  msg := sprintf(\"container <%v> has an invalid image repo <%v>, allowed repos are %v\", [container.name, container.image, input.parameters.repos])\n}\n"
        }
        _ => {
            "package k8scontainerlimits\n\nviolation[{\"msg\": msg}] {\n  container := input.review.object.spec.containers[_]\n  not container.resources.limits.cpu\n  msg := sprintf(\"container <%v> has no resource limits\", [container.name])\n}\n"
        }
    }
}

/// A violation as the audit records it.
fn violation(action: &str, kind: &str, ns: &str, name: &str, message: String) -> Value {
    let mut v = json!({"enforcementAction": action, "group": "", "version": "v1", "kind": kind,
        "name": name, "message": message});
    if !ns.is_empty() {
        v["namespace"] = json!(ns);
    }
    v
}

/// Pods' violations of a per-container rule: `bad` says which containers of a workload
/// violate and with which message. Returns (total, first 20). Pods of one workload share
/// their template, so each of its pods violates as its template does.
fn pod_violations(
    workloads: &[WorkloadRecord],
    action: &str,
    skip_ns: &[&str],
    bad: impl Fn(&super::posture::RecordedContainer) -> Option<String>,
) -> (u64, Vec<Value>) {
    let mut total = 0u64;
    let mut listed = Vec::new();
    for w in workloads
        .iter()
        .filter(|w| !skip_ns.contains(&w.namespace.as_str()))
    {
        let messages: Vec<String> = w.containers.iter().filter_map(&bad).collect();
        if messages.is_empty() {
            continue;
        }
        total += u64::from(w.pods) * messages.len() as u64;
        for pod in &w.sample_pods {
            for m in &messages {
                if listed.len() < VIOLATIONS_LIMIT {
                    listed.push(violation(action, "Pod", &w.namespace, pod, m.clone()));
                }
            }
        }
    }
    (total, listed)
}

/// One constraint and the audit's findings for it.
struct Constraint {
    kind: &'static str,
    name: &'static str,
    action: Value,
    spec: Value,
    total: u64,
    listed: Vec<Value>,
}

impl Constraint {
    fn new(
        kind: &'static str,
        name: &'static str,
        action: Value,
        spec: Value,
        total: u64,
        listed: Vec<Value>,
    ) -> Self {
        Self {
            kind,
            name,
            action,
            spec,
            total,
            listed,
        }
    }
}

/// Emit Gatekeeper's templates and constraints. `namespaces` are (name, has a `team` label).
pub(crate) fn emit(
    workloads: &[WorkloadRecord],
    namespaces: &[(String, bool)],
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
    now: Timestamp,
    installed: Timestamp,
) {
    let exempt = ["kube-system", "gatekeeper-system"];
    let audit_at = o::rfc3339(o::seconds_before(now, rng.range_inclusive(5, 55) as i64));
    for (kind, plural) in TEMPLATES {
        let mut t = o::custom_object(
            "templates.gatekeeper.sh/v1",
            "ConstraintTemplate",
            None,
            plural,
            &[],
            rng,
            installed,
        );
        t["spec"] = json!({
            "crd": {"spec": {"names": {"kind": kind}}},
            "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": rego(kind)}],
        });
        t["status"] = json!({"created": true, "byPod": [{"id": "gatekeeper-audit", "observedGeneration": 1,
            "operations": ["audit", "mutation-status", "status"], "templateUID": t["metadata"]["uid"]}]});
        e.emit("templates.gatekeeper.sh", "constrainttemplates", t);
    }
    let actions = ["deny", "dryrun", "warn"];
    let mut action = || *rng.pick(&actions).unwrap_or(&"dryrun");
    let pod_match = |excluded: &[&str]| json!({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}], "excludedNamespaces": excluded});
    let mut constraints: Vec<Constraint> = Vec::new();

    let a = action();
    let mut listed = Vec::new();
    let mut total = 0u64;
    for (ns, has_team) in namespaces {
        if !has_team && !exempt.contains(&ns.as_str()) && !ns.starts_with("kube-") {
            total += 1;
            if listed.len() < VIOLATIONS_LIMIT {
                listed.push(violation(
                    a,
                    "Namespace",
                    "",
                    ns,
                    "you must provide labels: {\"team\"}".into(),
                ));
            }
        }
    }
    constraints.push(Constraint::new("K8sRequiredLabels", "namespaces-must-have-team", json!(a),
        json!({"match": {"kinds": [{"apiGroups": [""], "kinds": ["Namespace"]}], "excludedNamespaces": ["kube-system", "kube-public", "kube-node-lease"]},
            "parameters": {"labels": [{"key": "team"}]}}), total, listed));

    let a = action();
    let (total, listed) = pod_violations(workloads, a, &exempt, |c| {
        c.privileged.then(|| format!("Privileged container is not allowed: {}, securityContext: {{\"privileged\": true}}", c.name))
    });
    constraints.push(Constraint::new(
        "K8sPSPPrivilegedContainer",
        "psp-privileged-container",
        json!(a),
        json!({"match": pod_match(&exempt)}),
        total,
        listed,
    ));

    let a = action();
    let (total, listed) = pod_violations(workloads, a, &exempt, |c| {
        (!ALLOWED_REPOS.iter().any(|r| c.image.starts_with(r))).then(|| {
            format!(
                "container <{}> has an invalid image repo <{}>, allowed repos are {:?}",
                c.name, c.image, ALLOWED_REPOS
            )
        })
    });
    constraints.push(Constraint::new(
        "K8sAllowedRepos",
        "repo-is-approved",
        json!(a),
        json!({"match": pod_match(&exempt), "parameters": {"repos": ALLOWED_REPOS}}),
        total,
        listed,
    ));

    // Limits are usually audited before they are enforced.
    let (total, listed) = pod_violations(workloads, "dryrun", &exempt, |c| {
        (!c.cpu_limit || !c.memory_limit)
            .then(|| format!("container <{}> has no resource limits", c.name))
    });
    constraints.push(Constraint::new(
        "K8sContainerLimits",
        "container-must-have-limits",
        json!("dryrun"),
        json!({"match": pod_match(&exempt), "parameters": {"cpu": "2", "memory": "4Gi"}}),
        total,
        listed,
    ));

    for Constraint {
        kind,
        name,
        action,
        mut spec,
        total,
        listed,
    } in constraints
    {
        spec["enforcementAction"] = action;
        let mut c = o::custom_object(
            "constraints.gatekeeper.sh/v1beta1",
            kind,
            None,
            name,
            &[],
            rng,
            installed,
        );
        c["spec"] = spec;
        c["status"] = json!({
            "auditTimestamp": audit_at,
            "totalViolations": total,
            "violations": listed,
            "byPod": [{"id": "gatekeeper-audit", "observedGeneration": 1, "enforced": true,
                "constraintUID": c["metadata"]["uid"], "operations": ["audit", "mutation-status", "status"]}],
        });
        e.emit("constraints.gatekeeper.sh", constraint_plural(kind), c);
    }
}

/// The plural of a constraint kind (the lower-cased kind, as Gatekeeper names its CRDs).
fn constraint_plural(kind: &str) -> &'static str {
    TEMPLATES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("k8srequiredlabels", |(_, p)| p)
}
