//! Fault injection for rehearsals and tests, under `/clusters/{name}/sim/v1/...`:
//! API latency and 5xx rate, NotReady nodes, crash-looping pods, a failing next control-plane
//! upgrade, and etcd-style history compaction; and the faults the metrics show
//! ([`crate::metrics`]), each set with a POST of a JSON body and lifted with a DELETE:
//!
//! - `faults/node-pressure` `{"node"?, "cpu"?, "memory"?, "disk"?, "diskIoBusy"?}`: utilisation
//!   floors in [0, 1] for one node (all nodes without `node`); `DELETE faults/node-pressure`
//!   lifts all, `DELETE faults/node-pressure/{node}` one node's.
//! - `faults/oom` `{"namespace"?, "labelSelector"?}`: matching pods' first container is
//!   OOMKilled (exit 137) over and over, in CrashLoopBackOff; `DELETE faults/oom` lifts it.
//! - `faults/etcd` `{"fsyncMs": n}`: WAL fsync and backend commit latency around n ms;
//!   `DELETE faults/etcd` lifts it.
//! - `faults/network` `{"node"?, "packetLoss"?, "latencyMs"?}`: dropped packets and ICMP probe
//!   loss in [0, 1] and added round-trip time; DELETE as for node-pressure.
//!
//! `GET faults` describes every fault in place; `DELETE faults/api` lifts the API fault.
//! A refused body names the field and changes nothing.

use std::collections::{BTreeMap, BTreeSet};
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

/// Utilisation floors of a node, each in [0, 1] (0 = no floor).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NodePressure {
    pub cpu: f64,
    pub memory: f64,
    pub disk: f64,
    pub disk_io_busy: f64,
}

impl NodePressure {
    fn max(self, o: Self) -> Self {
        Self {
            cpu: self.cpu.max(o.cpu),
            memory: self.memory.max(o.memory),
            disk: self.disk.max(o.disk),
            disk_io_busy: self.disk_io_busy.max(o.disk_io_busy),
        }
    }
}

/// A degraded network: share of packets dropped and added round-trip time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NetworkFault {
    pub packet_loss: f64,
    pub latency_ms: f64,
}

impl NetworkFault {
    fn max(self, o: Self) -> Self {
        Self {
            packet_loss: self.packet_loss.max(o.packet_loss),
            latency_ms: self.latency_ms.max(o.latency_ms),
        }
    }
}

/// How a faulted container's runs end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashKind {
    /// Exits with code 1 (`Error`).
    Error,
    /// Killed by the kernel's OOM killer (`OOMKilled`, exit 137).
    OomKilled,
}

/// Key of the fault maps that applies to every node.
const ALL_NODES: &str = "";

#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub api: ApiFaults,
    pub down_nodes: BTreeSet<String>,
    pub crashloops: Vec<CrashLoop>,
    pub fail_next_upgrade: bool,
    /// Node name ("" = every node) -> floors.
    pub node_pressure: BTreeMap<String, NodePressure>,
    pub ooms: Vec<CrashLoop>,
    /// WAL fsync latency (ms) etcd shows instead of its healthy baseline.
    pub etcd_fsync_ms: Option<f64>,
    /// Node name ("" = every node) -> network fault.
    pub network: BTreeMap<String, NetworkFault>,
}

impl Faults {
    pub fn node_down(&self, node: &str) -> bool {
        self.down_nodes.contains(node)
    }

    pub fn crashloop_matches(&self, pod: &Obj) -> bool {
        self.crash_kind(pod).is_some()
    }

    /// How a pod's containers end their runs under the faults (an OOM fault wins).
    pub fn crash_kind(&self, pod: &Obj) -> Option<CrashKind> {
        let hit = |c: &CrashLoop| {
            (c.namespace.is_empty() || *c.namespace == *pod.key.namespace)
                && c.selector.matches(&pod.labels)
        };
        if self.ooms.iter().any(hit) {
            Some(CrashKind::OomKilled)
        } else if self.crashloops.iter().any(hit) {
            Some(CrashKind::Error)
        } else {
            None
        }
    }

