//! Security posture (issue 7): the agents' reports and the fleet's coverage.
//!
//! | Route | Auth | What |
//! |---|---|---|
//! | `POST /api/v1/agents/{cluster}/posture` | cluster token | a `PostureReport` -> `{"stored", "latestEvaluatedAt"}` |
//! | `GET /api/v1/posture?labelSelector=&cluster=` | none | [`PostureView`]: the fleet per control, each cluster, the clusters without a report |
//! | `GET /api/v1/posture/findings?control=&cluster=&labelSelector=&rule=&severity=&excepted=&limit=` | none | [`FindingList`] |
//! | `GET /api/v1/posture/history?control=&cluster=&labelSelector=&since=&step=` | none | [`PostureHistory`]: coverage per control per hour or day (see `history`) |
//! | `GET /api/v1/posture/exceptions?cluster=&labelSelector=` | none | [`ExceptionList`]: the exceptions in force, unused or expired (see `exceptions`) |
//!
//! A cluster's latest report replaces its previous one; an upload evaluated before the stored
//! one (an agent's retry arriving late) changes nothing and answers `stored: false`. The
//! fleet figures are core's [`FleetAccumulator`] over the clusters' coverage and rule counts;
//! the findings are never decoded for them.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use capstan_core::posture::fleet::{FleetAccumulator, FleetPosture};
use capstan_core::posture::report::{Control, ControlCoverage, PostureReport, Unit};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::agents::authenticate_agent;
use super::cost::selected_clusters;
use super::status::decode_json;
use super::{ApiError, ApiState};
use crate::metrics::{Exposition, MetricType};
use crate::store::{PostureRead, PostureSummary, PostureWriteOutcome};

mod exceptions;
mod findings;
mod history;
mod validate;
pub(crate) use exceptions::list_exceptions;
pub use exceptions::{ExceptionList, ExceptionState, FleetException, exceptions_of};
pub(crate) use findings::list_findings;
pub use findings::{DEFAULT_FINDINGS_LIMIT, FindingList, MAX_FINDINGS_LIMIT};
pub(crate) use history::history;
pub use history::{
    BucketControl, DEFAULT_HISTORY_SINCE, DEFAULT_HISTORY_STEP, DEFAULT_HOURLY_HISTORY_SINCE,
    HistoryBucket, HistoryControl, MAX_HOURLY_WINDOW_HOURS, PostureHistory, first_bucket,
    history_of,
};
pub use validate::{
    MAX_EXCEPTIONS, MAX_FINDINGS, MAX_FINDINGS_PER_CONTROL, MAX_NAME_CHARS, MAX_RULES,
    MAX_TEXT_CHARS, check_report,
};

/// A report carries up to [`MAX_FINDINGS`] findings of a few hundred bytes each.
pub const MAX_POSTURE_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The answer to an upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostureUploadAnswer {
    /// `false` when the cluster's stored report was evaluated later (nothing changed).
    pub stored: bool,
    /// The evaluation time of the cluster's report the hub now holds.
    pub latest_evaluated_at: Timestamp,
}

/// One control in one cluster, as `GET /api/v1/posture` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterControl {
    pub control: Control,
    pub unit: Unit,
    pub eligible: u64,
    pub covered: u64,
    pub excepted: u64,
    /// `(covered + excepted) / eligible` in percent; `None` when nothing is eligible.
    pub percent: Option<f64>,
    pub meets_target: bool,
    pub findings: u64,
    pub excepted_findings: u64,
}

impl From<&ControlCoverage> for ClusterControl {
    fn from(c: &ControlCoverage) -> Self {
        ClusterControl {
            control: c.control,
            unit: c.unit,
            eligible: c.eligible,
            covered: c.covered,
            excepted: c.excepted,
            percent: c.percent(),
            meets_target: c.meets_target(),
            findings: c.findings,
            excepted_findings: c.excepted_findings,
        }
    }
}

/// One cluster's latest report, without its findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPosture {
    pub cluster: String,
    pub labels: BTreeMap<String, String>,
    pub evaluated_at: Timestamp,
    /// When the hub stored it.
    pub received_at: Timestamp,
    pub kubernetes_minor: u32,
    /// In [`Control::ALL`] order.
    pub controls: Vec<ClusterControl>,
}

/// The answer of `GET /api/v1/posture`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostureView {
    pub fleet: FleetPosture,
    /// By name.
    pub clusters: Vec<ClusterPosture>,
    /// Selected clusters of the inventory with no report (not in the fleet figures).
    pub clusters_without_report: Vec<String>,
}

