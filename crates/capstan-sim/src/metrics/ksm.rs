//! kube-state-metrics from the twin's objects
//! (`GET .../services/kube-state-metrics:8080/proxy/metrics`), with KSM v2's names and labels
//! (docs/metrics/workload/pod-metrics.md, docs/metrics/cluster/node-metrics.md):
//! container restarts, last termination and waiting reasons, resource requests, node
//! conditions (all three statuses, 1 on the actual one) and node allocatable.

use serde_json::Value;

use super::expo::{Expo, Kind};
use crate::cluster::{ClusterData, keys};

fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

/// KSM's resource names and units for a quantity, with its value in that unit.
fn resource_value(resource: &str, q: &str) -> Option<(String, &'static str, f64)> {
    match resource {
        "cpu" => crate::objects::cpu_millis(q).map(|m| ("cpu".into(), "core", m as f64 / 1000.0)),
        "memory" | "ephemeral-storage" => {
            crate::objects::memory_bytes(q).map(|b| (resource.replace('-', "_"), "byte", b as f64))
        }
        "pods" => crate::objects::memory_bytes(q).map(|n| ("pods".into(), "integer", n as f64)),
        _ => None,
    }
}

/// The kube-state-metrics body.
pub fn scrape(data: &ClusterData) -> String {
    let mut restarts = Expo::default();
    let mut last_reason = Expo::default();
    let mut waiting = Expo::default();
    let mut requests = Expo::default();
    restarts.family(
        "kube_pod_container_status_restarts_total",
        "The number of container restarts per container.",
        Kind::Counter,
    );
    last_reason.family(
        "kube_pod_container_status_last_terminated_reason",
        "Describes the last reason the container was in terminated state.",
        Kind::Gauge,
    );
    waiting.family(
        "kube_pod_container_status_waiting_reason",
        "Describes the reason the container is currently in waiting state.",
        Kind::Gauge,
    );
    requests.family(
        "kube_pod_container_resource_requests",
        "The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
        Kind::Gauge,
    );
    for pod in data.store.range(&keys::PODS, "") {
        let v = pod.value();
        let ns = &*pod.key.namespace;
        let name = &*pod.key.name;
        let uid = &*pod.uid;
        let node = str_at(&v, "/spec/nodeName");
        if let Some(statuses) = v
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
        {
            for s in statuses {
                let container = str_at(s, "/name");
                let base = [
                    ("namespace", ns),
                    ("pod", name),
                    ("uid", uid),
                    ("container", container),
                ];
                let n = s.get("restartCount").and_then(Value::as_f64).unwrap_or(0.0);
                restarts.sample("kube_pod_container_status_restarts_total", &base, n);
                let reason = str_at(s, "/lastState/terminated/reason");
                if !reason.is_empty() {
                    let mut l = base.to_vec();
                    l.push(("reason", reason));
                    last_reason.sample("kube_pod_container_status_last_terminated_reason", &l, 1.0);
                }
                let reason = str_at(s, "/state/waiting/reason");
                if !reason.is_empty() {
                    let mut l = base.to_vec();
                    l.push(("reason", reason));
                    waiting.sample("kube_pod_container_status_waiting_reason", &l, 1.0);
                }
            }
        }
        if let Some(containers) = v.pointer("/spec/containers").and_then(Value::as_array) {
            for c in containers {
                let Some(reqs) = c.pointer("/resources/requests").and_then(Value::as_object) else {
                    continue;
                };
                for (r, q) in reqs {
                    let Some((resource, unit, value)) =
                        q.as_str().and_then(|q| resource_value(r, q))
                    else {
                        continue;
                    };
                    requests.sample(
                        "kube_pod_container_resource_requests",
                        &[
                            ("namespace", ns),
                            ("pod", name),
                            ("uid", uid),
                            ("container", str_at(c, "/name")),
                            ("node", node),
                            ("resource", &resource),
                            ("unit", unit),
                        ],
                        value,
                    );
                }
            }
        }
    }

    let mut conditions = Expo::default();
    let mut allocatable = Expo::default();
    conditions.family(
        "kube_node_status_condition",
        "The condition of a cluster node.",
        Kind::Gauge,
    );
    allocatable.family(
        "kube_node_status_allocatable",
        "The allocatable for different resources of a node that are available for scheduling.",
        Kind::Gauge,
    );
    for n in data.store.range(&keys::NODES, "") {
        let v = n.value();
        let node = &*n.key.name;
        if let Some(conds) = v.pointer("/status/conditions").and_then(Value::as_array) {
            for c in conds {
                let condition = str_at(c, "/type");
                let actual = str_at(c, "/status").to_ascii_lowercase();
                for status in ["true", "false", "unknown"] {
                    conditions.sample(
                        "kube_node_status_condition",
                        &[("node", node), ("condition", condition), ("status", status)],
                        if actual == status { 1.0 } else { 0.0 },
                    );
                }
            }
        }
        if let Some(alloc) = v.pointer("/status/allocatable").and_then(Value::as_object) {
            for (r, q) in alloc {
                let Some((resource, unit, value)) = q.as_str().and_then(|q| resource_value(r, q))
                else {
                    continue;
                };
                allocatable.sample(
                    "kube_node_status_allocatable",
                    &[("node", node), ("resource", &resource), ("unit", unit)],
                    value,
                );
            }
        }
    }
    let mut body = String::new();
    for part in [
        restarts,
        last_reason,
        waiting,
        requests,
        conditions,
        allocatable,
    ] {
        body.push_str(&part.finish());
    }
    body
}
