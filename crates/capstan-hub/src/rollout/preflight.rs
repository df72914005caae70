//! Preflight: every cluster the state machine starts is checked against its last report
//! before its work item is queued (and again before each retry, which starts it anew).
//!
//! Health counts twice: the health the agent judged from its nodes and API server (refused
//! unless Healthy, and Unknown once silent past the lease), and its latest health report,
//! refused while an alert of the upgrade's `haltOn` severities fires on it
//! (`ContainerRestartsHigh on pod=web-1: 7 > 5 is firing (critical)`). Alerts are judged by
//! `haltOn` alone, not by the fleet view's health that folds them in (Degraded on a warning):
//! with the default `[critical]` a firing warning does not refuse a cluster, as it does not
//! halt a soak.
//!
//! [`RolloutController::admit`] goes through a decision's `StartUpgrade` actions. A cluster
//! that passes gets its target fixed ([`super::target`]) and keeps its action; one that fails
//! is fed back to the pure machine as `ClusterFailed` with message `preflight: <reason>` (an
//! event `PreflightFailed` says why), in the same decision, so it counts against the failure
//! budget and `capstan upgrade retry` checks it again; a cluster gone from the inventory is
//! fed as `ClusterRemoved`. Either may let the machine start the next cluster in line, which
//! is checked in turn. The checks themselves are core's ([`capstan_core::rollout::preflight`]).

use std::collections::VecDeque;

use capstan_core::health::HealthReport;
use capstan_core::rollout::{
    Action, ClusterFacts, ClusterUpgrade, Input, RolloutState, preflight, step,
};
use capstan_core::summary::{Capped, DrainBlocker};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::RolloutController;
use super::health::HealthCache;
use super::target::{FixedTarget, fix_target};
use crate::Result;
use crate::store::{ClusterHealth, ClusterRecord};

/// The event recorded for each refusal.
pub const PREFLIGHT_FAILED: &str = "PreflightFailed";

/// What preflight says about one cluster.
enum Verdict {
    Go(FixedTarget),
    Refused(String),
    /// No longer in the inventory.
    Gone,
}

impl RolloutController {
    /// Preflight for every cluster `actions` start (see the module documentation): the state
    /// with refused clusters Failed and admitted ones' targets fixed, and the actions with only
    /// admitted clusters' `StartUpgrade`s.
    pub(crate) async fn admit(
        &self,
        spec: &ClusterUpgrade,
        state: RolloutState,
        actions: Vec<Action>,
        now: Timestamp,
    ) -> Result<(RolloutState, Vec<Action>)> {
        self.admit_with(spec, state, actions, now, &mut HealthCache::default())
            .await
    }

    /// [`Self::admit`] with the health reports already read this round; the clusters it
    /// starts that `health` has not read yet are read together, in one query per batch.
    pub(crate) async fn admit_with(
        &self,
        spec: &ClusterUpgrade,
        mut state: RolloutState,
        actions: Vec<Action>,
        now: Timestamp,
        health: &mut HealthCache,
    ) -> Result<(RolloutState, Vec<Action>)> {
        let mut admitted = Vec::with_capacity(actions.len());
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            let Action::StartUpgrade { cluster, .. } = &action else {
                admitted.push(action);
                continue;
            };
            let cluster = cluster.clone();
            if !health.has_read(&cluster) {
                let unread: Vec<String> = std::iter::once(&action)
                    .chain(queue.iter())
                    .filter_map(|a| match a {
                        Action::StartUpgrade { cluster, .. } if !health.has_read(cluster) => {
                            Some(cluster.clone())
                        }
                        _ => None,
                    })
                    .collect();
                health.fetch(&self.store, unread).await?;
            }
            let report = health.reports.get(&cluster);
            let input = match self.verdict(spec, &state, &cluster, report, now).await? {
                Verdict::Go(target) => {
                    if let Some(rollout) = state.clusters.get_mut(&cluster) {
                        rollout.from = target.from;
                        rollout.to = target.to;
                    }
                    admitted.push(action);
                    continue;
                }
                Verdict::Refused(reason) => {
                    tracing::info!(%cluster, %reason, "preflight refused the cluster");
                    admitted.push(Action::Record {
                        reason: PREFLIGHT_FAILED.to_string(),
                        message: format!("{cluster}: {reason}"),
                    });
                    Input::ClusterFailed {
                        cluster,
                        message: format!("preflight: {reason}"),
                    }
                }
                Verdict::Gone => Input::ClusterRemoved { cluster },
            };
            let (next, more) = step(&state, input, now);
            state = next;
            queue.extend(more);
        }
        Ok((state, admitted))
    }

    async fn verdict(
        &self,
        spec: &ClusterUpgrade,
        state: &RolloutState,
        cluster: &str,
        report: Option<&HealthReport>,
        now: Timestamp,
    ) -> Result<Verdict> {
        let Some(record) = self.store.get_cluster(cluster).await? else {
            return Ok(Verdict::Gone);
        };
        let Some(rollout) = state.clusters.get(cluster) else {
            return Ok(Verdict::Gone);
        };
        let lease = SignedDuration::try_from(self.lease).unwrap_or(SignedDuration::MAX);
        let health = record.health_at(now, lease);
        if health == ClusterHealth::Unknown {
            return Ok(Verdict::Refused(silent_reason(&record, now, lease)));
        }
        let target = match fix_target(spec, rollout, &record) {
            Ok(target) => target,
            Err(reason) => return Ok(Verdict::Refused(reason)),
        };
        let kubelets: Vec<(String, u64)> = record
            .versions
            .kubelet
            .iter()
            .map(|(v, n)| (v.clone(), *n))
            .collect();
        let blockers = drain_blockers(&record.summary);
        let facts = ClusterFacts {
            // Alerts are judged below, by haltOn (see the module documentation).
            health: record.reported_health.as_str(),
            control_plane: record.versions.control_plane.as_deref(),
            kubelets: &kubelets,
            offered: &record.versions.offered,
            drain_blockers: &blockers,
            health_report: report,
            halt_on: &state.health.halt_on,
        };
        Ok(
            match preflight(&facts, target.to.as_deref(), self.preflight) {
                Ok(()) => Verdict::Go(target),
                Err(reason) => Verdict::Refused(reason),
            },
        )
    }
}

/// Why an Unknown cluster is refused: never reported, or silent past the lease.
fn silent_reason(record: &ClusterRecord, now: Timestamp, lease: SignedDuration) -> String {
    if record.reported_health == ClusterHealth::Unknown {
        return "the cluster is Unknown: its agent has not reported yet".to_string();
    }
    let silent = now.duration_since(record.last_seen);
    format!(
        "the cluster is Unknown: its last report is {}s old, past the {}s lease",
        silent.as_secs(),
        lease.as_secs()
    )
}

/// The summary's drain blockers; none when the summary has no readable list (an agent that
/// sends none, or an older shape).
fn drain_blockers(summary: &Value) -> Vec<DrainBlocker> {
    summary
        .get("drainBlockers")
        .cloned()
        .and_then(|v| serde_json::from_value::<Capped<DrainBlocker>>(v).ok())
        .map(|capped| capped.items)
        .unwrap_or_default()
}
