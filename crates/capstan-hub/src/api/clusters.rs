//! The inventory for users: reads (health computed at read time) and deregistration.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use capstan_core::selector::LabelSelector;
use jiff::SignedDuration;
use serde::Deserialize;

use super::{ApiError, ApiState, ClusterView};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    label_selector: Option<String>,
}

pub(crate) fn lease(state: &ApiState) -> SignedDuration {
    SignedDuration::try_from(state.lease).unwrap_or(SignedDuration::MAX)
}

/// The `labelSelector` query parameter: everything when absent or empty, 400 naming the
/// field when it does not parse.
pub(crate) fn parse_selector(text: Option<&str>) -> Result<LabelSelector, ApiError> {
    match text {
        None | Some("") => Ok(LabelSelector::everything()),
        Some(s) => LabelSelector::parse(s)
            .map_err(|e| ApiError::bad_request(e.to_string()).with_field("labelSelector")),
    }
}

/// `GET /api/v1/clusters[?labelSelector=..]`: the clusters by name.
pub(crate) async fn list(
    State(state): State<ApiState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<ClusterView>>, ApiError> {
    let Query(query) = query?;
    let selector = parse_selector(query.label_selector.as_deref())?;
    let records = state.store.list_clusters(&selector).await?;
    let now = state.clock.now();
    let lease = lease(&state);
    Ok(Json(
        records
            .into_iter()
            .map(|r| ClusterView::from_record(r, now, lease))
            .collect(),
    ))
}

/// `DELETE /api/v1/clusters/{name}`: deregisters the cluster (its inventory row and its
/// agent's token); 404 if the hub knows neither. Rollouts that froze it skip it from their
/// next round on (`ClusterRemoved`). An agent still running with the bootstrap token
/// registers again at its next request: stop it first to retire the cluster.
pub(crate) async fn delete_one(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.store.deregister_cluster(&name).await? {
        return Err(ApiError::not_found(format!("cluster {name:?} not found")));
    }
    tracing::info!(cluster = %name, "cluster deregistered");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/clusters/{name}`.
pub(crate) async fn get_one(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<ClusterView>, ApiError> {
    let record = state
        .store
        .get_cluster(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster {name:?} not found")))?;
    Ok(Json(ClusterView::from_record(
        record,
        state.clock.now(),
        lease(&state),
    )))
}
