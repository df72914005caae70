//! The drain engine: `kubectl drain` semantics, plus what kubectl lacks.
//!
//! Like kubectl (`k8s.io/kubectl/pkg/drain`): cordon first; list the node's pods (paginated,
//! field selector `spec.nodeName`); run the filter chain (DaemonSet, mirror, emptyDir,
//! unmanaged) and touch nothing if a filter refuses; evict every pod concurrently with a UID
//! precondition; on 429 wait and retry; wait until each pod is gone (404 or a different UID);
//! one overall deadline. Beyond kubectl: the server's Retry-After is honoured, the report names
//! each pod still held and the PDB that holds it ("needs 3 healthy, has 3"), and at the deadline
//! the escalation policy either halts (node left cordoned, as kubectl does) or deletes the
//! remaining pods bypassing their PDBs, recording an event for every such pod.

use std::collections::HashMap;
use std::time::Duration;

use capstan_clock::SharedClock;
use capstan_core::annotations::MIRROR_POD;
use capstan_core::drain::{
    Blocker, ControllerRef, DaemonSetLookup, DrainPod, EvictionAnswer, PdbState, plan_drain,
    predict_blockers,
};
pub use capstan_core::drain::{DrainOptions, DrainOutcome, DrainReport, Escalation};
use capstan_core::selector::LabelSelector;
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::ListParams;

use crate::cordon::{cordon_for_drain, mark_drained};
use deletions::NodePods;

mod deletions;
use crate::events::{EventRecorder, EventTarget, EventType};
use crate::evict::{EvictionClient, PodTarget};
use crate::{Error, Result};

/// What a drain reports while it runs (for progress bars and logs).
#[derive(Debug, Clone)]
pub enum DrainProgress {
    Cordoned { node: String },
    Planned { node: String, pods: usize },
    Evicted { pod: String },
    Retrying { pod: String, message: String },
    Gone { pod: String },
    Forced { pod: String },
    Warning { message: String },
}

/// Receives [`DrainProgress`] as a drain runs.
pub trait DrainObserver: Send + Sync {
    fn observe(&self, progress: &DrainProgress);
}

/// An observer that only logs.
#[derive(Debug, Default)]
pub struct LogObserver;

impl DrainObserver for LogObserver {
    fn observe(&self, progress: &DrainProgress) {
        tracing::debug!(?progress, "drain");
    }
}

/// Page size of the pod list, as kubectl's `--chunk-size` default.
const CHUNK_SIZE: u32 = 500;
/// Evictions in flight per node. kubectl starts one goroutine per pod; a bound keeps a
/// 110-pod node just as fast while sparing the API server on nodes with thousands of pods.
const CONCURRENCY: usize = 128;
/// A watch reports deletions as they happen; this GET fallback (kubectl polls every second)
/// only covers a watch that is down.
const DELETE_FALLBACK_POLL: Duration = Duration::from_secs(10);
/// Real-time floor of the fallback poll.
const MIN_REAL_POLL: Duration = Duration::from_millis(500);
/// Real-time floor of any wait, so that a very fast simulated clock does not spin.
const MIN_REAL_WAIT: Duration = Duration::from_millis(20);

/// Drains nodes of one cluster.
#[derive(Clone)]
pub struct Drainer {
    client: kube::Client,
    evictions: EvictionClient,
    events: EventRecorder,
    clock: SharedClock,
    options: DrainOptions,
}

/// How one pod's eviction ended.
#[derive(Debug)]
enum PodEnd {
    Gone,
    /// Still there at the deadline; the last refusal, if any.
    Held(Option<Blocker>),
    Failed(String),
}

impl Drainer {
    /// `eviction_client` must have kube's automatic retry turned off
    /// ([`crate::connect::Target::eviction_client`]).
    pub fn new(
        client: kube::Client,
        eviction_client: kube::Client,
        clock: SharedClock,
        options: DrainOptions,
    ) -> Self {
        Self {
            events: EventRecorder::new(client.clone(), clock.clone(), "capstan-drain"),
            evictions: EvictionClient::new(eviction_client, options.eviction_retry_delay),
            client,
            clock,
            options,
        }
    }

    pub fn options(&self) -> &DrainOptions {
        &self.options
    }

