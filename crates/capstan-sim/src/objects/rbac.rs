//! RBAC: rules, subjects, Roles, ClusterRoles and their bindings.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::meta;

/// An RBAC PolicyRule.
pub fn policy_rule(api_groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": api_groups, "resources": resources, "verbs": verbs})
}

/// An RBAC subject: kind "User", "Group" or "ServiceAccount" (which needs a namespace).
pub fn subject(kind: &str, name: &str, namespace: Option<&str>) -> Value {
    match (kind, namespace) {
        ("ServiceAccount", ns) => {
            json!({"kind": kind, "name": name, "namespace": ns.unwrap_or("default")})
        }
        _ => json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}),
    }
}

pub fn role(
    namespace: &str,
    name: &str,
    rules: Vec<Value>,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(name, Some(namespace), now, rng),
        "rules": rules,
    })
}

/// `role_kind` is "Role" or "ClusterRole".
#[allow(clippy::too_many_arguments)]
pub fn role_binding(
    namespace: &str,
    name: &str,
    role_kind: &str,
    role_name: &str,
    subjects: Vec<Value>,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(name, Some(namespace), now, rng),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": subjects,
    })
}

pub fn cluster_role(name: &str, rules: Vec<Value>, rng: &mut SimRng, now: Timestamp) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta(name, None, now, rng),
        "rules": rules,
    })
}

pub fn cluster_role_binding(
    name: &str,
    role_name: &str,
    subjects: Vec<Value>,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": meta(name, None, now, rng),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
        "subjects": subjects,
    })
}
