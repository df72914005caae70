//! `ClusterUpgrade`s for users: apply, list, describe, and the operator commands.
//!
//! | Route | What |
//! |---|---|
//! | `POST /api/v1/upgrades` | YAML or JSON `ClusterUpgrade` -> 201 [`UpgradeDetail`]; 422 [`InvalidUpgrade`]; 409 if the name exists |
//! | `GET /api/v1/upgrades` | [`UpgradeView`]s by name |
//! | `GET /api/v1/upgrades/{name}` | [`UpgradeDetail`]: spec, status, clusters in plan order, recent events |
//! | `GET /api/v1/upgrades/{name}/results` | [`ClusterResult`]s: what each cluster's agent posted with its current attempt's final status, in plan order |
//! | `POST /api/v1/upgrades/{name}/{command}` | `pause`, `resume`, `abort`, `approve[?step=N]`, `retry`, `skip?cluster=C` -> [`UpgradeDetail`] |

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use capstan_core::rollout::{
    ClusterRollout, FieldError, Input, RolloutState, ValidationError, parse_cluster_upgrade, start,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApiError, ApiState};
use crate::rollout::{RolloutController, decision_write, decode_state, encode, work_id};
use crate::store::{Subject, UpgradeRecord};

/// Events shown by `GET /api/v1/upgrades/{name}`.
const RECENT_EVENTS: u32 = 50;

/// An upgrade in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeView {
    pub name: String,
    pub generation: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The `ClusterUpgrade` as applied.
    pub spec: Value,
    /// The rollout's state ([`RolloutState`]).
    pub status: Value,
}

/// One upgrade in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeDetail {
    #[serde(flatten)]
    pub upgrade: UpgradeView,
    /// The frozen clusters in upgrade order.
    pub clusters: Vec<ClusterRolloutView>,
    /// The most recent events, oldest first.
    pub events: Vec<UpgradeEvent>,
    /// The hub's clock when it answered (simulated time when the hub runs on a scaled
    /// clock): what a reader measures remaining soak and elapsed upgrade time against,
    /// never its own clock. Absent from older hubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRolloutView {
    pub cluster: String,
    /// Position in the frozen order, from 0.
    pub position: usize,
    #[serde(flatten)]
    pub rollout: ClusterRollout,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpgradeEvent {
    pub reason: String,
    pub message: String,
    pub at: Timestamp,
}

/// The 422 answer to an invalid `ClusterUpgrade`: the [`super::Status`] shape (`field` is the
/// first error's path) plus every broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidUpgrade {
    pub kind: String,
    pub code: u16,
    pub reason: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub errors: Vec<FieldError>,
}

impl InvalidUpgrade {
    fn new(errors: Vec<FieldError>) -> Self {
        let message = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            kind: "Status".to_string(),
            code: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
            reason: "Invalid".to_string(),
            message: format!("invalid ClusterUpgrade: {message}"),
            field: errors.first().map(|e| e.path.clone()),
            errors,
        }
    }
}

impl IntoResponse for InvalidUpgrade {
    fn into_response(self) -> Response {
        (StatusCode::UNPROCESSABLE_ENTITY, Json(self)).into_response()
    }
}

/// Either answer a handler can refuse with.
pub(crate) enum Refusal {
    Invalid(InvalidUpgrade),
    Api(ApiError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid(invalid) => invalid.into_response(),
            Self::Api(error) => error.into_response(),
        }
    }
}

impl<E: Into<ApiError>> From<E> for Refusal {
    fn from(error: E) -> Self {
        Self::Api(error.into())
    }
}

fn invalid(path: &str, reason: impl Into<String>) -> Refusal {
    Refusal::Invalid(InvalidUpgrade::new(vec![FieldError {
        path: path.to_string(),
        reason: reason.into(),
    }]))
}

/// `POST /api/v1/upgrades`: validates, freezes the cluster set, starts the rollout and
/// queues its first clusters' work. Nothing is stored for an invalid document.
pub(crate) async fn apply(
    State(api): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<UpgradeDetail>), Refusal> {
    let body = body?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    // YAML is a superset of JSON, so one parser takes both.
    let upgrade = parse_cluster_upgrade(text).map_err(|e| match e {
        ValidationError::Syntax(message) => {
            Refusal::Api(ApiError::bad_request(format!("invalid YAML: {message}")))
        }
        ValidationError::Shape { path, message } => invalid(&path, message),
        ValidationError::Invalid(errors) => Refusal::Invalid(InvalidUpgrade::new(errors)),
    })?;
    let name = upgrade.effective_name();
    if api.store.get_upgrade(&name).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("upgrade {name:?} already exists"),
        )
        .into());
    }
    let selector = upgrade
        .selector()
        .map_err(|e| invalid("spec.clusterSelector", e.to_string()))?;
    // The frozen set: the inventory now. Later joiners are not part of this rollout.
    let selected: Vec<_> = api
        .store
        .list_clusters(&selector)
        .await?
        .into_iter()
        .map(|c| (c.name, c.labels))
        .collect();
    let now = api.clock.now();
    let (state, actions) =
        start(&upgrade, &selected, now).map_err(|e| invalid("spec", e.to_string()))?;
    // The first clusters pass preflight (and get their targets) before their work is queued.
    let (state, actions) = RolloutController::from_api(&api)
        .admit(&upgrade, state, actions, now)
        .await?;
    let spec = encode("upgrade spec", &upgrade)?;
    let status = encode("upgrade status", &state)?;
    let created = api.store.create_upgrade(&name, &spec, &status, now).await?;
    // The store creates and then decides in two writes; a crash between them leaves
    // Upgrading clusters without work, which the controller's next round queues (see
    // `crate::rollout`).
    let nothing_before = RolloutState {
        clusters: Default::default(),
        ..state.clone()
    };
    let write = decision_write(
        &created,
        &upgrade,
        &nothing_before,
        &state,
        &actions,
        &[],
        now,
    )?;
    let record = api.store.write_rollout(&write, now).await?;
    for item in &write.work {
        api.notify_work(&item.cluster);
    }
    tracing::info!(upgrade = %name, clusters = selected.len(), "upgrade applied");
    Ok((StatusCode::CREATED, Json(detail(&api, record).await?)))
}

