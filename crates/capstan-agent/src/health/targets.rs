//! What to scrape in a cluster, and the labels each target's samples get.
//!
//! One list serves both evaluation paths: the agent scrapes these targets itself, and
//! [`file_sd`] writes the same targets as a Prometheus `file_sd_configs` file, so a
//! Prometheus scraping the cluster sees the same series with the same labels (`job`,
//! `instance`, `cluster`) and the rules give the same alerts either way.
//!
//! Every target is reached through the cluster's API server, as the apiserver proxy paths
//! of a real cluster (`/api/v1/nodes/{node}:9100/proxy/metrics` for node-exporter, the
//! kubelet's `/metrics/cadvisor` through the node proxy, services for kube-state-metrics,
//! etcd and blackbox_exporter), so one credential reaches them all.

use std::collections::BTreeSet;

use capstan_core::health::Labels;
use serde_json::{Value, json};

/// A scrape job: one exporter kind. The names follow kube-prometheus' jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Job {
    Apiserver,
    Etcd,
    KubeStateMetrics,
    NodeExporter,
    /// cAdvisor, served by the kubelet (kube-prometheus' `kubelet` job, `/metrics/cadvisor`).
    Cadvisor,
    /// blackbox_exporter's ICMP module, one probe per node.
    Blackbox,
}

impl Job {
    pub const ALL: [Job; 6] = [
        Job::Apiserver,
        Job::Etcd,
        Job::KubeStateMetrics,
        Job::NodeExporter,
        Job::Cadvisor,
        Job::Blackbox,
    ];

    /// The `job` label.
    pub fn name(self) -> &'static str {
        match self {
            Job::Apiserver => "apiserver",
            Job::Etcd => "etcd",
            Job::KubeStateMetrics => "kube-state-metrics",
            Job::NodeExporter => "node-exporter",
            Job::Cadvisor => "kubelet",
            Job::Blackbox => "blackbox",
        }
    }

    /// The job that exports a metric, by the exporters' name prefixes.
    pub fn exporting(metric: &str) -> Option<Job> {
        let prefixes = [
            ("apiserver_", Job::Apiserver),
            ("etcd_", Job::Etcd),
            ("kube_", Job::KubeStateMetrics),
            ("node_", Job::NodeExporter),
            ("container_", Job::Cadvisor),
            ("probe_", Job::Blackbox),
        ];
        prefixes
            .iter()
            .find(|(prefix, _)| metric.starts_with(prefix))
            .map(|(_, job)| *job)
    }

    /// The jobs that export `metrics`; metrics no job exports are ignored (they will
    /// simply have no series).
    pub fn for_metrics<'a>(metrics: impl IntoIterator<Item = &'a String>) -> BTreeSet<Job> {
        metrics
            .into_iter()
            .filter_map(|m| Job::exporting(m))
            .collect()
    }
}

/// One endpoint to scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeTarget {
    pub job: Job,
    /// The path under the cluster's API server base URL.
    pub path: String,
    /// Query parameters (blackbox's `module` and `target`).
    pub params: Vec<(String, String)>,
    /// Added to every sample: `job`, `instance`, `cluster`.
    pub labels: Labels,
}

impl ScrapeTarget {
    fn new(job: Job, cluster: &str, instance: &str, path: String) -> Self {
        let labels = Labels::from([
            ("job".to_string(), job.name().to_string()),
            ("instance".to_string(), instance.to_string()),
            ("cluster".to_string(), cluster.to_string()),
        ]);
        Self {
            job,
            path,
            params: Vec::new(),
            labels,
        }
    }

    /// Identifies the target across scrapes (for staleness when it goes away).
    pub fn key(&self) -> String {
        format!("{}/{}", self.job.name(), self.labels["instance"])
    }

    /// The path with its query string.
    pub fn path_and_query(&self) -> String {
        if self.params.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{}?{}", self.path, query.join("&"))
    }
}