    /// The floors in force on `node` (its own and the all-nodes ones).
    pub fn pressure_on(&self, node: &str) -> NodePressure {
        let all = self
            .node_pressure
            .get(ALL_NODES)
            .copied()
            .unwrap_or_default();
        let own = self.node_pressure.get(node).copied().unwrap_or_default();
        all.max(own)
    }

    /// The network fault in force on `node`.
    pub fn network_on(&self, node: &str) -> NetworkFault {
        let all = self.network.get(ALL_NODES).copied().unwrap_or_default();
        let own = self.network.get(node).copied().unwrap_or_default();
        all.max(own)
    }

    fn describe(&self) -> Value {
        let selectors = |v: &[CrashLoop]| {
            v.iter()
                .map(|c| json!({"namespace": c.namespace, "labelSelector": c.selector.to_string()}))
                .collect::<Vec<_>>()
        };
        let pressure: Vec<Value> = self
            .node_pressure
            .iter()
            .map(|(node, p)| {
                json!({"node": node_field(node), "cpu": p.cpu, "memory": p.memory, "disk": p.disk, "diskIoBusy": p.disk_io_busy})
            })
            .collect();
        let network: Vec<Value> = self
            .network
            .iter()
            .map(|(node, n)| {
                json!({"node": node_field(node), "packetLoss": n.packet_loss, "latencyMs": n.latency_ms})
            })
            .collect();
        json!({
            "api": {"latencyMs": self.api.latency.as_millis() as u64, "errorRate": self.api.error_rate},
            "notReadyNodes": self.down_nodes,
            "crashLoops": selectors(&self.crashloops),
            "failNextUpgrade": self.fail_next_upgrade,
            "nodePressure": pressure,
            "ooms": selectors(&self.ooms),
            "etcd": {"fsyncMs": self.etcd_fsync_ms},
            "network": network,
        })
    }
}

/// A fault map key as the API shows it (`null` = every node).
fn node_field(key: &str) -> Value {
    if key == ALL_NODES {
        Value::Null
    } else {
        json!(key)
    }
}

fn invalid(fault: &str, field: &str, why: String) -> ApiError {
    ApiError::invalid("Fault", "sim", fault, &[(field.into(), why)])
}

/// An optional number field in [0, 1] (absent = 0).
fn fraction(b: &Value, fault: &str, field: &str) -> ApiResult<f64> {
    match b.get(field) {
        None | Some(Value::Null) => Ok(0.0),
        Some(v) => match v.as_f64() {
            Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
            _ => Err(invalid(
                fault,
                field,
                format!("Invalid value: {v}: must be a number between 0 and 1"),
            )),
        },
    }
}

/// An optional non-negative number field (absent = `None`).
fn non_negative(b: &Value, fault: &str, field: &str) -> ApiResult<Option<f64>> {
    match b.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x >= 0.0 && x.is_finite() => Ok(Some(x)),
            _ => Err(invalid(
                fault,
                field,
                format!("Invalid value: {v}: must be a non-negative number"),
            )),
        },
    }
}

/// The optional `node` field: an existing node's name, or "" for every node.
fn target_node(data: &ClusterData, b: &Value, fault: &str) -> ApiResult<String> {
    match b.get("node") {
        None | Some(Value::Null) => Ok(ALL_NODES.to_string()),
        Some(Value::String(n)) if !n.is_empty() => {
            crate::metrics::require_node(data, n)?;
            Ok(n.clone())
        }
        Some(v) => Err(invalid(
            fault,
            "node",
            format!("Invalid value: {v}: must be a node name"),
        )),
    }
}

/// The `namespace` and `labelSelector` of a pod-matching fault.
fn pod_match(b: &Value, fault: &str) -> ApiResult<CrashLoop> {
    let selector = b.get("labelSelector").and_then(Value::as_str).unwrap_or("");
    let selector = LabelSelector::parse(selector)
        .map_err(|e| invalid(fault, "labelSelector", e.to_string()))?;
    let namespace = match b.get("namespace") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(invalid(
                fault,
                "namespace",
                format!("Invalid value: {v}: must be a string"),
            ));
        }
    };
    Ok(CrashLoop {
        namespace,
        selector,
    })
}

