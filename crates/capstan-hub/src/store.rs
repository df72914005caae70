//! The hub's persistent state, behind the [`Store`] trait.
//!
//! **Trait shape.** Methods return [`BoxFuture`] rather than being `async fn`s, so that the trait
//! is dyn-compatible and the hub holds a [`SharedStore`] (`Arc<dyn Store>`) whatever the backend:
//! [`SqliteStore`] today, PostgreSQL later. One boxed future per call is noise next to a
//! database round trip.
//!
//! **Time.** The store reads no clock. Every write takes the `now` to record, from the hub's one
//! clock (scaled in the demo), and staleness is computed on read by
//! [`ClusterRecord::health_at`] rather than swept into the table: nothing has to run for a
//! silent cluster to become Unknown, and a restarted hub sees its old rows as stale until their
//! agents report again.
//!
//! **Documents.** Upgrade specs and statuses, rollout states and work payloads are JSON the
//! store does not interpret: the rollout logic owns their shape, the store owns durability and
//! the concurrency rules (compare-and-set on [`UpgradeRecord::generation`], idempotent
//! [`Store::enqueue_work`], final work states).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use capstan_core::cost::{CostHour, CostPeriod, CostWindow, Resolution};
use capstan_core::health::{HealthReport, Severity};
use capstan_core::posture::report::PostureReport;
use capstan_core::selector::LabelSelector;
use futures::future::BoxFuture;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Result;

mod cost;
pub(crate) mod posture;
mod sqlite;
pub use cost::{ClusterCostTotals, CostDetail, CostRecommendationsRecord, CostWriteOutcome};
pub use posture::{
    ClusterExceptions, ClusterFinding, ControlSums, ExceptedFilter, FindingsQuery, HistoryQuery,
    HistoryStep, POSTURE_DAILY_HISTORY_DAYS, POSTURE_HISTORY_DAYS, PostureHistoryBucket,
    PostureHistoryPoint, PostureRead, PostureSummary, PostureWriteOutcome,
};
pub use sqlite::SqliteStore;

/// The store as the hub holds it.
pub type SharedStore = Arc<dyn Store>;

