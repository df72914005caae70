//! Printers of cluster components: nodes and component statuses.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{arr_at, at, bool_at, name_of, str_at};
use super::format::join_or_none;
use super::time::age;
use super::{AGE_COLUMN, Col, NAME_COLUMN, col};

/// The SwaggerDoc of `NodeStatus.addresses`, which both address columns reference.
const DESC_NODE_ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";

pub(super) static NODES: &[Col] = &[
    NAME_COLUMN,
    col("Status", "string", "", 0, "The status of the node"),
    col("Roles", "string", "", 0, "The roles of the node"),
    AGE_COLUMN,
    col(
        "Version",
        "string",
        "",
        0,
        "Kubelet Version reported by the node.",
    ),
    col("Internal-IP", "string", "", 1, DESC_NODE_ADDRESSES),
    col("External-IP", "string", "", 1, DESC_NODE_ADDRESSES),
    col(
        "OS-Image",
        "string",
        "",
        1,
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
    ),
    col(
        "Kernel-Version",
        "string",
        "",
        1,
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    ),
    col(
        "Container-Runtime",
        "string",
        "",
        1,
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
    ),
];

pub(super) static COMPONENT_STATUSES: &[Col] = &[
    NAME_COLUMN,
    col(
        "Status",
        "string",
        "",
        0,
        "Status of the component conditions",
    ),
    col(
        "Message",
        "string",
        "",
        0,
        "Message of the component conditions",
    ),
    col(
        "Error",
        "string",
        "",
        0,
        "Error of the component conditions",
    ),
];

/// `printNode`: STATUS from the Ready condition (+ SchedulingDisabled), ROLES from labels.
pub(super) fn node_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    // conditionMap keeps the last condition of each type.
    let ready = arr_at(obj, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| str_at(c, &["type"]) == "Ready");
    let mut status: Vec<&str> = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(obj, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }

    let mut roles: BTreeSet<&str> = BTreeSet::new();
    if let Some(labels) = at(obj, &["metadata", "labels"]).and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role);
                }
            } else if k == "kubernetes.io/role" {
                let v = v.as_str().unwrap_or("");
                if !v.is_empty() {
                    roles.insert(v);
                }
            }
        }
    }
    let roles = join_or_none(&roles.into_iter().collect::<Vec<_>>());

    let address = |ty: &str| {
        arr_at(obj, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == ty)
            .map(|a| str_at(a, &["address"]).to_string())
            .unwrap_or_else(|| "<none>".to_string())
    };
    let info = |field: &str| {
        let v = str_at(obj, &["status", "nodeInfo", field]);
        if v.is_empty() { "<unknown>" } else { v }
    };
    vec![
        json!(name_of(obj)),
        json!(status.join(",")),
        json!(roles),
        json!(age(obj, now)),
        json!(str_at(obj, &["status", "nodeInfo", "kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

pub(super) fn component_status_cells(obj: &Value, _now: Timestamp) -> Vec<Value> {
    let healthy = arr_at(obj, &["conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => (
            if str_at(c, &["status"]) == "True" {
                "Healthy"
            } else {
                "Unhealthy"
            },
            str_at(c, &["message"]),
            str_at(c, &["error"]),
        ),
        None => ("Unknown", "", ""),
    };
    vec![
        json!(name_of(obj)),
        json!(status),
        json!(message),
        json!(error),
    ]
}
