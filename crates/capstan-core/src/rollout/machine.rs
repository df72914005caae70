//! The `ClusterUpgrade` rollout as a pure state machine: `(state, input, now) -> (state,
//! actions)`. No I/O and no clock: the hub persists [`RolloutState`] as JSON, feeds inputs
//! (agent results, operator commands, periodic ticks) and carries out the [`Action`]s.
//!
//! Semantics (issue 4, item 3):
//! - [`start`] resolves the plan once: the selected clusters in [`order_clusters`] order,
//!   the cumulative [`step_targets`], [`max_concurrency`] and [`failure_budget`] against the
//!   frozen set. Later joiners are never added (KubeFleet aborts a run when membership
//!   changes, kubefleet#733/#845; we freeze instead).
//! - Step `k` covers the first `step_targets[k]` positions of the frozen order. A position is
//!   *settled* once its cluster is Succeeded, Failed, Skipped or Removed; the step is done
//!   when all its positions are settled, so a skipped, removed or (within budget) failed
//!   cluster is not replaced by a later one: the step sizes stay those of the plan. With no
//!   failures and no skips, the upgraded (Succeeded) total at the end of step `k` is exactly
//!   `step_targets[k]` = ceil(percentage_k × N).
//! - At most `max_concurrency` clusters are Upgrading at once; clusters start in order.
//! - When a step is done the rollout soaks until `now + pause` (phase Soaking); then the next
//!   step, waiting in AwaitingApproval first when it says `approval: true`; after the last
//!   soak, Succeeded (or Failed when some clusters failed within the budget: a rollout that
//!   left clusters behind does not claim success; `RetryFailed` can finish it).
//! - Failures count against the budget; the rollout halts exactly when they exceed it
//!   (Azure Fleet's `maxAllowedFailures`: "the 4th failure" of 3 allowed fails the stage).
//!   Halted is not final: `RetryFailed`, or `Skip` of failed clusters then `Resume`, go on.
//! - Paused starts nothing new; running clusters finish and are recorded. Abort is final.
//! - Health (issue 5, [`super::gate`]): during a soak, `Unhealthy` for an upgraded cluster
//!   halts (`status.health.halt` says why); with `healthGate.consecutiveHealthyEvaluations`,
//!   a soak whose time is up waits until each of its step's upgraded clusters has that many
//!   healthy evaluations after its upgrade (`HealthEvaluation`).
//! - Every input is idempotent: a duplicated result or command changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::selector::Labels;

use super::gate::{self, FiringAlert, HealthHalt, HealthStatus};
use super::{ClusterUpgrade, failure_budget, max_concurrency, order_clusters, step_targets};

#[cfg(test)]
mod tests;

/// The rollout's phase, as reported in the upgrade's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RolloutPhase {
    Pending,
    Progressing,
    Soaking,
    AwaitingApproval,
    Paused,
    Halted,
    Succeeded,
    Failed,
    Aborted,
}

/// The plan resolved when the rollout started; never changes afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrozenPlan {
    /// The selected clusters in upgrade order.
    pub clusters: Vec<String>,
    /// Cumulative settled positions once each step is done (see [`step_targets`]).
    pub step_targets: Vec<usize>,
    pub steps: Vec<FrozenStep>,
    pub max_concurrency: usize,
    pub failure_budget: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrozenStep {
    pub percentage: u32,
    #[serde(with = "crate::duration::serde_duration")]
    pub pause: Duration,
    pub approval: bool,
}

/// One cluster's part in the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterState {
    Pending,
    Upgrading,
    Succeeded,
    Failed,
    /// Skipped by the operator.
    Skipped,
    /// Left the fleet after the set was frozen.
    Removed,
}

