//! Where containers' usage comes from: the Metrics API (`metrics.k8s.io/v1beta1`, what
//! metrics-server serves and what the VPA recommender and `kubectl top` read), or the
//! cluster's Prometheus (cAdvisor's series, plus the pods' egress that the Metrics API does
//! not carry).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use capstan_core::quantity::Quantity;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::health::PrometheusSource;

/// One container's usage at a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerUsage {
    /// Shared by every container of that name in the sample.
    pub name: Arc<str>,
    pub cpu_cores: f64,
    pub memory_bytes: f64,
}

/// One pod's usage at a sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodUsage {
    pub containers: Vec<ContainerUsage>,
    /// Bytes per second sent, when the source measures it.
    pub egress_bytes_per_second: Option<f64>,
}

/// Every pod's usage at one sample: namespace -> pod -> usage.
#[derive(Debug, Clone, Default)]
pub struct UsageSnapshot {
    pub pods: FxHashMap<Box<str>, FxHashMap<Box<str>, PodUsage>>,
    /// The source measures egress (absent pods then sent nothing).
    pub egress_measured: bool,
}

impl UsageSnapshot {
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodUsage> {
        self.pods.get(namespace)?.get(name)
    }

    pub fn pod_count(&self) -> usize {
        self.pods.values().map(FxHashMap::len).sum()
    }

    /// The pod's entry, made if new (always `Some`: an `Option` only because the namespace
    /// is looked up before a key is allocated for it, namespaces being few).
    fn pod_mut(&mut self, namespace: &str, name: &str) -> Option<&mut PodUsage> {
        if !self.pods.contains_key(namespace) {
            self.pods.insert(namespace.into(), FxHashMap::default());
        }
        self.pods
            .get_mut(namespace)
            .map(|pods| pods.entry(name.into()).or_default())
    }
}

/// Where usage is read.
pub enum UsageSource {
    MetricsApi(kube::Client),
    Prometheus(PrometheusSource),
}

#[derive(Deserialize)]
struct PodMetrics {
    metadata: MetricsMeta,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(Deserialize)]
struct MetricsMeta {
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize)]
struct ContainerMetrics {
    name: String,
    usage: UsageWire,
}

#[derive(Deserialize)]
struct UsageWire {
    #[serde(default)]
    cpu: Option<String>,
    #[serde(default)]
    memory: Option<String>,
}

/// A quantity string as a float (`123456n` cores, `45678Ki` bytes); malformed reads as 0.
fn quantity(q: Option<&str>) -> f64 {
    q.and_then(|q| Quantity::parse(q).ok())
        .map_or(0.0, |q| q.as_f64())
}

/// cAdvisor's per-container CPU rate, working set, and per-pod egress rate. `container!=""`
/// drops the pod-level cgroup series, `container!="POD"` the pause container (older kubelets).
const CPU_QUERY: &str = r#"sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!="", container!="POD"}[5m]))"#;
const MEMORY_QUERY: &str = r#"max by (namespace, pod, container) (container_memory_working_set_bytes{container!="", container!="POD"})"#;
const EGRESS_QUERY: &str =
    r#"sum by (namespace, pod) (rate(container_network_transmit_bytes_total[5m]))"#;

impl UsageSource {
    pub fn name(&self) -> &'static str {
        match self {
            UsageSource::MetricsApi(_) => "metrics-api",
            UsageSource::Prometheus(_) => "prometheus",
        }
    }

    /// Every running pod's usage now.
    pub async fn sample(&self) -> Result<UsageSnapshot, String> {
        match self {
            UsageSource::MetricsApi(client) => metrics_api(client).await,
            UsageSource::Prometheus(p) => prometheus(p).await,
        }
    }
}

async fn metrics_api(client: &kube::Client) -> Result<UsageSnapshot, String> {
    let request = http::Request::get("/apis/metrics.k8s.io/v1beta1/pods")
        .body(Vec::new())
        .map_err(|e| format!("building the Metrics API request: {e}"))?;
    let body = client
        .request_text(request)
        .await
        .map_err(|e| format!("listing metrics.k8s.io/v1beta1 pods: {e}"))?;
    parse_pod_metrics_list(&body)
}

/// A `PodMetricsList` read item by item into the snapshot: a million-pod list never exists
/// as a `Vec` of items beside the map it becomes.
fn parse_pod_metrics_list(body: &str) -> Result<UsageSnapshot, String> {
    let mut de = serde_json::Deserializer::from_str(body);
    let mut snapshot = UsageSnapshot::default();
    ListSeed(&mut snapshot)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| format!("reading the PodMetricsList: {e}"))?;
    Ok(snapshot)
}

