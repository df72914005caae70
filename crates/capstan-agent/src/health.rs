//! The agent's health evaluation: every interval, the rules' values from the cluster's
//! Prometheus ([`PrometheusSource`]) or from the agent's own scrape ([`SelfScrape`]), stepped
//! through the alert state machine ([`HealthEvaluator`]); the latest [`HealthReport`] rides
//! on the next report to the hub, and a change in what fires sends a report at once.
//!
//! Two clocks: the rules' PromQL windows are real wall time (samples are stamped as a
//! Prometheus server stamps them), while `for` and the alerts' `since` follow the agent's
//! clock (the twin's, scaled, in a lab), like every other time the agent reports.

mod prometheus;
mod scrape;
pub mod targets;

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use capstan_clock::{Clock, SharedClock, Stopwatch, SystemClock};
use capstan_core::health::{AlertPhase, HealthEvaluator, HealthReport, RuleSet};
use capstan_kube::view::ClusterView;
use tokio::sync::Notify;

pub use prometheus::PrometheusSource;
pub use scrape::{ScrapeStats, SelfScrape};

/// Where the rules' values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthSource {
    /// The agent scrapes the cluster's exporters itself.
    Scrape,
    /// The cluster's Prometheus (or a querier over several), at this base URL.
    Prometheus { url: String },
}

impl HealthSource {
    pub fn name(&self) -> &'static str {
        match self {
            HealthSource::Scrape => "scrape",
            HealthSource::Prometheus { .. } => "prometheus",
        }
    }
}

/// How the agent evaluates health.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    pub rules: RuleSet,
    /// Real time between evaluations (and scrapes), as Prometheus' `evaluation_interval`.
    pub interval: Duration,
    pub source: HealthSource,
}

impl HealthConfig {
    pub fn new(source: HealthSource) -> Self {
        Self {
            rules: RuleSet::default(),
            interval: Duration::from_secs(30),
            source,
        }
    }
}

/// The latest evaluation, shared between the evaluation loop and the report loop.
#[derive(Debug, Default)]
pub struct HealthState {
    latest: Mutex<Option<HealthReport>>,
    /// Woken when the set of firing alerts changes.
    pub changed: Notify,
}

impl HealthState {
    pub fn latest(&self) -> Option<HealthReport> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn publish(&self, report: HealthReport) {
        let firing = |r: &HealthReport| -> BTreeSet<(String, Vec<(String, String)>)> {
            r.alerts
                .iter()
                .filter(|a| a.state == AlertPhase::Firing)
                .map(|a| {
                    let labels = a.labels.iter().map(|(k, v)| (k.clone(), v.clone()));
                    (a.rule.clone(), labels.collect())
                })
                .collect()
        };
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = latest.as_ref().map(firing) != Some(firing(&report));
        *latest = Some(report);
        drop(latest);
        if changed {
            self.changed.notify_one();
        }
    }
}

/// Real wall time in milliseconds: the time samples are stamped with.
pub fn wall_ms() -> i64 {
    SystemClock.now().as_millisecond()
}

/// Evaluates health every `config.interval` until dropped.
pub async fn run(
    cluster: &str,
    config: &HealthConfig,
    client: &kube::Client,
    view: &ClusterView,
    clock: &SharedClock,
    state: &HealthState,
) {
    let mut evaluator = HealthEvaluator::new(config.rules.clone(), config.source.name());
    let mut scraper = SelfScrape::new(cluster, client.clone(), &config.rules.rules);
    let prometheus = match &config.source {
        HealthSource::Prometheus { url } => match PrometheusSource::new(url, cluster) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::error!(cluster, error = %e, "cannot query prometheus; health is not evaluated");
                return;
            }
        },
        HealthSource::Scrape => None,
    };
    view.wait_synced().await;
    let mut ticks = tokio::time::interval(config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let took = Stopwatch::start();
        let values = match &prometheus {
            Some(p) => p.evaluate(&config.rules.rules).await,
            None => {
                let nodes: Vec<String> = view
                    .nodes()
                    .into_iter()
                    .map(|n| n.name.to_string())
                    .collect();
                let stats = scraper.scrape(&nodes, wall_ms()).await;
                if let Some(e) = &stats.first_error {
                    tracing::debug!(cluster, failed = stats.failed, targets = stats.targets, error = %e, "some scrapes failed");
                }
                scraper.evaluate(wall_ms())
            }
        };
        let before = state.latest();
        let report = evaluator.step(&values, clock.now());
        log_transitions(cluster, before.as_ref(), &report);
        tracing::debug!(
            cluster,
            evaluation = report.evaluation,
            firing = ?report.firing,
            errors = report.errors.len(),
            took_ms = took.elapsed().as_millis() as u64,
            "health evaluated"
        );
        state.publish(report);
    }
}

fn log_transitions(cluster: &str, before: Option<&HealthReport>, after: &HealthReport) {
    let firing = |r: &HealthReport| -> BTreeSet<String> {
        r.alerts
            .iter()
            .filter(|a| a.state == AlertPhase::Firing)
            .map(|a| a.describe())
            .collect()
    };
    let was = before.map(firing).unwrap_or_default();
    for alert in after
        .alerts
        .iter()
        .filter(|a| a.state == AlertPhase::Firing)
    {
        let described = alert.describe();
        if !was
            .iter()
            .any(|w| w.split(':').next() == described.split(':').next())
        {
            tracing::info!(cluster, severity = alert.severity.as_str(), alert = %described, "alert firing");
        }
    }
}
