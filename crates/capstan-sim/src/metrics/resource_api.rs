//! The resource Metrics API, `metrics.k8s.io/v1beta1`, as metrics-server serves it behind the
//! aggregator: what `kubectl top` and the VPA recommender read.
//!
//! | path | answer |
//! |---|---|
//! | `GET /apis/metrics.k8s.io/v1beta1/pods` | `PodMetricsList` of every namespace |
//! | `GET /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods[/{name}]` | `PodMetricsList` / `PodMetrics` |
//! | `GET /apis/metrics.k8s.io/v1beta1/nodes[/{name}]` | `NodeMetricsList` / `NodeMetrics` |
//!
//! Shapes follow metrics-server (`pkg/api/pod.go`, `node.go`): items carry the object's name,
//! namespace and labels, `creationTimestamp` is the time of the request (metrics-server stamps
//! `time.Now()`), `timestamp` the end of the sampling window, `window` its length; CPU in the
//! canonical form of nanocores (`"123456n"`), memory the working set in bytes in binary form
//! (`"45678Ki"`). Only Running pods appear, each with its running containers; a pod with no
//! running container has no metrics and is left out (a `get` of it is a 404 naming
//! `podmetrics.metrics.k8s.io "{ns}/{name}"`, as upstream's). Nodes whose kubelet is not
//! Ready have no metrics either. Node usage is the sum of its pods plus the system's own
//! ([`UsageModel::node_overhead`]). `labelSelector` and `fieldSelector` (`metadata.name`,
//! `metadata.namespace`; any other field compares as the empty string, as `fields.Set` does)
//! filter as upstream; `limit`/`continue` page (metrics-server ignores them; they cost nothing
//! here and keep a million-pod list in bounded pages). No watch, no tables.
//!
//! Values come from [`UsageModel`] at the twin's simulated now, truncated to the second.
//! Lists are computed over a snapshot of the pods taken under the cluster lock and released
//! before any pod is looked at, and written as JSON directly, without value trees. What the
//! model needs of a pod is read from its JSON once per pod version ([`super::pod_shapes`]):
//! on a 20,000-pod cluster (debug build, over TLS) the first list takes about twice a plain
//! pod list, later ones a seventh of the first.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use capstan_core::selector::{FieldSelector, LabelSelector, Labels};
use jiff::Timestamp;

use super::pod_shapes::PodShapes;
use super::usage::{ContainerUsage, UsageModel, Workload};
use crate::api::{Req, json_response};
use crate::cluster::{Cluster, keys};
use crate::error::{ApiError, ApiResult};
use crate::query::{decode_continue, encode_continue};
use crate::store::{Obj, ObjKey, ObjMap, PodPhase};
use crate::twin::Twin;

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";
/// The sampling window reported with every item.
const WINDOW: &str = "30s";

/// The discovery entries of `metrics.k8s.io/v1beta1` (get and list only, as metrics-server).
pub fn discovery_resources() -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]}),
        serde_json::json!({"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]}),
    ]
}

/// The Metrics API's paths, or `None` when `parts` is not one of them.
pub(crate) fn route(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    parts: &[&str],
    req: &Req,
) -> Option<ApiResult<Response>> {
    let rest = match parts {
        ["apis", GROUP, VERSION, rest @ ..] if !rest.is_empty() => rest,
        _ => return None,
    };
    let target = match rest {
        ["pods"] => Target::Pods(None, None),
        ["namespaces", ns, "pods"] => Target::Pods(Some(ns), None),
        ["namespaces", ns, "pods", name] => Target::Pods(Some(ns), Some(name)),
        ["nodes"] => Target::Nodes(None),
        ["nodes", name] => Target::Nodes(Some(name)),
        _ => return Some(Err(ApiError::path_not_found())),
    };
    if req.method != Method::GET || crate::query::flag(&req.query, "watch") {
        return Some(Err(ApiError::method_not_allowed(req.method.as_str())));
    }
    Some(serve(twin, cluster, target, req))
}

enum Target<'a> {
    Pods(Option<&'a str>, Option<&'a str>),
    Nodes(Option<&'a str>),
}

