//! Drain planning: `kubectl drain`'s options and pod filters, the prediction of which
//! PodDisruptionBudget will refuse which eviction, and the classification of eviction answers.
//!
//! Upstream: k8s.io/kubectl `pkg/drain` (filters.go, drain.go) and the API server's
//! `pkg/registry/core/pod/storage/eviction.go`. Pure: the agent gathers the pods and PDBs and
//! applies what these functions decide.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::selector::LabelSelector;

/// What to do with pods that still block when the drain deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Escalation {
    /// Stop, leave the node cordoned, and report exactly what blocks (kubectl's behaviour).
    #[default]
    Halt,
    /// Delete the remaining pods without the eviction API (bypassing their PDBs), recording an
    /// event for each.
    Force,
}

/// The options of a drain, named and defaulted as `kubectl drain`'s flags.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    /// `--force`: also delete pods that declare no controller, and DaemonSet pods whose
    /// DaemonSet is gone.
    pub force: bool,
    /// `--ignore-daemonsets`.
    pub ignore_daemonsets: bool,
    /// `--delete-emptydir-data`.
    pub delete_emptydir_data: bool,
    /// `--grace-period`: `None` uses each pod's own terminationGracePeriodSeconds (kubectl's -1).
    pub grace_period_seconds: Option<i64>,
    /// `--timeout`: `None` waits forever (kubectl's 0).
    pub timeout: Option<Duration>,
    /// `--pod-selector`: only matching pods on the node are considered.
    pub pod_selector: Option<LabelSelector>,
    /// `--disable-eviction`: DELETE instead of evicting, bypassing PDBs.
    pub disable_eviction: bool,
    /// `--skip-wait-for-delete-timeout`: stop waiting for pods deleted longer ago than this.
    pub skip_wait_for_delete_timeout: Option<Duration>,
    /// Delay before retrying a refused eviction when the server gives no Retry-After
    /// (kubectl's CLI uses 5 s; the library's zero default caused kured#236-style storms).
    pub eviction_retry_delay: Duration,
    /// What happens at the deadline (`timeout`).
    pub on_deadline: Escalation,
    /// `--dry-run=server`: send `dryRun=All` and change nothing.
    pub dry_run: bool,
}

impl Default for DrainOptions {
    fn default() -> Self {
        Self {
            force: false,
            ignore_daemonsets: false,
            delete_emptydir_data: false,
            grace_period_seconds: None,
            timeout: None,
            pod_selector: None,
            disable_eviction: false,
            skip_wait_for_delete_timeout: None,
            eviction_retry_delay: Duration::from_secs(5),
            on_deadline: Escalation::Halt,
            dry_run: false,
        }
    }
}

/// A pod that a PodDisruptionBudget keeps on the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// `namespace/name` of the pod.
    pub pod: String,
    /// `namespace/name` of the PDB (or of every matching PDB when more than one matches).
    pub pdb: String,
    /// Why, in the API server's words: "needs 3 healthy, has 3".
    pub reason: String,
}

/// How a drain ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "PascalCase")]
pub enum DrainOutcome {
    /// Every pod that had to go is gone.
    Drained,
    /// Pod filters refused the drain before anything was evicted (kubectl's errors).
    Refused { errors: Vec<String> },
    /// The deadline passed with pods still blocked, and the policy is to halt.
    Halted { message: String },
    /// An eviction failed in a way that retrying cannot fix.
    Failed { message: String },
}

/// What a drain did, for the CLI, the agent's report and the upgrade's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    pub node: String,
    pub outcome: DrainOutcome,
    /// Pods evicted through the eviction API (or deleted with `disable_eviction`).
    pub evicted: Vec<String>,
    /// Pods deleted by the escalation policy, bypassing their PDBs.
    pub forced: Vec<String>,
    /// Pods left on the node by the filters (DaemonSet, mirror pods).
    pub skipped: Vec<String>,
    pub warnings: Vec<String>,
    /// Pods still on the node when the drain stopped, and what holds each.
    pub blockers: Vec<Blocker>,
    pub started: Timestamp,
    pub finished: Timestamp,
}

impl DrainReport {
    pub fn succeeded(&self) -> bool {
        self.outcome == DrainOutcome::Drained
    }
}