/// The hub's persistent state. See the module documentation for the design.
pub trait Store: Send + Sync + 'static {
    // --- clusters inventory ---

    /// Records an agent's report: inserts the cluster on first sight (`registered_at = now`),
    /// otherwise replaces everything it reports and sets `last_seen = now`. A report without
    /// a health report keeps the cluster's latest one (the agent may evaluate its rules less
    /// often than it reports; [`AlertSummary::evaluated_at`] tells how old it is).
    fn upsert_cluster<'a>(
        &'a self,
        report: &'a ClusterReport,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>>;
    fn get_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ClusterRecord>>>;
    /// Clusters whose labels match `selector`, by name.
    fn list_clusters<'a>(
        &'a self,
        selector: &'a LabelSelector,
    ) -> BoxFuture<'a, Result<Vec<ClusterRecord>>>;
    /// Removes a cluster from the inventory; `false` when there was none.
    fn delete_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>>;
    /// Deregisters a cluster: its inventory row and its agent's token hash go together (one
    /// transaction), so that its agent gets 401 and must register again. `false` when there
    /// was neither.
    fn deregister_cluster<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>>;
    /// The names of every cluster in the inventory, sorted (cheaper than
    /// [`Self::list_clusters`]: no labels, versions or summaries).
    fn cluster_names(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    /// The latest health report of each of `clusters` that has one (unknown names and
    /// clusters whose agent never sent one are absent). One query whatever the number of
    /// names, so that a rollout round over 10,000 clusters reads them at once.
    fn health_reports<'a>(
        &'a self,
        clusters: &'a [String],
    ) -> BoxFuture<'a, Result<BTreeMap<String, HealthReport>>>;

    // --- agents ---

    /// Stores the SHA-256 of `token` for `cluster`, replacing any earlier one (re-registration
    /// rotates the token). The token itself is neither stored nor logged.
    fn register_agent<'a>(
        &'a self,
        cluster: &'a str,
        token: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>>;
    /// Whether `token` is the one registered for `cluster`, compared in constant time.
    fn verify_agent<'a>(&'a self, cluster: &'a str, token: &'a str) -> BoxFuture<'a, Result<bool>>;

    // --- upgrades ---

    /// Creates an upgrade at generation 1; [`crate::Error::AlreadyExists`] if the name is taken.
    fn create_upgrade<'a>(
        &'a self,
        name: &'a str,
        spec: &'a Value,
        status: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>>;
    fn get_upgrade<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<UpgradeRecord>>>;
    /// All upgrades, by name.
    fn list_upgrades(&self) -> BoxFuture<'_, Result<Vec<UpgradeRecord>>>;
    /// Every upgrade's `(name, generation)`, by name: enough for a reader that keeps decoded
    /// upgrades to know which changed, without reading their documents.
    fn list_upgrade_generations(&self) -> BoxFuture<'_, Result<Vec<(String, i64)>>>;
    /// Replaces the status if the upgrade is still at `expected_generation`, and bumps the
    /// generation; otherwise [`crate::Error::Conflict`] (or `NotFound`) and nothing changes.
    fn update_upgrade_status<'a>(
        &'a self,
        name: &'a str,
        expected_generation: i64,
        status: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>>;
    /// Replaces the spec (pause, resume, approvals...) under the same compare-and-set rule.
    fn update_upgrade_spec<'a>(
        &'a self,
        name: &'a str,
        expected_generation: i64,
        spec: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>>;
    /// Deletes an upgrade and its per-cluster rollout states; `false` when there was none.
    fn delete_upgrade<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool>>;

    // --- per-cluster rollout state ---

    /// Sets one cluster's state within an upgrade; `NotFound` if the upgrade does not exist.
    fn upsert_rollout_cluster<'a>(
        &'a self,
        upgrade: &'a str,
        cluster: &'a str,
        state: &'a Value,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<()>>;
    /// The clusters' states within an upgrade, by cluster name.
    fn list_rollout_clusters<'a>(
        &'a self,
        upgrade: &'a str,
    ) -> BoxFuture<'a, Result<Vec<RolloutClusterRecord>>>;

    /// One rollout decision, atomically: compare-and-set of the upgrade's status on
    /// `expected_generation` (as [`Self::update_upgrade_status`]), then the clusters' states,
    /// the work items (idempotent as [`Self::enqueue_work`]) and the events. All or nothing:
    /// on a conflict, or a kill -9 halfway, none of it is stored, so the hub can persist a
    /// decision and its effects without a window where one exists without the other.
    fn write_rollout<'a>(
        &'a self,
        write: &'a RolloutWrite,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<UpgradeRecord>>;

    // --- events ---

    /// Appends an event; returns its id (increasing: later appends have larger ids).
    fn append_event<'a>(&'a self, event: &'a NewEvent) -> BoxFuture<'a, Result<i64>>;
    /// The `limit` most recent events about `subject`, oldest first.
    fn list_events<'a>(
        &'a self,
        subject: &'a Subject,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<EventRecord>>>;

    // --- work items for agents ---

    /// Queues a work item as Pending. Idempotent on the id: if an item with this id exists,
    /// nothing changes and `false` is returned, so a hub repeating a step after a crash does
    /// not queue the work twice.
    fn enqueue_work<'a>(
        &'a self,
        item: &'a NewWorkItem,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<bool>>;
    fn get_work<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<WorkItem>>>;
    /// A cluster's unfinished work (Pending or Running), oldest first: what an agent picks up,
    /// including what it was running before it restarted.
    fn list_open_work<'a>(&'a self, cluster: &'a str) -> BoxFuture<'a, Result<Vec<WorkItem>>>;
    /// An agent's status for a work item. `generation` must match the item's
    /// ([`crate::Error::Conflict`] otherwise: a message about an older item). Succeeded and
    /// Failed are final: a later status for a finished item (a retried message) changes
    /// nothing and the stored item is returned as is.
    fn set_work_status<'a>(
        &'a self,
        id: &'a str,
        generation: i64,
        status: WorkStatus,
        message: Option<&'a str>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<WorkItem>>;
    /// Attaches the agent's structured result to an unfinished item of this generation
    /// (posted just before its final status); `false` if there was none such.
    fn set_work_result<'a>(
        &'a self,
        id: &'a str,
        generation: i64,
        result: &'a Value,
    ) -> BoxFuture<'a, Result<bool>>;
    /// `(id, status, message)` of every item whose id starts with `id_prefix`, by id: what a
    /// rollout round needs of one upgrade's items, in one query rather than one per cluster.
    fn list_work_statuses<'a>(
        &'a self,
        id_prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<WorkStatusRow>>>;
    /// `(id, result)` of every item whose id starts with `id_prefix` and that has a result,
    /// by id: one upgrade's results are `"{upgrade}/"`.
    fn list_work_results<'a>(
        &'a self,
        id_prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, Value)>>>;

    // --- cost (issue 6) ---

    /// Stores a cluster's uploaded hours (an hour already stored is replaced, so a retried
    /// upload never double counts), recomputes the day rollup of every day they touch,
    /// replaces the cluster's recommendation bundle when one is given, and drops the rows
    /// of hours older than [`capstan_core::cost::HOURLY_RETENTION_HOURS`] at `now` (their
    /// totals stay, their days hold the rows). One transaction.
    fn put_cost<'a>(
        &'a self,
        cluster: &'a str,
        hours: &'a [CostHour],
        recommendations: Option<&'a Value>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<CostWriteOutcome>>;
    /// Each cluster's totals over `window` from the hours or the days (`resolution`), by
    /// cluster name: one aggregate query, no rows decoded. `clusters: None` is every cluster
    /// with cost data; clusters without data in the window are absent.
    fn cost_totals<'a>(
        &'a self,
        resolution: Resolution,
        window: CostWindow,
        clusters: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Vec<ClusterCostTotals>>>;
    /// Each cluster's stored periods within `window` merged into one
    /// ([`capstan_core::cost::merge`]), decoding only the rows `detail` asks for; by name.
    fn cost_periods<'a>(
        &'a self,
        resolution: Resolution,
        window: CostWindow,
        clusters: Option<&'a [String]>,
        detail: CostDetail,
    ) -> BoxFuture<'a, Result<Vec<(String, CostPeriod)>>>;
    /// The latest recommendation bundle of each cluster that sent one, by name.
    fn cost_recommendations<'a>(
        &'a self,
        clusters: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Vec<CostRecommendationsRecord>>>;

    // --- security posture (issue 7) ---

    /// Makes `report` its cluster's latest (findings replaced, a history point for its hour
    /// and its UTC day, hourly points older than [`POSTURE_HISTORY_DAYS`] and daily ones
    /// older than [`POSTURE_DAILY_HISTORY_DAYS`] at `now` dropped), unless the stored one
    /// was evaluated later: then nothing changes ([`PostureWriteOutcome::Older`]). One
    /// transaction.
    fn put_posture<'a>(
        &'a self,
        report: &'a PostureReport,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<PostureWriteOutcome>>;
    /// The latest reports' coverage (and rule counts if asked), by cluster name; no finding
    /// is decoded.
    fn posture_summaries<'a>(
        &'a self,
        read: PostureRead<'a>,
    ) -> BoxFuture<'a, Result<Vec<PostureSummary>>>;
    /// The latest reports' findings matching `query`, in core's `finding_order` then by
    /// cluster, at most `query.limit`.
    fn posture_findings<'a>(
        &'a self,
        query: &'a FindingsQuery,
    ) -> BoxFuture<'a, Result<Vec<ClusterFinding>>>;
    /// The exceptions each cluster's latest report applied, by cluster name; `None`: every
    /// cluster with a report. Only the reports' `exceptions` column is decoded.
    fn posture_exceptions<'a>(
        &'a self,
        clusters: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Vec<ClusterExceptions>>>;
    /// The history summed per bucket of `query.step` and control, oldest bucket first (the
    /// daily table for days, the hourly one for hours): each cluster counts in a bucket at
    /// its latest evaluation there, and only in the buckets it reported in. Buckets without
    /// any point are absent.
    fn posture_history_buckets<'a>(
        &'a self,
        query: &'a HistoryQuery,
    ) -> BoxFuture<'a, Result<Vec<PostureHistoryBucket>>>;
}

