//! Health in the rollout (issue 5, item 5): the gate frozen from
//! `spec.strategy.canary.healthGate`, what the machine records of each upgraded cluster's
//! health evaluations, and the structured reason of a health halt.
//!
//! - **Halt**: a firing alert of a `haltOn` severity on a Succeeded cluster during a soak
//!   halts the rollout (`Input::Unhealthy`, with the alert); `status.health.halt` names the
//!   cluster, the rule, its value and threshold.
//! - **Gate**: with `consecutiveHealthyEvaluations: N`, a step's soak ends only once its time
//!   is up *and* each cluster that succeeded in the step has `N` consecutive healthy
//!   evaluations after its upgrade finished. The agent counts streaks for its whole lifetime,
//!   so a streak can reach back before the upgrade; the machine counts conservatively:
//!   `min(streak, evaluation - first + 1)`, where `first` is the first evaluation seen at or
//!   after the cluster finished.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::health::{Alert, AlertPhase, Comparison, HealthReport, Labels, Severity};

use super::HealthGate;
use super::machine::{Action, ClusterState, Input, RolloutPhase, RolloutState, record};

/// How many clusters a `WaitingForHealthGate` message names before "and N more".
const NAMED_CLUSTERS: usize = 5;

/// The rollout's health gate and what it saw (`status.health`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthStatus {
    /// Frozen from `healthGate` when the rollout started.
    #[serde(default)]
    pub consecutive_healthy_evaluations: u32,
    /// Frozen from `healthGate.haltOn` (default `[critical]`).
    #[serde(default = "default_halt_on")]
    pub halt_on: Vec<Severity>,
    /// With a gate: the current step's upgraded clusters' healthy evaluations so far.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clusters: BTreeMap<String, GateProgress>,
    /// The step whose soak the gate holds past its time (`WaitingForHealthGate` recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_step: Option<usize>,
    /// What halted the rollout, when a health signal did; cleared when it goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt: Option<HealthHalt>,
}

fn default_halt_on() -> Vec<Severity> {
    vec![Severity::Critical]
}

impl Default for HealthStatus {
    /// The gate of a spec without `healthGate` (and of states stored before gates existed).
    fn default() -> Self {
        Self {
            consecutive_healthy_evaluations: 0,
            halt_on: default_halt_on(),
            clusters: BTreeMap::new(),
            held_step: None,
            halt: None,
        }
    }
}

impl HealthStatus {
    pub(super) fn frozen(gate: Option<&HealthGate>) -> Self {
        match gate {
            None => Self::default(),
            Some(gate) => Self {
                consecutive_healthy_evaluations: gate.consecutive_healthy_evaluations,
                halt_on: gate.halt_on_severities(),
                ..Self::default()
            },
        }
    }
}

/// One cluster's healthy evaluations after its upgrade finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateProgress {
    /// The first evaluation seen at or after the cluster finished (`gate_first_evaluation`).
    pub first_evaluation: u64,
    /// The latest evaluation seen.
    pub evaluation: u64,
    pub evaluated_at: Timestamp,
    /// Consecutive healthy evaluations since the upgrade: `min(streak, evaluation - first +
    /// 1)`.
    pub healthy_evaluations: u64,
}

/// Why a health signal halted the rollout (`status.health.halt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthHalt {
    pub cluster: String,
    /// The step whose soak was halted.
    pub step: usize,
    /// One line: the alert as [`Alert::describe`] says it, or the watcher's reason.
    pub reason: String,
    pub at: Timestamp,
    /// The alert that halted it, when an alert did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<FiringAlert>,
}

/// A firing alert as the rollout records it: [`Alert`] without its phase, comparable
/// (values compare bit for bit, so a state with a NaN still equals itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FiringAlert {
    pub rule: String,
    pub severity: Severity,
    pub value: f64,
    pub threshold: f64,
    pub comparison: Comparison,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    pub since: Timestamp,
}

impl PartialEq for FiringAlert {
    fn eq(&self, other: &Self) -> bool {
        self.rule == other.rule
            && self.severity == other.severity
            && self.value.to_bits() == other.value.to_bits()
            && self.threshold.to_bits() == other.threshold.to_bits()
            && self.comparison == other.comparison
            && self.labels == other.labels
            && self.since == other.since
    }
}

impl Eq for FiringAlert {}

impl From<&Alert> for FiringAlert {
    fn from(alert: &Alert) -> Self {
        Self {
            rule: alert.rule.clone(),
            severity: alert.severity,
            value: alert.value,
            threshold: alert.threshold,
            comparison: alert.comparison,
            labels: alert.labels.clone(),
            since: alert.since,
        }
    }
}

impl FiringAlert {
    /// As [`Alert::describe`]: `ContainerRestartsHigh on pod=web-1: 7 > 5`.
    pub fn describe(&self) -> String {
        Alert {
            rule: self.rule.clone(),
            severity: self.severity,
            value: self.value,
            threshold: self.threshold,
            comparison: self.comparison,
            labels: self.labels.clone(),
            since: self.since,
            state: AlertPhase::Firing,
        }
        .describe()
    }
}

