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

/// A pod's controller, as its controller ownerReference names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// What the drain planner needs to know about a pod on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainPod {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// `status.phase`: Pending, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    /// Condition Ready is True.
    pub ready: bool,
    pub controller: Option<ControllerRef>,
    /// Has the `kubernetes.io/config.mirror` annotation (a static pod).
    pub mirror: bool,
    /// Has an emptyDir volume.
    pub has_emptydir: bool,
    pub deletion_timestamp: Option<Timestamp>,
    pub labels: std::collections::BTreeMap<String, String>,
    /// `spec.terminationGracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
}

impl DrainPod {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Succeeded or Failed: such pods pass every filter and are deleted.
    pub fn is_terminal(&self) -> bool {
        self.phase == "Succeeded" || self.phase == "Failed"
    }

    fn is_daemonset_pod(&self) -> Option<&ControllerRef> {
        self.controller
            .as_ref()
            .filter(|c| c.kind == "DaemonSet" && c.api_version.starts_with("apps/"))
    }
}

/// What a GET of a DaemonSet-managed pod's DaemonSet found (kubectl looks it up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonSetLookup {
    Exists,
    NotFound,
    Error(String),
}

// kubectl's filter messages (`filters.go`); errors print as "cannot delete <fatal>: <pods>",
// warnings as "<warning>: <pods>".
const DAEMONSET_FATAL: &str = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)";
const DAEMONSET_WARNING: &str = "ignoring DaemonSet-managed Pods";
const LOCAL_STORAGE_FATAL: &str =
    "Pods with local storage (use --delete-emptydir-data to override)";
const LOCAL_STORAGE_WARNING: &str = "deleting Pods with local storage";
const UNMANAGED_FATAL: &str = "Pods that declare no controller (use --force to override)";
const UNMANAGED_WARNING: &str = "deleting Pods that declare no controller";

/// The verdict of the filter chain on one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Evict (or delete) it; the warnings of every filter that let it through, in order.
    Delete(Vec<String>),
    /// Leave it on the node, with a warning if the filter gave one.
    Skip(Option<String>),
    /// Refuse the whole node's drain with kubectl's message for this filter.
    Refuse(String),
}

/// Run kubectl's filter chain on one pod (`filters.go`: skipDeleted, daemonSet, mirror,
/// localStorage, unreplicated; the first filter that does not say "delete" stops the chain,
/// and the warnings of the filters that said "delete" are kept together). `daemonset` is what
/// a GET of the pod's DaemonSet found, needed only for DaemonSet-managed pods.
pub fn filter_pod(
    pod: &DrainPod,
    options: &DrainOptions,
    daemonset: Option<&DaemonSetLookup>,
    now: Timestamp,
) -> Verdict {
    // skipDeletedFilter: pods deleted long ago on a node that will never confirm.
    if let (Some(limit), Some(deleted)) =
        (options.skip_wait_for_delete_timeout, pod.deletion_timestamp)
        && now > deleted
        && now.duration_since(deleted).unsigned_abs() > limit
    {
        return Verdict::Skip(None);
    }
    let mut warnings = Vec::new();
    if let Some(ds) = pod.is_daemonset_pod()
        && !pod.is_terminal()
    {
        match daemonset {
            Some(DaemonSetLookup::Exists) if options.ignore_daemonsets => {
                return Verdict::Skip(Some(DAEMONSET_WARNING.to_string()));
            }
            Some(DaemonSetLookup::Exists) => return Verdict::Refuse(DAEMONSET_FATAL.to_string()),
            // An orphaned DaemonSet pod: nothing would replace it, so --force deletes it with
            // the lookup's error as the warning, as kubectl does.
            Some(DaemonSetLookup::NotFound) if options.force => {
                warnings.push(format!("daemonsets.apps {:?} not found", ds.name));
            }
            Some(DaemonSetLookup::NotFound) | None => {
                return Verdict::Refuse(format!("daemonsets.apps {:?} not found", ds.name));
            }
            Some(DaemonSetLookup::Error(e)) => return Verdict::Refuse(e.clone()),
        }
    }
    if pod.mirror {
        return Verdict::Skip(None);
    }
    if pod.has_emptydir && !pod.is_terminal() {
        if !options.delete_emptydir_data {
            return Verdict::Refuse(LOCAL_STORAGE_FATAL.to_string());
        }
        warnings.push(LOCAL_STORAGE_WARNING.to_string());
    }
    if pod.controller.is_none() && !pod.is_terminal() {
        if !options.force {
            return Verdict::Refuse(UNMANAGED_FATAL.to_string());
        }
        warnings.push(UNMANAGED_WARNING.to_string());
    }
    Verdict::Delete(warnings)
}

