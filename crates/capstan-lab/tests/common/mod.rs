//! The hub in process, for the end-to-end tests: SQLite in a temporary directory, the API on
//! a loopback port, optionally the rollout controller, and hosted agents' settings with
//! everything optional off.

#![allow(clippy::unwrap_used, dead_code)]

use std::sync::Arc;
use std::time::Duration;

use capstan_agent::hosted::{HostedCluster, HostedConfig, spawn_hosted};
use capstan_agent::work::UpgradeSettings;
use capstan_clock::SharedClock;
use capstan_hub::api::{ApiState, hash_token, router};
use capstan_hub::rollout::RolloutController;
use capstan_hub::store::SqliteStore;
use capstan_lab::LabTwin;
use tokio::task::JoinSet;

/// A hub serving on loopback, on the twin's clock.
pub struct Hub {
    pub url: String,
    pub clock: SharedClock,
    bootstrap: String,
    pub data: tempfile::TempDir,
    /// The API server (and the rollout controller); dropped with the hub.
    pub services: JoinSet<()>,
    pub agents: JoinSet<()>,
}

impl Hub {
    /// Starts the hub's API; `lease_real` is the real time after which a silent cluster is
    /// Unknown; `rollouts` also runs the rollout controller.
    pub async fn start(lab: &LabTwin, lease_real: Duration, rollouts: bool) -> Hub {
        let data = tempfile::tempdir().unwrap();
        let clock: SharedClock = lab.clock.clone();
        let bootstrap = "e2e-bootstrap-token".to_string();
        let store = SqliteStore::open(data.path().join("hub.db")).await.unwrap();
        let state = ApiState::new(
            Arc::new(store),
            clock.clone(),
            hash_token(&bootstrap),
            lease_real.mul_f64(clock.scale()),
        );
        let mut services = JoinSet::new();
        if rollouts {
            services.spawn(RolloutController::from_api(&state).run(Duration::from_millis(100)));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = router(state);
        services.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hub {
            url,
            clock,
            bootstrap,
            data,
            services,
            agents: JoinSet::new(),
        }
    }

    /// Hosted agents' settings for `lab`'s clusters: reports every second, nothing optional.
    pub fn hosted_config(&self, lab: &LabTwin) -> HostedConfig {
        HostedConfig {
            hub_url: self.url.clone(),
            bootstrap_token: self.bootstrap.clone(),
            kubeconfig: lab.kubeconfig.clone(),
            token_dir: self.data.path().join("agents"),
            report_interval: Duration::from_secs(1),
            poll_wait: Duration::from_secs(30),
            upgrade: UpgradeSettings::default(),
            health: None,
            cost: None,
            posture: None,
        }
    }

    /// Starts one hosted agent per cluster with `config`.
    pub fn spawn_agents(&mut self, config: &HostedConfig, clusters: Vec<HostedCluster>) {
        spawn_hosted(&mut self.agents, config, clusters, self.clock.clone()).unwrap();
    }
}

/// `GET url` as JSON; panics with the status on failure.
pub async fn get<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> T {
    let response = http.get(url).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}