    /// Cordon `node` and evict (or delete) its pods; see the module documentation. Errors are
    /// for failures to talk to the API; refusals, halts and failed evictions are outcomes in
    /// the report.
    pub async fn drain(&self, node: &str, observer: &dyn DrainObserver) -> Result<DrainReport> {
        let started = self.clock.now();
        let deadline = self.options.timeout.and_then(|t| {
            started
                .checked_add(jiff::SignedDuration::try_from(t).ok()?)
                .ok()
        });
        let mut report = DrainReport {
            node: node.to_string(),
            outcome: DrainOutcome::Drained,
            evicted: vec![],
            forced: vec![],
            skipped: vec![],
            warnings: vec![],
            blockers: vec![],
            started,
            finished: started,
        };
        if !self.options.dry_run {
            cordon_for_drain(&self.client, node, started).await?;
            observer.observe(&DrainProgress::Cordoned { node: node.into() });
        }
        let pods = self.list_pods(node).await?;
        let daemonsets = self.lookup_daemonsets(&pods).await;
        let plan = plan_drain(
            pods,
            &self.options,
            |p| {
                let c = p.controller.as_ref()?;
                daemonsets
                    .get(&(p.namespace.clone(), c.name.clone()))
                    .cloned()
            },
            self.clock.now(),
        );
        report.skipped = plan.skipped.iter().map(DrainPod::key).collect();
        for w in &plan.warnings {
            observer.observe(&DrainProgress::Warning { message: w.clone() });
        }
        report.warnings = plan.warnings;
        if !plan.errors.is_empty() {
            // kubectl: a filter error leaves every pod alone and the node cordoned.
            report.outcome = DrainOutcome::Refused {
                errors: plan.errors,
            };
            report.finished = self.clock.now();
            return Ok(report);
        }
        observer.observe(&DrainProgress::Planned {
            node: node.into(),
            pods: plan.to_delete.len(),
        });
        // The prediction seeds the report: a pod held at the deadline without a fresh refusal
        // (say, its eviction never got an answer) still names its PDB.
        let predicted = if self.options.disable_eviction {
            vec![]
        } else {
            self.predict(&plan.to_delete).await.unwrap_or_default()
        };
        let on_node = NodePods::watch(&self.client, node);
        let on_node = &on_node;
        let ends: Vec<(DrainPod, PodEnd)> = futures::stream::iter(plan.to_delete)
            .map(|pod| async move {
                let end = self.remove_pod(&pod, deadline, on_node, observer).await;
                (pod, end)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut held = Vec::new();
        let mut failures = Vec::new();
        for (pod, end) in ends {
            match end {
                PodEnd::Gone => report.evicted.push(pod.key()),
                PodEnd::Held(blocker) => {
                    let blocker = blocker
                        .or_else(|| predicted.iter().find(|b| b.pod == pod.key()).cloned())
                        .unwrap_or_else(|| Blocker {
                            pod: pod.key(),
                            pdb: String::new(),
                            reason: "still terminating".into(),
                        });
                    held.push((pod, blocker));
                }
                PodEnd::Failed(message) => failures.push(format!("{}: {message}", pod.key())),
            }
        }
        report.evicted.sort();
        if !failures.is_empty() {
            failures.sort();
            report.blockers = held.into_iter().map(|(_, b)| b).collect();
            report.outcome = DrainOutcome::Failed {
                message: format!("error when evicting pods: {}", failures.join("; ")),
            };
        } else if !held.is_empty() {
            match self.options.on_deadline {
                Escalation::Halt => {
                    report.blockers = held.into_iter().map(|(_, b)| b).collect();
                    report.blockers.sort_by(|a, b| a.pod.cmp(&b.pod));
                    report.outcome = DrainOutcome::Halted {
                        message: format!(
                            "drain of node {node} halted at its deadline ({}): {} pod(s) still held",
                            self.options
                                .timeout
                                .map(capstan_core::duration::format_duration)
                                .unwrap_or_default(),
                            report.blockers.len()
                        ),
                    };
                }
                Escalation::Force => {
                    for (pod, blocker) in held {
                        match self.force_delete(node, &pod, &blocker, observer).await {
                            Ok(()) => report.forced.push(pod.key()),
                            Err(e) => failures.push(format!("{}: {e}", pod.key())),
                        }
                    }
                    report.forced.sort();
                    if !failures.is_empty() {
                        report.outcome = DrainOutcome::Failed {
                            message: format!("error when deleting pods: {}", failures.join("; ")),
                        };
                    }
                }
            }
        }
        if report.outcome == DrainOutcome::Drained && !self.options.dry_run {
            mark_drained(&self.client, node, self.clock.now()).await?;
        }
        report.finished = self.clock.now();
        Ok(report)
    }

    /// The node's pods, paginated like kubectl (`--chunk-size`), as the planner sees them.
    async fn list_pods(&self, node: &str) -> Result<Vec<DrainPod>> {
        let api: Api<Pod> = Api::all(self.client.clone());
        let mut params = ListParams::default()
            .fields(&format!("spec.nodeName={node}"))
            .limit(CHUNK_SIZE);
        let mut pods = Vec::new();
        loop {
            let page = api.list(&params).await?;
            pods.extend(page.items.iter().map(drain_pod));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(pods),
            }
        }
    }

    /// GET each DaemonSet that owns a pod on the node (kubectl's daemonSetFilter).
    async fn lookup_daemonsets(
        &self,
        pods: &[DrainPod],
    ) -> HashMap<(String, String), DaemonSetLookup> {
        let mut found = HashMap::new();
        for pod in pods {
            let Some(c) = pod.controller.as_ref().filter(|c| c.kind == "DaemonSet") else {
                continue;
            };
            let key = (pod.namespace.clone(), c.name.clone());
            if found.contains_key(&key) {
                continue;
            }
            let api: Api<DaemonSet> = Api::namespaced(self.client.clone(), &pod.namespace);
            let lookup = match api.get_opt(&c.name).await {
                Ok(Some(_)) => DaemonSetLookup::Exists,
                Ok(None) => DaemonSetLookup::NotFound,
                Err(e) => DaemonSetLookup::Error(e.to_string()),
            };
            found.insert(key, lookup);
        }
        found
    }

    /// Which pods the PDBs will hold right now.
    async fn predict(&self, pods: &[DrainPod]) -> Result<Vec<Blocker>> {
        let mut namespaces: Vec<&str> = pods.iter().map(|p| p.namespace.as_str()).collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        let mut pdbs = Vec::new();
        for ns in namespaces {
            let api: Api<PodDisruptionBudget> = Api::namespaced(self.client.clone(), ns);
            pdbs.extend(
                api.list(&ListParams::default())
                    .await?
                    .items
                    .iter()
                    .map(pdb_state),
            );
        }
        Ok(predict_blockers(pods, &pdbs))
    }

    /// Evict (or delete) one pod and wait until it is gone, within the deadline.
    async fn remove_pod(
        &self,
        pod: &DrainPod,
        deadline: Option<Timestamp>,
        on_node: &NodePods,
        observer: &dyn DrainObserver,
    ) -> PodEnd {
        let target = PodTarget {
            namespace: &pod.namespace,
            name: &pod.name,
            uid: &pod.uid,
            grace_period_seconds: self.options.grace_period_seconds,
            dry_run: self.options.dry_run,
        };
        let mut last_blocker = None;
        loop {
            if past(deadline, self.clock.now()) {
                return PodEnd::Held(last_blocker);
            }
            let answer = if self.options.disable_eviction {
                self.evictions.delete(target).await
            } else {
                self.evictions.evict(target).await
            };
            let answer = match answer {
                Ok(a) => a,
                // A transport failure is retried like a refusal until the deadline.
                Err(e) => EvictionAnswer::Retry {
                    retry_after: self.options.eviction_retry_delay,
                    blocker: None,
                    message: e.to_string(),
                },
            };
            match answer {
                EvictionAnswer::Evicted => {
                    observer.observe(&DrainProgress::Evicted { pod: pod.key() });
                    if self.options.dry_run {
                        return PodEnd::Gone;
                    }
                    return match self.wait_for_delete(pod, deadline, on_node).await {
                        true => {
                            observer.observe(&DrainProgress::Gone { pod: pod.key() });
                            PodEnd::Gone
                        }
                        false => PodEnd::Held(Some(Blocker {
                            pod: pod.key(),
                            pdb: String::new(),
                            reason: "evicted, still terminating".into(),
                        })),
                    };
                }
                EvictionAnswer::Gone => {
                    observer.observe(&DrainProgress::Gone { pod: pod.key() });
                    return PodEnd::Gone;
                }
                EvictionAnswer::NamespaceTerminating => {
                    // kubectl: a pod already being deleted will go with its namespace.
                    if self.wait_for_delete(pod, deadline, on_node).await {
                        return PodEnd::Gone;
                    }
                    return PodEnd::Held(last_blocker);
                }
                EvictionAnswer::Failed { message } => return PodEnd::Failed(message),
                EvictionAnswer::Retry {
                    retry_after,
                    blocker,
                    message,
                } => {
                    if let Some((pdb, reason)) = blocker {
                        last_blocker = Some(Blocker {
                            pod: pod.key(),
                            pdb: format!("{}/{pdb}", pod.namespace),
                            reason,
                        });
                    }
                    observer.observe(&DrainProgress::Retrying {
                        pod: pod.key(),
                        message: format!(
                            "error when evicting pods/{:?} -n {:?} (will retry after {}): {message}",
                            pod.name,
                            pod.namespace,
                            capstan_core::duration::format_duration(retry_after)
                        ),
                    });
                    self.sleep_until(retry_after, deadline).await;
                    // kubectl re-reads the pod before retrying: it may be gone or replaced.
                    if !self.still_there(pod).await {
                        observer.observe(&DrainProgress::Gone { pod: pod.key() });
                        return PodEnd::Gone;
                    }
                }
            }
        }
    }

    /// Wait until the pod is gone (404 or a different UID, as kubectl's `waitForDelete`), the
    /// deadline passes, or, with `skip_wait_for_delete_timeout`, its deletion is older than
    /// that. True when gone.
    async fn wait_for_delete(
        &self,
        pod: &DrainPod,
        deadline: Option<Timestamp>,
        on_node: &NodePods,
    ) -> bool {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &pod.namespace);
        loop {
            if on_node.is_gone(&pod.uid) {
                return true;
            }
            match api.get_opt(&pod.name).await {
                Ok(None) => return true,
                Ok(Some(p)) if p.metadata.uid.as_deref() != Some(pod.uid.as_str()) => return true,
                Ok(Some(p)) => {
                    if let (Some(limit), Some(deleted)) = (
                        self.options.skip_wait_for_delete_timeout,
                        p.metadata.deletion_timestamp.as_ref().map(|t| t.0),
                    ) && self.clock.now().duration_since(deleted).unsigned_abs() > limit
                    {
                        return true;
                    }
                }
                Err(e) => tracing::debug!(pod = %pod.key(), error = %e, "waiting for deletion"),
            }
            // Until the next fallback GET, wake on every watch event to check the pod.
            let mut poll = DELETE_FALLBACK_POLL;
            if let Some(d) = deadline {
                poll = poll.min(d.duration_since(self.clock.now()).unsigned_abs());
            }
            let real = self.clock.real_delay(poll).max(MIN_REAL_POLL);
            let started = capstan_clock::Stopwatch::start();
            let mut changes = on_node.subscribe();
            while started.elapsed() < real && !past(deadline, self.clock.now()) {
                if on_node.is_gone(&pod.uid) {
                    return true;
                }
                let mut wait = real.saturating_sub(started.elapsed());
                if let Some(d) = deadline {
                    let left = d.duration_since(self.clock.now()).unsigned_abs();
                    wait = wait.min(self.clock.real_delay(left).max(MIN_REAL_WAIT));
                }
                let _ = tokio::time::timeout(wait, changes.changed()).await;
            }
            if past(deadline, self.clock.now()) {
                return on_node.is_gone(&pod.uid);
            }
        }
    }