fn serve(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    target: Target<'_>,
    req: &Req,
) -> ApiResult<Response> {
    let selectors = Selectors::parse(req)?;
    let (pods, nodes, rv, seed) = {
        let data = twin.lock(cluster);
        let table = |k| {
            data.store
                .table(k)
                .map(|t| t.objects.clone())
                .unwrap_or_default()
        };
        (
            table(&keys::PODS),
            table(&keys::NODES),
            data.store.current_rv(),
            data.spec.seed,
        )
    };
    let now = Timestamp::from_second(twin.now().as_second()).unwrap_or_default();
    // Taken after the data lock is released (the order is data, then metrics).
    let mut metrics = cluster.metrics.lock();
    let mut ctx = Ctx {
        model: UsageModel::new(seed),
        now,
        stamp: crate::objects::rfc3339(now),
        shapes: &mut metrics.pod_shapes,
    };
    let body = match target {
        Target::Pods(ns, Some(name)) => {
            let ns = ns.unwrap_or("");
            let pod = pods
                .get(&ObjKey::new(ns, name))
                .ok_or_else(|| ApiError::not_found("", "pods", name))?;
            let mut out = Vec::with_capacity(1024);
            if !ctx.write_pod(&mut out, pod, true) {
                return Err(ApiError::not_found(
                    GROUP,
                    "podmetrics",
                    &format!("{ns}/{name}"),
                ));
            }
            out
        }
        Target::Pods(ns, None) => {
            let limit = limit(req)?;
            let after = match req.query.get("continue").filter(|c| !c.is_empty()) {
                Some(token) => Some(decode_continue(token)?.1),
                None => None,
            };
            ctx.pod_list(&pods, ns, &selectors, limit, after.as_ref(), rv)
        }
        Target::Nodes(Some(name)) => {
            let node = nodes
                .get(&ObjKey::cluster(name))
                .ok_or_else(|| ApiError::not_found("", "nodes", name))?;
            let usage = ctx.node_usage(&pods, Some(name));
            let mut out = Vec::with_capacity(1024);
            if !ctx.write_node(&mut out, node, &usage, true) {
                return Err(ApiError::not_found(GROUP, "nodemetrics", name));
            }
            out
        }
        Target::Nodes(None) => ctx.node_list(&pods, &nodes, &selectors),
    };
    Ok(json_response(StatusCode::OK, body))
}

fn limit(req: &Req) -> ApiResult<Option<usize>> {
    match req.query.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => Ok(Some(
            l.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?
                .max(0) as usize,
        )
        .filter(|l| *l > 0)),
        None => Ok(None),
    }
}

struct Selectors {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Selectors {
    fn parse(req: &Req) -> ApiResult<Self> {
        let labels = match req.query.get("labelSelector") {
            Some(s) => LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => LabelSelector::everything(),
        };
        let fields = match req.query.get("fieldSelector") {
            Some(s) => FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => FieldSelector::default(),
        };
        Ok(Self { labels, fields })
    }

    fn everything(&self) -> bool {
        self.labels.is_everything() && self.fields.is_everything()
    }

    /// metrics-server matches fields against the object meta set only (`metadata.name`, and
    /// `metadata.namespace` for pods); other fields read as "".
    fn matches(&self, obj: &Obj) -> bool {
        (self.labels.is_everything() || self.labels.matches(&obj.labels))
            && (self.fields.is_everything()
                || self.fields.matches(|f| match f {
                    "metadata.name" => Some(obj.key.name.to_string()),
                    "metadata.namespace" if !obj.key.namespace.is_empty() => {
                        Some(obj.key.namespace.to_string())
                    }
                    _ => None,
                }))
    }
}

/// One request's model, time, timestamp string and the pod shapes.
struct Ctx<'a> {
    model: UsageModel,
    now: Timestamp,
    stamp: String,
    shapes: &'a mut PodShapes,
}

