#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn role(kind_ns: Option<&str>, name: &str, rules: serde_json::Value) -> RoleInput {
    let mut meta = json!({"name": name});
    if let Some(ns) = kind_ns {
        meta["namespace"] = json!(ns);
    }
    serde_json::from_value(json!({"metadata": meta, "rules": rules})).unwrap()
}

fn binding(
    ns: Option<&str>,
    name: &str,
    role_kind: &str,
    role: &str,
    subjects: serde_json::Value,
) -> BindingInput {
    let mut meta = json!({"name": name});
    if let Some(ns) = ns {
        meta["namespace"] = json!(ns);
    }
    serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": subjects,
    }))
    .unwrap()
}

fn user(name: &str) -> serde_json::Value {
    json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}])
}

/// The rule IDs a ClusterRole with this one rule yields when bound cluster-wide to a user.
fn check(rule: serde_json::Value, expected: &[&str]) {
    let cr = [role(None, "r", json!([rule.clone()]))];
    let crb = [binding(None, "b", "ClusterRole", "r", user("alice"))];
    let findings = rbac_findings(RbacObjects {
        roles: &[],
        cluster_roles: &cr,
        role_bindings: &[],
        cluster_role_bindings: &crb,
    });
    let mut got: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    got.sort_unstable();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "rule {rule}");
    for f in &findings {
        assert_eq!(f.object, ObjectRef::new("ClusterRoleBinding", "", "b"));
        assert_eq!(f.field_path, "subjects[0]");
        assert!(
            f.message.contains("ClusterRole/r rules[0]"),
            "{}",
            f.message
        );
    }
}

