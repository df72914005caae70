//! The critical path of a pool roll: the same planner ([`super::plan_roll`]) driven by an
//! event simulation in which the agent reacts to every change at once, with the per-node
//! durations a real roll observed. A real roll's makespan over this one measures what the
//! agent's reaction latency (polling, API round trips) cost.
//!
//! Also the harness the planner's own tests run whole rolls through.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::version::KubeVersion;

use super::roll::{PendingMachine, PoolNode, PoolState, RollAction, RollPlan, plan_roll};
use super::{Result, RollBudget, UpgradeError};

/// How long a new machine took to provision (ordered → Node registered) and join (→ Ready).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NewNodeDurations {
    pub provision: Duration,
    pub join: Duration,
}

/// How long an old node took to drain and to terminate (requested → Node gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OldNodeDurations {
    pub drain: Duration,
    pub terminate: Duration,
}

/// A roll to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayInput {
    pub target: KubeVersion,
    pub size: u32,
    pub budget: RollBudget,
    /// The pool when the roll started.
    pub nodes: Vec<PoolNode>,
    /// Per old node; a node missing here drains and terminates instantly.
    pub old: BTreeMap<String, OldNodeDurations>,
    /// Per machine, in the order they were ordered; the replay's n-th machine takes the n-th
    /// entry (cycling if it orders more than the real roll did).
    pub new: Vec<NewNodeDurations>,
}

/// The replay's makespan: from the first plan to the plan that reports the pool done.
pub fn replay_roll(input: &ReplayInput) -> Result<Duration> {
    simulate(input, |_, _| {})
}

struct SimNode {
    node: PoolNode,
    ready_at: Option<Duration>,
    drained_at: Option<Duration>,
    gone_at: Option<Duration>,
}

struct SimMachine {
    pending: PendingMachine,
    joins_at: Duration,
    join: Duration,
}

/// Runs the roll to completion, calling `observe` with every state and the plan made for it
/// (tests check invariants there). Fails if the planner stops making progress.
pub fn simulate(
    input: &ReplayInput,
    mut observe: impl FnMut(&PoolState, &RollPlan),
) -> Result<Duration> {
    let mut now = Duration::ZERO;
    let mut nodes: BTreeMap<String, SimNode> = input
        .nodes
        .iter()
        .map(|n| {
            (
                n.name.clone(),
                SimNode {
                    node: n.clone(),
                    ready_at: None,
                    drained_at: None,
                    gone_at: None,
                },
            )
        })
        .collect();
    let mut machines: Vec<SimMachine> = Vec::new();
    let mut ordered = 0usize;
    loop {
        let state = PoolState {
            target: input.target,
            size: input.size,
            budget: input.budget,
            nodes: nodes.values().map(|n| n.node.clone()).collect(),
            provisioning: machines.iter().map(|m| m.pending.clone()).collect(),
        };
        let plan = plan_roll(&state);
        observe(&state, &plan);
        if plan.done {
            return Ok(now);
        }
        let mut changed = false;
        for action in &plan.actions {
            match action {
                RollAction::Provision { count } => {
                    for _ in 0..*count {
                        let d = input
                            .new
                            .get(ordered % input.new.len().max(1))
                            .copied()
                            .unwrap_or_default();
                        machines.push(SimMachine {
                            pending: PendingMachine {
                                name: format!("replay-{ordered}"),
                                version: input.target,
                            },
                            joins_at: now + d.provision,
                            join: d.join,
                        });
                        ordered += 1;
                        changed = true;
                    }
                }
                RollAction::Drain { node, .. } => {
                    if let Some(n) = nodes.get_mut(node)
                        && n.drained_at.is_none()
                        && !n.node.drained
                    {
                        let d = input.old.get(node).copied().unwrap_or_default();
                        n.node.drain_started = true;
                        n.node.unschedulable = true;
                        n.drained_at = Some(now + d.drain);
                        changed = true;
                    }
                }
                RollAction::Terminate { node } => {
                    if let Some(n) = nodes.get_mut(node)
                        && !n.node.terminating
                    {
                        let d = input.old.get(node).copied().unwrap_or_default();
                        n.node.terminate_requested = true;
                        n.node.terminating = true;
                        n.gone_at = Some(now + d.terminate);
                        changed = true;
                    }
                }
            }
        }
        if changed {
            continue; // the agent reacts at once: plan again at the same instant
        }
        let next = machines
            .iter()
            .map(|m| m.joins_at)
            .chain(nodes.values().flat_map(|n| {
                [
                    n.ready_at.filter(|_| !n.node.ready),
                    n.drained_at.filter(|_| !n.node.drained),
                    n.gone_at,
                ]
                .into_iter()
                .flatten()
            }))
            .min();
        let Some(next) = next else {
            return Err(UpgradeError::ReplayStalled {
                at_secs: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
                status: plan.status.to_string(),
            });
        };
        now = now.max(next);
        let (joined, waiting): (Vec<SimMachine>, Vec<SimMachine>) =
            machines.into_iter().partition(|m| m.joins_at <= now);
        machines = waiting;
        for m in joined {
            let mut node = PoolNode::running(&m.pending.name, m.pending.version);
            node.ready = false;
            nodes.insert(
                m.pending.name.clone(),
                SimNode {
                    node,
                    ready_at: Some(now + m.join),
                    drained_at: None,
                    gone_at: None,
                },
            );
        }
        nodes.retain(|_, n| n.gone_at.is_none_or(|at| at > now));
        for n in nodes.values_mut() {
            if n.ready_at.is_some_and(|at| at <= now) {
                n.node.ready = true;
            }
            if n.drained_at.is_some_and(|at| at <= now) {
                n.node.drained = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> KubeVersion {
        KubeVersion::parse(s).unwrap()
    }

    fn mins(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    fn pool(n: usize) -> Vec<PoolNode> {
        (0..n)
            .map(|i| PoolNode::running(&format!("old-{i:02}"), v("1.31.2")))
            .collect()
    }

    fn input(size: usize, surge: u32, unavailable: u32, drain: u64) -> ReplayInput {
        ReplayInput {
            target: v("1.32.1"),
            size: size as u32,
            budget: RollBudget { surge, unavailable },
            nodes: pool(size),
            old: pool(size)
                .into_iter()
                .map(|n| {
                    (
                        n.name,
                        OldNodeDurations {
                            drain: mins(drain),
                            terminate: mins(1),
                        },
                    )
                })
                .collect(),
            new: vec![NewNodeDurations {
                provision: mins(10),
                join: mins(3),
            }],
        }
    }

    #[test]
    fn critical_path_of_waves() {
        // 10 nodes, surge 5: two waves of (provision 10 + join 3 + drain 4); the last wave's
        // termination (1) ends the roll. The first wave's terminations overlap the second's
        // provisioning.
        assert_eq!(replay_roll(&input(10, 5, 0, 4)).unwrap(), mins(2 * 17 + 1));
        // Surge 1 means ten waves.
        assert_eq!(replay_roll(&input(10, 1, 0, 4)).unwrap(), mins(10 * 17 + 1));
        // Unavailable only: drain first, terminate, then order the replacement.
        assert_eq!(replay_roll(&input(2, 0, 1, 4)).unwrap(), mins(2 * (4 + 13)));
        // An empty pool is done at once.
        assert_eq!(replay_roll(&input(0, 1, 0, 4)).unwrap(), Duration::ZERO);
    }
}
