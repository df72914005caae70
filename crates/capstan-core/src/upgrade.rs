//! Cluster upgrade planning: which control-plane versions to go through, whether the kubelets
//! allow it, and how a node pool rolls under `maxSurge`/`maxUnavailable`.
//!
//! - [`target`]: resolve `--to 1.31` against the provider's catalogue, the control plane's
//!   one-minor-at-a-time path, and the kubelet skew policy (node-lifecycle.md §7.1).
//! - [`budget`]: `maxSurge`/`maxUnavailable` as a Deployment scales them.
//! - [`roll`]: the pool roll as a reconcile planner: observed state in, next actions out.
//!   Stateless by design, so that an agent restarted mid-roll plans from the cluster alone.
//! - [`replay`]: the same planner driven by an event simulation with zero reaction latency,
//!   to measure how far a real roll is from its critical path.
//!
//! Pure: no I/O, no clock.

pub mod budget;
pub mod replay;
pub mod roll;
pub mod target;

pub use budget::{IntOrPercent, RollBudget};
pub use replay::{NewNodeDurations, OldNodeDurations, ReplayInput, replay_roll};
pub use roll::{PendingMachine, PoolNode, PoolState, RollAction, RollPlan, RollStatus, plan_roll};
pub use target::{UpgradePlan, control_plane_path, plan_upgrade, resolve_target};

use crate::version::KubeVersion;

/// Why an upgrade cannot be planned as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeError {
    #[error(transparent)]
    Version(#[from] crate::Error),
    #[error("version {requested} is not offered by the provider ({offered})")]
    NotOffered { requested: String, offered: String },
    #[error(
        "--to {target} is older than the control plane ({current}): Capstan never downgrades a cluster"
    )]
    Downgrade {
        target: KubeVersion,
        current: KubeVersion,
    },
    #[error(
        "the control plane must pass through {minor}, but the provider offers no {minor}.x version"
    )]
    NoPath { minor: String },
    #[error(
        "cannot move the control plane to {step}: {count} node(s) run a kubelet older than {oldest_allowed}, the oldest a {step} control plane supports ({nodes}); upgrade them first"
    )]
    Skew {
        step: KubeVersion,
        oldest_allowed: KubeVersion,
        count: usize,
        /// The first few offenders, `name (version)`, comma-separated.
        nodes: String,
    },
    #[error("invalid {field}: {reason}")]
    Budget { field: String, reason: String },
    #[error("the replay stalled at {at_secs}s with the pool unfinished: {status}")]
    ReplayStalled { at_secs: i64, status: String },
}

pub type Result<T, E = UpgradeError> = std::result::Result<T, E>;
