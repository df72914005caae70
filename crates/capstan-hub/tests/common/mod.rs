//! The in-process hub the hub's integration tests share: a SQLite store, a clock that moves
//! only when a test advances it, the API router called in process
//! (`tower::ServiceExt::oneshot`), and the agents played by the test (registered over the
//! API, or their reports written to the store, work items marked Succeeded or Failed as an
//! agent's status would).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use capstan_clock::Clock;
use capstan_core::selector::LabelSelector;
use capstan_hub::api::{self, ApiState, RegisterResponse, UpgradeDetail};
use capstan_hub::rollout::{RolloutController, work_id};
use capstan_hub::store::{
    ClusterHealth, ClusterReport, ClusterVersions, SharedStore, SqliteStore, WorkStatus,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The bootstrap token agents register with.
pub const BOOTSTRAP: &str = "bootstrap-secret-0123";
/// How long a silent cluster stays known, unless a test says otherwise.
pub const LEASE: Duration = Duration::from_secs(600);

/// The hub's clock in the tests: still unless a test advances it, so that stored times are
/// exact and nothing depends on how fast the test runs.
#[derive(Debug)]
pub struct TestClock(Mutex<Timestamp>);

impl TestClock {
    pub fn at(now: Timestamp) -> Arc<TestClock> {
        Arc::new(TestClock(Mutex::new(now)))
    }

    /// Jumps forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now = now
            .checked_add(SignedDuration::try_from(by).unwrap())
            .unwrap();
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// An API answer: the status, the headers, the body as JSON (`Null` when it is not JSON)
/// and as text.
pub struct Answer {
    pub code: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

/// A production cluster at `control_plane`, Healthy, whose provider offers `offered`.
pub fn healthy(
    name: &str,
    environment: &str,
    control_plane: &str,
    offered: &[&str],
) -> ClusterReport {
    ClusterReport {
        name: name.to_string(),
        labels: BTreeMap::from([("environment".to_string(), environment.to_string())]),
        versions: ClusterVersions {
            control_plane: Some(control_plane.to_string()),
            kubelet: BTreeMap::from([(control_plane.to_string(), 3)]),
            offered: offered.iter().map(ToString::to_string).collect(),
        },
        node_count: 3,
        pod_count: 40,
        health: ClusterHealth::Healthy,
        summary: Value::Null,
        health_report: None,
    }
}

/// The canonical example of DESIGN.md, verbatim but for the name.
pub const CANONICAL: &str = "\
apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
metadata: {name: to-1-33}
spec:
  version: \"1.33\"
  clusterSelector: {matchLabels: {environment: production}}
  strategy:
    type: Canary
    canary:
      steps: [{pause: 1h, percentage: 10}, {pause: 4h, percentage: 50}, {pause: 1h, percentage: 100}]
";

pub const HOUR: Duration = Duration::from_secs(3600);

/// One request through `router` (owned, so that a spawned task can hold it).
pub async fn request(
    router: Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<String>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let request = request
        .body(body.map_or_else(Body::empty, Body::from))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let code = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        code,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub struct Hub {
    pub store: SharedStore,
    pub sqlite: Arc<SqliteStore>,
    pub clock: Arc<TestClock>,
    pub state: ApiState,
}

impl Hub {
    /// The hub over `sqlite`, on `clock`, with the default [`LEASE`].
    pub async fn over(sqlite: SqliteStore, clock: Arc<TestClock>) -> Self {
        Self::with_lease(sqlite, clock, LEASE)
    }

    pub fn with_lease(sqlite: SqliteStore, clock: Arc<TestClock>, lease: Duration) -> Self {
        let sqlite = Arc::new(sqlite);
        let store: SharedStore = sqlite.clone();
        let state = ApiState::new(
            store.clone(),
            clock.clone(),
            api::hash_token(BOOTSTRAP),
            lease,
        );
        Self {
            store,
            sqlite,
            clock,
            state,
        }
    }

    /// A hub over an empty in-memory store on [`Hub::clock`].
    pub async fn memory() -> Self {
        Self::over(SqliteStore::memory().await.unwrap(), Self::clock()).await
    }

    /// A hub over an empty in-memory store whose clock reads `now`.
    pub async fn memory_at(now: Timestamp) -> Self {
        Self::over(SqliteStore::memory().await.unwrap(), TestClock::at(now)).await
    }

    /// 2026-01-01T00:00:00Z.
    pub fn clock() -> Arc<TestClock> {
        TestClock::at("2026-01-01T00:00:00Z".parse().unwrap())
    }

    pub fn router(&self) -> Router {
        api::router(self.state.clone())
    }

    /// One request through the router: `token` as a bearer token, `body` as given (no
    /// content type: the agents' routes decode JSON whatever it says).
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Answer {
        request(self.router(), method, uri, token, None, body).await
    }

    /// `GET uri`, asserting 200, as `T`.
    pub async fn get<T: serde::de::DeserializeOwned>(&self, uri: &str) -> T {
        let answer = self.send("GET", uri, None, None).await;
        assert_eq!(answer.code, StatusCode::OK, "{uri}: {}", answer.text);
        serde_json::from_value(answer.body).unwrap()
    }

    /// Registers `cluster` (labelled `environment=..`) with the bootstrap token, as its agent
    /// would; returns the cluster's token.
    pub async fn register_agent(&self, cluster: &str, environment: &str) -> String {
        let body = json!({"cluster": cluster, "labels": {"environment": environment}});
        let answer = self
            .send(
                "POST",
                "/api/v1/agents/register",
                Some(BOOTSTRAP),
                Some(body.to_string()),
            )
            .await;
        assert_eq!(answer.code, StatusCode::OK, "{}", answer.text);
        serde_json::from_value::<RegisterResponse>(answer.body)
            .unwrap()
            .token
    }

    pub fn controller(&self) -> RolloutController {
        RolloutController::from_api(&self.state)
    }

    /// `count` production clusters plus two staging ones the selector must leave out.
    pub async fn register_fleet(&self, count: usize) {
        for i in 0..count {
            self.register(&format!("prod-{i:02}"), "production").await;
        }
        self.register("staging-a", "staging").await;
        self.register("staging-b", "staging").await;
    }

    pub async fn register(&self, name: &str, environment: &str) {
        self.report(&healthy(name, environment, "v1.32.4", &[]))
            .await;
    }

    /// What an agent's report would store, now.
    pub async fn report(&self, report: &ClusterReport) {
        self.store
            .upsert_cluster(report, self.clock.now())
            .await
            .unwrap();
    }

    /// Every cluster's agent reports again (unchanged), as live agents do every few seconds:
    /// without it, a cluster's report would age past the lease as the test advances the
    /// clock, and preflight would refuse it as Unknown.
    pub async fn heartbeat(&self) {
        let everything = LabelSelector::everything();
        for c in self.store.list_clusters(&everything).await.unwrap() {
            self.report(&ClusterReport {
                name: c.name,
                labels: c.labels,
                versions: c.versions,
                node_count: c.node_count,
                pod_count: c.pod_count,
                health: c.reported_health,
                summary: c.summary,
                // Keeps the cluster's latest health report.
                health_report: None,
            })
            .await;
        }
    }

    /// One controller round with every agent alive.
    pub async fn reconcile(&self, controller: &RolloutController) {
        self.heartbeat().await;
        controller.reconcile_once().await.unwrap();
    }

    /// A user's request with a YAML body (`kubectl apply`'s way), as (status, JSON body).
    pub async fn call(&self, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
        let content_type = body.map(|_| "application/yaml");
        let answer = request(
            self.router(),
            method,
            uri,
            None,
            content_type,
            body.map(str::to_string),
        )
        .await;
        (answer.code, answer.body)
    }

    pub async fn apply(&self, yaml: &str) -> UpgradeDetail {
        let (code, body) = self.call("POST", "/api/v1/upgrades", Some(yaml)).await;
        assert_eq!(code, StatusCode::CREATED, "{body}");
        serde_json::from_value(body).unwrap()
    }

    pub async fn describe(&self, name: &str) -> UpgradeDetail {
        let (code, body) = self
            .call("GET", &format!("/api/v1/upgrades/{name}"), None)
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        serde_json::from_value(body).unwrap()
    }

    pub async fn phase(&self, name: &str) -> String {
        self.describe(name).await.upgrade.status["phase"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Every production cluster's open work, as (cluster, work id).
    pub async fn open_work(&self, count: usize) -> Vec<(String, String)> {
        let mut open = Vec::new();
        for i in 0..count {
            let cluster = format!("prod-{i:02}");
            for item in self.store.list_open_work(&cluster).await.unwrap() {
                open.push((cluster.clone(), item.id));
            }
        }
        open
    }

    /// Plays the agents: finishes every open work item with `status`.
    pub async fn finish_open_work(&self, count: usize, status: WorkStatus) -> usize {
        let open = self.open_work(count).await;
        for (_, id) in &open {
            self.store
                .set_work_status(id, 1, status, Some("agent says so"), self.clock.now())
                .await
                .unwrap();
        }
        open.len()
    }
}

impl Hub {
    /// The payload of `cluster`'s work item for `attempt` of `upgrade`.
    pub async fn payload(&self, upgrade: &str, cluster: &str, attempt: u32) -> Value {
        self.store
            .get_work(&work_id(upgrade, cluster, attempt))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no work item {upgrade}/{cluster}/{attempt}"))
            .payload
    }

    pub async fn cluster_rollout(
        &self,
        upgrade: &str,
        cluster: &str,
    ) -> capstan_core::rollout::ClusterRollout {
        self.describe(upgrade)
            .await
            .clusters
            .into_iter()
            .find(|c| c.cluster == cluster)
            .unwrap_or_else(|| panic!("{cluster} not in {upgrade}"))
            .rollout
    }
}
