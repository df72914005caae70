//! Cost (issue 6): the agents' hourly uploads and the fleet's cost report.
//!
//! | Route | Auth | What |
//! |---|---|---|
//! | `POST /api/v1/agents/{cluster}/cost` | cluster token | `{"hours": [CostHour], "recommendations"?}` -> 204 |
//! | `GET /api/v1/cost?window=&by=&labelSelector=&cluster=&top=` | none | [`CostReport`] |
//! | `GET /api/v1/cost/recommendations?kind=&labelSelector=&cluster=&limit=` | none | [`RecommendationList`] |
//!
//! Windows follow OpenCost's `window` parameter; one starting within the last
//! [`capstan_core::cost::HOURLY_RETENTION_HOURS`] is answered from the hours, an older one
//! from the daily rollups, widened to whole UTC days (Kubecost's rule; the answer says so).
//! Amounts are exact nanodollars, and cents chosen so that the printed rows of each column
//! add up to the printed total ([`cents_summing_to_total`]).

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use capstan_core::cost::{
    Breakdown, BreakdownRow, CostHour, CostParts, CostWindow, GroupBy, Nanodollars, Resolution,
    ShareLine, breakdown, cents_summing_to_total, cents_to_target, efficiency, parse_window,
    resolve, shares,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::agents::authenticate_agent;
use super::clusters::parse_selector;
use super::status::decode_json;
use super::{ApiError, ApiState};
use crate::store::{ClusterCostTotals, CostDetail};

mod recommendations;
pub(crate) use recommendations::list_recommendations;
pub use recommendations::{RecommendationItem, RecommendationList};

/// The most hours one upload may carry (an agent back-filling after an outage sends more
/// requests).
pub const MAX_UPLOAD_HOURS: usize = 200;
/// Cost uploads may be larger than reports: up to [`MAX_UPLOAD_HOURS`] hours of a few
/// hundred bounded rows each.
pub const MAX_COST_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Rows a report shows by default; the rest fold into one `__other__` row.
pub const DEFAULT_TOP: usize = 50;
pub const MAX_TOP: usize = 100_000;
/// Names of clusters without data listed in a report (all are counted).
pub const MAX_MISSING_LISTED: usize = 50;
/// The window a report covers when none is given.
pub const DEFAULT_WINDOW: &str = "7d";

/// The body of `POST /api/v1/agents/{cluster}/cost`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CostUpload {
    pub hours: Vec<CostHour>,
    /// The agent's latest recommendation bundle (opaque JSON for now, see
    /// [`RecommendationList`] for the shape the hub reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendations: Option<Value>,
}

/// The window a report covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportWindow {
    pub start: Timestamp,
    pub end: Timestamp,
    pub resolution: Resolution,
    /// The window asked for, when answering from days widened it to whole UTC days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<CostWindow>,
}

/// Whole cents of compute (cpu + ram + gpu), storage, network and management.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryCents {
    pub compute: i64,
    pub storage: i64,
    pub network: i64,
    pub management: i64,
}

/// The report's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportTotal {
    pub parts: CostParts,
    /// Nanodollars.
    pub total: Nanodollars,
    /// Each column's cents: the sum of the rows' cents in that column.
    pub parts_cents: CategoryCents,
    /// The sum of the rows' `totalCents`.
    pub total_cents: i64,
    pub cpu_efficiency: f64,
    pub ram_efficiency: f64,
}

/// One row: the breakdown line with its cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportRow {
    #[serde(flatten)]
    pub line: BreakdownRow,
    pub parts_cents: CategoryCents,
    pub total_cents: i64,
}

/// The answer of `GET /api/v1/cost`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostReport {
    pub window: ReportWindow,
    pub by: GroupBy,
    /// Always `USD`.
    pub currency: String,
    pub total: ReportTotal,
    /// The fleet's split beside the typical ranges.
    pub shares: Vec<ShareLine>,
    /// By total, descending; past `top`, one `__other__` row holds the rest.
    pub rows: Vec<ReportRow>,
    /// How many rows the `__other__` row folds.
    pub truncated: usize,
    /// How many clusters have data in the window.
    pub clusters: usize,
    /// Selected clusters without data in the window (the first [`MAX_MISSING_LISTED`]): the
    /// total does not include them.
    pub missing: Vec<String>,
    pub missing_count: usize,
    /// Clusters with data in the window whose egress was never measured (their agents read
    /// the Metrics API, which carries no traffic): their network cost reads 0, not because
    /// they send nothing.
    #[serde(default)]
    pub network_unmeasured: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportQuery {
    window: Option<String>,
    by: Option<String>,
    label_selector: Option<String>,
    cluster: Option<String>,
    top: Option<String>,
}