/// The streak a gate counts from one report: the shortest of the `halt_on` severities'
/// healthy streaks. A severity the report does not count is taken as 0 (conservative); with
/// no `halt_on` severity no alert makes an evaluation unhealthy, so every one counts.
pub fn gate_healthy_streak(report: &HealthReport, halt_on: &[Severity]) -> u64 {
    halt_on
        .iter()
        .map(|s| report.healthy_streak.get(s).copied().unwrap_or(0))
        .min()
        .unwrap_or(u64::MAX)
}

/// The alert a report halts on: its most severe firing alert of a `halt_on` severity (the
/// report lists alerts most severe first, the longest standing first).
pub fn halting_alert<'a>(report: &'a HealthReport, halt_on: &'a [Severity]) -> Option<&'a Alert> {
    report
        .firing_of(halt_on)
        .reduce(|best, a| if a.severity > best.severity { a } else { best })
}

/// How many alerts of a `halt_on` severity fire, from the report's exact counts.
pub fn halting_count(report: &HealthReport, halt_on: &[Severity]) -> u64 {
    halt_on
        .iter()
        .map(|s| report.firing.get(s).copied().unwrap_or(0))
        .sum()
}

/// Why `report` halts (or refuses) a cluster under `halt_on`: the most severe firing alert
/// described (`ContainerRestartsHigh on pod=web-1: 7 > 5`) with the alert, or, when the
/// report's capped list left those alerts out, how many fire. `None` when none does.
pub fn halt_reason(
    report: &HealthReport,
    halt_on: &[Severity],
) -> Option<(String, Option<FiringAlert>)> {
    if let Some(alert) = halting_alert(report, halt_on) {
        return Some((alert.describe(), Some(FiringAlert::from(alert))));
    }
    let count = halting_count(report, halt_on);
    (count > 0).then(|| {
        let severities: Vec<&str> = halt_on.iter().map(|s| s.as_str()).collect();
        (
            format!("{count} {} alert(s) firing", severities.join("/")),
            None,
        )
    })
}

/// The clusters whose latest health reports a controller round needs for `state`: with a
/// soak under way, every upgraded cluster (any may halt it); with a gate, the current step's
/// upgraded clusters while the step runs; and the clusters the round may start (preflight).
pub fn clusters_to_watch(state: &RolloutState) -> Vec<String> {
    use RolloutPhase as P;
    let mut names = Vec::new();
    if is_soaking(state) {
        names.extend(
            state
                .plan
                .clusters
                .iter()
                .filter(|n| state.clusters[*n].state == ClusterState::Succeeded)
                .cloned(),
        );
    } else if gate_counts(state) {
        names.extend(
            step_clusters(state)
                .iter()
                .filter(|n| state.clusters[*n].state == ClusterState::Succeeded)
                .cloned(),
        );
    }
    if state.phase == P::Progressing {
        // At most a concurrency's worth can start in one round.
        names.extend(
            step_clusters(state)
                .iter()
                .filter(|n| state.clusters[*n].state == ClusterState::Pending)
                .take(state.plan.max_concurrency)
                .cloned(),
        );
    }
    names
}

/// The inputs the latest health `reports` (by cluster) make for `state`, halts first: an
/// `Unhealthy` for the first upgraded cluster (in plan order) whose report, made at or after
/// its upgrade finished, has a firing alert of a `haltOn` severity while a soak is under
/// way; then, with a gate, a `HealthEvaluation` for each of the current step's upgraded
/// clusters whose report the state has not counted yet (and that does not merely keep a
/// cluster that has its evaluations at or above the gate).
pub fn health_inputs(state: &RolloutState, reports: &BTreeMap<String, HealthReport>) -> Vec<Input> {
    let mut inputs = Vec::new();
    let after_upgrade = |name: &String| {
        let rollout = state.clusters.get(name)?;
        let report = reports.get(name)?;
        let finished = rollout.finished?;
        (rollout.state == ClusterState::Succeeded && report.evaluated_at >= finished)
            .then_some(report)
    };
    let halt_on = &state.health.halt_on;
    if is_soaking(state) {
        let halt = state.plan.clusters.iter().find_map(|name| {
            let (reason, alert) = halt_reason(after_upgrade(name)?, halt_on)?;
            Some(Input::Unhealthy {
                cluster: name.clone(),
                reason,
                alert,
            })
        });
        inputs.extend(halt);
    }
    if gate_counts(state) {
        let needed = u64::from(state.health.consecutive_healthy_evaluations);
        for name in step_clusters(state) {
            let Some(report) = after_upgrade(name) else {
                continue;
            };
            let streak = gate_healthy_streak(report, halt_on);
            // Counted already, or passing and staying so: feeding it would only rewrite the
            // status each round for the rest of the soak.
            let counted = state.health.clusters.get(name).is_some_and(|p| {
                let same =
                    p.evaluation == report.evaluation && p.evaluated_at == report.evaluated_at;
                let still_passing = p.healthy_evaluations >= needed
                    && streak >= needed
                    && report.evaluation >= p.evaluation;
                same || still_passing
            });
            if !counted {
                inputs.push(Input::HealthEvaluation {
                    cluster: name.clone(),
                    evaluation: report.evaluation,
                    at: report.evaluated_at,
                    healthy_streak: streak,
                });
            }
        }
    }
    inputs
}

