//! The metrics a real cluster exposes, generated from the twin's state, so that the agent and
//! a real Prometheus can scrape a simulated fleet exactly as they would a real one.
//!
//! Every endpoint sits under a cluster's API base URL (`/clusters/{name}`), needs the
//! cluster's bearer token, and is the apiserver (proxy) path a real cluster serves:
//!
//! | path | exporter |
//! |---|---|
//! | `GET /metrics` | kube-apiserver ([`apiserver`]) |
//! | `GET /api/v1/namespaces/kube-system/services/etcd:2381/proxy/metrics` | etcd ([`etcd`]) |
//! | `GET /api/v1/nodes/{node}:9100/proxy/metrics` | node-exporter ([`node`]) |
//! | `GET /api/v1/nodes/{node}/proxy/metrics/cadvisor` | the kubelet's cAdvisor ([`cadvisor`]) |
//! | `GET /api/v1/namespaces/kube-system/services/kube-state-metrics:8080/proxy/metrics` | kube-state-metrics ([`ksm`]) |
//! | `GET /api/v1/namespaces/monitoring/services/blackbox-exporter:9115/proxy/probe?module=icmp&target={node}` | blackbox ICMP probe ([`blackbox`]) |
//! | `GET /apis/metrics.k8s.io/v1beta1/{nodes,pods,namespaces/{ns}/pods}[/{name}]` | metrics-server's resource Metrics API ([`resource_api`], JSON) |
//!
//! CPU, memory and network use come from one usage model ([`usage`]): cAdvisor and the
//! Metrics API read it at the same simulated second.
//!
//! Bodies are the text exposition format 0.0.4 ([`expo`]); exporters emit only their own
//! labels (the scraper adds `instance`, `job`, `cluster`). The injected API faults do not
//! apply to these paths: they are the measurement channel, and a scrape that failed would
//! hide the very errors it should report.
//!
//! Time: Prometheus stamps samples with its own wall clock, so counters advance with REAL
//! elapsed time ([`capstan_clock::Stopwatch`]) while gauges and discrete events (restarts,
//! OOM kills, node conditions) follow the twin's objects. Each series group keeps the rates it
//! was last given and its last update time: a scrape first advances it at those rates, then
//! sets new rates from the cluster's current state. A fault change does the same for every
//! group, so a fault applies from the moment it is set ([`faults_changed`]).
//!
//! Faults that shape these values (see [`crate::faults`]): `faults/api` (5xx share and
//! latency of the background load), `faults/node-pressure` (utilisation floors),
//! `faults/etcd` (fsync latency), `faults/network` (drops, probe loss and rtt) and
//! `faults/oom` (OOM-killed containers).

pub mod apiserver;
pub mod blackbox;
pub mod cadvisor;
pub mod etcd;
pub mod expo;
pub mod ksm;
pub mod node;
pub mod pod_shapes;
pub mod resource_api;
pub mod usage;

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use capstan_clock::Stopwatch;

use crate::api::Req;
use crate::cluster::{Cluster, ClusterData};
use crate::error::{ApiError, ApiResult};
use crate::twin::Twin;

/// Per-cluster metric state: counters and the rates they advance at.
#[derive(Debug)]
pub struct MetricsState {
    seed: u64,
    started: Stopwatch,
    pub(crate) api: apiserver::ApiState,
    pub(crate) etcd: etcd::EtcdState,
    pub(crate) nodes: HashMap<Box<str>, node::NodeCounters>,
    pub(crate) containers: HashMap<(Box<str>, Box<str>), cadvisor::ContainerCounters>,
    /// Network counters per pod uid.
    pub(crate) pod_network: HashMap<Box<str>, cadvisor::PodNetCounters>,
    /// What the usage model needs of each pod, read once per pod version.
    pub(crate) pod_shapes: pod_shapes::PodShapes,
    /// Probes sent per target (each draws its own loss outcome).
    pub(crate) probes: HashMap<Box<str>, u64>,
}

impl MetricsState {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            started: Stopwatch::start(),
            api: apiserver::ApiState::default(),
            etcd: etcd::EtcdState::default(),
            nodes: HashMap::new(),
            containers: HashMap::new(),
            pod_network: HashMap::new(),
            pod_shapes: pod_shapes::PodShapes::default(),
            probes: HashMap::new(),
        }
    }

    /// Real seconds since this state was created.
    pub(crate) fn real_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// A stable number in [0, 1) for this cluster's seed and a name.
    pub(crate) fn unit(&self, parts: &[&str]) -> f64 {
        unit(self.seed, parts)
    }
}

/// A stable number in [0, 1) for a seed and some names.
pub(crate) fn unit(seed: u64, parts: &[&str]) -> f64 {
    let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
    for p in parts {
        h = h.rotate_left(17) ^ capstan_core::rng::fnv1a(p.as_bytes());
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 31;
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A slow wobble in [-1, 1] with a period of some minutes, phase-shifted per name.
pub(crate) fn wobble(t: f64, phase: f64) -> f64 {
    (t / 600.0 * std::f64::consts::TAU + phase * std::f64::consts::TAU).sin()
}

/// Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf; error < 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// A latency distribution: log-normal with this median (seconds) and spread, optionally
/// shifted by a constant (injected latency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Latency {
    pub median: f64,
    pub sigma: f64,
    pub shift: f64,
}

impl Latency {
    /// Share of observations at or below `x` seconds.
    pub fn cdf(&self, x: f64) -> f64 {
        let x = x - self.shift;
        if x <= 0.0 || self.median <= 0.0 {
            return 0.0;
        }
        normal_cdf((x / self.median).ln() / self.sigma)
    }

    pub fn mean(&self) -> f64 {
        self.shift + self.median * (self.sigma * self.sigma / 2.0).exp()
    }
}

/// Cumulative histogram counters fed with fractional observations at a steady rate, plus
/// whole observations of real requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct Histogram {
    pub cumulative: Vec<f64>,
    pub sum: f64,
    pub count: f64,
}