/// Percent-encodes a query component (node names are DNS labels, so this rarely matters).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The targets of `jobs` in `cluster`, whose nodes are `nodes`.
pub fn scrape_targets(cluster: &str, nodes: &[String], jobs: &BTreeSet<Job>) -> Vec<ScrapeTarget> {
    let mut targets = Vec::new();
    for job in jobs {
        match job {
            Job::Apiserver => {
                targets.push(ScrapeTarget::new(
                    *job,
                    cluster,
                    "apiserver",
                    "/metrics".into(),
                ));
            }
            Job::Etcd => targets.push(ScrapeTarget::new(
                *job,
                cluster,
                "etcd",
                "/api/v1/namespaces/kube-system/services/etcd:2381/proxy/metrics".into(),
            )),
            Job::KubeStateMetrics => targets.push(ScrapeTarget::new(
                *job,
                cluster,
                "kube-state-metrics",
                "/api/v1/namespaces/kube-system/services/kube-state-metrics:8080/proxy/metrics"
                    .into(),
            )),
            Job::NodeExporter => targets.extend(nodes.iter().map(|node| {
                ScrapeTarget::new(
                    *job,
                    cluster,
                    node,
                    format!("/api/v1/nodes/{node}:9100/proxy/metrics"),
                )
            })),
            Job::Cadvisor => targets.extend(nodes.iter().map(|node| {
                ScrapeTarget::new(
                    *job,
                    cluster,
                    node,
                    format!("/api/v1/nodes/{node}/proxy/metrics/cadvisor"),
                )
            })),
            Job::Blackbox => targets.extend(nodes.iter().map(|node| {
                let mut t = ScrapeTarget::new(
                    *job,
                    cluster,
                    node,
                    "/api/v1/namespaces/monitoring/services/blackbox-exporter:9115/proxy/probe"
                        .into(),
                );
                t.params = vec![
                    ("module".into(), "icmp".into()),
                    ("target".into(), node.clone()),
                ];
                t
            })),
        }
    }
    targets
}

/// `targets` as a Prometheus `file_sd_configs` file: `address` is the API server's
/// `host:port` and `path_prefix` the path of its base URL (empty for a real API server).
/// Labels set here win over the scrape config's defaults (`job` from `job_name`,
/// `instance` from the address), which is what makes the series match the agent's.
pub fn file_sd(targets: &[ScrapeTarget], address: &str, path_prefix: &str) -> Value {
    let groups: Vec<Value> = targets
        .iter()
        .map(|t| {
            let mut labels = serde_json::Map::new();
            for (k, v) in &t.labels {
                labels.insert(k.clone(), json!(v));
            }
            labels.insert(
                "__metrics_path__".into(),
                json!(format!("{path_prefix}{}", t.path)),
            );
            for (k, v) in &t.params {
                labels.insert(format!("__param_{k}"), json!(v));
            }
            json!({"targets": [address], "labels": labels})
        })
        .collect();
    Value::Array(groups)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn jobs_come_from_the_metric_names_the_rules_read() {
        let metrics: Vec<String> = ["node_cpu_seconds_total", "kube_node_status_condition", "up"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            Job::for_metrics(&metrics),
            BTreeSet::from([Job::NodeExporter, Job::KubeStateMetrics])
        );
    }

    #[test]
    fn node_jobs_have_one_target_per_node_with_the_node_as_instance() {
        let nodes = vec!["n1".to_string(), "n2".to_string()];
        let targets = scrape_targets(
            "prod-1",
            &nodes,
            &BTreeSet::from([Job::Apiserver, Job::NodeExporter, Job::Blackbox]),
        );
        assert_eq!(targets.len(), 5);
        let probe = targets.iter().find(|t| t.job == Job::Blackbox).unwrap();
        assert_eq!(
            probe.path_and_query(),
            "/api/v1/namespaces/monitoring/services/blackbox-exporter:9115/proxy/probe?module=icmp&target=n1"
        );
        assert_eq!(probe.labels["instance"], "n1");
        assert_eq!(probe.labels["cluster"], "prod-1");
        assert_eq!(probe.key(), "blackbox/n1");
        let ne = targets.iter().find(|t| t.job == Job::NodeExporter).unwrap();
        assert_eq!(ne.path, "/api/v1/nodes/n1:9100/proxy/metrics");
        assert_eq!(ne.labels["job"], "node-exporter");
    }

    #[test]
    fn file_sd_carries_path_params_and_labels() {
        let targets = scrape_targets("c", &["n1".to_string()], &BTreeSet::from([Job::Blackbox]));
        let sd = file_sd(&targets, "127.0.0.1:6443", "/clusters/c");
        let labels = &sd[0]["labels"];
        assert_eq!(sd[0]["targets"][0], "127.0.0.1:6443");
        assert_eq!(
            labels["__metrics_path__"],
            "/clusters/c/api/v1/namespaces/monitoring/services/blackbox-exporter:9115/proxy/probe"
        );
        assert_eq!(labels["__param_target"], "n1");
        assert_eq!(labels["instance"], "n1");
        assert_eq!(labels["job"], "blackbox");
    }
}
