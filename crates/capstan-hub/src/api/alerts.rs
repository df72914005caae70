//! `GET /api/v1/alerts`: the fleet's pending and firing alerts, from each cluster's latest
//! health report; and [`live_alert_reports`], what `/metrics` reads of the same reports.
//!
//! Only clusters whose agent is live count: past the lease a cluster shows as Unknown and
//! its last report is no longer current, so its alerts are left out rather than shown (or
//! exported to a global Prometheus) as if they still fired.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use capstan_core::health::{Alert, AlertPhase, HealthReport, Severity};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::clusters::{lease, parse_selector};
use super::{ApiError, ApiState};
use crate::store::{ClusterHealth, ClusterRecord};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertsQuery {
    label_selector: Option<String>,
    severity: Option<String>,
    state: Option<String>,
}

/// The answer of `GET /api/v1/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertList {
    /// Most severe first, then by cluster, rule and labels.
    pub items: Vec<ClusterAlert>,
    /// How many clusters the items come from.
    pub clusters: usize,
}

/// One alert and the cluster it fires on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterAlert {
    pub cluster: String,
    #[serde(flatten)]
    pub alert: Alert,
}

/// The latest health report of each of `clusters` whose agent is live at `now` and whose
/// report has a pending or firing alert: one store read, whatever the fleet's size, and no
/// report decoded for a quiet cluster.
pub(crate) async fn live_alert_reports(
    state: &ApiState,
    clusters: &[ClusterRecord],
    now: Timestamp,
    lease: SignedDuration,
) -> Result<BTreeMap<String, HealthReport>, ApiError> {
    let names: Vec<String> = clusters
        .iter()
        .filter(|c| c.health_at(now, lease) != ClusterHealth::Unknown)
        .filter(|c| {
            c.alerts
                .as_ref()
                .is_some_and(|a| a.firing_critical + a.firing_warning + a.pending > 0)
        })
        .map(|c| c.name.clone())
        .collect();
    Ok(state.store.health_reports(&names).await?)
}

fn parse_severity(text: Option<&str>) -> Result<Option<Severity>, ApiError> {
    match text {
        None | Some("") => Ok(None),
        Some("critical") => Ok(Some(Severity::Critical)),
        Some("warning") => Ok(Some(Severity::Warning)),
        Some(other) => Err(ApiError::bad_request(format!(
            "severity {other:?} is not one of critical, warning"
        ))
        .with_field("severity")),
    }
}

fn parse_state(text: Option<&str>) -> Result<Option<AlertPhase>, ApiError> {
    match text {
        None | Some("") => Ok(None),
        Some("firing") => Ok(Some(AlertPhase::Firing)),
        Some("pending") => Ok(Some(AlertPhase::Pending)),
        Some(other) => Err(ApiError::bad_request(format!(
            "state {other:?} is not one of firing, pending"
        ))
        .with_field("state")),
    }
}

/// `GET /api/v1/alerts[?labelSelector=..][&severity=critical|warning][&state=firing|pending]`.
/// A report lists at most `capstan_core::health::MAX_REPORTED_ALERTS` alerts (firing before
/// pending, critical before warning); the clusters' exact counts are in their views.
pub(crate) async fn list(
    State(state): State<ApiState>,
    query: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Json<AlertList>, ApiError> {
    let Query(query) = query?;
    let selector = parse_selector(query.label_selector.as_deref())?;
    let severity = parse_severity(query.severity.as_deref())?;
    let phase = parse_state(query.state.as_deref())?;
    let clusters = state.store.list_clusters(&selector).await?;
    let reports = live_alert_reports(&state, &clusters, state.clock.now(), lease(&state)).await?;
    let mut items: Vec<ClusterAlert> = reports
        .into_iter()
        .flat_map(|(cluster, report)| {
            report.alerts.into_iter().map(move |alert| ClusterAlert {
                cluster: cluster.clone(),
                alert,
            })
        })
        .filter(|a| severity.is_none_or(|s| a.alert.severity == s))
        .filter(|a| {
            matches!(a.alert.state, AlertPhase::Pending | AlertPhase::Firing)
                && phase.is_none_or(|p| a.alert.state == p)
        })
        .collect();
    items.sort_by(|a, b| {
        b.alert
            .severity
            .cmp(&a.alert.severity)
            .then_with(|| a.cluster.cmp(&b.cluster))
            .then_with(|| a.alert.rule.cmp(&b.alert.rule))
            .then_with(|| a.alert.labels.cmp(&b.alert.labels))
    });
    let clusters = items
        .iter()
        .map(|a| a.cluster.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    Ok(Json(AlertList { items, clusters }))
}