/// The list object: only `items` is read.
struct ListSeed<'a>(&'a mut UsageSnapshot);

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a PodMetricsList")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "items" {
                map.next_value_seed(ItemsSeed {
                    snapshot: &mut *self.0,
                    names: &mut names,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ItemsSeed<'a> {
    snapshot: &'a mut UsageSnapshot,
    /// Container names seen, shared.
    names: &'a mut HashSet<Arc<str>>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of PodMetrics")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(pod) = seq.next_element::<PodMetrics>()? {
            let containers = pod
                .containers
                .into_iter()
                .map(|c| ContainerUsage {
                    name: intern(self.names, &c.name),
                    cpu_cores: quantity(c.usage.cpu.as_deref()),
                    memory_bytes: quantity(c.usage.memory.as_deref()),
                })
                .collect();
            if let Some(usage) = self
                .snapshot
                .pod_mut(&pod.metadata.namespace, &pod.metadata.name)
            {
                usage.containers = containers;
            }
        }
        Ok(())
    }
}

fn intern(names: &mut HashSet<Arc<str>>, name: &str) -> Arc<str> {
    if let Some(n) = names.get(name) {
        return n.clone();
    }
    let n: Arc<str> = Arc::from(name);
    names.insert(n.clone());
    n
}

async fn prometheus(p: &PrometheusSource) -> Result<UsageSnapshot, String> {
    let (cpu, memory, egress) = tokio::join!(
        p.query(CPU_QUERY),
        p.query(MEMORY_QUERY),
        p.query(EGRESS_QUERY)
    );
    let mut snapshot = UsageSnapshot::default();
    let label = |l: &capstan_core::health::Labels, k: &str| l.get(k).cloned().unwrap_or_default();
    for (labels, value) in cpu? {
        let (ns, pod, container) = (
            label(&labels, "namespace"),
            label(&labels, "pod"),
            label(&labels, "container"),
        );
        if let Some(usage) = snapshot.pod_mut(&ns, &pod) {
            container_entry(usage, &container).cpu_cores = finite(value);
        }
    }
    for (labels, value) in memory? {
        let (ns, pod, container) = (
            label(&labels, "namespace"),
            label(&labels, "pod"),
            label(&labels, "container"),
        );
        if let Some(usage) = snapshot.pod_mut(&ns, &pod) {
            container_entry(usage, &container).memory_bytes = finite(value);
        }
    }
    // Egress is optional: a Prometheus without the network series still prices compute.
    match egress {
        Ok(samples) => {
            snapshot.egress_measured = !samples.is_empty();
            for (labels, value) in samples {
                let (ns, pod) = (label(&labels, "namespace"), label(&labels, "pod"));
                if let Some(usage) = snapshot.pod_mut(&ns, &pod) {
                    usage.egress_bytes_per_second = Some(finite(value));
                }
            }
        }
        Err(e) => tracing::debug!(error = %e, "no egress from prometheus"),
    }
    Ok(snapshot)
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v.max(0.0) } else { 0.0 }
}

fn container_entry<'a>(pod: &'a mut PodUsage, name: &str) -> &'a mut ContainerUsage {
    if let Some(i) = pod.containers.iter().position(|c| &*c.name == name) {
        return &mut pod.containers[i];
    }
    pod.containers.push(ContainerUsage {
        name: name.into(),
        cpu_cores: 0.0,
        memory_bytes: 0.0,
    });
    let last = pod.containers.len() - 1;
    &mut pod.containers[last]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn metrics_server_quantities_read_as_cores_and_bytes() {
        assert_eq!(quantity(Some("250000000n")), 0.25);
        assert_eq!(quantity(Some("1500m")), 1.5);
        assert_eq!(quantity(Some("2048Ki")), 2_097_152.0);
        assert_eq!(quantity(Some("bogus")), 0.0);
        assert_eq!(quantity(None), 0.0);
    }

    #[test]
    fn a_pod_metrics_list_decodes_as_metrics_server_writes_it() {
        let body = r#"{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},
          "items":[{"metadata":{"name":"web-1","namespace":"shop","creationTimestamp":"2026-01-01T00:00:00Z"},
          "timestamp":"2026-01-01T00:00:00Z","window":"30s",
          "containers":[{"name":"app","usage":{"cpu":"12345678n","memory":"65536Ki"}},
                        {"name":"sidecar","usage":{"cpu":"0","memory":"1Mi"}}]},
          {"metadata":{"name":"web-2","namespace":"shop"},"timestamp":"2026-01-01T00:00:00Z","window":"30s",
           "containers":[{"name":"app","usage":{"cpu":"1m","memory":"2Mi"}}]}]}"#;
        let snapshot = parse_pod_metrics_list(body).unwrap();
        assert_eq!(snapshot.pod_count(), 2);
        let web1 = snapshot.pod("shop", "web-1").unwrap();
        assert_eq!(web1.containers.len(), 2);
        assert!((web1.containers[0].cpu_cores - 0.012345678).abs() < 1e-12);
        assert_eq!(web1.containers[0].memory_bytes, 65536.0 * 1024.0);
        let web2 = snapshot.pod("shop", "web-2").unwrap();
        assert!(
            Arc::ptr_eq(&web1.containers[0].name, &web2.containers[0].name),
            "container names are shared"
        );
        assert!(parse_pod_metrics_list(r#"{"items": [{"metadata": 5}]}"#).is_err());
    }
}
