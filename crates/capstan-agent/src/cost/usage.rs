//! Where containers' usage comes from: the Metrics API (`metrics.k8s.io/v1beta1`, what
//! metrics-server serves and what the VPA recommender and `kubectl top` read), or the
//! cluster's Prometheus (cAdvisor's series, plus the pods' egress that the Metrics API does
//! not carry).

use std::collections::HashMap;

use capstan_core::quantity::Quantity;
use serde::Deserialize;

use crate::health::PrometheusSource;

/// One container's usage at a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerUsage {
    pub name: Box<str>,
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
    pub pods: HashMap<Box<str>, HashMap<Box<str>, PodUsage>>,
    /// The source measures egress (absent pods then sent nothing).
    pub egress_measured: bool,
}

impl UsageSnapshot {
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodUsage> {
        self.pods.get(namespace)?.get(name)
    }

    pub fn pod_count(&self) -> usize {
        self.pods.values().map(HashMap::len).sum()
    }

    fn pod_mut(&mut self, namespace: &str, name: &str) -> &mut PodUsage {
        self.pods
            .entry(namespace.into())
            .or_default()
            .entry(name.into())
            .or_default()
    }
}

/// Where usage is read.
pub enum UsageSource {
    MetricsApi(kube::Client),
    Prometheus(PrometheusSource),
}

#[derive(Deserialize)]
struct PodMetricsList {
    #[serde(default)]
    items: Vec<PodMetrics>,
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
    let list: PodMetricsList = client
        .request(request)
        .await
        .map_err(|e| format!("listing metrics.k8s.io/v1beta1 pods: {e}"))?;
    let mut snapshot = UsageSnapshot::default();
    for pod in list.items {
        let usage = snapshot.pod_mut(&pod.metadata.namespace, &pod.metadata.name);
        usage.containers = pod
            .containers
            .into_iter()
            .map(|c| ContainerUsage {
                name: c.name.into(),
                cpu_cores: quantity(c.usage.cpu.as_deref()),
                memory_bytes: quantity(c.usage.memory.as_deref()),
            })
            .collect();
    }
    Ok(snapshot)
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
        container_entry(snapshot.pod_mut(&ns, &pod), &container).cpu_cores = finite(value);
    }
    for (labels, value) in memory? {
        let (ns, pod, container) = (
            label(&labels, "namespace"),
            label(&labels, "pod"),
            label(&labels, "container"),
        );
        container_entry(snapshot.pod_mut(&ns, &pod), &container).memory_bytes = finite(value);
    }
    // Egress is optional: a Prometheus without the network series still prices compute.
    match egress {
        Ok(samples) => {
            snapshot.egress_measured = !samples.is_empty();
            for (labels, value) in samples {
                let (ns, pod) = (label(&labels, "namespace"), label(&labels, "pod"));
                snapshot.pod_mut(&ns, &pod).egress_bytes_per_second = Some(finite(value));
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
          "containers":[{"name":"app","usage":{"cpu":"12345678n","memory":"65536Ki"}}]}]}"#;
        let list: PodMetricsList = serde_json::from_str(body).unwrap();
        assert_eq!(list.items[0].metadata.namespace, "shop");
        assert_eq!(
            list.items[0].containers[0].usage.cpu.as_deref(),
            Some("12345678n")
        );
    }
}