/// `(id, status, message)` of a work item: what a rollout round reads.
pub type WorkStatusRow = (String, WorkStatus, Option<String>);

/// A cluster's health: from its agent's judgement and its firing alerts (see
/// [`ClusterRecord::health_at`]), or Unknown when its agent is silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClusterHealth {
    Healthy,
    Degraded,
    /// Called `Unhealthy` before issue 5; stored rows and older agents still say so.
    #[serde(alias = "Unhealthy")]
    Critical,
    Unknown,
}

impl ClusterHealth {
    /// Every value, in the order `/metrics` and the OpenAPI document list them.
    pub const ALL: [ClusterHealth; 4] = [
        ClusterHealth::Healthy,
        ClusterHealth::Degraded,
        ClusterHealth::Critical,
        ClusterHealth::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "Healthy",
            Self::Degraded => "Degraded",
            Self::Critical => "Critical",
            Self::Unknown => "Unknown",
        }
    }

    /// The worse of a reported health and the health its alerts call for (`None`: no alert
    /// firing). Unknown (an agent that has not judged yet) yields to what the alerts say.
    fn worst(reported: ClusterHealth, from_alerts: Option<ClusterHealth>) -> ClusterHealth {
        let rank = |h: ClusterHealth| match h {
            ClusterHealth::Healthy | ClusterHealth::Unknown => 0,
            ClusterHealth::Degraded => 1,
            ClusterHealth::Critical => 2,
        };
        match from_alerts {
            Some(alerts) if reported == ClusterHealth::Unknown || rank(alerts) > rank(reported) => {
                alerts
            }
            _ => reported,
        }
    }
}

