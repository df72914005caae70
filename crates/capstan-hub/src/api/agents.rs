//! The agent protocol: registration, reports, long-polled work and work status.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use capstan_clock::Stopwatch;
use capstan_core::duration::parse_duration;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::status::decode_json;
use super::{
    ApiError, ApiState, MAX_WAIT, RegisterRequest, RegisterResponse, ReportRequest, WorkItemView,
    WorkStatusRequest, hash_token, is_dns1123_label,
};
use crate::store::{ClusterHealth, ClusterReport, ClusterVersions, WorkStatus};

const TOKEN_PREFIX: &str = "capstan.";

/// The bearer token of a request, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Checks that the request carries the token of `cluster`: 401 without a valid token, 403
/// with a valid token of another cluster.
pub(crate) async fn authenticate_agent(
    state: &ApiState,
    headers: &HeaderMap,
    cluster: &str,
) -> Result<(), ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError::unauthorized("an agent token is required (Authorization: Bearer)")
    })?;
    let invalid = || ApiError::unauthorized("the agent token is not valid");
    let token_cluster = token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|rest| rest.split_once('.'))
        .map(|(c, _)| c)
        .ok_or_else(invalid)?;
    if !state.store.verify_agent(token_cluster, token).await? {
        return Err(invalid());
    }
    if token_cluster != cluster {
        tracing::warn!(
            cluster,
            token_cluster,
            "agent presented another cluster's token"
        );
        return Err(ApiError::forbidden(format!(
            "this token is not for cluster {cluster:?}"
        )));
    }
    Ok(())
}

/// A fresh cluster token: `capstan.{cluster}.{32 random bytes in hex}`.
fn new_token(cluster: &str) -> Result<String, ApiError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| {
        tracing::error!(error = %e, "no randomness for an agent token");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "the hub could not generate a token",
        )
    })?;
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{TOKEN_PREFIX}{cluster}.{hex}"))
}

/// `POST /api/v1/agents/register`. Registering again rotates the cluster's token.
pub(crate) async fn register(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RegisterResponse>, ApiError> {
    let presented = bearer(&headers).ok_or_else(|| {
        ApiError::unauthorized("the bootstrap token is required (Authorization: Bearer)")
    })?;
    let presented_hash = hash_token(presented);
    if !bool::from(
        presented_hash
            .as_bytes()
            .ct_eq(state.bootstrap_token_hash.as_bytes()),
    ) {
        return Err(ApiError::unauthorized("the bootstrap token is not valid"));
    }
    let request: RegisterRequest = decode_json(&body?)?;
    if !is_dns1123_label(&request.cluster) {
        return Err(ApiError::invalid(
            "cluster",
            format!(
                "{:?} is not a DNS-1123 label (at most 63 lower-case alphanumerics or '-', \
                 starting and ending with an alphanumeric)",
                request.cluster
            ),
        ));
    }
    let cluster = request.cluster;
    let token = new_token(&cluster)?;
    let now = state.clock.now();
    state.store.register_agent(&cluster, &token, now).await?;
    // List the cluster at once (health Unknown until its first report), with the labels it
    // registered with; an already known cluster keeps what its agent last reported.
    if state.store.get_cluster(&cluster).await?.is_none() {
        let placeholder = ClusterReport {
            name: cluster.clone(),
            labels: request.labels,
            versions: ClusterVersions::default(),
            node_count: 0,
            pod_count: 0,
            health: ClusterHealth::Unknown,
            summary: serde_json::Value::Null,
            health_report: None,
        };
        state.store.upsert_cluster(&placeholder, now).await?;
    }
    tracing::info!(cluster = %cluster, "agent registered");
    Ok(Json(RegisterResponse { cluster, token }))
}

/// `POST /api/v1/agents/{cluster}/report`.
pub(crate) async fn report(
    State(state): State<ApiState>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let received = Stopwatch::start();
    authenticate_agent(&state, &headers, &cluster).await?;
    let request: ReportRequest = decode_json(&body?)?;
    let report = request.into_report(&cluster);
    state
        .store
        .upsert_cluster(&report, state.clock.now())
        .await?;
    state.metrics.report_ingest.observe(received.elapsed());
    tracing::debug!(cluster = %cluster, "report stored");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub(crate) struct WorkQuery {
    wait: Option<String>,
}

/// `GET /api/v1/agents/{cluster}/work?wait=30s`: the cluster's open work (Pending or Running,
/// oldest first) at once if there is any, else as soon as some is queued within `wait`
/// (real time, at most [`MAX_WAIT`]; none = do not wait), else `[]`.
pub(crate) async fn poll_work(
    State(state): State<ApiState>,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    query: Result<Query<WorkQuery>, QueryRejection>,
) -> Result<Json<Vec<WorkItemView>>, ApiError> {
    let Query(query) = query?;
    let wait = match query.wait.as_deref() {
        None | Some("") => Duration::ZERO,
        Some(s) => parse_duration(s)
            .map_err(|e| ApiError::bad_request(e.to_string()).with_field("wait"))?
            .min(MAX_WAIT),
    };
    authenticate_agent(&state, &headers, &cluster).await?;

    let waiters = state.work.for_cluster(&cluster);
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    loop {
        // Register interest before reading the store, so that work queued between the read
        // and the wait still wakes us.
        let notified = waiters.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let items = state.store.list_open_work(&cluster).await?;
        if !items.is_empty() {
            return Ok(Json(items.into_iter().map(WorkItemView::from).collect()));
        }
        let _waiting = WaitingGuard::enter(&waiters.waiting);
        tokio::select! {
            () = &mut notified => {}
            () = &mut deadline => return Ok(Json(Vec::new())),
        }
    }
}

/// Counts a blocked long-poll for as long as it lives (also when the request is dropped).
struct WaitingGuard<'a>(&'a AtomicUsize);

impl<'a> WaitingGuard<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `POST /api/v1/agents/{cluster}/work/{id}/status`. A retried message is harmless: final
/// states stay final and the stored item is returned; a stale generation is 409.
pub(crate) async fn work_status(
    State(state): State<ApiState>,
    Path((cluster, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<WorkItemView>, ApiError> {
    authenticate_agent(&state, &headers, &cluster).await?;
    let request: WorkStatusRequest = decode_json(&body?)?;
    if request.status == WorkStatus::Pending {
        return Err(ApiError::invalid(
            "status",
            "an agent reports Running, Succeeded or Failed",
        ));
    }
    let not_found = || {
        ApiError::not_found(format!(
            "work item {id:?} not found for cluster {cluster:?}"
        ))
    };
    match state.store.get_work(&id).await? {
        Some(item) if item.cluster == cluster => {}
        _ => return Err(not_found()),
    }
    if let Some(result) = &request.result {
        if !request.status.is_final() {
            return Err(ApiError::invalid(
                "result",
                "a result comes with a final status (Succeeded or Failed)",
            ));
        }
        state
            .store
            .set_work_result(&id, request.generation, result)
            .await?;
    }
    let item = state
        .store
        .set_work_status(
            &id,
            request.generation,
            request.status,
            request.message.as_deref(),
            state.clock.now(),
        )
        .await?;
    tracing::info!(cluster = %cluster, work = %id, status = %item.status, "work status");
    Ok(Json(item.into()))
}