/// Why an upload is refused: 400 naming the field.
fn check_upload(upload: &CostUpload, now: Timestamp) -> Result<(), ApiError> {
    if upload.hours.len() > MAX_UPLOAD_HOURS {
        return Err(ApiError::bad_request(format!(
            "{} hours in one upload; at most {MAX_UPLOAD_HOURS}",
            upload.hours.len()
        ))
        .with_field("hours"));
    }
    let latest = now
        .checked_add(SignedDuration::from_hours(1))
        .unwrap_or(Timestamp::MAX);
    for (i, hour) in upload.hours.iter().enumerate() {
        let field = |name: &str| format!("hours[{i}].{name}");
        let start = hour.start.as_second();
        if start.rem_euclid(3600) != 0 || hour.start.subsec_nanosecond() != 0 {
            return Err(ApiError::bad_request(format!(
                "{} is not the start of a UTC hour",
                hour.start
            ))
            .with_field(field("start")));
        }
        if hour.start > latest {
            return Err(ApiError::bad_request(format!(
                "{} is in the future (the hub's time is {now})",
                hour.start
            ))
            .with_field(field("start")));
        }
        if hour.end.as_second() != start + 3600 {
            return Err(ApiError::bad_request(format!(
                "an hour ends one hour after its start ({}), not at {}",
                hour.start, hour.end
            ))
            .with_field(field("end")));
        }
        for (name, rows) in [
            ("namespaces", &hour.namespaces),
            ("workloads", &hour.workloads),
        ] {
            let mut sum = CostParts::default();
            for row in rows {
                sum += row.parts;
            }
            if sum != hour.total {
                return Err(ApiError::bad_request(format!(
                    "the {name} rows sum to {} nanodollars ({sum:?}), the total is {} ({:?})",
                    sum.total().0,
                    hour.total.total().0,
                    hour.total
                ))
                .with_field(field(name)));
            }
        }
    }
    Ok(())
}

/// `POST /api/v1/agents/{cluster}/cost`: idempotent (an hour already stored is replaced).
pub(crate) async fn upload(
    State(state): State<ApiState>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    authenticate_agent(&state, &headers, &cluster).await?;
    let upload: CostUpload = decode_json(&body?)?;
    let now = state.clock.now();
    check_upload(&upload, now)?;
    let outcome = state
        .store
        .put_cost(
            &cluster,
            &upload.hours,
            upload.recommendations.as_ref(),
            now,
        )
        .await?;
    tracing::debug!(
        cluster = %cluster,
        stored = outcome.stored,
        kept = outcome.kept,
        days = outcome.days,
        "cost stored"
    );
    Ok(StatusCode::NO_CONTENT)
}

fn parse_by(text: Option<&str>) -> Result<GroupBy, ApiError> {
    match text {
        None | Some("") | Some("cluster") => Ok(GroupBy::Cluster),
        Some("namespace") => Ok(GroupBy::Namespace),
        Some("workload") => Ok(GroupBy::Workload),
        Some(other) => Err(ApiError::bad_request(format!(
            "by {other:?} is not one of cluster, namespace, workload"
        ))
        .with_field("by")),
    }
}

/// A positive count parameter, `default` when absent.
pub(crate) fn parse_count(
    field: &'static str,
    text: Option<&str>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match text {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "{field} {s:?} is not a whole number 1 to {max}"
            ))
            .with_field(field)),
        },
    }
}

/// The clusters a request selects: `(filter for the store, names whose data is expected)`.
/// No selector and no `cluster`: every cluster (no filter), expected = the inventory.
pub(crate) async fn selected_clusters(
    state: &ApiState,
    label_selector: Option<&str>,
    cluster: Option<&str>,
) -> Result<(Option<Vec<String>>, Vec<String>), ApiError> {
    let selector = parse_selector(label_selector)?;
    let cluster = cluster.filter(|c| !c.is_empty());
    if selector.is_everything() {
        return Ok(match cluster {
            Some(name) => (Some(vec![name.to_string()]), vec![name.to_string()]),
            None => (None, state.store.cluster_names().await?),
        });
    }
    let names: Vec<String> = state
        .store
        .list_clusters(&selector)
        .await?
        .into_iter()
        .map(|c| c.name)
        .filter(|name| cluster.is_none_or(|c| c == name))
        .collect();
    Ok((Some(names.clone()), names))
}

/// The `by=cluster` lines straight from the summed columns.
fn cluster_lines(totals: &[ClusterCostTotals]) -> Breakdown {
    let mut total = CostParts::default();
    let mut rows: Vec<BreakdownRow> = totals
        .iter()
        .map(|t| {
            total += t.total;
            BreakdownRow {
                cluster: Some(t.cluster.clone()),
                namespace: None,
                kind: String::new(),
                name: String::new(),
                parts: t.total,
                total: t.amount(),
                cpu_efficiency: t.cpu_efficiency(),
                ram_efficiency: t.ram_efficiency(),
                cpu_request_core_hours: t.cpu_request_core_hours,
                cpu_usage_core_hours: t.cpu_usage_core_hours,
                ram_request_gib_hours: t.ram_request_gib_hours,
                ram_usage_gib_hours: t.ram_usage_gib_hours,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| a.cluster.cmp(&b.cluster))
    });
    Breakdown {
        by: GroupBy::Cluster,
        rows,
        total,
    }
}