impl fmt::Display for ClusterHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClusterHealth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "Healthy" => Ok(Self::Healthy),
            "Degraded" => Ok(Self::Degraded),
            "Critical" | "Unhealthy" => Ok(Self::Critical),
            "Unknown" => Ok(Self::Unknown),
            other => Err(format!("unknown cluster health {other:?}")),
        }
    }
}

/// Kubernetes versions running in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterVersions {
    /// The API server's version (`v1.32.4`), when it answered.
    pub control_plane: Option<String>,
    /// Nodes per kubelet version.
    pub kubelet: BTreeMap<String, u64>,
    /// Versions the cluster's provider offers (the report's `offeredVersions`); empty when
    /// the agent reported none. Kept here, in the versions document, so that it needs no
    /// column of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<String>,
}

/// What an agent report contributes to the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterReport {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub versions: ClusterVersions,
    pub node_count: u64,
    pub pod_count: u64,
    pub health: ClusterHealth,
    /// The agent's latest summary (bounded in size), opaque to the store; `Value::Null` if none.
    pub summary: Value,
    /// The agent's latest rule evaluation, if it sent one with this report.
    pub health_report: Option<HealthReport>,
}

/// What the listing of a cluster needs of its latest health report, without the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSummary {
    /// `prometheus` or `scrape` ([`HealthReport::source`]).
    pub source: String,
    pub evaluated_at: Timestamp,
    /// Firing alerts by severity (exact, beyond the report's cap on listed alerts).
    pub firing_critical: u64,
    pub firing_warning: u64,
    pub pending: u64,
}

impl AlertSummary {
    pub fn of(report: &HealthReport) -> Self {
        let firing = |s| report.firing.get(&s).copied().unwrap_or(0);
        Self {
            source: report.source.clone(),
            evaluated_at: report.evaluated_at,
            firing_critical: firing(Severity::Critical),
            firing_warning: firing(Severity::Warning),
            pending: report.pending,
        }
    }