    async fn still_there(&self, pod: &DrainPod) -> bool {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &pod.namespace);
        match api.get_opt(&pod.name).await {
            Ok(Some(p)) => p.metadata.uid.as_deref() == Some(pod.uid.as_str()),
            Ok(None) => false,
            // Unknown: assume it is still there and let the next eviction tell.
            Err(_) => true,
        }
    }

    /// Sleep `simulated` on the drain's clock, cut short at the deadline.
    async fn sleep_until(&self, simulated: Duration, deadline: Option<Timestamp>) {
        let mut wait = simulated;
        if let Some(d) = deadline {
            let left = d.duration_since(self.clock.now());
            wait = wait.min(left.unsigned_abs());
        }
        tokio::time::sleep(self.clock.real_delay(wait).max(MIN_REAL_WAIT)).await;
    }

    /// The escalation policy's forced deletion, recorded as events on the pod and the node.
    async fn force_delete(
        &self,
        node: &str,
        pod: &DrainPod,
        blocker: &Blocker,
        observer: &dyn DrainObserver,
    ) -> Result<()> {
        let target = PodTarget {
            namespace: &pod.namespace,
            name: &pod.name,
            uid: &pod.uid,
            grace_period_seconds: self.options.grace_period_seconds,
            dry_run: self.options.dry_run,
        };
        let held_by = if blocker.pdb.is_empty() {
            blocker.reason.clone()
        } else {
            format!("PodDisruptionBudget {} ({})", blocker.pdb, blocker.reason)
        };
        let message = format!(
            "Deleted by Capstan's drain of node {node} after the drain deadline ({}), bypassing eviction: it was held by {held_by}",
            self.options
                .timeout
                .map(capstan_core::duration::format_duration)
                .unwrap_or_default()
        );
        match self.evictions.delete(target).await? {
            EvictionAnswer::Evicted | EvictionAnswer::Gone => {}
            EvictionAnswer::Failed { message } | EvictionAnswer::Retry { message, .. } => {
                return Err(Error::Drain(format!("forced deletion refused: {message}")));
            }
            EvictionAnswer::NamespaceTerminating => {}
        }
        observer.observe(&DrainProgress::Forced { pod: pod.key() });
        tracing::warn!(pod = %pod.key(), node, %held_by, "forced deletion at the drain deadline");
        let pod_target = EventTarget::pod(&pod.namespace, &pod.name, &pod.uid);
        self.events
            .record(
                &pod_target,
                EventType::Warning,
                "DrainForcedDeletion",
                &message,
            )
            .await?;
        self.events
            .record(
                &EventTarget::node(node),
                EventType::Warning,
                "DrainForcedDeletion",
                &format!("pod {}: {message}", pod.key()),
            )
            .await?;
        Ok(())
    }
}

