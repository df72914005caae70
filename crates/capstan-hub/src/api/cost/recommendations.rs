//! `GET /api/v1/cost/recommendations`: each cluster's latest bundle, flattened fleet-wide.
//!
//! The bundle is the agent's JSON, stored as sent. The hub reads of it only an optional
//! `generatedAt` (RFC 3339) and one array per kind: `rightsizing`, `spot`, `quota`, `keda`;
//! an item's `monthlySavingDollars` (when it has one) orders the list.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{parse_count, selected_clusters};
use crate::api::{ApiError, ApiState};
use crate::store::CostRecommendationsRecord;

/// The kinds a bundle holds, in the order they are listed for equal savings.
pub const KINDS: [&str; 4] = ["rightsizing", "spot", "quota", "keda"];
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 100_000;

/// One recommendation and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationItem {
    pub cluster: String,
    /// `rightsizing`, `spot`, `quota` or `keda`.
    pub kind: String,
    pub generated_at: Timestamp,
    /// The item's own `monthlySavingDollars`, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_saving_dollars: Option<f64>,
    /// The recommendation as the agent sent it.
    pub item: Value,
}

/// The answer of `GET /api/v1/cost/recommendations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationList {
    /// By monthly saving, descending (items without one last); at most `limit`.
    pub items: Vec<RecommendationItem>,
    /// How many items matched before `limit`.
    pub total: usize,
    /// The sum of every matching item's positive monthly saving (before `limit`): what
    /// acting on all of them would save.
    pub monthly_saving_dollars: f64,
    /// Clusters whose bundle contributed.
    pub clusters: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecommendationsQuery {
    kind: Option<String>,
    label_selector: Option<String>,
    cluster: Option<String>,
    limit: Option<String>,
}

fn parse_kind(text: Option<&str>) -> Result<Option<&'static str>, ApiError> {
    match text {
        None | Some("") => Ok(None),
        Some(s) => KINDS
            .iter()
            .find(|k| **k == s)
            .map(|k| Some(*k))
            .ok_or_else(|| {
                ApiError::bad_request(format!("kind {s:?} is not one of {}", KINDS.join(", ")))
                    .with_field("kind")
            }),
    }
}

/// Every item of `kind` (or of every kind) in the bundles, sorted.
pub fn flatten(
    bundles: &[CostRecommendationsRecord],
    kind: Option<&str>,
) -> Vec<RecommendationItem> {
    let mut items = Vec::new();
    for bundle in bundles {
        for k in KINDS.iter().filter(|k| kind.is_none_or(|want| want == **k)) {
            let Some(list) = bundle.body.get(*k).and_then(Value::as_array) else {
                continue;
            };
            for item in list {
                items.push(RecommendationItem {
                    cluster: bundle.cluster.clone(),
                    kind: (*k).to_string(),
                    generated_at: bundle.generated_at,
                    monthly_saving_dollars: item
                        .get("monthlySavingDollars")
                        .and_then(Value::as_f64)
                        .filter(|v| v.is_finite()),
                    item: item.clone(),
                });
            }
        }
    }
    items.sort_by(order);
    items
}

fn kind_rank(kind: &str) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len())
}

/// By saving, descending, items without one last; then cluster, kind, and the item's
/// namespace and name so that the order is stable.
fn order(a: &RecommendationItem, b: &RecommendationItem) -> Ordering {
    let saving = match (a.monthly_saving_dollars, b.monthly_saving_dollars) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    saving
        .then_with(|| a.cluster.cmp(&b.cluster))
        .then_with(|| kind_rank(&a.kind).cmp(&kind_rank(&b.kind)))
        .then_with(|| text(&a.item, "namespace").cmp(&text(&b.item, "namespace")))
        .then_with(|| text(&a.item, "workload").cmp(&text(&b.item, "workload")))
        .then_with(|| text(&a.item, "name").cmp(&text(&b.item, "name")))
        .then_with(|| text(&a.item, "container").cmp(&text(&b.item, "container")))
}

/// `GET /api/v1/cost/recommendations`.
pub(crate) async fn list_recommendations(
    State(state): State<ApiState>,
    query: Result<Query<RecommendationsQuery>, QueryRejection>,
) -> Result<Json<RecommendationList>, ApiError> {
    let Query(query) = query?;
    let kind = parse_kind(query.kind.as_deref())?;
    let limit = parse_count("limit", query.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let (filter, _) = selected_clusters(
        &state,
        query.label_selector.as_deref(),
        query.cluster.as_deref(),
    )
    .await?;
    let bundles = state.store.cost_recommendations(filter.as_deref()).await?;
    let mut items = flatten(&bundles, kind);
    let total = items.len();
    let monthly_saving_dollars = items
        .iter()
        .filter_map(|i| i.monthly_saving_dollars)
        .filter(|v| *v > 0.0)
        .sum();
    let clusters = items
        .iter()
        .map(|i| i.cluster.as_str())
        .collect::<BTreeSet<_>>()
        .len();
    items.truncate(limit);
    Ok(Json(RecommendationList {
        items,
        total,
        monthly_saving_dollars,
        clusters,
    }))
}