    /// The health the firing alerts call for: Critical for a critical one, Degraded for a
    /// warning, `None` when nothing fires.
    pub fn health(&self) -> Option<ClusterHealth> {
        if self.firing_critical > 0 {
            Some(ClusterHealth::Critical)
        } else if self.firing_warning > 0 {
            Some(ClusterHealth::Degraded)
        } else {
            None
        }
    }
}

/// A cluster in the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRecord {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub versions: ClusterVersions,
    pub node_count: u64,
    pub pod_count: u64,
    /// The health the agent judged from its nodes and API server; see [`Self::health_at`]
    /// for the health to show.
    pub reported_health: ClusterHealth,
    pub summary: Value,
    pub last_seen: Timestamp,
    pub registered_at: Timestamp,
    /// The counts of the latest health report ([`Store::health_reports`] has the report);
    /// `None` until the agent sends one.
    pub alerts: Option<AlertSummary>,
}

impl ClusterRecord {
    /// The health at `now`, the one every view shows (API, CLI, `/metrics`): Unknown once
    /// the agent has been silent for longer than `lease`; otherwise the worst of the
    /// reported health, Critical if a critical alert is firing and Degraded if a warning is.
    pub fn health_at(&self, now: Timestamp, lease: SignedDuration) -> ClusterHealth {
        if now.duration_since(self.last_seen) > lease {
            return ClusterHealth::Unknown;
        }
        ClusterHealth::worst(
            self.reported_health,
            self.alerts.as_ref().and_then(AlertSummary::health),
        )
    }
}

/// A `ClusterUpgrade` as stored: documents opaque to the store, and the generation that
/// compare-and-set writes are checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradeRecord {
    pub name: String,
    pub spec: Value,
    pub status: Value,
    /// 1 at creation, +1 on every spec or status write.
    pub generation: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One cluster's state within an upgrade.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutClusterRecord {
    pub upgrade: String,
    pub cluster: String,
    pub state: Value,
    pub updated_at: Timestamp,
}

/// Everything one rollout decision writes; see [`Store::write_rollout`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RolloutWrite {
    pub upgrade: String,
    pub expected_generation: i64,
    pub status: Value,
    /// (cluster, state) pairs to set, as [`Store::upsert_rollout_cluster`].
    pub clusters: Vec<(String, Value)>,
    pub work: Vec<NewWorkItem>,
    pub events: Vec<NewEvent>,
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Upgrade(String),
    Cluster(String),
}

impl Subject {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Upgrade(_) => "upgrade",
            Self::Cluster(_) => "cluster",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Upgrade(name) | Self::Cluster(name) => name,
        }
    }

    fn from_parts(kind: &str, name: String) -> Option<Self> {
        match kind {
            "upgrade" => Some(Self::Upgrade(name)),
            "cluster" => Some(Self::Cluster(name)),
            _ => None,
        }
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub subject: Subject,
    /// CamelCase, machine-readable (`StepStarted`, `ClusterFailed`).
    pub reason: String,
    pub message: String,
    pub at: Timestamp,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    pub subject: Subject,
    pub reason: String,
    pub message: String,
    pub at: Timestamp,
}

/// Where a work item is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WorkStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl WorkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }

    /// Succeeded and Failed: no later status changes them.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

impl fmt::Display for WorkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "Pending" => Ok(Self::Pending),
            "Running" => Ok(Self::Running),
            "Succeeded" => Ok(Self::Succeeded),
            "Failed" => Ok(Self::Failed),
            other => Err(format!("unknown work status {other:?}")),
        }
    }
}

/// A work item to queue for a cluster's agent.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWorkItem {
    /// Deterministic for the step it carries out (e.g. `{upgrade}/{cluster}/{target}`), so
    /// that queuing it again is a no-op.
    pub id: String,
    pub cluster: String,
    pub generation: i64,
    pub kind: String,
    pub payload: Value,
}

/// A queued work item.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    pub id: String,
    pub cluster: String,
    pub generation: i64,
    pub kind: String,
    pub payload: Value,
    pub status: WorkStatus,
    /// The agent's last word on it (why it failed, what it is doing).
    pub message: Option<String>,
    /// The agent's structured outcome, posted with the final status.
    pub result: Option<Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
