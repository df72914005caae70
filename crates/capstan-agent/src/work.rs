//! The work the hub hands an agent. One kind so far: [`CLUSTER_UPGRADE`].

use std::sync::Arc;
use std::time::Duration;

use capstan_clock::SharedClock;
use capstan_core::duration::parse_duration;
use capstan_core::lifecycle::{NodeTimeline, PhaseStats};
use capstan_core::rollout::NodeRolling;
use capstan_core::upgrade::IntOrPercent;
use capstan_core::version::KubeVersion;
use capstan_kube::connect::Target;
use capstan_kube::drain::{DrainOptions, Drainer, Escalation};
use capstan_kube::events::EventRecorder;
use capstan_kube::provider::Provider;
use capstan_kube::provider::sim::SimProvider;
use capstan_kube::upgrade::{
    ClusterUpgrader, LogUpgradeObserver, UpgradeOptions, UpgradeReport, record,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Upgrade the cluster: control plane then node pools (payload [`ClusterUpgradeWork`]).
pub const CLUSTER_UPGRADE: &str = "cluster-upgrade";

/// A `cluster-upgrade` item's payload. Unknown fields are ignored, so that the hub may add
/// some (the upgrade's name, its step) without breaking older agents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterUpgradeWork {
    /// `1.33` (the provider's newest 1.33 patch) or `1.33.2`; when absent, the control
    /// plane's next minor (see [`resolve_target`]).
    #[serde(default)]
    pub version: Option<String>,
    /// maxSurge, maxUnavailable and drainTimeout for the node pools' roll.
    #[serde(default)]
    pub node_rolling: Option<NodeRolling>,
    /// The control plane's version before the upgrade, as the hub fixed it when it queued
    /// the cluster's first work item. An agent restarted mid-upgrade would otherwise read an
    /// already upgraded control plane as the version it came from.
    #[serde(default)]
    pub from: Option<String>,
}

impl ClusterUpgradeWork {
    pub fn from_payload(payload: &serde_json::Value) -> Result<Self> {
        if payload.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(payload.clone()).map_err(|e| Error::Payload(e.to_string()))
    }
}

/// The most node timelines an [`UpgradeResult`] carries: every node of the clusters the
/// demo and most fleets run, and a bounded report for a 10,000-node one.
pub const MAX_RESULT_TIMELINES: usize = 1_000;

/// What a finished `cluster-upgrade` tells the hub beside its message (the work status's
/// `result`): versions, timings, and the replaced nodes' lifecycle, from which the hub and
/// the CLI compute fleet-wide phase percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeResult {
    /// The control plane's version before this attempt.
    #[serde(default)]
    pub from: Option<String>,
    pub to: String,
    pub control_plane_steps: Vec<String>,
    pub nodes_replaced: usize,
    pub resumed: bool,
    pub started: Timestamp,
    pub finished: Timestamp,
    /// Per phase over every node of the roll (exact, whatever the cap below).
    pub phase_stats: Vec<PhaseStats>,
    /// At most [`MAX_RESULT_TIMELINES`] node timelines.
    pub timelines: Vec<NodeTimeline>,
    /// How many timelines there were before the cap.
    pub timelines_total: usize,
}

impl UpgradeResult {
    pub fn from_report(from: Option<String>, report: &UpgradeReport) -> Self {
        Self {
            from,
            to: report.target.to_string(),
            control_plane_steps: report
                .control_plane_steps
                .iter()
                .map(ToString::to_string)
                .collect(),
            nodes_replaced: report.pools.iter().map(|p| p.created.len()).sum(),
            resumed: report.resumed,
            started: report.started,
            finished: report.finished,
            phase_stats: report.phase_stats.clone(),
            timelines: report
                .timelines
                .iter()
                .take(MAX_RESULT_TIMELINES)
                .cloned()
                .collect(),
            timelines_total: report.timelines.len(),
        }
    }

    /// The line for the work item's message.
    pub fn message(&self) -> String {
        format!(
            "upgraded to {} ({} control plane step(s), {} node(s) replaced{})",
            self.to,
            self.control_plane_steps.len(),
            self.nodes_replaced,
            if self.resumed { ", resumed" } else { "" }
        )
    }
}

/// How the agent runs an upgrade, beyond what the payload says.
#[derive(Debug, Clone)]
pub struct UpgradeSettings {
    /// Real time between looks at the cluster while waiting.
    pub poll_interval: Duration,
    /// A node's drain limit when the payload gives none (`None`: wait forever).
    pub default_drain_timeout: Option<Duration>,
}

impl Default for UpgradeSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(2),
            default_drain_timeout: Some(Duration::from_secs(30 * 60)),
        }
    }
}

/// The version to reach when the payload names none: the target of a roll already recorded
/// in the cluster (an agent restarted mid-upgrade finishes that one), else the control
/// plane's next minor, as issue 4 specifies. It cannot tell a finished upgrade whose
/// Succeeded was never posted from a new one: the hub should name the version (its rollout
/// resolves it per cluster).
pub async fn resolve_target(client: &kube::Client) -> Result<String> {
    if let Some(record) = record::load(client).await? {
        return Ok(record.target.to_string());
    }
    // The rule: without `spec.version`, a cluster goes to its control plane's next
    // minor. (Lagging kubelets are rolled to the target too; the skew check refuses a step
    // that would leave them more than three minors behind.)
    let info = client
        .apiserver_version()
        .await
        .map_err(capstan_kube::Error::from)?;
    let control_plane = KubeVersion::parse(&info.git_version)
        .map_err(|e| Error::Payload(format!("the API server's version: {e}")))?;
    Ok(control_plane.next_minor().to_string())
}