impl Histogram {
    pub fn observe_many(&mut self, bounds: &[f64], n: f64, latency: &Latency) {
        if n <= 0.0 {
            return;
        }
        self.cumulative.resize(bounds.len(), 0.0);
        for (c, b) in self.cumulative.iter_mut().zip(bounds) {
            *c += n * latency.cdf(*b);
        }
        self.sum += n * latency.mean();
        self.count += n;
    }

    pub fn observe(&mut self, bounds: &[f64], seconds: f64) {
        self.cumulative.resize(bounds.len(), 0.0);
        for (c, b) in self.cumulative.iter_mut().zip(bounds) {
            if seconds <= *b {
                *c += 1.0;
            }
        }
        self.sum += seconds;
        self.count += 1.0;
    }

    /// Write it with whole counts (a real histogram counts whole observations).
    pub fn write(&self, out: &mut expo::Expo, name: &str, labels: &[(&str, &str)], bounds: &[f64]) {
        let mut cumulative: Vec<f64> = self.cumulative.iter().map(|c| c.floor()).collect();
        cumulative.resize(bounds.len(), 0.0);
        out.histogram(
            name,
            labels,
            bounds,
            &cumulative,
            self.sum,
            self.count.floor(),
        );
    }
}

/// A metrics body as the exporters serve it.
fn text_response(body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(expo::CONTENT_TYPE),
    );
    r
}

/// The metrics endpoints of a cluster, or `None` when `parts` is not one of them.
pub(crate) fn route(
    twin: &Arc<Twin>,
    cluster: &Arc<Cluster>,
    parts: &[&str],
    req: &Req,
) -> Option<ApiResult<Response>> {
    if let Some(answer) = resource_api::route(twin, cluster, parts, req) {
        return Some(answer);
    }
    if req.method != axum::http::Method::GET {
        return None;
    }
    let body = match parts {
        ["metrics"] => {
            let data = twin.lock(cluster);
            let mut m = cluster.metrics.lock();
            Ok(apiserver::scrape(&mut m, &data))
        }
        [
            "api",
            "v1",
            "namespaces",
            "kube-system",
            "services",
            "etcd:2381",
            "proxy",
            "metrics",
        ] => {
            let data = twin.lock(cluster);
            let mut m = cluster.metrics.lock();
            Ok(etcd::scrape(&mut m, &data))
        }
        [
            "api",
            "v1",
            "namespaces",
            "kube-system",
            "services",
            "kube-state-metrics:8080",
            "proxy",
            "metrics",
        ] => {
            let data = twin.lock(cluster);
            Ok(ksm::scrape(&data))
        }
        [
            "api",
            "v1",
            "namespaces",
            "monitoring",
            "services",
            "blackbox-exporter:9115",
            "proxy",
            "probe",
        ] => {
            let data = twin.lock(cluster);
            let mut m = cluster.metrics.lock();
            blackbox::probe(&mut m, &data, &req.query)
        }
        ["api", "v1", "nodes", target, "proxy", "metrics"] => {
            let node = target.strip_suffix(":9100")?;
            let data = twin.lock(cluster);
            let mut m = cluster.metrics.lock();
            node::scrape(&mut m, &data, node)
        }
        ["api", "v1", "nodes", node, "proxy", "metrics", "cadvisor"] => {
            let data = twin.lock(cluster);
            let mut m = cluster.metrics.lock();
            // The simulated second, as the Metrics API reads it: the two agree.
            let sim_now = jiff::Timestamp::from_second(twin.now().as_second()).unwrap_or_default();
            cadvisor::scrape(&mut m, &data, node, sim_now)
        }
        _ => return None,
    };
    Some(body.map(text_response))
}

/// A fault that shapes metric values changed (call with the new faults in place): advance
/// every series group at its old rates up to now, then give it the rates of the new faults.
pub fn faults_changed(cluster: &Cluster, data: &ClusterData) {
    let mut m = cluster.metrics.lock();
    apiserver::advance(&mut m, data);
    etcd::advance(&mut m, data);
    node::advance_all(&mut m, data);
}

/// The node named `node` exists in `data`, or a NotFound for it.
pub(crate) fn require_node(data: &ClusterData, node: &str) -> ApiResult<()> {
    data.get(
        &crate::cluster::keys::NODES,
        &crate::store::ObjKey::cluster(node),
    )
    .map(|_| ())
    .ok_or_else(|| ApiError::not_found("", "nodes", node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_normal_cdf_is_half_at_the_median_and_monotonic() {
        let l = Latency {
            median: 0.002,
            sigma: 0.4,
            shift: 0.0,
        };
        assert!((l.cdf(0.002) - 0.5).abs() < 1e-6);
        assert!(l.cdf(0.001) < l.cdf(0.002) && l.cdf(0.004) < l.cdf(0.008));
        assert!(l.cdf(0.008) > 0.99);
        let shifted = Latency { shift: 0.1, ..l };
        assert_eq!(shifted.cdf(0.05), 0.0);
    }

    #[test]
    fn unit_is_stable_and_in_range() {
        let a = unit(7, &["node-1", "cpu"]);
        assert_eq!(a, unit(7, &["node-1", "cpu"]));
        assert_ne!(a, unit(8, &["node-1", "cpu"]));
        assert!((0.0..1.0).contains(&a));
    }
}
