//! The hub's HTTP API (axum): the agent protocol of DESIGN.md "Protocols", and read-only
//! inventory for users.
//!
//! | Route | Auth | What |
//! |---|---|---|
//! | `POST /api/v1/agents/register` | bootstrap token | `{"cluster","labels"}` -> `{"cluster","token"}` (once) |
//! | `POST /api/v1/agents/{cluster}/report` | cluster token | the cluster's bounded report |
//! | `GET /api/v1/agents/{cluster}/work?wait=30s` | cluster token | long-poll for open work |
//! | `POST /api/v1/agents/{cluster}/work/{id}/status` | cluster token | `{"generation","status","message"}` |
//! | `POST /api/v1/agents/{cluster}/cost` | cluster token | cost hours and recommendations (see `cost`) |
//! | `GET /api/v1/clusters[?labelSelector=..]` | none | inventory, health computed at read |
//! | `GET /api/v1/cost`, `GET /api/v1/cost/recommendations` | none | the fleet's cost (see `cost`) |
//! | `POST /api/v1/agents/{cluster}/posture` | cluster token | the cluster's latest posture report (see `posture`) |
//! | `GET /api/v1/posture`, `GET /api/v1/posture/findings`, `GET /api/v1/posture/history`, `GET /api/v1/posture/exceptions` | none | the fleet's security posture (see `posture`) |
//! | `GET /api/v1/clusters/{name}` | none | one cluster, 404 if unknown |
//! | `DELETE /api/v1/clusters/{name}` | none | deregister: inventory row and agent token, 404 if unknown |
//! | `GET /api/v1/upgrades/{name}/results` | none | each cluster's posted upgrade result |
//! | `POST /api/v1/upgrades`, `GET /api/v1/upgrades[/{name}]`, `POST /api/v1/upgrades/{name}/{command}` | none | `ClusterUpgrade`s (see `upgrades`) |
//! | `GET /metrics` | none | Prometheus text format (see `metrics`) |
//! | `GET /openapi/v3`, `GET /api/v1/openapi.json` | none | this API's OpenAPI 3.0 document (see `openapi`) |
//!
//! **Tokens.** The bootstrap token is held only as its SHA-256 ([`ApiState::bootstrap_token_hash`]);
//! cluster tokens are stored hashed by the [`Store`](crate::store::Store). A cluster token reads
//! `capstan.{cluster}.{64 hex}`: the cluster part lets the hub tell a valid token presented
//! for the wrong cluster (403) from a bad one (401) with one constant-time check and no
//! lookup by token. No token is ever logged or echoed in a response.
//!
//! **Inventory reads are unauthenticated** for now: the hub is meant to listen on loopback or
//! behind the operator's own proxy until user authentication lands.
//!
//! **Errors** all have one shape, [`Status`]: `{"kind":"Status","code","reason","message","field"?}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use capstan_clock::SharedClock;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::metrics::HubMetrics;
use crate::store::SharedStore;

mod agents;
mod alerts;
mod clusters;
mod cost;
mod metrics;
mod openapi;
mod posture;
mod status;
mod upgrades;
mod wire;

pub use alerts::{AlertList, ClusterAlert};
pub use cost::{
    CategoryCents, CostReport, CostUpload, RecommendationItem, RecommendationList, ReportRow,
    ReportTotal, ReportWindow, report_rows,
};
pub use openapi::openapi_document;
pub use posture::{
    BucketControl, ClusterControl, ClusterPosture, DEFAULT_FINDINGS_LIMIT, DEFAULT_HISTORY_SINCE,
    DEFAULT_HISTORY_STEP, DEFAULT_HOURLY_HISTORY_SINCE, ExceptionList, ExceptionState, FindingList,
    FleetException, HistoryBucket, HistoryControl, MAX_EXCEPTIONS, MAX_FINDINGS,
    MAX_FINDINGS_LIMIT, MAX_FINDINGS_PER_CONTROL, MAX_HOURLY_WINDOW_HOURS, MAX_NAME_CHARS,
    MAX_POSTURE_BODY_BYTES, MAX_RULES, MAX_TEXT_CHARS, PostureHistory, PostureUploadAnswer,
    PostureView, check_report, exceptions_of, first_bucket, fleet_of, history_of,
};
pub use status::{ApiError, Status};
pub use upgrades::{
    ClusterResult, ClusterRolloutView, InvalidUpgrade, UpgradeDetail, UpgradeEvent, UpgradeView,
};
pub use wire::{
    AlertCounts, ClusterView, RegisterRequest, RegisterResponse, ReportRequest, WorkItemView,
    WorkStatusRequest,
};

