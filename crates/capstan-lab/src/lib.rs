//! Capstan's lab: the real components composed in one process against the twin, for the demo,
//! the integration tests and the scale benchmarks (linkerd2-proxy's integration crate, ours).
//!
//! [`LabTwin`] serves a fleet on a loopback TLS port and writes kubeconfigs that real clients
//! (kube-rs, kubectl) use unchanged, so that every test talks to the twin exactly as a user's
//! tools talk to a cluster.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use capstan_clock::ScaledClock;
use capstan_clock::SharedClock;
use capstan_kube::connect::Target;
use capstan_kube::drain::{DrainOptions, Drainer};
use capstan_kube::events::EventRecorder;
use capstan_kube::provider::Provider;
use capstan_kube::upgrade::{ClusterUpgrader, UpgradeOptions};
use capstan_sim::fleet::{FleetSpec, parse_fleet_yaml};
use capstan_sim::server::{Pki, serve_tls, write_kubeconfigs};
use capstan_sim::{Twin, TwinConfig};

pub mod fixtures;
pub mod prometheus;

/// A twin serving on loopback TLS, with its clock and kubeconfigs.
pub struct LabTwin {
    pub twin: Arc<Twin>,
    pub clock: Arc<ScaledClock>,
    /// Holds the kubeconfigs; removed when the lab twin is dropped.
    pub dir: tempfile::TempDir,
    /// The merged kubeconfig: one context per cluster, named after it.
    pub kubeconfig: PathBuf,
    pub base_url: String,
}

/// Why a lab twin could not start.
#[derive(Debug)]
pub struct LabError(pub String);

impl std::fmt::Display for LabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LabError {}

impl LabTwin {
    /// Start the twin for `fleet_yaml`, simulated time running `scale` times faster than real.
    pub async fn start(fleet_yaml: &str, scale: f64, config: TwinConfig) -> Result<Self, LabError> {
        let err = |what: &str| {
            let what = what.to_string();
            move |e: &dyn std::fmt::Display| LabError(format!("{what}: {e}"))
        };
        let fleet = parse_fleet_yaml(fleet_yaml).map_err(|e| err("fleet")(&e))?;
        Self::start_fleet(fleet, scale, config).await
    }

    /// Start the twin for a fleet already planned, simulated time running `scale` times
    /// faster than real.
    pub async fn start_fleet(
        fleet: FleetSpec,
        scale: f64,
        config: TwinConfig,
    ) -> Result<Self, LabError> {
        Self::start_fleet_on(fleet, Arc::new(ScaledClock::starting_now(scale)), config).await
    }

    /// Start the twin for `fleet_yaml` on `clock`: a fixed origin and a tiny scale, stepped
    /// with [`ScaledClock::advance`], make runs with the same seed see the same usage.
    pub async fn start_on(
        fleet_yaml: &str,
        clock: Arc<ScaledClock>,
        config: TwinConfig,
    ) -> Result<Self, LabError> {
        let fleet = parse_fleet_yaml(fleet_yaml).map_err(|e| LabError(format!("fleet: {e}")))?;
        Self::start_fleet_on(fleet, clock, config).await
    }

    async fn start_fleet_on(
        fleet: FleetSpec,
        clock: Arc<ScaledClock>,
        config: TwinConfig,
    ) -> Result<Self, LabError> {
        let err = |what: &str| {
            let what = what.to_string();
            move |e: &dyn std::fmt::Display| LabError(format!("{what}: {e}"))
        };
        let twin = Twin::new(fleet, clock.clone(), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| err("binding loopback")(&e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| err("bound address")(&e))?;
        let pki = Pki::generate().map_err(|e| err("certificates")(&e))?;
        let dir = tempfile::tempdir().map_err(|e| err("temp dir")(&e))?;
        let configs = write_kubeconfigs(&twin, dir.path(), addr, &pki.ca_pem)
            .map_err(|e| err("kubeconfigs")(&e))?;
        let served = twin.clone();
        tokio::spawn(async move { serve_tls(served, listener, &pki).await });
        Ok(Self {
            twin,
            clock,
            dir,
            kubeconfig: configs.merged,
            base_url: format!("https://{addr}"),
        })
    }

    /// The kubeconfig target of one cluster (its context is named after it).
    pub fn target(&self, cluster: &str) -> Target {
        Target::new(Some(&self.kubeconfig), Some(cluster))
    }

    /// A kube client for `cluster`, built from the written kubeconfig like any user's.
    pub async fn client(&self, cluster: &str) -> Result<kube::Client, LabError> {
        self.target(cluster)
            .client()
            .await
            .map_err(|e| LabError(e.to_string()))
    }

    /// A drainer of `cluster` on the twin's clock, its eviction client with kube's retry off.
    pub async fn drainer(&self, cluster: &str, options: DrainOptions) -> Result<Drainer, LabError> {
        let target = self.target(cluster);
        let lab = |e: capstan_kube::Error| LabError(e.to_string());
        Ok(Drainer::new(
            target.client().await.map_err(lab)?,
            target.eviction_client().await.map_err(lab)?,
            self.clock.clone(),
            options,
        ))
    }

    /// A cluster upgrader of `cluster` through `provider`, on the twin's clock.
    pub async fn upgrader(
        &self,
        cluster: &str,
        provider: Arc<dyn Provider>,
        drain: DrainOptions,
        options: UpgradeOptions,
    ) -> Result<ClusterUpgrader, LabError> {
        let client = self.client(cluster).await?;
        let clock: SharedClock = self.clock.clone();
        let drainer = self.drainer(cluster, drain).await?;
        let recorder = EventRecorder::new(client.clone(), clock.clone(), "capstan-upgrade");
        Ok(ClusterUpgrader::new(
            client, provider, drainer, recorder, clock, options,
        ))
    }

    /// `kubectl --kubeconfig ... --context CLUSTER args...`: (success, stdout, stderr).
    pub async fn kubectl(&self, cluster: &str, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--context")
            .arg(cluster)
            .args(args)
            .output()
            .await;
        match out {
            Ok(out) => (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ),
            Err(e) => (false, String::new(), format!("kubectl did not run: {e}")),
        }
    }
}

/// Poll `check` until it returns `Some`, or fail with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let attempt = async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    match tokio::time::timeout(deadline, attempt).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {deadline:?} waiting for {what}"),
    }
}
