//! What `capstan upgrade watch` shows, as pure functions of the hub's answers: the lines a
//! pipe gets for each change ([`lines`]) and the progress bars' positions and messages
//! ([`bars`]). Times are the hub's (its `now`), never this process's clock: the demo runs
//! the hub on a scaled clock, where an hour of soak passes in seconds.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result};
use capstan_core::duration::human_age;
use capstan_core::rollout::{ClusterRollout, ClusterState, RolloutPhase, RolloutState};
use capstan_hub::api::{UpgradeDetail, UpgradeEvent};
use jiff::Timestamp;

use crate::apply_cmd::table;

/// One answer of the hub, with its status decoded.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub detail: UpgradeDetail,
    pub state: RolloutState,
    /// The hub's clock when it answered. A hub that does not say falls back to the
    /// rollout's last transition, which only makes a running soak read longer than it is.
    pub now: Timestamp,
}

impl Snapshot {
    pub fn new(detail: UpgradeDetail) -> Result<Self> {
        let state: RolloutState = serde_json::from_value(detail.upgrade.status.clone())
            .with_context(|| {
                format!(
                    "the status of upgrade {:?} is not one this capstan can read",
                    detail.upgrade.name
                )
            })?;
        let now = detail.now.unwrap_or(state.updated);
        Ok(Self { detail, state, now })
    }

    fn name(&self) -> &str {
        &self.detail.upgrade.name
    }

    /// `step k/N`, counted from 1 as `capstan describe upgrade` shows it.
    fn step_of(&self) -> String {
        let steps = self.state.plan.steps.len();
        format!("step {}/{steps}", (self.state.step + 1).min(steps))
    }
}

/// Whether watching is over: the rollout succeeded, failed or was aborted, or halted when
/// the caller asked to stop there. A halted rollout otherwise goes on after a retry, skip or
/// resume, so the watch waits for it.
pub(crate) fn is_done(phase: RolloutPhase, until_halted: bool) -> bool {
    match phase {
        RolloutPhase::Succeeded | RolloutPhase::Failed | RolloutPhase::Aborted => true,
        RolloutPhase::Halted => until_halted,
        RolloutPhase::Pending
        | RolloutPhase::Progressing
        | RolloutPhase::Soaking
        | RolloutPhase::AwaitingApproval
        | RolloutPhase::Paused => false,
    }
}

/// `to - from`, zero when `to` is earlier.
fn span(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or_default()
}

/// A time to the second, in UTC: `2026-01-02T03:04:05Z`.
fn stamp(at: Timestamp) -> impl std::fmt::Display {
    at.strftime("%Y-%m-%dT%H:%M:%SZ")
}

/// The soak still to go, against the hub's clock, in whole seconds rounded up: a soak
/// that has not ended never reads `0s left`.
fn soak_left(snapshot: &Snapshot) -> Option<Duration> {
    snapshot.state.soak_until.map(|until| {
        let left = span(snapshot.now, until);
        Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0))
    })
}

/// Identifies an event across answers: the hub sends its most recent ones every time.
type EventKey<'a> = (Timestamp, &'a str, &'a str);

fn event_key(event: &UpgradeEvent) -> EventKey<'_> {
    (event.at, &event.reason, &event.message)
}

/// The lines to print for what changed from `previous` (none on the first answer) to `next`,
/// as `kubectl get -w` prints one line per change: the phase (with step and upgraded count)
/// when it, the step or its message changed; each cluster's state transition; each event
/// not in `previous`. Every line starts with the hub's time of the change.
pub(crate) fn lines(previous: Option<&Snapshot>, next: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let state = &next.state;
    let phase_changed = previous.is_none_or(|p| {
        (p.state.phase, p.state.step, &p.state.message) != (state.phase, state.step, &state.message)
    });
    if phase_changed {
        let mut line = format!(
            "{}  {:?}  {}  upgraded {}/{}",
            stamp(next.now),
            state.phase,
            next.step_of(),
            state.count(ClusterState::Succeeded),
            state.plan.clusters.len()
        );
        if state.phase == RolloutPhase::Soaking
            && let Some(left) = soak_left(next)
        {
            line.push_str(&format!("  soak {} left", human_age(left)));
        }
        if !state.message.is_empty() {
            line.push_str(&format!("  {}", state.message));
        }
        out.push(line);
    }

    let before: BTreeMap<&str, &ClusterRollout> = previous
        .map(|p| {
            p.detail
                .clusters
                .iter()
                .map(|c| (c.cluster.as_str(), &c.rollout))
                .collect()
        })
        .unwrap_or_default();
    for view in &next.detail.clusters {
        let (name, current) = (view.cluster.as_str(), &view.rollout);
        let at = match current.state {
            ClusterState::Upgrading => current.started,
            ClusterState::Pending => None,
            _ => current.finished,
        }
        .unwrap_or(next.now);
        let at = stamp(at);
        match before.get(name) {
            Some(was) if was.state == current.state && was.attempts == current.attempts => {}
            Some(was) => out.push(format!(
                "{at}  cluster {name}: {:?} -> {:?}{}",
                was.state,
                current.state,
                transition_detail(current)
            )),
            // The first answer (or a cluster the previous one lacked): where it stands,
            // unless it has not started.
            None if current.state == ClusterState::Pending => {}
            None => out.push(format!(
                "{at}  cluster {name}: {:?}{}",
                current.state,
                transition_detail(current)
            )),
        }
    }

    let seen: HashSet<EventKey<'_>> = previous
        .map(|p| p.detail.events.iter().map(event_key).collect())
        .unwrap_or_default();
    for event in &next.detail.events {
        if !seen.contains(&event_key(event)) {
            out.push(format!(
                "{}  event {}: {}",
                stamp(event.at),
                event.reason,
                event.message
            ));
        }
    }
    out
}