/// The upgrade and drain options for `work` reaching `to`.
pub fn options(
    work: &ClusterUpgradeWork,
    to: &str,
    settings: &UpgradeSettings,
) -> Result<(UpgradeOptions, DrainOptions)> {
    let rolling = work.node_rolling.clone().unwrap_or_default();
    let defaults = UpgradeOptions::new(to);
    let drain_timeout = match rolling.drain_timeout.as_deref() {
        Some(s) => {
            let d = parse_duration(s)
                .map_err(|e| Error::Payload(format!("nodeRolling.drainTimeout: {e}")))?;
            (!d.is_zero()).then_some(d)
        }
        None => settings.default_drain_timeout,
    };
    let upgrade = UpgradeOptions {
        max_surge: rolling.max_surge.unwrap_or(defaults.max_surge),
        max_unavailable: rolling.max_unavailable.unwrap_or(IntOrPercent::Int(0)),
        poll_interval: settings.poll_interval,
        ..defaults
    };
    // As `capstan cluster upgrade`: nodes are replaced, so their emptyDir data and DaemonSet
    // pods go with them; at the drain timeout the upgrade halts rather than forcing.
    let drain = DrainOptions {
        ignore_daemonsets: true,
        delete_emptydir_data: true,
        timeout: drain_timeout,
        on_deadline: Escalation::Halt,
        ..DrainOptions::default()
    };
    Ok((upgrade, drain))
}

/// Runs one `cluster-upgrade` to the end through the twin's fake cloud ([`SimProvider`]).
pub async fn run_cluster_upgrade(
    target: &Target,
    clock: &SharedClock,
    work: &ClusterUpgradeWork,
    settings: &UpgradeSettings,
) -> Result<UpgradeResult> {
    let client = target.client().await?;
    let to = match &work.version {
        Some(v) => v.clone(),
        None => resolve_target(&client).await?,
    };
    // For the result only: a failure to read it does not stop the upgrade.
    let from = match &work.from {
        Some(from) => Some(from.clone()),
        None => match client.apiserver_version().await {
            Ok(info) => Some(info.git_version.trim_start_matches('v').to_string()),
            Err(e) => {
                tracing::debug!(error = %e, "reading the control plane's version before the upgrade failed");
                None
            }
        },
    };
    let (upgrade_options, drain_options) = options(work, &to, settings)?;
    let provider: Arc<dyn Provider> = Arc::new(SimProvider::connect(client.clone()).await?);
    // Timings in the provider's (the twin's) time when it has a clock, as the CLI does.
    let clock = provider.clock().unwrap_or_else(|| clock.clone());
    let drainer = Drainer::new(
        client.clone(),
        target.eviction_client().await?,
        clock.clone(),
        drain_options,
    );
    let recorder = EventRecorder::new(client.clone(), clock.clone(), "capstan-agent");
    let upgrader =
        ClusterUpgrader::new(client, provider, drainer, recorder, clock, upgrade_options);
    let report = upgrader.run(&LogUpgradeObserver).await?;
    Ok(UpgradeResult::from_report(from, &report))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn payloads_parse_with_or_without_node_rolling() {
        let work = ClusterUpgradeWork::from_payload(&json!({
            "version": "1.33",
            "upgrade": "prod-canary",
            "from": "1.32.4",
            "nodeRolling": {"maxSurge": 2, "maxUnavailable": "0", "drainTimeout": "10m"}
        }))
        .unwrap();
        assert_eq!(work.version.as_deref(), Some("1.33"));
        assert_eq!(work.from.as_deref(), Some("1.32.4"));
        let (upgrade, drain) = options(&work, "1.33", &UpgradeSettings::default()).unwrap();
        assert_eq!(upgrade.to, "1.33");
        assert_eq!(upgrade.max_surge, IntOrPercent::Int(2));
        assert_eq!(upgrade.max_unavailable, IntOrPercent::Int(0));
        assert_eq!(drain.timeout, Some(Duration::from_secs(600)));

        let bare = ClusterUpgradeWork::from_payload(&serde_json::Value::Null).unwrap();
        assert_eq!(bare, ClusterUpgradeWork::default());
        let (upgrade, drain) = options(&bare, "1.33", &UpgradeSettings::default()).unwrap();
        assert_eq!(upgrade.max_surge, IntOrPercent::Percent(10));
        assert_eq!(drain.timeout, Some(Duration::from_secs(1800)));
    }

    #[test]
    fn bad_payloads_are_errors() {
        assert!(ClusterUpgradeWork::from_payload(&json!({"version": 3})).is_err());
        let work =
            ClusterUpgradeWork::from_payload(&json!({"nodeRolling": {"drainTimeout": "soon"}}))
                .unwrap();
        let err = options(&work, "1.33", &UpgradeSettings::default()).unwrap_err();
        assert!(err.to_string().contains("drainTimeout"), "{err}");
    }
}