impl ClusterPosture {
    fn of(summary: PostureSummary) -> Self {
        let mut controls: Vec<ClusterControl> =
            summary.controls.iter().map(ClusterControl::from).collect();
        controls.sort_by_key(|c| c.control);
        ClusterPosture {
            cluster: summary.cluster,
            labels: summary.labels,
            evaluated_at: summary.evaluated_at,
            received_at: summary.received_at,
            kubernetes_minor: summary.kubernetes_minor,
            controls,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostureQuery {
    label_selector: Option<String>,
    cluster: Option<String>,
}

/// `POST /api/v1/agents/{cluster}/posture`.
pub(crate) async fn upload(
    State(state): State<ApiState>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PostureUploadAnswer>, ApiError> {
    authenticate_agent(&state, &headers, &cluster).await?;
    let report: PostureReport = decode_json(&body?)?;
    let now = state.clock.now();
    check_report(&report, &cluster, now)?;
    let answer = match state.store.put_posture(&report, now).await? {
        PostureWriteOutcome::Stored => PostureUploadAnswer {
            stored: true,
            latest_evaluated_at: report.evaluated_at,
        },
        PostureWriteOutcome::Older { stored } => {
            tracing::debug!(
                cluster = %cluster,
                evaluated_at = %report.evaluated_at,
                stored = %stored,
                "posture report older than the stored one: ignored"
            );
            PostureUploadAnswer {
                stored: false,
                latest_evaluated_at: stored,
            }
        }
    };
    if answer.stored {
        state.metrics.posture_reports.inc();
        tracing::debug!(
            cluster = %cluster,
            findings = report.findings.len(),
            "posture stored"
        );
    }
    Ok(Json(answer))
}

/// The fleet over `summaries` (core's accumulator: coverage and rule counts only).
pub fn fleet_of(summaries: &[PostureSummary]) -> FleetPosture {
    let mut acc = FleetAccumulator::new();
    for s in summaries {
        acc.add(&s.controls, &s.rules);
    }
    acc.finish()
}

/// `GET /api/v1/posture`.
pub(crate) async fn report(
    State(state): State<ApiState>,
    query: Result<Query<PostureQuery>, QueryRejection>,
) -> Result<Json<PostureView>, ApiError> {
    let Query(query) = query?;
    let (filter, expected) = selected_clusters(
        &state,
        query.label_selector.as_deref(),
        query.cluster.as_deref(),
    )
    .await?;
    let summaries = state
        .store
        .posture_summaries(PostureRead {
            clusters: filter.as_deref(),
            with_rules: true,
        })
        .await?;
    let fleet = fleet_of(&summaries);
    let reporting: BTreeSet<&str> = summaries.iter().map(|s| s.cluster.as_str()).collect();
    let clusters_without_report = expected
        .iter()
        .filter(|name| !reporting.contains(name.as_str()))
        .cloned()
        .collect();
    Ok(Json(PostureView {
        fleet,
        clusters: summaries.into_iter().map(ClusterPosture::of).collect(),
        clusters_without_report,
    }))
}

/// The posture families of `GET /metrics` (see `api::metrics`): the fleet's coverage from the
/// clusters' coverage alone (no rule counts, no findings decoded).
pub(crate) async fn metrics(state: &ApiState, out: &mut Exposition) -> Result<(), ApiError> {
    let summaries = state
        .store
        .posture_summaries(PostureRead {
            clusters: None,
            with_rules: false,
        })
        .await?;
    let fleet = fleet_of(&summaries);
    out.family(
        "capstan_posture_coverage_ratio",
        "The fleet's coverage per control over the latest posture reports (covered or excepted over eligible; RBAC counts clusters).",
        MetricType::Gauge,
    );
    for c in fleet.controls.iter().filter(|c| c.eligible > 0) {
        out.sample(
            "capstan_posture_coverage_ratio",
            &[("control", c.control.as_str())],
            (c.covered + c.excepted) as f64 / c.eligible as f64,
        );
    }
    out.family(
        "capstan_posture_clusters_reporting",
        "Clusters with a posture report.",
        MetricType::Gauge,
    );
    out.sample(
        "capstan_posture_clusters_reporting",
        &[],
        fleet.clusters_reporting as f64,
    );
    out.family(
        "capstan_posture_reports_total",
        "Posture reports stored since the hub started.",
        MetricType::Counter,
    );
    out.sample(
        "capstan_posture_reports_total",
        &[],
        state.metrics.posture_reports.get() as f64,
    );
    Ok(())
}
