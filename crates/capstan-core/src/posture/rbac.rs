//! RBAC checks: every binding's subjects resolved through its `roleRef` to the role's rules,
//! each rule matched against Kubescape's (verbs, apiGroups, resources) triples (reference
//! D.3, kubescape/regolibrary `rules/*/raw.rego`): a rule matches a triple when any of its
//! verbs is in V, any of its apiGroups in G and any of its resources in R. `resourceNames`
//! are ignored, as Kubescape ignores them (a rule limited to some names still grants them).
//!
//! System subjects are not reported. Polaris exempts `system:*` bindings and roles
//! (`clusterrolebindingClusterAdmin`, `*PodExecAttach`); Kubescape's rego does not, and
//! leaves kube-system to its exceptions mechanism. We exempt, and say so: users and groups
//! named `system:*`, ServiceAccounts of `kube-system`, and bindings whose roleRef is a
//! built-in `system:*` ClusterRole (the control plane's own grants, which operators cannot
//! change). Three `system:` names
//! stay reported because binding them is the misconfiguration itself (Kubescape C-0262,
//! C-0265): `system:anonymous`, `system:unauthenticated` and `system:authenticated`; and
//! `system:serviceaccount(s):<ns>` names are ServiceAccounts of `<ns>`, reported unless
//! `<ns>` is `kube-system`.
//!
//! A rule that grants everything (`*` verbs on `*` resources in `*` or core) subsumes the
//! other checks, so a role with one yields only that finding (cluster-admin or wildcard
//! admin) rather than one per check; any other rule yields one finding per check it matches.
//! `nonResourceURLs` rules grant no object access and are not checked. A binding to a role
//! that does not exist grants nothing (the API server authorizes nothing through it), so it
//! yields nothing.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer};

use super::pod::ObjectMeta;
use super::report::{Control, Finding, ObjectRef, Severity};

/// `null` reads as the type's default: the API server omits empty lists but `null` is legal.
pub(super) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// One `rules[]` entry of a Role or ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(deserialize_with = "nullable")]
    pub verbs: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub api_groups: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub resources: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub resource_names: Vec<String>,
    #[serde(rename = "nonResourceURLs", deserialize_with = "nullable")]
    pub non_resource_urls: Vec<String>,
}

/// A Role or a ClusterRole (`rbac.authorization.k8s.io/v1`). An aggregated ClusterRole
/// carries the aggregated rules in `rules` (the clusterrole-aggregation controller writes
/// them there), so `aggregationRule` need not be read.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RoleInput {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "nullable")]
    pub rules: Vec<PolicyRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(deserialize_with = "nullable")]
    pub api_group: String,
    #[serde(deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Subject {
    #[serde(deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub api_group: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub namespace: String,
}

/// A RoleBinding or a ClusterRoleBinding.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BindingInput {
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "nullable")]
    pub role_ref: RoleRef,
    #[serde(deserialize_with = "nullable")]
    pub subjects: Vec<Subject>,
}

/// The cluster's RBAC objects.
#[derive(Debug, Clone, Copy)]
pub struct RbacObjects<'a> {
    pub roles: &'a [RoleInput],
    pub cluster_roles: &'a [RoleInput],
    pub role_bindings: &'a [BindingInput],
    pub cluster_role_bindings: &'a [BindingInput],
}

pub const RULE_CLUSTER_ADMIN: &str = "rbac.cluster-admin-binding";
pub const RULE_WILDCARD_ADMIN: &str = "rbac.wildcard-admin";
pub const RULE_WILDCARD: &str = "rbac.wildcard-rule";
pub const RULE_SECRETS_READ: &str = "rbac.secrets-read";
pub const RULE_ESCALATION: &str = "rbac.bind-escalate-impersonate";
pub const RULE_POD_EXEC: &str = "rbac.pod-exec-attach";
pub const RULE_PORT_FORWARD: &str = "rbac.pod-portforward";

/// A (verbs, apiGroups, resources) triple of Kubescape's; `*` in the rule matches only if `*`
/// is listed here, exactly as the rego compares strings.
struct Triple {
    verbs: &'static [&'static str],
    groups: &'static [&'static str],
    resources: &'static [&'static str],
}

impl Triple {
    fn matches(&self, rule: &PolicyRule) -> bool {
        let any = |have: &[String], want: &[&str]| have.iter().any(|h| want.contains(&h.as_str()));
        any(&rule.verbs, self.verbs)
            && any(&rule.api_groups, self.groups)
            && any(&rule.resources, self.resources)
    }