/// ` (attempt 2)`, ` (4m12s)`, ` (4m12s): why` or `: why`, after a cluster's new state.
fn transition_detail(cluster: &ClusterRollout) -> String {
    // Starting an attempt clears `finished`, so both are the same attempt's.
    let took = match (cluster.started, cluster.finished) {
        (Some(started), Some(finished)) => Some(human_age(span(started, finished))),
        _ => None,
    };
    let mut text = match cluster.state {
        ClusterState::Upgrading => format!(" (attempt {})", cluster.attempts),
        ClusterState::Succeeded | ClusterState::Failed => {
            took.map(|t| format!(" ({t})")).unwrap_or_default()
        }
        ClusterState::Pending | ClusterState::Skipped | ClusterState::Removed => String::new(),
    };
    if !cluster.message.is_empty() {
        text.push_str(&format!(": {}", cluster.message));
    }
    text
}

/// One progress bar's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bar {
    /// Shown before the bar (`upgraded`, `step 2/3 50%`).
    pub prefix: String,
    pub position: u64,
    pub length: u64,
    pub message: String,
}

/// Everything the terminal shows: the overall bar, one bar per canary step, and one line per
/// cluster upgrading now (name, attempt, time so far).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BarsView {
    pub overall: Bar,
    pub steps: Vec<Bar>,
    pub upgrading: Vec<String>,
}

/// `, 1 failed, 2 skipped` for the clusters of `names` that did not upgrade.
fn left_behind<'a>(state: &RolloutState, names: impl IntoIterator<Item = &'a String>) -> String {
    let mut counts = [
        (ClusterState::Failed, "failed", 0),
        (ClusterState::Skipped, "skipped", 0),
        (ClusterState::Removed, "removed", 0),
    ];
    for name in names {
        if let Some(c) = state.clusters.get(name) {
            for (kind, _, count) in &mut counts {
                if c.state == *kind {
                    *count += 1;
                }
            }
        }
    }
    counts
        .iter()
        .filter(|(.., count)| *count > 0)
        .map(|(_, word, count)| format!(", {count} {word}"))
        .collect()
}

/// The bars for `snapshot`. A step's bar counts its settled clusters (upgraded, failed,
/// skipped or removed: what the rollout waits for before it soaks) out of the clusters the
/// frozen plan gives that step.
pub(crate) fn bars(snapshot: &Snapshot) -> BarsView {
    let state = &snapshot.state;
    let plan = &state.plan;
    let upgrading = state.count(ClusterState::Upgrading);
    let mut overall_message = format!("{:?}, {}", state.phase, snapshot.step_of());
    if upgrading > 0 {
        overall_message.push_str(&format!(", {upgrading} upgrading"));
    }
    overall_message.push_str(&left_behind(state, &plan.clusters));
    let overall = Bar {
        prefix: "upgraded".to_string(),
        position: state.count(ClusterState::Succeeded) as u64,
        length: plan.clusters.len() as u64,
        message: overall_message,
    };

    let mut steps = Vec::new();
    let mut from = 0;
    for (k, (step, &target)) in plan.steps.iter().zip(&plan.step_targets).enumerate() {
        let range = plan.clusters.get(from..target).unwrap_or_default();
        from = target.max(from);
        let settled = range
            .iter()
            .filter(|name| {
                state
                    .clusters
                    .get(*name)
                    .is_some_and(|c| c.state.is_settled())
            })
            .count();
        let current = k == state.step && state.phase != RolloutPhase::Succeeded;
        let mut message = if k < state.step || state.phase == RolloutPhase::Succeeded {
            "done".to_string()
        } else if current {
            current_step_message(snapshot)
        } else if step.approval && !state.approved_steps.contains(&k) {
            "needs approval".to_string()
        } else {
            "waiting".to_string()
        };
        message.push_str(&left_behind(state, range));
        steps.push(Bar {
            prefix: format!("step {}/{} {}%", k + 1, plan.steps.len(), step.percentage),
            position: settled as u64,
            length: range.len() as u64,
            message,
        });
    }

    let mut rows = Vec::new();
    for view in &snapshot.detail.clusters {
        let c = &view.rollout;
        if c.state == ClusterState::Upgrading {
            let elapsed = c.started.map_or(Duration::ZERO, |s| span(s, snapshot.now));
            rows.push([
                view.cluster.clone(),
                format!("attempt {}", c.attempts),
                human_age(elapsed),
            ]);
        }
    }
    BarsView {
        overall,
        steps,
        upgrading: table(&rows).lines().map(str::to_string).collect(),
    }
}

/// What the step the rollout is at is doing.
fn current_step_message(snapshot: &Snapshot) -> String {
    let state = &snapshot.state;
    let with_message = |what: &str| {
        if state.message.is_empty() {
            what.to_string()
        } else {
            format!("{what}: {}", state.message)
        }
    };
    match state.phase {
        RolloutPhase::Pending => "pending".to_string(),
        RolloutPhase::Progressing => {
            format!("{} upgrading", state.count(ClusterState::Upgrading))
        }
        RolloutPhase::Soaking => match soak_left(snapshot) {
            Some(left) => format!("soaking {} left", human_age(left)),
            None => "soaking".to_string(),
        },
        RolloutPhase::AwaitingApproval => format!(
            "awaiting approval (capstan upgrade approve {})",
            snapshot.name()
        ),
        RolloutPhase::Paused => "paused".to_string(),
        RolloutPhase::Halted => with_message("halted"),
        RolloutPhase::Failed => with_message("failed"),
        RolloutPhase::Aborted => with_message("aborted"),
        RolloutPhase::Succeeded => "done".to_string(),
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
