//! The API's JSON bodies. Requests reject unknown fields (422 naming the field path), so a
//! misspelt field is an error rather than silently ignored.

use std::collections::BTreeMap;

use capstan_core::health::HealthReport;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{
    AlertSummary, ClusterHealth, ClusterRecord, ClusterReport, ClusterVersions, WorkItem,
    WorkStatus,
};

/// `POST /api/v1/agents/register`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// A DNS-1123 label.
    pub cluster: String,
    /// The cluster's initial labels, shown until its first report.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The answer to a registration; the token is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterResponse {
    pub cluster: String,
    pub token: String,
}

/// `POST /api/v1/agents/{cluster}/report`: [`ClusterReport`] on the wire; the cluster's name
/// comes from the path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReportRequest {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub versions: VersionsWire,
    pub node_count: u64,
    pub pod_count: u64,
    pub health: ClusterHealth,
    /// The agent's bounded summary, opaque to the hub.
    #[serde(default)]
    pub summary: Value,
    /// Versions the cluster's provider offers (`1.33.3`), when the agent could ask it; the
    /// rollout resolves `spec.version` per cluster against them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered_versions: Vec<String>,
    /// The agent's latest rule evaluation (issue 5), when it has one to send; a report
    /// without one keeps the cluster's previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_report: Option<HealthReport>,
}

/// [`ClusterVersions`] with unknown fields rejected.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VersionsWire {
    #[serde(default)]
    pub control_plane: Option<String>,
    #[serde(default)]
    pub kubelet: BTreeMap<String, u64>,
}

impl ReportRequest {
    pub fn into_report(self, cluster: &str) -> ClusterReport {
        ClusterReport {
            name: cluster.to_string(),
            labels: self.labels,
            versions: ClusterVersions {
                control_plane: self.versions.control_plane,
                kubelet: self.versions.kubelet,
                offered: self.offered_versions,
            },
            node_count: self.node_count,
            pod_count: self.pod_count,
            health: self.health,
            summary: self.summary,
            health_report: self.health_report,
        }
    }
}

/// `POST /api/v1/agents/{cluster}/work/{id}/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkStatusRequest {
    /// The generation of the item the agent worked on; 409 if it is not the current one.
    pub generation: i64,
    /// Running, Succeeded or Failed (Pending is the hub's to set).
    pub status: WorkStatus,
    #[serde(default)]
    pub message: Option<String>,
    /// The structured outcome, with a final status (kept with the item, served by
    /// `GET /api/v1/upgrades/{name}/results`).
    #[serde(default)]
    pub result: Option<Value>,
}

/// A work item as agents receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkItemView {
    pub id: String,
    pub cluster: String,
    pub generation: i64,
    pub kind: String,
    pub payload: Value,
    pub status: WorkStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<WorkItem> for WorkItemView {
    fn from(item: WorkItem) -> Self {
        Self {
            id: item.id,
            cluster: item.cluster,
            generation: item.generation,
            kind: item.kind,
            payload: item.payload,
            status: item.status,
            message: item.message,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

/// A cluster in the inventory as users see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub versions: ClusterVersions,
    pub node_count: u64,
    pub pod_count: u64,
    /// At read time ([`ClusterRecord::health_at`]): Unknown once the agent has been silent
    /// longer than the lease, else the worst of the reported health and the firing alerts.
    pub health: ClusterHealth,
    /// What the agent last judged from its nodes and API server.
    pub reported_health: ClusterHealth,
    pub summary: Value,
    pub last_seen: Timestamp,
    pub registered_at: Timestamp,
    /// The alerts of the latest health report (zero when there is none).
    #[serde(default)]
    pub alerts: AlertCounts,
    /// When the latest health report was evaluated; absent until the agent sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_evaluated_at: Option<Timestamp>,
    /// Where its values came from: `prometheus` or `scrape`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_source: Option<String>,
}

/// A cluster's alert counts: firing by severity (exact), and pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AlertCounts {
    pub critical: u64,
    pub warning: u64,
    #[serde(default)]
    pub pending: u64,
}

impl From<&AlertSummary> for AlertCounts {
    fn from(summary: &AlertSummary) -> Self {
        Self {
            critical: summary.firing_critical,
            warning: summary.firing_warning,
            pending: summary.pending,
        }
    }
}

impl ClusterView {
    pub fn from_record(record: ClusterRecord, now: Timestamp, lease: SignedDuration) -> Self {
        let health = record.health_at(now, lease);
        let alerts = record.alerts.as_ref();
        Self {
            name: record.name,
            labels: record.labels,
            versions: record.versions,
            node_count: record.node_count,
            pod_count: record.pod_count,
            health,
            reported_health: record.reported_health,
            summary: record.summary,
            last_seen: record.last_seen,
            registered_at: record.registered_at,
            alerts: alerts.map(AlertCounts::from).unwrap_or_default(),
            health_evaluated_at: alerts.map(|a| a.evaluated_at),
            health_source: alerts.map(|a| a.source.clone()),
        }
    }
}