/// The pods of one node sorted by what the drain will do with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainPlan {
    pub to_delete: Vec<DrainPod>,
    pub skipped: Vec<DrainPod>,
    /// kubectl-style grouped warnings: "ignoring DaemonSet-managed Pods: ns/a, ns/b".
    pub warnings: Vec<String>,
    /// kubectl-style grouped errors; when any, nothing on the node may be touched.
    pub errors: Vec<String>,
}

/// Filter every pod of a node (`GetPodsForDeletion`); pods outside `options.pod_selector`
/// are not considered at all. Groups are sorted by message (kubectl's map order is random).
pub fn plan_drain(
    pods: Vec<DrainPod>,
    options: &DrainOptions,
    daemonset: impl Fn(&DrainPod) -> Option<DaemonSetLookup>,
    now: Timestamp,
) -> DrainPlan {
    use std::collections::BTreeMap;
    let mut plan = DrainPlan::default();
    let mut warnings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pod in pods {
        if let Some(sel) = &options.pod_selector
            && !sel.matches(&pod.labels)
        {
            continue;
        }
        let ds = daemonset(&pod);
        match filter_pod(&pod, options, ds.as_ref(), now) {
            Verdict::Delete(w) => {
                if !w.is_empty() {
                    warnings.entry(w.join(", ")).or_default().push(pod.key());
                }
                plan.to_delete.push(pod);
            }
            Verdict::Skip(w) => {
                if let Some(w) = w {
                    warnings.entry(w).or_default().push(pod.key());
                }
                plan.skipped.push(pod);
            }
            Verdict::Refuse(msg) => errors.entry(msg).or_default().push(pod.key()),
        }
    }
    plan.warnings = warnings
        .into_iter()
        .map(|(w, pods)| format!("{w}: {}", pods.join(", ")))
        .collect();
    plan.errors = errors
        .into_iter()
        .map(|(e, pods)| format!("cannot delete {e}: {}", pods.join(", ")))
        .collect();
    plan
}

/// A PodDisruptionBudget as the eviction handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdbState {
    pub namespace: String,
    pub name: String,
    /// `None` (no selector) matches no pod in policy/v1; an empty selector matches all.
    pub selector: Option<LabelSelector>,
    pub disruptions_allowed: i32,
    pub desired_healthy: i32,
    pub current_healthy: i32,
    pub generation: i64,
    pub observed_generation: i64,
    /// `unhealthyPodEvictionPolicy: AlwaysAllow`.
    pub always_allow_unhealthy: bool,
}

impl PdbState {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    fn matches(&self, pod: &DrainPod) -> bool {
        self.namespace == pod.namespace
            && self
                .selector
                .as_ref()
                .is_some_and(|s| s.matches(&pod.labels))
    }

    /// The API server's words, shortened: "needs 3 healthy, has 3".
    pub fn needs_has(&self) -> String {
        needs_has(self.desired_healthy, self.current_healthy)
    }
}

fn needs_has(desired: i32, current: i32) -> String {
    format!("needs {desired} healthy, has {current}")
}