/// Rows and total with cents such that the printed table adds up: in each column the rows'
/// cents sum to the TOTAL line's, and the TOTAL line's compute, storage, network and
/// management sum to its total. (Each row's own parts may differ from its total by a cent:
/// rounding a whole table both ways at once is not always possible.)
pub fn report_rows(breakdown: &Breakdown) -> (Vec<ReportRow>, ReportTotal) {
    let t = &breakdown.total;
    let line = cents_summing_to_total(&[t.compute(), t.storage, t.network, t.management]);
    let column = |pick: fn(&CostParts) -> Nanodollars, target: i64| -> Vec<i64> {
        let amounts: Vec<Nanodollars> = breakdown.rows.iter().map(|r| pick(&r.parts)).collect();
        cents_to_target(&amounts, target)
    };
    let compute = column(CostParts::compute, line[0]);
    let storage = column(|p| p.storage, line[1]);
    let network = column(|p| p.network, line[2]);
    let management = column(|p| p.management, line[3]);
    let totals = breakdown.row_cents();
    let rows: Vec<ReportRow> = breakdown
        .rows
        .iter()
        .enumerate()
        .map(|(i, line)| ReportRow {
            line: line.clone(),
            parts_cents: CategoryCents {
                compute: compute[i],
                storage: storage[i],
                network: network[i],
                management: management[i],
            },
            total_cents: totals[i],
        })
        .collect();
    let (mut cpu_req, mut cpu_use, mut ram_req, mut ram_use) = (0.0, 0.0, 0.0, 0.0);
    for row in &breakdown.rows {
        cpu_req += row.cpu_request_core_hours;
        cpu_use += row.cpu_usage_core_hours;
        ram_req += row.ram_request_gib_hours;
        ram_use += row.ram_usage_gib_hours;
    }
    let total = ReportTotal {
        parts: *t,
        total: t.total(),
        parts_cents: CategoryCents {
            compute: line[0],
            storage: line[1],
            network: line[2],
            management: line[3],
        },
        total_cents: breakdown.total_cents(),
        cpu_efficiency: efficiency(cpu_use, cpu_req),
        ram_efficiency: efficiency(ram_use, ram_req),
    };
    (rows, total)
}

/// `GET /api/v1/cost`.
pub(crate) async fn report(
    State(state): State<ApiState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<CostReport>, ApiError> {
    let Query(query) = query?;
    let now = state.clock.now();
    let window = parse_window(query.window.as_deref().unwrap_or(DEFAULT_WINDOW), now)
        .map_err(|e| ApiError::bad_request(e.to_string()).with_field("window"))?;
    let by = parse_by(query.by.as_deref())?;
    let top = parse_count("top", query.top.as_deref(), DEFAULT_TOP, MAX_TOP)?;
    let resolved = resolve(window, now);
    let (filter, expected) = selected_clusters(
        &state,
        query.label_selector.as_deref(),
        query.cluster.as_deref(),
    )
    .await?;
    let filter = filter.as_deref();
    let unmeasured;
    let (mut lines, with_data): (Breakdown, BTreeSet<String>) = match by {
        GroupBy::Cluster => {
            let totals = state
                .store
                .cost_totals(resolved.resolution, resolved.window, filter)
                .await?;
            let names = totals.iter().map(|t| t.cluster.clone()).collect();
            unmeasured = totals.iter().filter(|t| !t.network_measured).count();
            (cluster_lines(&totals), names)
        }
        GroupBy::Namespace | GroupBy::Workload => {
            let detail = if by == GroupBy::Namespace {
                CostDetail::Namespaces
            } else {
                CostDetail::Workloads
            };
            let periods = state
                .store
                .cost_periods(resolved.resolution, resolved.window, filter, detail)
                .await?;
            let names = periods.iter().map(|(name, _)| name.clone()).collect();
            unmeasured = periods.iter().filter(|(_, p)| !p.network_measured).count();
            let lines = breakdown(periods.iter().map(|(n, p)| (n.as_str(), p)), by);
            (lines, names)
        }
    };
    let truncated = lines.rows.len().saturating_sub(top);
    lines.truncate(top);
    let (rows, total) = report_rows(&lines);
    let missing: Vec<String> = expected
        .into_iter()
        .filter(|name| !with_data.contains(name))
        .collect();
    Ok(Json(CostReport {
        window: ReportWindow {
            start: resolved.window.start,
            end: resolved.window.end,
            resolution: resolved.resolution,
            requested: resolved.requested,
        },
        by,
        currency: "USD".to_string(),
        shares: shares(&lines.total),
        total,
        rows,
        truncated,
        clusters: with_data.len(),
        missing_count: missing.len(),
        missing: missing.into_iter().take(MAX_MISSING_LISTED).collect(),
        network_unmeasured: unmeasured,
    }))
}

#[cfg(test)]
mod tests;