    /// What of the rule this triple matched, `get,list on secrets`, for the message.
    fn describe(&self, rule: &PolicyRule) -> String {
        let matched = |have: &[String], want: &[&str]| {
            have.iter()
                .filter(|h| want.contains(&h.as_str()))
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "{} on {}",
            matched(&rule.verbs, self.verbs),
            matched(&rule.resources, self.resources)
        )
    }
}

/// C-0035 / C-0187 `rule-list-all-cluster-admins-v1`.
const ADMIN: Triple = Triple {
    verbs: &["*"],
    groups: &["*", ""],
    resources: &["*"],
};
/// C-0015 / C-0186.
const SECRETS_READ: Triple = Triple {
    verbs: &["get", "list", "watch", "*"],
    groups: &["", "*"],
    resources: &["secrets", "*"],
};
/// C-0191: bind and escalate on roles, impersonate on identities.
const BIND: Triple = Triple {
    verbs: &["bind", "*"],
    groups: &["rbac.authorization.k8s.io", "*"],
    resources: &["clusterroles", "roles", "*"],
};
const ESCALATE: Triple = Triple {
    verbs: &["escalate", "*"],
    groups: &["rbac.authorization.k8s.io", "*"],
    resources: &["clusterroles", "roles", "*"],
};
const IMPERSONATE: Triple = Triple {
    verbs: &["impersonate", "*"],
    groups: &["", "*"],
    resources: &["users", "serviceaccounts", "groups", "uids", "*"],
};
/// C-0002 (`create` on pods/exec) widened to pods/attach and to `get` as Polaris'
/// `clusterrolePodExecAttach` does (exec and attach over an upgraded GET).
const POD_EXEC: Triple = Triple {
    verbs: &["create", "get", "*"],
    groups: &["", "*"],
    resources: &["pods/exec", "pods/attach", "pods/*", "*"],
};
/// C-0063.
const PORT_FORWARD: Triple = Triple {
    verbs: &["create", "*"],
    groups: &["", "*"],
    resources: &["pods/portforward", "pods/*", "*"],
};

/// Whether a subject is a system identity this check leaves alone (module docs).
pub fn is_system_subject(subject: &Subject) -> bool {
    const REPORTED: [&str; 3] = [
        "system:anonymous",
        "system:unauthenticated",
        "system:authenticated",
    ];
    match subject.kind.as_str() {
        "ServiceAccount" => subject.namespace == "kube-system",
        _ => {
            let name = subject.name.as_str();
            if REPORTED.contains(&name) {
                return false;
            }
            // `system:serviceaccount:<ns>:<name>` (a user) and `system:serviceaccounts:<ns>`
            // (a group) are ServiceAccounts of `<ns>`.
            if let Some(rest) = name
                .strip_prefix("system:serviceaccount:")
                .or_else(|| name.strip_prefix("system:serviceaccounts:"))
            {
                let ns = rest.split(':').next().unwrap_or_default();
                return ns == "kube-system";
            }
            name.starts_with("system:")
        }
    }
}