#[test]
fn each_rule_positive_and_negative() {
    let cases: Vec<(serde_json::Value, &[&str])> = vec![
        // Admin triple: * / * or core / *.
        (
            json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}),
            &[RULE_WILDCARD_ADMIN],
        ),
        (
            json!({"verbs": ["*"], "apiGroups": [""], "resources": ["*"]}),
            &[RULE_WILDCARD_ADMIN],
        ),
        // Wildcards short of admin.
        (
            json!({"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"]}),
            &[RULE_WILDCARD],
        ),
        (
            json!({"verbs": ["get"], "apiGroups": ["*"], "resources": ["deployments"]}),
            &[RULE_WILDCARD],
        ),
        (
            json!({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["*"]}),
            &[RULE_WILDCARD],
        ),
        (
            json!({"verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["deployments"]}),
            &[],
        ),
        // Secrets read.
        (
            json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"]}),
            &[RULE_SECRETS_READ],
        ),
        (
            json!({"verbs": ["watch"], "apiGroups": [""], "resources": ["configmaps", "secrets"]}),
            &[RULE_SECRETS_READ],
        ),
        (
            json!({"verbs": ["create", "update"], "apiGroups": [""], "resources": ["secrets"]}),
            &[],
        ),
        (
            json!({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["secrets"]}),
            &[],
        ),
        (
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}),
            &[],
        ),
        // Bind / escalate / impersonate.
        (
            json!({"verbs": ["bind"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"]}),
            &[RULE_ESCALATION],
        ),
        (
            json!({"verbs": ["escalate"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]}),
            &[RULE_ESCALATION],
        ),
        (
            json!({"verbs": ["impersonate"], "apiGroups": [""], "resources": ["serviceaccounts"]}),
            &[RULE_ESCALATION],
        ),
        (
            json!({"verbs": ["bind"], "apiGroups": [""], "resources": ["roles"]}),
            &[],
        ),
        (
            json!({"verbs": ["get", "list"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"]}),
            &[],
        ),
        (
            json!({"verbs": ["impersonate"], "apiGroups": [""], "resources": ["pods"]}),
            &[],
        ),
        // Exec / attach / port-forward.
        (
            json!({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}),
            &[RULE_POD_EXEC],
        ),
        (
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/attach"]}),
            &[RULE_POD_EXEC],
        ),
        (
            json!({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/portforward"]}),
            &[RULE_PORT_FORWARD],
        ),
        (
            json!({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/*"]}),
            &[RULE_POD_EXEC, RULE_PORT_FORWARD],
        ),
        (
            json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"]}),
            &[],
        ),
        (
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/portforward"]}),
            &[],
        ),
        // A wildcard resource in core with a read verb: wildcard, secrets read, exec (get).
        (
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}),
            &[RULE_WILDCARD, RULE_SECRETS_READ, RULE_POD_EXEC],
        ),
        // Non-resource URLs grant no resource.
        (
            json!({"verbs": ["get"], "nonResourceURLs": ["/metrics"]}),
            &[],
        ),
    ];
    for (rule, expected) in cases {
        check(rule, expected);
    }
}

fn objects<'a>(
    roles: &'a [RoleInput],
    cluster_roles: &'a [RoleInput],
    rbs: &'a [BindingInput],
    crbs: &'a [BindingInput],
) -> RbacObjects<'a> {
    RbacObjects {
        roles,
        cluster_roles,
        role_bindings: rbs,
        cluster_role_bindings: crbs,
    }
}

fn cluster_admin() -> RoleInput {
    role(
        None,
        "cluster-admin",
        json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}
        ]),
    )
}

#[test]
fn cluster_admin_binding_is_one_critical_finding_per_subject() {
    let crs = [cluster_admin()];
    let crbs = [binding(
        None,
        "ops-admins",
        "ClusterRole",
        "cluster-admin",
        json!([
            {"kind": "Group", "name": "system:masters"},
            {"kind": "User", "name": "bob"},
            {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"},
            {"kind": "ServiceAccount", "name": "ctrl", "namespace": "kube-system"},
            {"kind": "Group", "name": "system:authenticated"},
        ]),
    )];
    let f = rbac_findings(objects(&[], &crs, &[], &crbs));
    let got: Vec<(&str, &str, Severity)> = f
        .iter()
        .map(|f| (f.rule.as_str(), f.field_path.as_str(), f.severity))
        .collect();
    assert_eq!(
        got,
        [
            (RULE_CLUSTER_ADMIN, "subjects[1]", Severity::Critical),
            (RULE_CLUSTER_ADMIN, "subjects[2]", Severity::Critical),
            (RULE_CLUSTER_ADMIN, "subjects[4]", Severity::Critical),
        ]
    );
    assert!(
        f[1].message.starts_with(
            "ServiceAccount ci/deployer cluster-wide: ClusterRole/cluster-admin rules[0]"
        ),
        "{}",
        f[1].message
    );
}

#[test]
fn system_subjects_and_system_roles_are_exempt() {
    let cases = [
        ("User", "system:kube-scheduler", "", true),
        ("Group", "system:masters", "", true),
        ("Group", "system:nodes", "", true),
        ("ServiceAccount", "coredns", "kube-system", true),
        ("User", "system:serviceaccount:kube-system:foo", "", true),
        ("Group", "system:serviceaccounts:kube-system", "", true),
        ("User", "system:serviceaccount:team-a:ci", "", false),
        ("Group", "system:serviceaccounts:team-a", "", false),
        ("Group", "system:authenticated", "", false),
        ("User", "system:anonymous", "", false),
        ("ServiceAccount", "default", "team-a", false),
        ("User", "alice", "", false),
    ];
    for (kind, name, ns, system) in cases {
        let s = Subject {
            kind: kind.into(),
            api_group: String::new(),
            name: name.into(),
            namespace: ns.into(),
        };
        assert_eq!(is_system_subject(&s), system, "{kind} {name} {ns}");
    }
    // A binding to a built-in system: ClusterRole is skipped even for a user.
    let crs = [role(
        None,
        "system:controller:foo",
        json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}]),
    )];
    let crbs = [binding(
        None,
        "b",
        "ClusterRole",
        "system:controller:foo",
        user("alice"),
    )];
    assert!(rbac_findings(objects(&[], &crs, &[], &crbs)).is_empty());
}

#[test]
fn role_binding_to_cluster_role_is_namespaced() {
    let crs = [role(
        None,
        "secret-reader",
        json!([{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"]}]),
    )];
    let rbs = [binding(
        Some("team-a"),
        "read",
        "ClusterRole",
        "secret-reader",
        user("carol"),
    )];
    let f = rbac_findings(objects(&[], &crs, &rbs, &[]));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].object, ObjectRef::new("RoleBinding", "team-a", "read"));
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(
        f[0].message,
        "User carol in namespace team-a: ClusterRole/secret-reader rules[0]: get,list on secrets"
    );
}

#[test]
fn role_binding_resolves_roles_in_its_own_namespace() {
    let roles = [
        role(
            Some("team-a"),
            "exec",
            json!([{"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}]),
        ),
        role(
            Some("team-b"),
            "exec",
            json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]),
        ),
    ];
    let rbs = [
        binding(Some("team-a"), "x", "Role", "exec", user("dan")),
        binding(Some("team-b"), "x", "Role", "exec", user("dan")),
    ];
    let f = rbac_findings(objects(&roles, &[], &rbs, &[]));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].object.namespace, "team-a");
    assert_eq!(f[0].rule, RULE_POD_EXEC);
    assert_eq!(f[0].severity, Severity::Medium);
}

#[test]
fn missing_role_grants_nothing() {
    let rbs = [
        binding(Some("team-a"), "dangling", "Role", "gone", user("eve")),
        binding(
            Some("team-a"),
            "dangling-cr",
            "ClusterRole",
            "gone",
            user("eve"),
        ),
    ];
    // A ClusterRoleBinding naming a Role is invalid: nothing is granted.
    let roles = [role(
        Some("team-a"),
        "r",
        json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]),
    )];
    let crbs = [binding(None, "bad", "Role", "r", user("eve"))];
    assert!(rbac_findings(objects(&roles, &[], &rbs, &crbs)).is_empty());
}

#[test]
fn aggregated_cluster_role_reads_its_rules_and_nulls_are_empty() {
    let cr: RoleInput = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "monitoring", "labels": null},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]},
        "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": null}]
    }))
    .unwrap();
    assert_eq!(cr.rules.len(), 1);
    let empty: RoleInput =
        serde_json::from_value(json!({"metadata": {"name": "e"}, "rules": null})).unwrap();
    assert!(empty.rules.is_empty());
    let b: BindingInput = serde_json::from_value(json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "monitoring"}, "subjects": null})).unwrap();
    let crs = [cr];
    assert!(rbac_findings(objects(&[], &crs, &[], &[b])).is_empty());
}