impl Ctx<'_> {
    fn pod_list(
        &mut self,
        pods: &ObjMap,
        ns: Option<&str>,
        selectors: &Selectors,
        limit: Option<usize>,
        after: Option<&ObjKey>,
        rv: u64,
    ) -> Vec<u8> {
        let ns = ns.filter(|n| !n.is_empty());
        let iter: Box<dyn Iterator<Item = (&ObjKey, &Arc<Obj>)>> = match (after, ns) {
            (Some(a), _) => Box::new(pods.range(a.clone()..).filter(move |(k, _)| *k != a)),
            (None, Some(ns)) => Box::new(pods.range(ObjKey::new(ns, "")..)),
            (None, None) => Box::new(pods.iter()),
        };
        // Only a pass over every pod may sweep the shapes of pods that are gone.
        let whole = ns.is_none() && after.is_none() && limit.is_none() && selectors.everything();
        if whole {
            self.shapes.begin_pass();
        }
        let mut items = Vec::with_capacity(64 * 1024);
        let (mut count, mut last): (usize, Option<&ObjKey>) = (0, None);
        let mut cont = None;
        for (key, pod) in iter {
            if let Some(ns) = ns
                && *key.namespace != *ns
            {
                if *key.namespace > *ns {
                    break;
                }
                continue;
            }
            if !selectors.matches(pod) {
                continue;
            }
            if limit.is_some_and(|l| count == l) {
                cont = last.map(|k| encode_continue(rv, k));
                break;
            }
            let mark = items.len();
            if count > 0 {
                items.push(b',');
            }
            if self.write_pod(&mut items, pod, false) {
                count += 1;
                last = Some(key);
            } else {
                items.truncate(mark);
            }
        }
        if whole {
            self.shapes.sweep();
        }
        let mut out = Vec::with_capacity(items.len() + 160);
        out.extend_from_slice(
            b"{\"kind\":\"PodMetricsList\",\"apiVersion\":\"metrics.k8s.io/v1beta1\",\"metadata\":{",
        );
        if let Some(c) = cont {
            out.extend_from_slice(b"\"continue\":");
            write_str(&mut out, &c);
        }
        out.extend_from_slice(b"},\"items\":[");
        out.extend_from_slice(&items);
        out.extend_from_slice(b"]}");
        out
    }

    /// Append `pod`'s PodMetrics; `false` (and nothing written that matters: the caller
    /// truncates) when it has no metrics.
    fn write_pod(&mut self, out: &mut Vec<u8>, pod: &Obj, with_kind: bool) -> bool {
        if pod.pod().is_none_or(|f| f.phase != PodPhase::Running) {
            return false;
        }
        // An Arc and a mask: cloned so that the shapes are free for the next pod.
        let Some(shape) = self.shapes.get(pod).cloned() else {
            return false;
        };
        let workload = self.model.workload(&pod_workload(pod));
        let start = out.len();
        out.push(b'{');
        if with_kind {
            out.extend_from_slice(
                b"\"kind\":\"PodMetrics\",\"apiVersion\":\"metrics.k8s.io/v1beta1\",",
            );
        }
        self.write_meta(out, pod);
        out.extend_from_slice(b",\"containers\":[");
        let mut any = false;
        for c in shape.running() {
            let usage =
                self.model
                    .container(&workload, &pod.uid, &c.name, &c.resources(), true, self.now);
            if any {
                out.push(b',');
            }
            any = true;
            out.extend_from_slice(b"{\"name\":");
            write_str(out, &c.name);
            write_usage(out, &usage);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        if !any {
            out.truncate(start);
        }
        any
    }

    /// `"metadata":{…},"timestamp":…,"window":…` of an item.
    fn write_meta(&self, out: &mut Vec<u8>, obj: &Obj) {
        out.extend_from_slice(b"\"metadata\":{\"name\":");
        write_str(out, &obj.key.name);
        if !obj.key.namespace.is_empty() {
            out.extend_from_slice(b",\"namespace\":");
            write_str(out, &obj.key.namespace);
        }
        out.extend_from_slice(b",\"creationTimestamp\":");
        write_str(out, &self.stamp);
        let mut labels = obj.labels.iter().peekable();
        if labels.peek().is_some() {
            out.extend_from_slice(b",\"labels\":{");
            for (i, (k, v)) in labels.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_str(out, v);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"},\"timestamp\":");
        write_str(out, &self.stamp);
        out.extend_from_slice(b",\"window\":\"");
        out.extend_from_slice(WINDOW.as_bytes());
        out.push(b'"');
    }

    /// Usage per node name: the sum of its running pods (only `only` when given).
    fn node_usage(
        &mut self,
        pods: &ObjMap,
        only: Option<&str>,
    ) -> HashMap<Box<str>, ContainerUsage> {
        if only.is_none() {
            self.shapes.begin_pass();
        }
        let mut out: HashMap<Box<str>, ContainerUsage> = HashMap::new();
        for pod in pods.values() {
            let Some(facts) = pod.pod() else { continue };
            let Some(node) = facts.node_name.as_deref() else {
                continue;
            };
            if facts.phase != PodPhase::Running || only.is_some_and(|n| n != node) {
                continue;
            }
            let Some(usage) = self.pod_total(pod) else {
                continue;
            };
            let sum = out.entry(node.into()).or_default();
            sum.cpu_cores += usage.cpu_cores;
            sum.memory_bytes += usage.memory_bytes;
        }
        if only.is_none() {
            self.shapes.sweep();
        }
        out
    }

    /// A running pod's usage summed over its running containers.
    fn pod_total(&mut self, pod: &Obj) -> Option<ContainerUsage> {
        let shape = self.shapes.get(pod)?.clone();
        let workload = self.model.workload(&pod_workload(pod));
        let mut sum = ContainerUsage::default();
        for c in shape.running() {
            let u =
                self.model
                    .container(&workload, &pod.uid, &c.name, &c.resources(), true, self.now);
            sum.cpu_cores += u.cpu_cores;
            sum.memory_bytes += u.memory_bytes;
        }
        Some(sum)
    }

    fn node_list(&mut self, pods: &ObjMap, nodes: &ObjMap, selectors: &Selectors) -> Vec<u8> {
        let usage = self.node_usage(pods, None);
        let mut out = Vec::with_capacity(512 * nodes.len() + 128);
        out.extend_from_slice(
            b"{\"kind\":\"NodeMetricsList\",\"apiVersion\":\"metrics.k8s.io/v1beta1\",\"metadata\":{},\"items\":[",
        );
        let mut first = true;
        for node in nodes.values().filter(|n| selectors.matches(n)) {
            let mark = out.len();
            if !first {
                out.push(b',');
            }
            if self.write_node(&mut out, node, &usage, false) {
                first = false;
            } else {
                out.truncate(mark);
            }
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// Append `node`'s NodeMetrics; `false` when its kubelet is not Ready (no metrics).
    fn write_node(
        &self,
        out: &mut Vec<u8>,
        node: &Obj,
        usage: &HashMap<Box<str>, ContainerUsage>,
        with_kind: bool,
    ) -> bool {
        if node.node().is_none_or(|f| !f.ready) {
            return false;
        }
        let pods = usage.get(&*node.key.name).copied().unwrap_or_default();
        let system = self.model.node_overhead(&node.key.name, self.now);
        let total = ContainerUsage {
            cpu_cores: pods.cpu_cores + system.cpu_cores,
            memory_bytes: pods.memory_bytes + system.memory_bytes,
        };
        out.push(b'{');
        if with_kind {
            out.extend_from_slice(
                b"\"kind\":\"NodeMetrics\",\"apiVersion\":\"metrics.k8s.io/v1beta1\",",
            );
        }
        self.write_meta(out, node);
        write_usage(out, &total);
        out.push(b'}');
        true
    }
}

/// `,"usage":{"cpu":…,"memory":…}`
fn write_usage(out: &mut Vec<u8>, u: &ContainerUsage) {
    out.extend_from_slice(b",\"usage\":{\"cpu\":\"");
    out.extend_from_slice(format_nanocores((u.cpu_cores * 1e9).round() as i64).as_bytes());
    out.extend_from_slice(b"\",\"memory\":\"");
    out.extend_from_slice(format_bytes(u.memory_bytes as i64).as_bytes());
    out.extend_from_slice(b"\"}");
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// The workload of a stored pod (its controller; a ReplicaSet's pods count under the
/// Deployment), as the usage model keys it.
pub(crate) fn pod_workload(pod: &Obj) -> Workload<'_> {
    let controller = pod
        .pod()
        .and_then(|f| Some((&*f.controller.as_ref()?.0, f.controller_name.as_deref()?)));
    Workload::of_pod(
        &pod.key.namespace,
        &pod.key.name,
        controller,
        pod.labels.get_label("pod-template-hash"),
    )
}

/// Nanocores in a Quantity's canonical decimal form (upstream `int64Amount.AsCanonicalBytes`:
/// strip factors of ten, round the exponent down to a multiple of three): `123456n`,
/// `2308u`, `15m`, `2`.
pub fn format_nanocores(nanos: i64) -> String {
    if nanos == 0 {
        return "0".to_string();
    }
    let (mut amount, mut exp) = (nanos, -9i32);
    while amount % 10 == 0 {
        amount /= 10;
        exp += 1;
    }
    match exp.rem_euclid(3) {
        1 => {
            amount *= 10;
            exp -= 1;
        }
        2 => {
            amount *= 100;
            exp -= 2;
        }
        _ => {}
    }
    let suffix = match exp {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        _ => "T",
    };
    format!("{amount}{suffix}")
}

/// Bytes as a BinarySI quantity prints them: under 1024 (or not a multiple of 1024) as a
/// decimal number, otherwise with the largest binary suffix that divides exactly.
pub fn format_bytes(bytes: i64) -> String {
    if bytes.abs() < 1024 || bytes % 1024 != 0 {
        // Upstream falls back to DecimalSI here; working sets are whole pages, so the
        // decimal form is only ever reached for 0.
        return format_nanocores(bytes.saturating_mul(1_000_000_000));
    }
    capstan_core::quantity::format_bytes_binary(bytes)
}

#[cfg(test)]
#[path = "resource_api_tests.rs"]
mod tests;