/// Predict which of `pods` the eviction API will refuse right now, applying `eviction.go`'s
/// checks in order: terminal, Pending and deleting pods skip the PDB; more than one matching
/// PDB is a 500; a stale PDB status is a 429; an unready pod is let through when the budget
/// is healthy (or the policy is AlwaysAllow); otherwise each eviction uses one of the PDB's
/// `disruptionsAllowed`, so on one node a PDB allowing 1 lets one pod go and holds the rest
/// until the controller recounts.
pub fn predict_blockers(pods: &[DrainPod], pdbs: &[PdbState]) -> Vec<Blocker> {
    let mut budget: std::collections::HashMap<String, i32> = pdbs
        .iter()
        .map(|p| (p.key(), p.disruptions_allowed))
        .collect();
    let mut blockers = Vec::new();
    for pod in pods {
        if pod.is_terminal() || pod.phase == "Pending" || pod.deletion_timestamp.is_some() {
            continue;
        }
        let matching: Vec<&PdbState> = pdbs.iter().filter(|p| p.matches(pod)).collect();
        let pdb = match matching.as_slice() {
            [] => continue,
            [one] => *one,
            many => {
                blockers.push(Blocker {
                    pod: pod.key(),
                    pdb: many.iter().map(|p| p.key()).collect::<Vec<_>>().join(", "),
                    reason: "more than one PodDisruptionBudget selects this pod".into(),
                });
                continue;
            }
        };
        if pdb.observed_generation < pdb.generation {
            blockers.push(Blocker {
                pod: pod.key(),
                pdb: pdb.key(),
                reason: "the budget is still being processed by the server".into(),
            });
            continue;
        }
        if !pod.ready
            && (pdb.always_allow_unhealthy
                || (pdb.current_healthy >= pdb.desired_healthy && pdb.desired_healthy > 0))
        {
            continue;
        }
        let left = budget.entry(pdb.key()).or_insert(0);
        if *left > 0 {
            *left -= 1;
        } else {
            blockers.push(Blocker {
                pod: pod.key(),
                pdb: pdb.key(),
                reason: pdb.needs_has(),
            });
        }
    }
    blockers
}

/// What an eviction answer means for the drain (`kubectl drain`'s handling, plus Retry-After).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvictionAnswer {
    /// 200/201: evicted; wait for the pod to go.
    Evicted,
    /// 404 (already gone) or 409 (the UID precondition failed: a different pod now).
    Gone,
    /// 429 and friends: try again after `retry_after`.
    Retry {
        retry_after: Duration,
        /// The PDB holding the pod, when the answer names one.
        blocker: Option<(String, String)>,
        message: String,
    },
    /// 403 with cause NamespaceTerminating: the namespace controller will remove the pod.
    NamespaceTerminating,
    /// An error that retrying cannot fix (e.g. 500: more than one PDB selects the pod).
    Failed { message: String },
}

/// The parts of an API `Status` that classify an eviction answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusAnswer<'a> {
    pub code: u16,
    pub message: &'a str,
    /// `details.causes[].reason` (the cause type), e.g. `DisruptionBudget`.
    pub cause_types: Vec<&'a str>,
    /// `details.retryAfterSeconds` (the API server sets it with the Retry-After header).
    pub retry_after_seconds: u32,
}

/// Classify an eviction answer. Unlike kubectl, which always waits 5 s, a server-given
/// Retry-After (10 s for a PDB still being processed) is honoured.
pub fn classify_eviction(answer: &StatusAnswer<'_>, default_delay: Duration) -> EvictionAnswer {
    let message = answer.message.to_string();
    match answer.code {
        200 | 201 => EvictionAnswer::Evicted,
        404 | 409 => EvictionAnswer::Gone,
        403 if answer.cause_types.contains(&"NamespaceTerminating") => {
            EvictionAnswer::NamespaceTerminating
        }
        // 500 is how eviction.go reports more than one PDB: a misconfiguration to surface,
        // not to retry. Other 5xx answers are the server's trouble, retried like a 429.
        500 if answer.message.contains("more than one PodDisruptionBudget") => {
            EvictionAnswer::Failed { message }
        }
        429 | 500 | 502 | 503 | 504 => EvictionAnswer::Retry {
            retry_after: if answer.retry_after_seconds > 0 {
                Duration::from_secs(u64::from(answer.retry_after_seconds))
            } else {
                default_delay
            },
            blocker: parse_budget_message(answer.message)
                .map(|(pdb, desired, current)| (pdb, needs_has(desired, current))),
            message,
        },
        _ => EvictionAnswer::Failed { message },
    }
}

/// Parse `eviction.go`'s refusal: "The disruption budget NAME needs N healthy pods and has M
/// currently" -> (NAME, N, M).
pub fn parse_budget_message(message: &str) -> Option<(String, i32, i32)> {
    let rest = &message[message.find("The disruption budget ")? + "The disruption budget ".len()..];
    let (name, rest) = rest.split_once(" needs ")?;
    let (desired, rest) = rest.split_once(" healthy pods and has ")?;
    let current = rest.split_whitespace().next()?;
    Some((
        name.to_string(),
        desired.trim().parse().ok()?,
        current.trim().parse().ok()?,
    ))
}

#[cfg(test)]
mod tests;