/// A soak under way, paused or not: when alerts halt.
fn is_soaking(state: &RolloutState) -> bool {
    state.phase == RolloutPhase::Soaking
        || (state.phase == RolloutPhase::Paused && state.paused_from == Some(RolloutPhase::Soaking))
}

/// Whether evaluations count now: a gate, and a step running, soaking or paused.
fn gate_counts(state: &RolloutState) -> bool {
    use RolloutPhase as P;
    state.health.consecutive_healthy_evaluations > 0
        && matches!(state.phase, P::Progressing | P::Soaking | P::Paused)
}

/// The current step's positions in the plan.
fn step_clusters(state: &RolloutState) -> &[String] {
    let k = state.step;
    let from = if k == 0 {
        0
    } else {
        state.plan.step_targets[k - 1]
    };
    let to = state.plan.step_targets[k];
    &state.plan.clusters[from..to]
}

/// `Input::HealthEvaluation`: counts one evaluation of a Succeeded cluster of the current
/// step made at or after its upgrade finished; anything else (no gate, a cluster of another
/// step or in another state, an evaluation from before the upgrade or older than the one
/// recorded) changes nothing.
pub(super) fn record_evaluation(
    state: &mut RolloutState,
    cluster: &str,
    evaluation: u64,
    at: Timestamp,
    healthy_streak: u64,
) {
    // Only the current step's clusters count: a later step's gate is its own.
    if !gate_counts(state) || !step_clusters(state).iter().any(|n| n == cluster) {
        return;
    }
    let Some(rollout) = state.clusters.get(cluster) else {
        return;
    };
    let after_upgrade = rollout.state == ClusterState::Succeeded
        && rollout.finished.is_some_and(|finished| at >= finished);
    if !after_upgrade {
        return;
    }
    let first = match state.health.clusters.get(cluster) {
        None => evaluation,
        Some(seen) if at < seen.evaluated_at => return,
        // A lower sequence number later on: the agent restarted and counts from 1 again.
        Some(seen) if evaluation < seen.evaluation => evaluation,
        Some(seen) => seen.first_evaluation,
    };
    let since_upgrade = evaluation.saturating_sub(first).saturating_add(1);
    state.health.clusters.insert(
        cluster.to_string(),
        GateProgress {
            first_evaluation: first,
            evaluation,
            evaluated_at: at,
            healthy_evaluations: healthy_streak.min(since_upgrade),
        },
    );
}

/// Whether the current step's soak, its time being up, may end: always without a gate;
/// with one, once every cluster that succeeded in the step has its healthy evaluations.
/// Records `WaitingForHealthGate` the first time it holds the soak and `HealthGatePassed`
/// when it lets it end.
pub(super) fn soak_may_end(state: &mut RolloutState, actions: &mut Vec<Action>) -> bool {
    let needed = u64::from(state.health.consecutive_healthy_evaluations);
    if needed == 0 {
        return true;
    }
    let k = state.step;
    let short: Vec<(&String, u64)> = step_clusters(state)
        .iter()
        .filter(|name| state.clusters[*name].state == ClusterState::Succeeded)
        .map(|name| {
            let healthy = state
                .health
                .clusters
                .get(name)
                .map_or(0, |p| p.healthy_evaluations);
            (name, healthy)
        })
        .filter(|(_, healthy)| *healthy < needed)
        .collect();
    if short.is_empty() {
        record(
            actions,
            "HealthGatePassed",
            format!(
                "step {k}: every upgraded cluster had {needed} consecutive healthy evaluations"
            ),
        );
        state.health.held_step = None;
        state.health.clusters.clear();
        return true;
    }
    if state.health.held_step != Some(k) {
        let mut named: Vec<String> = short
            .iter()
            .take(NAMED_CLUSTERS)
            .map(|(name, healthy)| format!("{name} {healthy}/{needed}"))
            .collect();
        if short.len() > NAMED_CLUSTERS {
            named.push(format!("and {} more", short.len() - NAMED_CLUSTERS));
        }
        state.health.held_step = Some(k);
        state.message = format!(
            "step {k} soaked; waiting for {needed} consecutive healthy evaluations: {}",
            named.join(", ")
        );
        record(actions, "WaitingForHealthGate", &state.message);
    }
    false
}

#[cfg(test)]
mod tests;