impl ClusterState {
    /// Whether this cluster's position in the plan is done with.
    pub fn is_settled(self) -> bool {
        !matches!(self, Self::Pending | Self::Upgrading)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRollout {
    pub state: ClusterState,
    /// When the current attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Timestamp>,
    /// When the cluster settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Timestamp>,
    /// Attempts started so far; the current attempt's number once Upgrading.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The cluster's control-plane version before the upgrade, set by the hub when it queues
    /// the cluster's first work item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The version the cluster goes to, resolved by the hub against what the cluster's
    /// provider offers and fixed from the first work item on (retries keep it); `None` when
    /// the agent resolves it (its provider's versions were not reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// Everything the hub persists about one rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    pub phase: RolloutPhase,
    pub plan: FrozenPlan,
    /// The current step (index into `plan.steps`).
    pub step: usize,
    pub clusters: BTreeMap<String, ClusterRollout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub approved_steps: BTreeSet<usize>,
    /// The phase to return to on `Resume`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_from: Option<RolloutPhase>,
    /// Why the rollout is in its phase (last transition), for status and `describe`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    pub updated: Timestamp,
    /// The health gate and what it saw (see [`super::gate`]); the defaults for states stored
    /// before gates existed.
    #[serde(default)]
    pub health: HealthStatus,
}

/// What happened, fed to [`step`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Input {
    /// Time passed: ends soaks, starts clusters.
    Tick,
    ClusterSucceeded {
        cluster: String,
    },
    ClusterFailed {
        cluster: String,
        message: String,
    },
    /// The cluster left the inventory: skipped and reported.
    ClusterRemoved {
        cluster: String,
    },
    Pause,
    Resume,
    Abort,
    Approve {
        step: usize,
    },
    /// Failed clusters back to Pending, same frozen plan.
    RetryFailed,
    /// Skip a Pending or Failed cluster.
    Skip {
        cluster: String,
    },
    /// A health watcher saw an upgraded cluster unhealthy; halts a soak. `alert`, when an
    /// alert is the reason, is kept in `status.health.halt`.
    Unhealthy {
        cluster: String,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alert: Option<FiringAlert>,
    },
    /// One health evaluation of an upgraded cluster: its sequence number, when it was made,
    /// and how many evaluations in a row (ending with it) were healthy for the gate's
    /// `haltOn` severities. Counts towards `consecutiveHealthyEvaluations`.
    HealthEvaluation {
        cluster: String,
        evaluation: u64,
        at: Timestamp,
        healthy_streak: u64,
    },
}

/// What the hub must do after a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Action {
    /// Hand the cluster its upgrade; `attempt` makes the work id idempotent
    /// (`{upgrade}/{cluster}/{attempt}`).
    StartUpgrade { cluster: String, attempt: u32 },
    /// An event with a reason (`StepCompleted`, `FailureBudgetExceeded`, ...).
    Record { reason: String, message: String },
}

pub(super) fn record(actions: &mut Vec<Action>, reason: &str, message: impl Into<String>) {
    actions.push(Action::Record {
        reason: reason.to_string(),
        message: message.into(),
    });
}

/// Freezes the plan over `selected` (cluster name and labels) and starts the first step.
/// Fails only on a pause that does not parse, which [`super::validate`] rejects first.
pub fn start<N, L>(
    spec: &ClusterUpgrade,
    selected: &[(N, L)],
    now: Timestamp,
) -> crate::Result<(RolloutState, Vec<Action>)>
where
    N: AsRef<str>,
    L: Labels,
{
    let canary = &spec.spec.strategy.canary;
    let clusters = order_clusters(selected, canary.sort_by.as_deref());
    let n = clusters.len();
    let steps = canary
        .steps
        .iter()
        .map(|s| {
            Ok(FrozenStep {
                percentage: s.percentage,
                pause: s.pause_duration()?,
                approval: s.approval,
            })
        })
        .collect::<crate::Result<Vec<_>>>()?;
    let plan = FrozenPlan {
        step_targets: step_targets(&canary.steps, n),
        steps,
        max_concurrency: max_concurrency(canary.max_concurrency, n),
        failure_budget: failure_budget(canary.max_failures, n),
        clusters,
    };
    let cluster_states = plan
        .clusters
        .iter()
        .map(|name| {
            let pending = ClusterRollout {
                state: ClusterState::Pending,
                started: None,
                finished: None,
                attempts: 0,
                message: String::new(),
                from: None,
                to: None,
            };
            (name.clone(), pending)
        })
        .collect();
    let mut state = RolloutState {
        phase: RolloutPhase::Pending,
        plan,
        step: 0,
        clusters: cluster_states,
        soak_until: None,
        approved_steps: BTreeSet::new(),
        paused_from: None,
        message: String::new(),
        updated: now,
        health: HealthStatus::frozen(canary.health_gate.as_ref()),
    };
    let mut actions = Vec::new();
    record(
        &mut actions,
        "RolloutStarted",
        format!(
            "{n} clusters frozen in {} steps {:?}, at most {} at once, failure budget {}",
            state.plan.steps.len(),
            state.plan.step_targets,
            state.plan.max_concurrency,
            state.plan.failure_budget
        ),
    );
    if n == 0 || state.plan.steps.is_empty() {
        state.phase = RolloutPhase::Succeeded;
        state.message = "no clusters selected".to_string();
        record(&mut actions, "RolloutSucceeded", &state.message);
        return Ok((state, actions));
    }
    enter_step(&mut state, 0, &mut actions);
    if spec.spec.paused {
        state.paused_from = Some(state.phase);
        state.phase = RolloutPhase::Paused;
        state.message = "spec.paused".to_string();
        record(&mut actions, "RolloutPaused", &state.message);
    }
    advance(&mut state, now, &mut actions);
    Ok((state, actions))
}