/// `GET /api/v1/upgrades`.
pub(crate) async fn list(State(api): State<ApiState>) -> Result<Json<Vec<UpgradeView>>, ApiError> {
    let records = api.store.list_upgrades().await?;
    Ok(Json(records.into_iter().map(view).collect()))
}

/// `GET /api/v1/upgrades/{name}`.
pub(crate) async fn get_one(
    State(api): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<UpgradeDetail>, ApiError> {
    let record = api
        .store
        .get_upgrade(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("upgrade {name:?} not found")))?;
    Ok(Json(detail(&api, record).await?))
}

/// One cluster's outcome in an upgrade: the result its agent posted with the final status of
/// the cluster's current attempt (for a `cluster-upgrade`, versions, timings and the replaced
/// nodes' lifecycle). Kept apart from [`UpgradeDetail`], which watchers poll every second:
/// results are tens of kilobytes per cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterResult {
    pub cluster: String,
    pub attempt: u32,
    pub result: Value,
}

/// `GET /api/v1/upgrades/{name}/results`.
pub(crate) async fn results(
    State(api): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<ClusterResult>>, ApiError> {
    let record = api
        .store
        .get_upgrade(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("upgrade {name:?} not found")))?;
    let state = decode_state(&record)?;
    let mut by_id: std::collections::HashMap<String, Value> = api
        .store
        .list_work_results(&format!("{name}/"))
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for cluster in &state.plan.clusters {
        let Some(rollout) = state.clusters.get(cluster) else {
            continue;
        };
        if rollout.attempts == 0 {
            continue;
        }
        if let Some(result) = by_id.remove(&work_id(&name, cluster, rollout.attempts)) {
            out.push(ClusterResult {
                cluster: cluster.clone(),
                attempt: rollout.attempts,
                result,
            });
        }
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandQuery {
    step: Option<usize>,
    cluster: Option<String>,
}

/// `POST /api/v1/upgrades/{name}/{command}`.
pub(crate) async fn command(
    State(api): State<ApiState>,
    Path((name, command)): Path<(String, String)>,
    query: Result<Query<CommandQuery>, QueryRejection>,
) -> Result<Json<UpgradeDetail>, ApiError> {
    let Query(query) = query?;
    let input: Box<dyn Fn(&RolloutState) -> Input + Send + Sync> = match command.as_str() {
        "pause" => Box::new(|_| Input::Pause),
        "resume" => Box::new(|_| Input::Resume),
        "abort" => Box::new(|_| Input::Abort),
        "retry" => Box::new(|_| Input::RetryFailed),
        // Without `step`, the step the rollout is at.
        "approve" => {
            let step = query.step;
            Box::new(move |s| Input::Approve {
                step: step.unwrap_or(s.step),
            })
        }
        "skip" => {
            let cluster = query
                .cluster
                .clone()
                .ok_or_else(|| ApiError::invalid("cluster", "skip needs ?cluster=NAME"))?;
            Box::new(move |_| Input::Skip {
                cluster: cluster.clone(),
            })
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no upgrade command {other:?} (pause, resume, abort, approve, retry, skip)"
            )));
        }
    };
    let decision = RolloutController::from_api(&api)
        .command(&name, input)
        .await?;
    tracing::info!(upgrade = %name, %command, phase = ?decision.state.phase, "upgrade command");
    Ok(Json(detail(&api, decision.record).await?))
}

fn view(record: UpgradeRecord) -> UpgradeView {
    UpgradeView {
        name: record.name,
        generation: record.generation,
        created_at: record.created_at,
        updated_at: record.updated_at,
        spec: record.spec,
        status: record.status,
    }
}

async fn detail(api: &ApiState, record: UpgradeRecord) -> Result<UpgradeDetail, ApiError> {
    let state = decode_state(&record)?;
    let clusters = state
        .plan
        .clusters
        .iter()
        .enumerate()
        .filter_map(|(position, cluster)| {
            state
                .clusters
                .get(cluster)
                .map(|rollout| ClusterRolloutView {
                    cluster: cluster.clone(),
                    position,
                    rollout: rollout.clone(),
                })
        })
        .collect();
    let events = api
        .store
        .list_events(&Subject::Upgrade(record.name.clone()), RECENT_EVENTS)
        .await?
        .into_iter()
        .map(|e| UpgradeEvent {
            reason: e.reason,
            message: e.message,
            at: e.at,
        })
        .collect();
    Ok(UpgradeDetail {
        upgrade: view(record),
        clusters,
        events,
        now: Some(api.clock.now()),
    })
}
