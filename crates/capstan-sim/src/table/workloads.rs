//! Printers of the pod-template-bearing workloads: pod templates, replication controllers,
//! replica sets, deployments, daemon sets, stateful sets, and their controller revisions.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{EMPTY, arr_at, at, bool_at, int_at, name_of, replicas, str_at};
use super::format::{
    container_cells, format_labels, label_selector_string, selector_at, template_containers,
};
use super::time::age;
use super::{
    AGE_COLUMN, CONTAINERS_COLUMN, Col, DESC_CONTAINERS, DESC_IMAGES, IMAGES_COLUMN, NAME_COLUMN,
    col,
};

const DESC_READY_PODS: &str = "Number of the pod with ready state";

pub(super) static POD_TEMPLATES: &[Col] = &[
    NAME_COLUMN,
    col("Containers", "string", "", 0, DESC_CONTAINERS),
    col("Images", "string", "", 0, DESC_IMAGES),
    col(
        "Pod Labels",
        "string",
        "",
        0,
        "The labels for the pod template.",
    ),
];

pub(super) static REPLICATION_CONTROLLERS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Desired",
        "integer",
        "",
        0,
        "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
    ),
    col(
        "Current",
        "integer",
        "",
        0,
        "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
    ),
    col(
        "Ready",
        "integer",
        "",
        0,
        "The number of ready replicas for this replication controller.",
    ),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    col(
        "Selector",
        "string",
        "",
        1,
        "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

pub(super) static REPLICA_SETS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Desired",
        "integer",
        "",
        0,
        "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    ),
    col(
        "Current",
        "integer",
        "",
        0,
        "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
    ),
    col(
        "Ready",
        "integer",
        "",
        0,
        "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
    ),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    col(
        "Selector",
        "string",
        "",
        1,
        "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

pub(super) static DEPLOYMENTS: &[Col] = &[
    NAME_COLUMN,
    col("Ready", "string", "", 0, DESC_READY_PODS),
    col(
        "Up-to-date",
        "string",
        "",
        0,
        "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
    ),
    col(
        "Available",
        "string",
        "",
        0,
        "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    col(
        "Selector",
        "string",
        "",
        1,
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
    ),
];

pub(super) static DAEMON_SETS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Desired",
        "integer",
        "",
        0,
        "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    col(
        "Current",
        "integer",
        "",
        0,
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
    ),
    col(
        "Ready",
        "integer",
        "",
        0,
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
    ),
    col(
        "Up-to-date",
        "integer",
        "",
        0,
        "The total number of nodes that are running updated daemon pod",
    ),
    col(
        "Available",
        "integer",
        "",
        0,
        "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
    ),
    col(
        "Node Selector",
        "string",
        "",
        0,
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
    ),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    col(
        "Selector",
        "string",
        "",
        1,
        "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
];

pub(super) static STATEFUL_SETS: &[Col] = &[
    NAME_COLUMN,
    col("Ready", "string", "", 0, DESC_READY_PODS),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
];

pub(super) static CONTROLLER_REVISIONS: &[Col] = &[
    NAME_COLUMN,
    col("Controller", "string", "", 0, "Controller of the object"),
    col(
        "Revision",
        "string",
        "",
        0,
        "revision indicates the revision of the state represented by Data.",
    ),
    AGE_COLUMN,
];

/// READY of deployments and stateful sets: "ready/desired".
fn ready_of_desired(obj: &Value) -> String {
    format!(
        "{}/{}",
        int_at(obj, &["status", "readyReplicas"]),
        replicas(obj)
    )
}

pub(super) fn pod_template_cells(obj: &Value, _now: Timestamp) -> Vec<Value> {
    let (names, images) = container_cells(at(obj, &["template", "spec"]));
    vec![
        json!(name_of(obj)),
        json!(names),
        json!(images),
        json!(format_labels(at(obj, &["template", "metadata", "labels"]))),
    ]
}

pub(super) fn replication_controller_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        json!(name_of(obj)),
        json!(replicas(obj)),
        json!(int_at(obj, &["status", "replicas"])),
        json!(int_at(obj, &["status", "readyReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(format_labels(at(obj, &["spec", "selector"]))),
    ]
}

pub(super) fn replica_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        json!(name_of(obj)),
        json!(replicas(obj)),
        json!(int_at(obj, &["status", "replicas"])),
        json!(int_at(obj, &["status", "readyReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector_at(obj, &["spec", "selector"])),
    ]
}

pub(super) fn deployment_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    // printDeployment uses LabelSelectorAsSelector directly: "" for none, "<invalid>" on error.
    let selector = label_selector_string(at(obj, &["spec", "selector"]).unwrap_or(&EMPTY))
        .unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        json!(name_of(obj)),
        json!(ready_of_desired(obj)),
        json!(int_at(obj, &["status", "updatedReplicas"])),
        json!(int_at(obj, &["status", "availableReplicas"])),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector),
    ]
}

pub(super) fn daemon_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        json!(name_of(obj)),
        json!(int_at(obj, &["status", "desiredNumberScheduled"])),
        json!(int_at(obj, &["status", "currentNumberScheduled"])),
        json!(int_at(obj, &["status", "numberReady"])),
        json!(int_at(obj, &["status", "updatedNumberScheduled"])),
        json!(int_at(obj, &["status", "numberAvailable"])),
        json!(format_labels(at(
            obj,
            &["spec", "template", "spec", "nodeSelector"]
        ))),
        json!(age(obj, now)),
        json!(names),
        json!(images),
        json!(selector_at(obj, &["spec", "selector"])),
    ]
}

pub(super) fn stateful_set_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        json!(name_of(obj)),
        json!(ready_of_desired(obj)),
        json!(age(obj, now)),
        json!(names),
        json!(images),
    ]
}

pub(super) fn controller_revision_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let controller = arr_at(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| bool_at(r, &["controller"]))
        .map(|r| {
            // formatResourceName(GroupKind, name, withKind=true): "kind.group/name".
            let api_version = str_at(r, &["apiVersion"]);
            let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
            let kind = str_at(r, &["kind"]);
            let gk = if group.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}.{group}")
            };
            let name = str_at(r, &["name"]);
            if gk.is_empty() {
                name.to_string()
            } else {
                format!("{}/{name}", gk.to_lowercase())
            }
        })
        .unwrap_or_else(|| "<none>".to_string());
    vec![
        json!(name_of(obj)),
        json!(controller),
        json!(int_at(obj, &["revision"])),
        json!(age(obj, now)),
    ]
}