/// One transition. Inputs that do not apply (a duplicate result, a command in a phase that
/// does not take it) leave the state as it was; commands that cannot apply say why in a
/// `Record` with reason `InputIgnored`.
pub fn step(state: &RolloutState, input: Input, now: Timestamp) -> (RolloutState, Vec<Action>) {
    let mut next = state.clone();
    let mut actions = Vec::new();
    apply(&mut next, input, now, &mut actions);
    advance(&mut next, now, &mut actions);
    if next == *state {
        return (next, actions);
    }
    next.updated = now;
    (next, actions)
}

fn apply(state: &mut RolloutState, input: Input, now: Timestamp, actions: &mut Vec<Action>) {
    use RolloutPhase as P;
    match input {
        Input::Tick => {}
        Input::ClusterSucceeded { cluster } => {
            if let Some(c) = upgrading(state, &cluster) {
                c.state = ClusterState::Succeeded;
                c.finished = Some(now);
                c.message.clear();
                let attempt = c.attempts;
                state.health.clusters.remove(&cluster);
                record(
                    actions,
                    "ClusterSucceeded",
                    format!("{cluster} upgraded (attempt {attempt})"),
                );
            }
        }
        Input::ClusterFailed { cluster, message } => {
            if let Some(c) = upgrading(state, &cluster) {
                c.state = ClusterState::Failed;
                c.finished = Some(now);
                c.message = message.clone();
                record(actions, "ClusterFailed", format!("{cluster}: {message}"));
                check_budget(state, actions);
            }
        }
        Input::ClusterRemoved { cluster } => {
            if let Some(c) = state.clusters.get_mut(&cluster)
                && !matches!(
                    c.state,
                    ClusterState::Removed | ClusterState::Succeeded | ClusterState::Skipped
                )
            {
                c.state = ClusterState::Removed;
                c.finished = Some(now);
                c.message = "removed from the fleet during the rollout".to_string();
                record(
                    actions,
                    "ClusterRemoved",
                    format!("{cluster} left the fleet and is skipped"),
                );
            }
        }
        Input::Pause => {
            if matches!(
                state.phase,
                P::Progressing | P::Soaking | P::AwaitingApproval
            ) {
                state.paused_from = Some(state.phase);
                state.phase = P::Paused;
                state.message = "paused by the operator".to_string();
                record(actions, "RolloutPaused", &state.message);
            }
        }
        Input::Resume => match state.phase {
            P::Paused => {
                state.phase = state.paused_from.take().unwrap_or(P::Progressing);
                state.message = "resumed".to_string();
                record(actions, "RolloutResumed", &state.message);
            }
            P::Halted => {
                let failed = failed_count(state);
                if failed > state.plan.failure_budget {
                    ignored(
                        actions,
                        format!(
                            "cannot resume: {failed} failed clusters exceed the budget of {}; \
                             retry or skip them first",
                            state.plan.failure_budget
                        ),
                    );
                } else {
                    // Progressing re-soaks the step from now if its clusters are done: a halt
                    // (e.g. for health) restarts the soak rather than continuing it.
                    state.phase = P::Progressing;
                    state.soak_until = None;
                    state.health.halt = None;
                    state.message = "resumed after a halt".to_string();
                    record(actions, "RolloutResumed", &state.message);
                }
            }
            _ => {}
        },
        Input::Abort => {
            if state.phase != P::Aborted {
                state.phase = P::Aborted;
                state.paused_from = None;
                state.soak_until = None;
                state.message = "aborted by the operator".to_string();
                record(actions, "RolloutAborted", &state.message);
            }
        }
        Input::Approve { step } => {
            if state.phase == P::Aborted {
                ignored(actions, "the rollout was aborted");
            } else if step >= state.plan.steps.len() {
                ignored(
                    actions,
                    format!(
                        "no step {step}: the plan has {} steps",
                        state.plan.steps.len()
                    ),
                );
            } else if step < state.step {
                // Already past it; approving again changes nothing.
            } else if state.approved_steps.insert(step) {
                record(actions, "StepApproved", format!("step {step} approved"));
            }
        }
        Input::RetryFailed => retry_failed(state, actions),
        Input::Skip { cluster } => skip(state, &cluster, now, actions),
        Input::HealthEvaluation {
            cluster,
            evaluation,
            at,
            healthy_streak,
        } => gate::record_evaluation(state, &cluster, evaluation, at, healthy_streak),
        Input::Unhealthy {
            cluster,
            reason,
            alert,
        } => {
            let soaking = state.phase == P::Soaking
                || (state.phase == P::Paused && state.paused_from == Some(P::Soaking));
            let upgraded = state
                .clusters
                .get(&cluster)
                .is_some_and(|c| c.state == ClusterState::Succeeded);
            if soaking && upgraded {
                state.phase = P::Halted;
                state.paused_from = None;
                state.soak_until = None;
                state.message = format!(
                    "{cluster} unhealthy during the soak of step {}: {reason}",
                    state.step
                );
                state.health.held_step = None;
                state.health.halt = Some(HealthHalt {
                    cluster,
                    step: state.step,
                    reason,
                    at: now,
                    alert,
                });
                record(actions, "UnhealthyDuringSoak", &state.message);
            }
        }
    }
}