/// The largest request body accepted (413 beyond): agent reports are bounded by design
/// (counts, histograms, top-N findings), so this is generous.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The longest long-poll; a larger `wait` is clamped to it.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub store: SharedStore,
    pub clock: SharedClock,
    /// SHA-256 hex of the bootstrap token ([`hash_token`]); the plaintext is not kept.
    pub bootstrap_token_hash: String,
    /// How long an agent may stay silent before its cluster shows as Unknown.
    pub lease: Duration,
    /// Wakes long-polling agents; shared by clones of this state.
    pub work: WorkNotifier,
    /// What `GET /metrics` exposes besides the store's state; shared by clones.
    pub metrics: HubMetrics,
}

impl ApiState {
    /// A state with a fresh [`WorkNotifier`].
    pub fn new(
        store: SharedStore,
        clock: SharedClock,
        bootstrap_token_hash: String,
        lease: Duration,
    ) -> Self {
        Self {
            store,
            clock,
            bootstrap_token_hash,
            lease,
            work: WorkNotifier::default(),
            metrics: HubMetrics::default(),
        }
    }

    /// Wakes `cluster`'s long-polling agent, if any: call after enqueuing work for it.
    pub fn notify_work(&self, cluster: &str) {
        self.work.notify(cluster);
    }
}

/// One [`Notify`] per cluster, waking that cluster's long-poll when work is queued.
///
/// Every waiter wakes ([`Notify::notify_waiters`]); a long-poll registers as a waiter before
/// it reads the store and re-reads it after every wake, so work queued at any moment is seen
/// and a spurious wake-up changes nothing.
#[derive(Clone, Default)]
pub struct WorkNotifier {
    by_cluster: Arc<Mutex<HashMap<String, Arc<ClusterWaiters>>>>,
}

#[derive(Default)]
pub(crate) struct ClusterWaiters {
    pub(crate) notify: Notify,
    /// Long-polls now blocked waiting (for tests and diagnostics).
    pub(crate) waiting: AtomicUsize,
}

impl WorkNotifier {
    pub fn notify(&self, cluster: &str) {
        self.for_cluster(cluster).notify.notify_waiters();
    }

    /// How many long-polls for `cluster` are blocked waiting for work right now.
    pub fn waiting(&self, cluster: &str) -> usize {
        self.for_cluster(cluster).waiting.load(Ordering::SeqCst)
    }

    pub(crate) fn for_cluster(&self, cluster: &str) -> Arc<ClusterWaiters> {
        // A poisoned lock only means another thread panicked while inserting; the map is
        // still a valid map.
        let mut map = self
            .by_cluster
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(cluster.to_string()).or_default())
    }
}

/// SHA-256 hex of a token, as [`ApiState::bootstrap_token_hash`] expects.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The API's routes over `state`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/agents/register", post(agents::register))
        .route("/api/v1/agents/{cluster}/report", post(agents::report))
        .route("/api/v1/agents/{cluster}/work", get(agents::poll_work))
        .route(
            "/api/v1/agents/{cluster}/work/{id}/status",
            post(agents::work_status),
        )
        .route(
            "/api/v1/agents/{cluster}/cost",
            post(cost::upload).layer(DefaultBodyLimit::max(cost::MAX_COST_BODY_BYTES)),
        )
        .route(
            "/api/v1/agents/{cluster}/posture",
            post(posture::upload).layer(DefaultBodyLimit::max(posture::MAX_POSTURE_BODY_BYTES)),
        )
        .route("/api/v1/posture", get(posture::report))
        .route("/api/v1/posture/findings", get(posture::list_findings))
        .route("/api/v1/posture/history", get(posture::history))
        .route("/api/v1/posture/exceptions", get(posture::list_exceptions))
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/clusters", get(clusters::list))
        .route("/api/v1/cost", get(cost::report))
        .route(
            "/api/v1/cost/recommendations",
            get(cost::list_recommendations),
        )
        .route(
            "/api/v1/clusters/{name}",
            get(clusters::get_one).delete(clusters::delete_one),
        )
        .route(
            "/api/v1/upgrades",
            post(upgrades::apply).get(upgrades::list),
        )
        .route("/api/v1/upgrades/{name}", get(upgrades::get_one))
        .route("/api/v1/upgrades/{name}/results", get(upgrades::results))
        .route("/api/v1/upgrades/{name}/{command}", post(upgrades::command))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi/v3", get(openapi::serve))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .fallback(status::not_found_route)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Whether `name` is a DNS-1123 label (as Kubernetes namespaces are): 1 to 63 lower-case
/// alphanumerics or '-', starting and ending with an alphanumeric.
pub fn is_dns1123_label(name: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= 63
                && alnum(first)
                && alnum(last)
                && bytes.iter().all(|&c| alnum(c) || c == b'-')
        }
        _ => false,
    }
}