fn past(deadline: Option<Timestamp>, now: Timestamp) -> bool {
    deadline.is_some_and(|d| now >= d)
}

/// The planner's view of a pod.
pub fn drain_pod(pod: &Pod) -> DrainPod {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    DrainPod {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Pending".into()),
        ready: status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
        controller: meta.owner_references.as_ref().and_then(|refs| {
            refs.iter()
                .find(|r| r.controller == Some(true))
                .map(|r| ControllerRef {
                    api_version: r.api_version.clone(),
                    kind: r.kind.clone(),
                    name: r.name.clone(),
                })
        }),
        mirror: meta
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(MIRROR_POD)),
        has_emptydir: spec
            .and_then(|s| s.volumes.as_ref())
            .is_some_and(|vs| vs.iter().any(|v| v.empty_dir.is_some())),
        deletion_timestamp: meta.deletion_timestamp.as_ref().map(|t| t.0),
        labels: meta.labels.clone().unwrap_or_default(),
        grace_period_seconds: spec.and_then(|s| s.termination_grace_period_seconds),
    }
}

/// The eviction handler's view of a PDB.
pub fn pdb_state(pdb: &PodDisruptionBudget) -> PdbState {
    let spec = pdb.spec.as_ref();
    let status = pdb.status.as_ref();
    PdbState {
        namespace: pdb.metadata.namespace.clone().unwrap_or_default(),
        name: pdb.metadata.name.clone().unwrap_or_default(),
        selector: spec
            .and_then(|s| s.selector.as_ref())
            .and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| LabelSelector::from_label_selector_json(&v).ok()),
        disruptions_allowed: status.map(|s| s.disruptions_allowed).unwrap_or(0),
        desired_healthy: status.map(|s| s.desired_healthy).unwrap_or(0),
        current_healthy: status.map(|s| s.current_healthy).unwrap_or(0),
        generation: pdb.metadata.generation.unwrap_or(0),
        observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
        always_allow_unhealthy: spec.and_then(|s| s.unhealthy_pod_eviction_policy.as_deref())
            == Some("AlwaysAllow"),
    }
}
