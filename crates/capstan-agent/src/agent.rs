//! [`Agent`]: one cluster's agent. Two loops share a [`ClusterView`]: reports every interval,
//! and work taken from the hub by long-poll and run one item at a time.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use capstan_clock::{SharedClock, Stopwatch};
use capstan_kube::connect::Target;
use capstan_kube::provider::Provider;
use capstan_kube::provider::sim::SimProvider;
use capstan_kube::view::ClusterView;

use crate::cost::{self, CostConfig, CostState};
use crate::health::{self, HealthConfig, HealthState};
use crate::posture::{self, PostureConfig, PostureState};
use crate::report::report_body;
use crate::work::{self, CLUSTER_UPGRADE, ClusterUpgradeWork, UpgradeSettings};
use crate::{Error, HubClient, Result, WorkItem, WorkStatus};

/// Wait after a failed hub request before the next one.
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// Attempts at posting a work item's final status before leaving it to the next poll.
const FINAL_STATUS_ATTEMPTS: u32 = 5;
/// Real time a provider's offered versions are reported before they are asked for again: a
/// catalogue changes over weeks, not between two reports.
const OFFERED_REFRESH: Duration = Duration::from_secs(300);

/// What an agent needs besides its hub client.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The cluster (kubeconfig and context).
    pub target: Target,
    /// Labels reported for the cluster (the hub selects clusters by them).
    pub labels: BTreeMap<String, String>,
    /// Real time between reports.
    pub report_interval: Duration,
    /// How long one long-poll for work waits (the hub caps it at 60 s).
    pub poll_wait: Duration,
    pub upgrade: UpgradeSettings,
    /// Health evaluation; `None` reports no alerts.
    pub health: Option<HealthConfig>,
    /// Cost collection; `None` collects none.
    pub cost: Option<CostConfig>,
    /// Security posture evaluation; `None` evaluates none.
    pub posture: Option<PostureConfig>,
}

impl AgentConfig {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            labels: BTreeMap::new(),
            report_interval: Duration::from_secs(10),
            poll_wait: Duration::from_secs(30),
            upgrade: UpgradeSettings::default(),
            health: None,
            cost: None,
            posture: None,
        }
    }
}

/// One cluster's agent.
pub struct Agent {
    hub: HubClient,
    config: AgentConfig,
    clock: SharedClock,
    /// The provider's offered versions and when they were asked for.
    offered: Mutex<Option<(Stopwatch, Vec<String>)>>,
    health: HealthState,
    cost: CostState,
    posture: PostureState,
}

/// What became of a work item.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Final status posted (or the item was already final).
    Done,
    /// The hub holds a newer generation: the next poll brings it.
    Superseded,
    /// The hub could not be told; the item stays open and comes back on a later poll.
    Unreported,
}

impl Agent {
    /// `clock` dates the summaries (the twin's clock in a lab, the system clock otherwise).
    pub fn new(hub: HubClient, config: AgentConfig, clock: SharedClock) -> Self {
        Self {
            hub,
            config,
            clock,
            offered: Mutex::new(None),
            health: HealthState::default(),
            cost: CostState::default(),
            posture: PostureState::default(),
        }
    }

    pub fn hub(&self) -> &HubClient {
        &self.hub
    }

    /// The latest health evaluation, if health is evaluated.
    pub fn health(&self) -> Option<capstan_core::health::HealthReport> {
        self.health.latest()
    }

    /// The cost hours finished so far (the last day's), oldest first.
    pub fn cost_hours(&self) -> Vec<capstan_core::cost::CostHour> {
        self.cost.finished_hours()
    }

    /// The latest posture evaluation, if posture is evaluated and one has finished.
    pub fn posture(&self) -> Option<capstan_core::posture::report::PostureReport> {
        self.posture.latest()
    }

    /// Runs until the future is dropped. Fails only if the cluster's kubeconfig cannot be
    /// used; hub and cluster errors along the way are logged and retried.
    pub async fn run(&self) -> Result<()> {
        let client = self.config.target.client().await?;
        let view = ClusterView::start(client.clone(), self.clock.clone());
        let health = async {
            if let Some(config) = &self.config.health {
                health::run(
                    self.hub.cluster(),
                    config,
                    &client,
                    &view,
                    &self.clock,
                    &self.health,
                )
                .await;
            }
        };
        let cost = async {
            if let Some(config) = &self.config.cost {
                cost::run(&self.hub, config, &client, &view, &self.clock, &self.cost).await;
            }
        };
        let posture = async {
            if let Some(config) = &self.config.posture {
                posture::run(&self.hub, config, &client, &self.clock, &self.posture).await;
            }
        };
        tokio::join!(
            self.report_loop(&view, &client),
            self.work_loop(),
            health,
            cost,
            posture
        );
        Ok(())
    }

    async fn report_loop(&self, view: &ClusterView, client: &kube::Client) {
        // Counts before the first complete list would report an empty cluster.
        view.wait_synced().await;
        let mut ticks = tokio::time::interval(self.config.report_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // A change in what fires is reported at once: a halting alert should not wait
            // for the next interval.
            tokio::select! {
                _ = ticks.tick() => {}
                () = self.health.changed.notified() => {}
            }
            if let Err(e) = self.report_once(view, client).await {
                tracing::warn!(cluster = %self.hub.cluster(), error = %e, "report failed");
            }
        }
    }

