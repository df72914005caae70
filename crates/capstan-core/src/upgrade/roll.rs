//! A node pool roll as a reconcile planner: from what the cluster and the provider show now,
//! the next actions. It keeps no memory between calls, so an agent restarted mid-roll plans
//! from the cluster alone: a node marked drained is terminated, never drained again; a node
//! whose drain started is drained on (the drain engine resumes it); a node whose termination
//! was requested is only asked for again.
//!
//! Invariants, the Deployment controller's applied to nodes (`pkg/controller/deployment/
//! rolling.go`): nodes not being terminated, plus machines still provisioning, never exceed
//! `size + surge`; available nodes (Ready, schedulable, not draining) never drop below
//! `size - unavailable` because of the roll; only drained nodes are terminated.

use serde::{Deserialize, Serialize};

use crate::version::KubeVersion;

use super::RollBudget;

/// A node of the pool as observed, with Capstan's marks on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolNode {
    pub name: String,
    /// Its kubelet's version.
    pub version: KubeVersion,
    pub ready: bool,
    pub unschedulable: bool,
    /// [`crate::annotations::DRAIN_STARTED`] is set.
    pub drain_started: bool,
    /// [`crate::annotations::DRAINED`] is set.
    pub drained: bool,
    /// [`crate::annotations::TERMINATE_REQUESTED`] is set.
    pub terminate_requested: bool,
    /// The provider reports its machine terminating.
    pub terminating: bool,
}

impl PoolNode {
    /// A Ready, schedulable node nobody touched.
    pub fn running(name: &str, version: KubeVersion) -> Self {
        Self {
            name: name.to_string(),
            version,
            ready: true,
            unschedulable: false,
            drain_started: false,
            drained: false,
            terminate_requested: false,
            terminating: false,
        }
    }

    /// On its way out: it no longer counts towards the pool.
    fn going(&self) -> bool {
        self.terminate_requested || self.terminating
    }

    /// Ready and schedulable. Capstan's marks are not consulted: they mean something only on
    /// a cordoned node (the drain engine treats marks on a schedulable node as stale, left by
    /// someone's `kubectl uncordon`).
    fn available(&self) -> bool {
        self.ready && !self.unschedulable && !self.going()
    }

    /// A drain Capstan started and that has not completed.
    fn draining(&self) -> bool {
        self.unschedulable && self.drain_started && !self.drained
    }

    /// A drain Capstan completed, and nobody uncordoned the node since.
    fn drained(&self) -> bool {
        self.unschedulable && self.drained
    }
}

/// A machine ordered into the pool whose Node has not registered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMachine {
    pub name: String,
    pub version: KubeVersion,
}

/// Everything the planner looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolState {
    /// The kubelet version every node must end at.
    pub target: KubeVersion,
    /// The pool's size when the roll started, which it ends at again.
    pub size: u32,
    pub budget: RollBudget,
    pub nodes: Vec<PoolNode>,
    /// Machines ordered but not yet Nodes (their names must not match a node's).
    pub provisioning: Vec<PendingMachine>,
}

/// One step of the roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum RollAction {
    /// Order `count` machines at the target version.
    Provision { count: u32 },
    /// Cordon and drain `node`; `resume` when its drain had started before and the node is
    /// still cordoned (a drain in flight in this process, or one a restarted agent takes over).
    Drain { node: String, resume: bool },
    /// Mark `node` terminate-requested, then ask the provider to delete it. Also returned for a
    /// node marked but not yet terminating at the provider (the request may have been lost).
    Terminate { node: String },
}

/// Where a roll stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollStatus {
    pub size: u32,
    /// Nodes at the target version, Ready and not going.
    pub updated: u32,
    /// Nodes below the target version still in the pool, whatever their state.
    pub old: u32,
    /// Nodes not going, plus machines provisioning.
    pub total: u32,
    pub available: u32,
    pub provisioning: u32,
    pub draining: u32,
    pub terminating: u32,
}

