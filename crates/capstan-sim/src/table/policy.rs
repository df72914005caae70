//! Printers of access and quota policy: pod disruption budgets, resource quotas, role
//! bindings and cluster role bindings.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{arr_at, at, int_at, int_or_string, name_of, quantity, str_at};
use super::time::age;
use super::{AGE_COLUMN, Col, NAME_COLUMN, col};

pub(super) static PDBS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Min Available",
        "string",
        "",
        0,
        "The minimum number of pods that must be available.",
    ),
    col(
        "Max Unavailable",
        "string",
        "",
        0,
        "The maximum number of pods that may be unavailable.",
    ),
    col(
        "Allowed Disruptions",
        "integer",
        "",
        0,
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE_COLUMN,
];

pub(super) static RESOURCE_QUOTAS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Request",
        "string",
        "",
        0,
        "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    col(
        "Limit",
        "string",
        "",
        0,
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
    AGE_COLUMN,
];

pub(super) static ROLE_BINDINGS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Role",
        "string",
        "",
        0,
        "roleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
    ),
    AGE_COLUMN,
    col("Users", "string", "", 1, "Users in the roleBinding"),
    col("Groups", "string", "", 1, "Groups in the roleBinding"),
    col(
        "ServiceAccounts",
        "string",
        "",
        1,
        "ServiceAccounts in the roleBinding",
    ),
];

pub(super) static CLUSTER_ROLE_BINDINGS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Role",
        "string",
        "",
        0,
        "roleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
    ),
    AGE_COLUMN,
    col("Users", "string", "", 1, "Users in the clusterRoleBinding"),
    col(
        "Groups",
        "string",
        "",
        1,
        "Groups in the clusterRoleBinding",
    ),
    col(
        "ServiceAccounts",
        "string",
        "",
        1,
        "ServiceAccounts in the clusterRoleBinding",
    ),
];

pub(super) fn pdb_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let or_na = |v: Option<&Value>| v.map(int_or_string).unwrap_or_else(|| "N/A".to_string());
    vec![
        json!(name_of(obj)),
        json!(or_na(at(obj, &["spec", "minAvailable"]))),
        json!(or_na(at(obj, &["spec", "maxUnavailable"]))),
        json!(int_at(obj, &["status", "disruptionsAllowed"])),
        json!(age(obj, now)),
    ]
}

pub(super) fn resource_quota_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let mut request = Vec::new();
    let mut limit = Vec::new();
    if let Some(hard) = at(obj, &["status", "hard"]).and_then(Value::as_object) {
        // SortableResourceNames: by name.
        let mut hard: Vec<(&String, &Value)> = hard.iter().collect();
        hard.sort_by(|a, b| a.0.cmp(b.0));
        for (resource, hard_qty) in hard {
            let used = quantity(at(obj, &["status", "used", resource]));
            let entry = format!("{resource}: {used}/{}", quantity(Some(hard_qty)));
            let pieces: Vec<&str> = resource.split('.').collect();
            if pieces.len() > 1 && pieces[0] == "limits" {
                limit.push(entry);
            } else {
                request.push(entry);
            }
        }
    }
    vec![
        json!(name_of(obj)),
        json!(request.join(", ")),
        json!(limit.join(", ")),
        json!(age(obj, now)),
    ]
}

/// `printRoleBinding`/`printClusterRoleBinding` with `rbac.SubjectsStrings`.
pub(super) fn role_binding_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut service_accounts = Vec::new();
    for s in arr_at(obj, &["subjects"]) {
        let name = str_at(s, &["name"]);
        match str_at(s, &["kind"]) {
            "ServiceAccount" => {
                service_accounts.push(format!("{}/{name}", str_at(s, &["namespace"])));
            }
            "User" => users.push(name.to_string()),
            "Group" => groups.push(name.to_string()),
            _ => {}
        }
    }
    vec![
        json!(name_of(obj)),
        json!(format!(
            "{}/{}",
            str_at(obj, &["roleRef", "kind"]),
            str_at(obj, &["roleRef", "name"])
        )),
        json!(age(obj, now)),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(service_accounts.join(", ")),
    ]
}
