//! A [`ClusterSummary`] as the hub's report body, and the cluster's [`Health`] judged from it.

use std::collections::BTreeMap;

use capstan_core::summary::ClusterSummary;
use serde::{Deserialize, Serialize};

use crate::{ReportBody, VersionsBody};

/// A cluster's health as its agent judges it (the hub's `ClusterHealth`; the hub itself turns
/// a silent cluster Unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Health {
    Healthy,
    Degraded,
    /// Called `Unhealthy` before issue 5 (the hub still accepts that spelling).
    #[serde(alias = "Unhealthy")]
    Critical,
    Unknown,
}

/// Deliberately simple, from the summary alone:
/// - **Critical**: the API server did not tell its version, or the cluster has nodes and none
///   is Ready.
/// - **Degraded**: some node is not Ready other than a joining one (a new node is NotReady
///   until its kubelet and network are up; during a surge roll that is expected, not a fault).
/// - **Healthy** otherwise, including a cluster with no nodes at all.
pub fn health(summary: &ClusterSummary) -> Health {
    let nodes = &summary.nodes;
    if summary.control_plane_version.is_none() || (nodes.total > 0 && nodes.ready == 0) {
        return Health::Critical;
    }
    let not_ready = nodes.total.saturating_sub(nodes.ready);
    if not_ready > nodes.by_phase.joining {
        return Health::Degraded;
    }
    Health::Healthy
}

/// The report body for `summary`, with the agent's `labels`; the summary itself rides along
/// (it is bounded in size whatever the cluster's size).
pub fn report_body(summary: &ClusterSummary, labels: &BTreeMap<String, String>) -> ReportBody {
    let kubelet = summary
        .nodes
        .by_version
        .buckets
        .iter()
        .map(|b| (b.key.clone(), b.count))
        .collect();
    ReportBody {
        labels: labels.clone(),
        versions: VersionsBody {
            control_plane: summary.control_plane_version.clone(),
            kubelet,
        },
        node_count: summary.nodes.total,
        pod_count: summary.pods.total,
        health: health(summary),
        // A summary is plain data (strings, numbers, timestamps): it always serializes.
        summary: serde_json::to_value(summary).unwrap_or(serde_json::Value::Null),
        // The provider's, not the summary's: the agent adds them when one answers.
        offered_versions: Vec::new(),
        // The rule evaluation's, not the summary's: the agent adds it when it has one.
        health_report: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use capstan_core::summary::{Bucket, Histogram};

    use super::*;

    fn summary(total: u64, ready: u64, joining: u64) -> ClusterSummary {
        let mut s = ClusterSummary {
            control_plane_version: Some("v1.32.4".into()),
            ..ClusterSummary::default()
        };
        s.nodes.total = total;
        s.nodes.ready = ready;
        s.nodes.by_phase.joining = joining;
        s
    }

    #[test]
    fn health_follows_node_readiness_and_the_api_server() {
        assert_eq!(health(&summary(5, 5, 0)), Health::Healthy);
        assert_eq!(health(&summary(0, 0, 0)), Health::Healthy);
        assert_eq!(health(&summary(6, 5, 1)), Health::Healthy, "a joining node");
        assert_eq!(health(&summary(6, 5, 0)), Health::Degraded);
        assert_eq!(health(&summary(7, 5, 1)), Health::Degraded);
        assert_eq!(health(&summary(5, 0, 0)), Health::Critical);
        let mut silent = summary(5, 5, 0);
        silent.control_plane_version = None;
        assert_eq!(health(&silent), Health::Critical);
    }

    #[test]
    fn the_body_carries_counts_versions_and_the_summary() {
        let mut s = summary(5, 5, 0);
        s.pods.total = 24;
        s.nodes.by_version = Histogram {
            buckets: vec![
                Bucket {
                    key: "v1.32.4".into(),
                    count: 3,
                },
                Bucket {
                    key: "v1.33.1".into(),
                    count: 2,
                },
            ],
            other: 0,
            distinct: 2,
        };
        let labels = BTreeMap::from([("environment".to_string(), "production".to_string())]);
        let body = report_body(&s, &labels);
        assert_eq!(body.node_count, 5);
        assert_eq!(body.pod_count, 24);
        assert_eq!(body.versions.control_plane.as_deref(), Some("v1.32.4"));
        assert_eq!(body.versions.kubelet.get("v1.33.1"), Some(&2));
        assert_eq!(body.labels, labels);
        assert_eq!(body.summary["nodes"]["total"], 5);
        // camelCase on the wire, as the hub's report type demands.
        let json = serde_json::to_value(&body).unwrap();
        assert!(json.get("nodeCount").is_some() && json.get("podCount").is_some());
        assert_eq!(json["versions"]["controlPlane"], "v1.32.4");
    }
}
