//! Fault injection for rehearsals and tests, under `/clusters/{name}/sim/v1/...`:
//! API latency and 5xx rate, NotReady nodes, crash-looping pods, a failing next control-plane
//! upgrade, and etcd-style history compaction.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use capstan_core::selector::LabelSelector;
use serde_json::{Value, json};

use crate::api::{Req, value_response};
use crate::cluster::{Cluster, ClusterData, keys};
use crate::error::{ApiError, ApiResult};
use crate::store::{Obj, ObjKey};
use crate::twin::Twin;

#[derive(Debug, Clone, Default)]
pub struct ApiFaults {
    pub latency: Duration,
    /// Share of resource requests answered with a 500, in [0, 1].
    pub error_rate: f64,
}

#[derive(Debug, Clone)]
pub struct CrashLoop {
    pub namespace: String,
    pub selector: LabelSelector,
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub api: ApiFaults,
    pub down_nodes: BTreeSet<String>,
    pub crashloops: Vec<CrashLoop>,
    pub fail_next_upgrade: bool,
}

impl Faults {
    pub fn node_down(&self, node: &str) -> bool {
        self.down_nodes.contains(node)
    }

    pub fn crashloop_matches(&self, pod: &Obj) -> bool {
        self.crashloops.iter().any(|c| {
            (c.namespace.is_empty() || *c.namespace == *pod.key.namespace)
                && c.selector.matches(&pod.labels)
        })
    }

    fn describe(&self) -> Value {
        json!({
            "api": {"latencyMs": self.api.latency.as_millis() as u64, "errorRate": self.api.error_rate},
            "notReadyNodes": self.down_nodes,
            "crashLoops": self.crashloops.iter().map(|c| json!({"namespace": c.namespace, "labelSelector": c.selector.to_string()})).collect::<Vec<_>>(),
            "failNextUpgrade": self.fail_next_upgrade,
        })
    }
}

fn parse_body(req: &Req) -> ApiResult<Value> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// Mark a node as the node lifecycle controller does when its kubelet stops posting status
/// (conditions Unknown, unreachable taints), or restore it when the kubelet is back.
pub fn set_node_reachable(
    data: &mut ClusterData,
    node: &str,
    reachable: bool,
    now: jiff::Timestamp,
) -> ApiResult<()> {
    let key = ObjKey::cluster(node);
    let obj = data
        .get(&keys::NODES, &key)
        .ok_or_else(|| ApiError::not_found("", "nodes", node))?;
    let mut v = obj.value();
    if reachable {
        crate::objects::set_node_ready(&mut v, true, now);
    } else {
        crate::objects::set_node_unreachable(&mut v, now);
    }
    data.put(&keys::NODES, key, v);
    Ok(())
}

pub(crate) fn http(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    parts: &[&str],
    req: Req,
) -> ApiResult<Response> {
    let now = twin.now();
    twin.write(cluster, |data| match (&req.method, parts) {
        (&Method::GET, ["faults"]) => Ok(data.faults.describe()),
        (&Method::POST, ["faults", "api"]) => {
            let b = parse_body(&req)?;
            let latency = b.get("latencyMs").and_then(Value::as_u64).unwrap_or(0);
            let rate = b.get("errorRate").and_then(Value::as_f64).unwrap_or(0.0);
            if !(0.0..=1.0).contains(&rate) {
                return Err(ApiError::invalid(
                    "Fault",
                    "sim",
                    "api",
                    &[(
                        "errorRate".into(),
                        format!("Invalid value: {rate}: must be between 0 and 1"),
                    )],
                ));
            }
            data.faults.api = ApiFaults {
                latency: Duration::from_millis(latency),
                error_rate: rate,
            };
            Ok(data.faults.describe())
        }
        (&Method::POST, ["faults", "node-not-ready"]) => {
            let b = parse_body(&req)?;
            let node = b
                .get("node")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Fault",
                        "sim",
                        "node-not-ready",
                        &[("node".into(), "Required value".into())],
                    )
                })?
                .to_string();
            set_node_reachable(data, &node, false, now)?;
            data.faults.down_nodes.insert(node);
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "node-not-ready", node]) => {
            if !data.faults.down_nodes.remove(*node) {
                return Err(ApiError::not_found("sim", "faults", node));
            }
            set_node_reachable(data, node, true, now)?;
            Ok(data.faults.describe())
        }
        (&Method::POST, ["faults", "crashloop"]) => {
            let b = parse_body(&req)?;
            let selector = b.get("labelSelector").and_then(Value::as_str).unwrap_or("");
            let selector = LabelSelector::parse(selector).map_err(|e| {
                ApiError::invalid(
                    "Fault",
                    "sim",
                    "crashloop",
                    &[("labelSelector".into(), e.to_string())],
                )
            })?;
            let namespace = b
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            data.faults.crashloops.push(CrashLoop {
                namespace: namespace.clone(),
                selector: selector.clone(),
            });
            // Running pods that match start crashing on their next restart: restart them now.
            let victims: Vec<(ObjKey, String)> = data
                .store
                .range(&keys::PODS, &namespace)
                .filter(|p| {
                    selector.matches(&p.labels)
                        && !p.deleting
                        && p.pod().is_some_and(|f| f.node_name.is_some())
                })
                .map(|p| (p.key.clone(), p.uid.to_string()))
                .collect();
            for (key, uid) in victims {
                data.schedule(now, crate::cluster::Action::CrashLoopRestart { key, uid });
            }
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "crashloop"]) => {
            data.faults.crashloops.clear();
            Ok(data.faults.describe())
        }
        (&Method::POST, ["faults", "fail-next-upgrade"]) => {
            data.faults.fail_next_upgrade = true;
            Ok(data.faults.describe())
        }
        (&Method::POST, ["compact"]) => {
            data.store.compact_all();
            Ok(json!({"compactedAt": data.store.current_rv().to_string()}))
        }
        (&Method::POST, ["restart"]) => {
            data.store.restart_watch_cache();
            cluster.restarts.send_modify(|n| *n += 1);
            Ok(json!({"watchCacheStartsAt": data.store.current_rv().to_string()}))
        }
        _ => Err(ApiError::path_not_found()),
    })
    .map(|v| value_response(StatusCode::OK, &v))
}
