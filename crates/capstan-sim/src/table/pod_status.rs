//! The pod printer (`printPod`): READY, STATUS (upstream's reason logic), RESTARTS and the
//! `Completed` row condition of finished pods.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::fields::{
    EMPTY, arr_at, at, bool_at, deleting, first_condition_is_true, int_at, name_of, str_at,
};
use super::format::or_none;
use super::time::{age, since, time_at};
use super::{AGE_COLUMN, Col, NAME_COLUMN, col};

pub(super) static PODS: &[Col] = &[
    NAME_COLUMN,
    col(
        "Ready",
        "string",
        "",
        0,
        "The aggregate readiness state of this pod for accepting traffic.",
    ),
    col(
        "Status",
        "string",
        "",
        0,
        "The aggregate status of the containers in this pod.",
    ),
    col(
        "Restarts",
        "string",
        "",
        0,
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE_COLUMN,
    col(
        "IP",
        "string",
        "",
        1,
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
    ),
    col(
        "Node",
        "string",
        "",
        1,
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
    ),
    col(
        "Nominated Node",
        "string",
        "",
        1,
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
    ),
    col(
        "Readiness Gates",
        "string",
        "",
        1,
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
    ),
];

fn is_restartable_init_container(c: &Value) -> bool {
    str_at(c, &["restartPolicy"]) == "Always"
}

fn has_condition(status: &Value, ty: &str) -> bool {
    arr_at(status, &["conditions"])
        .iter()
        .any(|c| str_at(c, &["type"]) == ty && str_at(c, &["status"]) == "True")
}

fn later(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `printPod`: READY, STATUS (upstream's reason logic), RESTARTS, AGE; wide IP, NODE,
/// NOMINATED NODE, READINESS GATES.
pub(super) fn pod_cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let spec = at(pod, &["spec"]).unwrap_or(&EMPTY);
    let status = at(pod, &["status"]).unwrap_or(&EMPTY);
    let init_specs = arr_at(spec, &["initContainers"]);

    let mut restarts: i64 = 0;
    let mut restartable_restarts: i64 = 0;
    let total = arr_at(spec, &["containers"]).len()
        + init_specs
            .iter()
            .filter(|c| is_restartable_init_container(c))
            .count();
    let mut ready = 0usize;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_restart: Option<Timestamp> = None;

    let phase = str_at(status, &["phase"]);
    let mut reason = phase.to_string();
    if !str_at(status, &["reason"]).is_empty() {
        reason = str_at(status, &["reason"]).to_string();
    }
    for c in arr_at(status, &["conditions"]) {
        if str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }

    let restartable_by_name = |name: &str| {
        init_specs
            .iter()
            .any(|c| str_at(c, &["name"]) == name && is_restartable_init_container(c))
    };

    let mut initializing = false;
    for (i, c) in arr_at(status, &["initContainerStatuses"])
        .iter()
        .enumerate()
    {
        restarts += int_at(c, &["restartCount"]);
        let finished = time_at(c, &["lastState", "terminated", "finishedAt"]);
        last_restart = later(last_restart, finished);
        let restartable = restartable_by_name(str_at(c, &["name"]));
        if restartable {
            restartable_restarts += int_at(c, &["restartCount"]);
            last_restartable_restart = later(last_restartable_restart, finished);
        }
        let terminated = at(c, &["state", "terminated"]);
        let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
        match terminated {
            Some(t) if int_at(t, &["exitCode"]) == 0 => continue,
            _ if restartable && bool_at(c, &["started"]) => {
                if bool_at(c, &["ready"]) {
                    ready += 1;
                }
                continue;
            }
            Some(t) => {
                let r = str_at(t, &["reason"]);
                reason = if !r.is_empty() {
                    format!("Init:{r}")
                } else if int_at(t, &["signal"]) != 0 {
                    format!("Init:Signal:{}", int_at(t, &["signal"]))
                } else {
                    format!("Init:ExitCode:{}", int_at(t, &["exitCode"]))
                };
            }
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                reason = format!("Init:{waiting_reason}");
            }
            None => reason = format!("Init:{i}/{}", init_specs.len()),
        }
        initializing = true;
        break;
    }

    if !initializing || has_condition(status, "Initialized") {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        for c in arr_at(status, &["containerStatuses"]).iter().rev() {
            restarts += int_at(c, &["restartCount"]);
            last_restart = later(
                last_restart,
                time_at(c, &["lastState", "terminated", "finishedAt"]),
            );
            let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
            let terminated = at(c, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, &["reason"]);
                reason = if !r.is_empty() {
                    r.to_string()
                } else if int_at(t, &["signal"]) != 0 {
                    format!("Signal:{}", int_at(t, &["signal"]))
                } else {
                    format!("ExitCode:{}", int_at(t, &["exitCode"]))
                };
            } else if bool_at(c, &["ready"]) && at(c, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // Back to "Running" if at least one container still runs.
        if reason == "Completed" && has_running {
            reason = if has_condition(status, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .to_string();
        }
    }

    if deleting(pod) {
        if str_at(status, &["reason"]) == "NodeLost" {
            reason = "Unknown".to_string();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_string();
        }
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };

    // The v1 → internal conversion makes a set status.podIP authoritative over podIPs[0].
    let pod_ip = match str_at(status, &["podIP"]) {
        "" => arr_at(status, &["podIPs"])
            .first()
            .map(|ip| str_at(ip, &["ip"]))
            .unwrap_or(""),
        ip => ip,
    };
    let gates = arr_at(spec, &["readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_conditions = gates
            .iter()
            .filter(|g| {
                let ty = str_at(g, &["conditionType"]);
                first_condition_is_true(status, ty)
            })
            .count();
        format!("{true_conditions}/{}", gates.len())
    };

    vec![
        json!(name_of(pod)),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        json!(age(pod, now)),
        json!(or_none(pod_ip)),
        json!(or_none(str_at(spec, &["nodeName"]))),
        json!(or_none(str_at(status, &["nominatedNodeName"]))),
        json!(readiness_gates),
    ]
}

/// The row conditions of a finished pod: `Completed`, with the phase as its reason.
pub(super) fn completed_condition(pod: &Value) -> Option<Value> {
    match str_at(pod, &["status", "phase"]) {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    }
}