fn ignored(actions: &mut Vec<Action>, message: impl Into<String>) {
    record(actions, "InputIgnored", message);
}

/// The cluster's record if it is Upgrading; results for clusters in any other state are
/// duplicates or stale and change nothing.
fn upgrading<'a>(state: &'a mut RolloutState, cluster: &str) -> Option<&'a mut ClusterRollout> {
    state
        .clusters
        .get_mut(cluster)
        .filter(|c| c.state == ClusterState::Upgrading)
}

fn failed_count(state: &RolloutState) -> usize {
    state
        .clusters
        .values()
        .filter(|c| c.state == ClusterState::Failed)
        .count()
}

/// Halts when failures exceed the budget (not when they reach it).
fn check_budget(state: &mut RolloutState, actions: &mut Vec<Action>) {
    use RolloutPhase as P;
    let failed = failed_count(state);
    let live = !matches!(state.phase, P::Halted | P::Aborted);
    if live && failed > state.plan.failure_budget {
        state.phase = P::Halted;
        state.paused_from = None;
        state.soak_until = None;
        state.message = format!(
            "{failed} clusters failed, more than the failure budget of {}",
            state.plan.failure_budget
        );
        record(actions, "FailureBudgetExceeded", &state.message);
    }
}

fn retry_failed(state: &mut RolloutState, actions: &mut Vec<Action>) {
    use RolloutPhase as P;
    if state.phase == P::Aborted {
        ignored(actions, "the rollout was aborted");
        return;
    }
    let mut retried = Vec::new();
    for (name, c) in &mut state.clusters {
        if c.state == ClusterState::Failed {
            c.state = ClusterState::Pending;
            c.finished = None;
            retried.push(name.clone());
        }
    }
    if retried.is_empty() {
        return;
    }
    record(
        actions,
        "RetryFailed",
        format!(
            "retrying {} failed clusters: {}",
            retried.len(),
            retried.join(", ")
        ),
    );
    // A finished or halted rollout goes back to its current step; a soak restarts once the
    // retried clusters are done. Paused and awaiting approval keep waiting.
    if matches!(
        state.phase,
        P::Halted | P::Succeeded | P::Failed | P::Soaking
    ) {
        state.phase = P::Progressing;
        state.soak_until = None;
        state.health.halt = None;
        state.message = "retrying failed clusters".to_string();
    }
}

fn skip(state: &mut RolloutState, cluster: &str, now: Timestamp, actions: &mut Vec<Action>) {
    if state.phase == RolloutPhase::Aborted {
        ignored(actions, "the rollout was aborted");
        return;
    }
    let Some(c) = state.clusters.get_mut(cluster) else {
        ignored(actions, format!("{cluster} is not part of this rollout"));
        return;
    };
    match c.state {
        ClusterState::Pending | ClusterState::Failed => {
            c.state = ClusterState::Skipped;
            c.finished = Some(now);
            c.message = "skipped by the operator".to_string();
            record(actions, "ClusterSkipped", format!("{cluster} skipped"));
        }
        ClusterState::Upgrading => ignored(
            actions,
            format!("{cluster} is upgrading; it cannot be skipped until it finishes"),
        ),
        ClusterState::Succeeded | ClusterState::Skipped | ClusterState::Removed => {}
    }
}

