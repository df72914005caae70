//! The in-process hub the rollout tests share: a SQLite store, a simulated clock advanced by
//! hand, and the agents played by the test (reports written to the store, work items marked
//! Succeeded or Failed as an agent's status would).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use capstan_clock::{Clock, ScaledClock};
use capstan_core::selector::LabelSelector;
use capstan_hub::api::{self, ApiState, UpgradeDetail};
use capstan_hub::rollout::{RolloutController, work_id};
use capstan_hub::store::{
    ClusterHealth, ClusterReport, ClusterVersions, SharedStore, SqliteStore, WorkStatus,
};
use jiff::Timestamp;
use serde_json::Value;
use tower::ServiceExt;

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

pub struct Hub {
    pub store: SharedStore,
    pub sqlite: Arc<SqliteStore>,
    pub clock: Arc<ScaledClock>,
    pub state: ApiState,
}

impl Hub {
    pub async fn over(sqlite: SqliteStore, clock: Arc<ScaledClock>) -> Self {
        let sqlite = Arc::new(sqlite);
        let store: SharedStore = sqlite.clone();
        let state = ApiState::new(
            store.clone(),
            clock.clone(),
            api::hash_token("bootstrap-secret"),
            Duration::from_secs(600),
        );
        Self {
            store,
            sqlite,
            clock,
            state,
        }
    }

    pub fn clock() -> Arc<ScaledClock> {
        let origin: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        Arc::new(ScaledClock::starting_at(origin, 1.0))
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

    pub async fn call(&self, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/yaml");
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let response = api::router(self.state.clone())
            .oneshot(request)
            .await
            .unwrap();
        let code = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (code, value)
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