/// Running pods that match restart now, so the fault shows at once (as a crash loop does).
fn restart_matching(data: &mut ClusterData, m: &CrashLoop, now: jiff::Timestamp) {
    let victims: Vec<(ObjKey, String)> = data
        .store
        .range(&keys::PODS, &m.namespace)
        .filter(|p| {
            m.selector.matches(&p.labels)
                && !p.deleting
                && p.pod().is_some_and(|f| f.node_name.is_some())
        })
        .map(|p| (p.key.clone(), p.uid.to_string()))
        .collect();
    for (key, uid) in victims {
        data.schedule(now, crate::cluster::Action::CrashLoopRestart { key, uid });
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

fn metric_faults_changed(cluster: &Cluster, data: &ClusterData) {
    crate::metrics::faults_changed(cluster, data);
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
            metric_faults_changed(cluster, data);
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
            let m = pod_match(&parse_body(&req)?, "crashloop")?;
            restart_matching(data, &m, now);
            data.faults.crashloops.push(m);
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "crashloop"]) => {
            data.faults.crashloops.clear();
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "api"]) => {
            data.faults.api = ApiFaults::default();
            metric_faults_changed(cluster, data);
            Ok(data.faults.describe())
        }
        (&Method::POST, ["faults", "node-pressure"]) => {
            let b = parse_body(&req)?;
            let f = "node-pressure";
            let node = target_node(data, &b, f)?;
            let p = NodePressure {
                cpu: fraction(&b, f, "cpu")?,
                memory: fraction(&b, f, "memory")?,
                disk: fraction(&b, f, "disk")?,
                disk_io_busy: fraction(&b, f, "diskIoBusy")?,
            };
            data.faults.node_pressure.insert(node, p);
            metric_faults_changed(cluster, data);
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "node-pressure"]) => {
            data.faults.node_pressure.clear();
            metric_faults_changed(cluster, data);
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "node-pressure", node]) => {
            if data.faults.node_pressure.remove(*node).is_none() {
                return Err(ApiError::not_found("sim", "faults", node));
            }
            metric_faults_changed(cluster, data);
            Ok(data.faults.describe())
        }
        (&Method::POST, ["faults", "oom"]) => {
            let m = pod_match(&parse_body(&req)?, "oom")?;
            restart_matching(data, &m, now);
            data.faults.ooms.push(m);
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "oom"]) => {
            data.faults.ooms.clear();
            Ok(data.faults.describe())
        }
        (&Method::POST, ["faults", "etcd"]) => {
            let b = parse_body(&req)?;
            let ms = non_negative(&b, "etcd", "fsyncMs")?
                .ok_or_else(|| invalid("etcd", "fsyncMs", "Required value".into()))?;
            data.faults.etcd_fsync_ms = Some(ms);
            metric_faults_changed(cluster, data);
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "etcd"]) => {
            data.faults.etcd_fsync_ms = None;
            metric_faults_changed(cluster, data);
            Ok(data.faults.describe())
        }
        (&Method::POST, ["faults", "network"]) => {
            let b = parse_body(&req)?;
            let f = "network";
            let node = target_node(data, &b, f)?;
            let n = NetworkFault {
                packet_loss: fraction(&b, f, "packetLoss")?,
                latency_ms: non_negative(&b, f, "latencyMs")?.unwrap_or(0.0),
            };
            data.faults.network.insert(node, n);
            metric_faults_changed(cluster, data);
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "network"]) => {
            data.faults.network.clear();
            metric_faults_changed(cluster, data);
            Ok(data.faults.describe())
        }
        (&Method::DELETE, ["faults", "network", node]) => {
            if data.faults.network.remove(*node).is_none() {
                return Err(ApiError::not_found("sim", "faults", node));
            }
            metric_faults_changed(cluster, data);
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