/// A check a rule matched: its rule ID, severity and what matched.
type Check = (&'static str, Severity, String);

/// The checks a non-admin rule matches.
fn rule_checks(rule: &PolicyRule) -> Vec<Check> {
    let mut out = Vec::new();
    let wildcard_fields: Vec<&str> = [
        ("verbs", &rule.verbs),
        ("apiGroups", &rule.api_groups),
        ("resources", &rule.resources),
    ]
    .into_iter()
    .filter(|(_, v)| v.iter().any(|s| s == "*"))
    .map(|(name, _)| name)
    .collect();
    if !wildcard_fields.is_empty() {
        out.push((
            RULE_WILDCARD,
            Severity::Medium,
            format!(
                "{} (* in {})",
                describe_rule(rule),
                wildcard_fields.join(", ")
            ),
        ));
    }
    if SECRETS_READ.matches(rule) {
        out.push((
            RULE_SECRETS_READ,
            Severity::High,
            SECRETS_READ.describe(rule),
        ));
    }
    let escalation: Vec<String> = [&BIND, &ESCALATE, &IMPERSONATE]
        .into_iter()
        .filter(|t| t.matches(rule))
        .map(|t| t.describe(rule))
        .collect();
    if !escalation.is_empty() {
        out.push((RULE_ESCALATION, Severity::High, escalation.join("; ")));
    }
    if POD_EXEC.matches(rule) {
        out.push((RULE_POD_EXEC, Severity::Medium, POD_EXEC.describe(rule)));
    }
    if PORT_FORWARD.matches(rule) {
        out.push((
            RULE_PORT_FORWARD,
            Severity::Medium,
            PORT_FORWARD.describe(rule),
        ));
    }
    out
}

/// A whole rule for messages: `get,list on pods,secrets in core,apps`.
fn describe_rule(rule: &PolicyRule) -> String {
    let groups: Vec<&str> = rule
        .api_groups
        .iter()
        .map(|g| if g.is_empty() { "core" } else { g.as_str() })
        .collect();
    format!(
        "{} on {} in {}",
        rule.verbs.join(","),
        rule.resources.join(","),
        groups.join(",")
    )
}

/// Every RBAC finding of the cluster, bindings in the order given, subjects in order.
pub fn rbac_findings(objects: RbacObjects<'_>) -> Vec<Finding> {
    let roles: FxHashMap<(&str, &str), &RoleInput> = objects
        .roles
        .iter()
        .map(|r| ((r.metadata.namespace.as_str(), r.metadata.name.as_str()), r))
        .collect();
    let cluster_roles: FxHashMap<&str, &RoleInput> = objects
        .cluster_roles
        .iter()
        .map(|r| (r.metadata.name.as_str(), r))
        .collect();
    let mut out = Vec::new();
    let kinds = [
        ("RoleBinding", objects.role_bindings),
        ("ClusterRoleBinding", objects.cluster_role_bindings),
    ];
    for (binding_kind, bindings) in kinds {
        for binding in bindings {
            let role_ref = &binding.role_ref;
            let role = match (binding_kind, role_ref.kind.as_str()) {
                ("RoleBinding", "Role") => roles
                    .get(&(binding.metadata.namespace.as_str(), role_ref.name.as_str()))
                    .copied(),
                (_, "ClusterRole") => cluster_roles.get(role_ref.name.as_str()).copied(),
                // A ClusterRoleBinding can only refer to a ClusterRole.
                _ => None,
            };
            let Some(role) = role else { continue };
            if role_ref.kind == "ClusterRole" && role_ref.name.starts_with("system:") {
                continue;
            }
            binding_findings(binding_kind, binding, role, &mut out);
        }
    }
    out
}

fn binding_findings(
    binding_kind: &str,
    binding: &BindingInput,
    role: &RoleInput,
    out: &mut Vec<Finding>,
) {
    let role_ref = &binding.role_ref;
    let namespace = if binding_kind == "RoleBinding" {
        binding.metadata.namespace.as_str()
    } else {
        ""
    };
    let object = ObjectRef::new(binding_kind, namespace, &binding.metadata.name);
    let scope = if namespace.is_empty() {
        "cluster-wide".to_string()
    } else {
        format!("in namespace {namespace}")
    };
    // A role with an all-granting rule is reported by that rule alone: the rest adds nothing.
    let admin = role.rules.iter().any(|r| ADMIN.matches(r));
    // The checks of each rule, computed once for all the binding's subjects.
    let per_rule: Vec<(usize, Vec<Check>)> = role
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let checks = if ADMIN.matches(rule) {
                // C-0185 names cluster-admin; any other all-granting rule is C-0035/C-0187.
                let id = if role_ref.kind == "ClusterRole" && role_ref.name == "cluster-admin" {
                    RULE_CLUSTER_ADMIN
                } else {
                    RULE_WILDCARD_ADMIN
                };
                vec![(
                    id,
                    Severity::Critical,
                    "* on * (every verb on every resource)".into(),
                )]
            } else if admin || rule.resources.is_empty() {
                // Non-resource URL rules grant no object access.
                Vec::new()
            } else {
                rule_checks(rule)
            };
            (i, checks)
        })
        .filter(|(_, checks)| !checks.is_empty())
        .collect();
    if per_rule.is_empty() {
        return;
    }
    for (s, subject) in binding.subjects.iter().enumerate() {
        if is_system_subject(subject) {
            continue;
        }
        let who = match subject.kind.as_str() {
            "ServiceAccount" => format!("ServiceAccount {}/{}", subject.namespace, subject.name),
            kind => format!("{kind} {}", subject.name),
        };
        for (i, checks) in &per_rule {
            for (id, severity, what) in checks {
                out.push(Finding {
                    control: Control::Rbac,
                    rule: (*id).to_string(),
                    severity: *severity,
                    object: object.clone(),
                    field_path: format!("subjects[{s}]"),
                    message: format!(
                        "{who} {scope}: {}/{} rules[{i}]: {what}",
                        role_ref.kind, role_ref.name
                    ),
                    count: 1,
                    excepted: None,
                });
            }
        }
    }
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