/// Enters step `k`: waits for approval when it needs one not yet given.
fn enter_step(state: &mut RolloutState, k: usize, actions: &mut Vec<Action>) {
    state.step = k;
    state.soak_until = None;
    let needs_approval = state.plan.steps[k].approval && !state.approved_steps.contains(&k);
    if needs_approval {
        state.phase = RolloutPhase::AwaitingApproval;
        state.message = format!("step {k} waits for approval");
        record(actions, "AwaitingApproval", &state.message);
    } else {
        state.phase = RolloutPhase::Progressing;
        state.message = format!(
            "step {k}: upgrading to {} of {} clusters",
            state.plan.step_targets[k],
            state.plan.clusters.len()
        );
        record(actions, "StepStarted", &state.message);
    }
}

/// Moves the rollout as far as `now` allows: starts clusters, ends steps and soaks.
fn advance(state: &mut RolloutState, now: Timestamp, actions: &mut Vec<Action>) {
    use RolloutPhase as P;
    loop {
        match state.phase {
            P::Progressing => {
                start_clusters(state, now, actions);
                let target = state.plan.step_targets[state.step];
                let settled = state.plan.clusters[..target]
                    .iter()
                    .all(|name| state.clusters[name].state.is_settled());
                if !settled {
                    return;
                }
                let pause = state.plan.steps[state.step].pause;
                let until = now.checked_add(pause).unwrap_or(Timestamp::MAX);
                state.phase = P::Soaking;
                state.soak_until = Some(until);
                state.health.held_step = None;
                state.message = format!("step {} done; soaking until {until}", state.step);
                record(actions, "StepCompleted", &state.message);
            }
            P::Soaking => {
                if state.soak_until.is_some_and(|until| now < until) {
                    return;
                }
                if !gate::soak_may_end(state, actions) {
                    return;
                }
                if state.step + 1 < state.plan.steps.len() {
                    enter_step(state, state.step + 1, actions);
                } else {
                    finish(state, actions);
                    return;
                }
            }
            P::AwaitingApproval => {
                if !state.approved_steps.contains(&state.step) {
                    return;
                }
                state.phase = P::Progressing;
                state.message = format!("step {} approved", state.step);
                record(actions, "StepStarted", &state.message);
            }
            P::Pending | P::Paused | P::Halted | P::Succeeded | P::Failed | P::Aborted => return,
        }
    }
}

/// Starts Pending clusters within the current step's target, in plan order, up to the
/// concurrency limit. Earlier positions come first, so retried clusters go before new ones.
fn start_clusters(state: &mut RolloutState, now: Timestamp, actions: &mut Vec<Action>) {
    let target = state.plan.step_targets[state.step];
    let mut running = state
        .clusters
        .values()
        .filter(|c| c.state == ClusterState::Upgrading)
        .count();
    for name in &state.plan.clusters[..target] {
        if running >= state.plan.max_concurrency {
            break;
        }
        let Some(c) = state.clusters.get_mut(name) else {
            continue;
        };
        if c.state == ClusterState::Pending {
            c.state = ClusterState::Upgrading;
            c.attempts += 1;
            c.started = Some(now);
            c.finished = None;
            c.message.clear();
            state.health.clusters.remove(name);
            running += 1;
            actions.push(Action::StartUpgrade {
                cluster: name.clone(),
                attempt: c.attempts,
            });
        }
    }
}

fn finish(state: &mut RolloutState, actions: &mut Vec<Action>) {
    state.soak_until = None;
    let failed = failed_count(state);
    let count = |s: ClusterState| state.clusters.values().filter(|c| c.state == s).count();
    let summary = format!(
        "{} upgraded, {} skipped, {} removed, {failed} failed",
        count(ClusterState::Succeeded),
        count(ClusterState::Skipped),
        count(ClusterState::Removed)
    );
    if failed == 0 {
        state.phase = RolloutPhase::Succeeded;
        state.message = summary;
        record(actions, "RolloutSucceeded", &state.message);
    } else {
        state.phase = RolloutPhase::Failed;
        state.message = format!("{summary} (within the budget; retry to finish)");
        record(actions, "RolloutFailed", &state.message);
    }
}

impl RolloutState {
    /// Clusters in `state`.
    pub fn count(&self, state: ClusterState) -> usize {
        self.clusters.values().filter(|c| c.state == state).count()
    }

    /// Whether no input can move the rollout any more.
    pub fn is_final(&self) -> bool {
        self.phase == RolloutPhase::Aborted
    }
}