    /// Sends one report of `view` now. The control plane's version is asked for afresh (one
    /// small GET): the view refreshes it only every minute or so, and the hub's rollout
    /// should see an upgrade's end in the next report.
    pub async fn report_once(&self, view: &ClusterView, client: &kube::Client) -> Result<()> {
        let mut summary = view.summary(self.clock.now());
        match client.apiserver_version().await {
            Ok(info) => summary.control_plane_version = Some(info.git_version),
            Err(e) => {
                tracing::debug!(cluster = %self.hub.cluster(), error = %e, "reading the control plane's version failed");
            }
        }
        let mut body = report_body(&summary, &self.config.labels);
        body.offered_versions = self.offered_versions(client).await;
        body.health_report = self.health.latest();
        self.hub.report(&body).await?;
        tracing::debug!(cluster = %self.hub.cluster(), nodes = body.node_count, "reported");
        Ok(())
    }

    /// What the cluster's provider offers, asked at most every [`OFFERED_REFRESH`]; empty
    /// when no provider answers. The provider is the one work items run through (the twin's
    /// cloud, [`SimProvider`]); a cluster without it answers 404 and reports none.
    async fn offered_versions(&self, client: &kube::Client) -> Vec<String> {
        {
            let cached = self.offered.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((asked, versions)) = cached.as_ref()
                && asked.elapsed() < OFFERED_REFRESH
            {
                return versions.clone();
            }
        }
        let versions = match SimProvider::new(client.clone(), None).versions().await {
            Ok(versions) => versions.iter().map(ToString::to_string).collect(),
            Err(e) => {
                tracing::debug!(cluster = %self.hub.cluster(), error = %e, "no provider told its offered versions");
                Vec::new()
            }
        };
        *self.offered.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Stopwatch::start(), versions.clone()));
        versions
    }

    async fn work_loop(&self) {
        loop {
            let items = match self.hub.poll_work(self.config.poll_wait).await {
                Ok(items) => items,
                Err(e) => {
                    tracing::warn!(cluster = %self.hub.cluster(), error = %e, "polling for work failed");
                    tokio::time::sleep(RETRY_DELAY).await;
                    continue;
                }
            };
            let mut unreported = false;
            for item in &items {
                unreported |= self.handle(item).await == Outcome::Unreported;
            }
            // An item the hub could not be told about is handed out again at once: do not
            // spin on it.
            if unreported {
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }

    /// Runs one work item and tells the hub how it went. Running it again (after a restart,
    /// or when its final status was lost) is safe: the upgrader resumes from the cluster.
    async fn handle(&self, item: &WorkItem) -> Outcome {
        if item.status.is_final() {
            return Outcome::Done;
        }
        tracing::info!(cluster = %self.hub.cluster(), work = %item.id, kind = %item.kind, "work");
        let result = match item.kind.as_str() {
            CLUSTER_UPGRADE => match ClusterUpgradeWork::from_payload(&item.payload) {
                Ok(upgrade) => {
                    match self
                        .post(item, WorkStatus::Running, Some("upgrading"))
                        .await
                    {
                        Outcome::Done => {}
                        other => return other,
                    }
                    work::run_cluster_upgrade(
                        &self.config.target,
                        &self.clock,
                        &upgrade,
                        &self.config.upgrade,
                    )
                    .await
                    .map(|result| (result.message(), serde_json::to_value(&result).ok()))
                }
                Err(e) => Err(e),
            },
            other => Err(Error::Payload(format!("unknown work kind {other:?}"))),
        };
        let (status, message, outcome) = match result {
            Ok((message, outcome)) => (WorkStatus::Succeeded, message, outcome),
            Err(e) => {
                tracing::warn!(cluster = %self.hub.cluster(), work = %item.id, error = %e, "work failed");
                (WorkStatus::Failed, e.to_string(), None)
            }
        };
        for attempt in 1..=FINAL_STATUS_ATTEMPTS {
            match self
                .post_final(item, status, Some(&message), outcome.as_ref())
                .await
            {
                Outcome::Unreported if attempt < FINAL_STATUS_ATTEMPTS => {
                    tokio::time::sleep(RETRY_DELAY).await;
                }
                outcome => return outcome,
            }
        }
        Outcome::Unreported
    }

    async fn post(&self, item: &WorkItem, status: WorkStatus, message: Option<&str>) -> Outcome {
        self.post_final(item, status, message, None).await
    }

    async fn post_final(
        &self,
        item: &WorkItem,
        status: WorkStatus,
        message: Option<&str>,
        result: Option<&serde_json::Value>,
    ) -> Outcome {
        match self
            .hub
            .set_status(&item.id, item.generation, status, message, result)
            .await
        {
            Ok(_) => Outcome::Done,
            Err(e) if e.hub_status() == Some(409) => {
                tracing::info!(cluster = %self.hub.cluster(), work = %item.id, "work superseded by a newer generation");
                Outcome::Superseded
            }
            Err(e) => {
                tracing::warn!(cluster = %self.hub.cluster(), work = %item.id, error = %e, "posting work status failed");
                Outcome::Unreported
            }
        }
    }
}