impl std::fmt::Display for RollStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} updated, {} old, {} provisioning, {} draining, {} terminating, {} available",
            self.updated,
            self.size,
            self.old,
            self.provisioning,
            self.draining,
            self.terminating,
            self.available
        )
    }
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollPlan {
    pub actions: Vec<RollAction>,
    /// Every node is at the target and Ready, nothing is provisioning or terminating.
    pub done: bool,
    /// The status before the actions.
    pub status: RollStatus,
}

/// An old node at or past the target counts as updated: the roll never replaces a kubelet
/// with an older one.
fn is_old(node: &PoolNode, target: &KubeVersion) -> bool {
    is_old_version(&node.version, target)
}

/// The next actions of the roll; see the module documentation.
pub fn plan_roll(state: &PoolState) -> RollPlan {
    let target = &state.target;
    let size = state.size;
    let mut actions = Vec::new();
    let mut status = RollStatus {
        size,
        provisioning: u32_len(state.provisioning.len()),
        ..RollStatus::default()
    };

    let mut new_nodes = 0u32; // at the target and not going, Ready or not
    let mut candidates: Vec<&PoolNode> = Vec::new();
    let mut to_terminate: Vec<&PoolNode> = Vec::new();
    let mut resumed: Vec<RollAction> = Vec::new();
    for node in &state.nodes {
        let old = is_old(node, target);
        status.old += u32::from(old);
        if node.going() {
            status.terminating += 1;
            if node.terminate_requested && !node.terminating {
                actions.push(RollAction::Terminate {
                    node: node.name.clone(),
                });
            }
            continue;
        }
        status.total += 1;
        status.available += u32::from(node.available());
        if !old {
            new_nodes += 1;
            status.updated += u32::from(node.ready && !node.unschedulable);
            continue;
        }
        // Marks on a node someone uncordoned since are stale: pods may be back.
        if node.drained() {
            to_terminate.push(node);
        } else if node.draining() {
            status.draining += 1;
            resumed.push(RollAction::Drain {
                node: node.name.clone(),
                resume: true,
            });
        } else {
            candidates.push(node);
        }
    }
    status.total += status.provisioning;
    let provisioning_new = state
        .provisioning
        .iter()
        .filter(|m| !is_old_version(&m.version, target))
        .count();
    new_nodes += u32_len(provisioning_new);

    // Terminating a drained node costs no availability (it is cordoned) and frees room.
    let mut total = status.total;
    for node in to_terminate {
        total -= 1;
        actions.push(RollAction::Terminate {
            node: node.name.clone(),
        });
    }

    // Order replacements up to the pool's size, within the surge.
    let needed = size.saturating_sub(new_nodes);
    let room = (size + state.budget.surge).saturating_sub(total);
    let count = needed.min(room);
    if count > 0 {
        actions.push(RollAction::Provision { count });
    }
    actions.append(&mut resumed);

    // Drain old nodes while availability allows. Nodes already unavailable (cordoned by an
    // operator, NotReady) cost nothing, so they go first; then a stable name order.
    let floor = size.saturating_sub(state.budget.unavailable);
    let mut spare = status.available.saturating_sub(floor);
    candidates.sort_by(|a, b| {
        a.available()
            .cmp(&b.available())
            .then_with(|| a.name.cmp(&b.name))
    });
    for node in candidates {
        if node.available() {
            if spare == 0 {
                break;
            }
            spare -= 1;
        }
        actions.push(RollAction::Drain {
            node: node.name.clone(),
            resume: false,
        });
    }

    let done = actions.is_empty()
        && status.old == 0
        && status.terminating == 0
        && status.provisioning == 0
        && state.nodes.iter().all(|n| n.ready);
    RollPlan {
        actions,
        done,
        status,
    }
}

fn is_old_version(version: &KubeVersion, target: &KubeVersion) -> bool {
    (version.major, version.minor, version.patch.unwrap_or(0))
        < (target.major, target.minor, target.patch.unwrap_or(0))
}

fn u32_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
