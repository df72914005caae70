//! One pool's roll: observe, plan (`capstan_core::upgrade::plan_roll`), act, wait.

use std::collections::{BTreeMap, BTreeSet};

use capstan_core::annotations::TERMINATE_REQUESTED;
use capstan_core::drain::{DrainOutcome, DrainReport};
use capstan_core::lifecycle::{NodePhase, NodeTimeline, PhaseHealth};
use capstan_core::upgrade::{PendingMachine, PoolState, RollAction, RollBudget, plan_roll};
use capstan_core::version::KubeVersion;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::task::JoinSet;

use super::observe::{ObservedNode, list_nodes};
use super::record::PoolRecord;
use super::{ClusterUpgrader, PoolReport, UpgradeObserver, UpgradeProgress};
use crate::drain::{DrainObserver, DrainProgress};
use crate::events::EventType;
use crate::provider::{Machine, MachinePhase};
use crate::{Error, Result};

/// Forwards a spawned drain's progress to the roll's loop.
struct ChannelObserver {
    node: String,
    tx: UnboundedSender<(String, DrainProgress)>,
}

impl DrainObserver for ChannelObserver {
    fn observe(&self, progress: &DrainProgress) {
        let _ = self.tx.send((self.node.clone(), progress.clone()));
    }
}

pub(super) struct PoolRoll<'a> {
    up: &'a ClusterUpgrader,
    observer: &'a dyn UpgradeObserver,
    pool: String,
    target: KubeVersion,
    size: u32,
    budget: RollBudget,
    /// Machines this run ordered and has not seen as Nodes yet.
    ordered: BTreeSet<String>,
    /// Machines ordered without names (providers that cannot tell), not yet seen.
    ordered_anonymous: u32,
    /// Pool nodes seen so far, to notice new ones and ones gone.
    known: BTreeSet<String>,
    /// Drains running in this process.
    draining: BTreeSet<String>,
    /// Nodes whose termination this run asked for.
    terminate_sent: BTreeSet<String>,
    report: PoolReport,
}

type DrainResult = (String, Result<DrainReport>);

impl<'a> PoolRoll<'a> {
    pub(super) fn new(
        up: &'a ClusterUpgrader,
        observer: &'a dyn UpgradeObserver,
        pool: &str,
        target: KubeVersion,
        record: &PoolRecord,
    ) -> Result<Self> {
        let budget = RollBudget::resolve(
            record.size,
            up.options.max_surge,
            up.options.max_unavailable,
        )
        .map_err(super::planning_error)?;
        Ok(Self {
            up,
            observer,
            pool: pool.to_string(),
            target,
            size: record.size,
            budget,
            ordered: BTreeSet::new(),
            ordered_anonymous: 0,
            known: BTreeSet::new(),
            draining: BTreeSet::new(),
            terminate_sent: BTreeSet::new(),
            report: PoolReport {
                pool: pool.to_string(),
                size: record.size,
                budget,
                started: record.started,
                finished: record.started,
                created: vec![],
                terminated: vec![],
                drains: vec![],
            },
        })
    }

    pub(super) async fn run(
        mut self,
        timelines: &mut BTreeMap<String, NodeTimeline>,
    ) -> Result<PoolReport> {
        self.observer.observe(&UpgradeProgress::PoolStarted {
            pool: self.pool.clone(),
            size: self.size,
            budget: self.budget,
        });
        let (tx, mut rx) = unbounded_channel();
        // Dropping the set (an error, or the caller giving up) aborts the drains: their nodes
        // stay cordoned and marked, and a re-run resumes them.
        let mut drains: JoinSet<DrainResult> = JoinSet::new();
        loop {
            let state = self.observe(timelines).await?;
            let plan = plan_roll(&state);
            self.observer.observe(&UpgradeProgress::PoolStatus {
                pool: self.pool.clone(),
                status: plan.status.clone(),
            });
            if plan.done && drains.is_empty() {
                break;
            }
            self.check_stuck(timelines)?;
            for action in plan.actions {
                match action {
                    RollAction::Provision { count } => self.provision(count).await?,
                    RollAction::Drain { node, resume } => {
                        self.start_drain(&mut drains, &tx, node, resume, timelines)
                            .await;
                    }
                    RollAction::Terminate { node } => {
                        let marked = state
                            .nodes
                            .iter()
                            .any(|n| n.name == node && n.terminate_requested);
                        self.terminate(&node, marked, timelines).await?;
                    }
                }
            }
            // Wait for the next look, or less if a drain finishes.
            let sleep = tokio::time::sleep(self.up.options.poll_interval);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    Some((node, progress)) = rx.recv() => {
                        self.observer.observe(&UpgradeProgress::Drain { node, progress });
                    }
                    Some(joined) = drains.join_next(), if !drains.is_empty() => {
                        let (node, result) = joined.map_err(|e| {
                            Error::Upgrade(format!("a drain task of pool {} ended: {e}", self.pool))
                        })?;
                        self.drain_finished(&node, result).await?;
                        break;
                    }
                }
            }
        }
        self.report.finished = self.up.clock.now();
        self.observer.observe(&UpgradeProgress::PoolDone {
            pool: self.pool.clone(),
        });
        Ok(self.report)
    }

    /// The pool as the planner needs it, and the timelines brought up to date.
    async fn observe(
        &mut self,
        timelines: &mut BTreeMap<String, NodeTimeline>,
    ) -> Result<PoolState> {
        let nodes = list_nodes(&self.up.client).await?;
        let machines: BTreeMap<String, Machine> = self
            .up
            .provider
            .machines()
            .await?
            .into_iter()
            .filter(|m| m.pool == self.pool)
            .map(|m| (m.name.clone(), m))
            .collect();
        // Machines an earlier run ordered for this roll (this run resumes it) count as
        // created: the report covers the whole roll, not only the part after a restart.
        for m in machines.values() {
            if let Some((MachinePhase::Provisioning, ordered_at)) = m.phases.first()
                && *ordered_at >= self.report.started
                && !self.report.created.contains(&m.name)
            {
                self.report.created.push(m.name.clone());
            }
        }
        let now = self.up.clock.now();
        let pool_nodes: BTreeMap<&String, &ObservedNode> = nodes
            .iter()
            .filter(|(_, n)| n.pool.as_deref() == Some(self.pool.as_str()))
            .collect();

        // Timelines: Capstan's marks first (a resumed drain keeps its first start), then the
        // machines' phase history (exact at the twin), then nodes seen Ready or gone.
        for (name, n) in &pool_nodes {
            let drain_started = n
                .drain_started
                .as_deref()
                .filter(|_| n.unschedulable)
                .and_then(|s| s.parse().ok());
            let terminate_requested = n
                .terminate_requested
                .as_deref()
                .and_then(|s| s.parse().ok());
            if drain_started.is_none() && terminate_requested.is_none() {
                continue;
            }
            let t = timelines
                .entry(name.to_string())
                .or_insert_with(|| NodeTimeline::new(name, Some(&self.pool)));
            if let Some(at) = drain_started {
                t.record(NodePhase::Draining, at);
            }
            if let Some(at) = terminate_requested {
                t.record(NodePhase::Terminating, at);
            }
        }
        for m in machines.values() {
            let t = timelines
                .entry(m.name.clone())
                .or_insert_with(|| NodeTimeline::new(&m.name, Some(&self.pool)));
            for (phase, at) in &m.phases {
                let phase = match phase {
                    MachinePhase::Provisioning => NodePhase::Provisioning,
                    MachinePhase::Joining => NodePhase::Joining,
                    MachinePhase::Running => NodePhase::Operating,
                    MachinePhase::Terminating => NodePhase::Terminating,
                };
                t.record(phase, *at);
            }
        }
        for (name, n) in &pool_nodes {
            // Providers that do not report Running: Ready is when the node starts operating.
            if let Some(t) = timelines.get_mut(name.as_str())
                && n.ready
                && t.current().is_some_and(|(p, _)| p < NodePhase::Operating)
            {
                t.record(NodePhase::Operating, now);
            }
        }
        for gone in self.known.iter().filter(|n| !pool_nodes.contains_key(n)) {
            if let Some(t) = timelines.get_mut(gone) {
                t.finish(now);
            }
        }

        // Machines ordered and not yet Nodes.
        let mut provisioning = Vec::new();
        for m in machines.values() {
            if !nodes.contains_key(&m.name) && m.phase != MachinePhase::Terminating {
                provisioning.push(PendingMachine {
                    name: m.name.clone(),
                    version: KubeVersion::parse(&m.version).unwrap_or(self.target),
                });
            }
        }
        self.ordered.retain(|name| !nodes.contains_key(name));
        for name in &self.ordered {
            if !machines.contains_key(name) {
                provisioning.push(PendingMachine {
                    name: name.clone(),
                    version: self.target,
                });
            }
        }
        let newcomers = pool_nodes
            .iter()
            .filter(|(name, n)| {
                !self.known.contains(name.as_str()) && n.version.is_some_and(|v| v >= self.target)
            })
            .count();
        self.ordered_anonymous = self
            .ordered_anonymous
            .saturating_sub(u32::try_from(newcomers).unwrap_or(u32::MAX));
        for i in 0..self.ordered_anonymous {
            provisioning.push(PendingMachine {
                name: format!("(ordered {i})"),
                version: self.target,
            });
        }
        self.known = pool_nodes.keys().map(|n| n.to_string()).collect();

        let pool_state_nodes = pool_nodes
            .iter()
            .map(|(name, n)| {
                let terminating = machines
                    .get(name.as_str())
                    .is_some_and(|m| m.phase == MachinePhase::Terminating);
                // An unreadable kubelet version is not the target: replace the node.
                let version = n.version.unwrap_or(KubeVersion::new(0, 0, 0));
                n.pool_node(name, version, terminating)
            })
            .collect();
        Ok(PoolState {
            target: self.target,
            size: self.size,
            budget: self.budget,
            nodes: pool_state_nodes,
            provisioning,
        })
    }

    /// A new machine stuck far past its SLO will not come: stop rather than wait forever.
    fn check_stuck(&self, timelines: &BTreeMap<String, NodeTimeline>) -> Result<()> {
        let now = self.up.clock.now();
        for t in timelines
            .values()
            .filter(|t| t.pool.as_deref() == Some(&self.pool))
        {
            if let Some((
                phase @ (NodePhase::Provisioning | NodePhase::Joining),
                lasted,
                PhaseHealth::Stuck,
            )) = t.health(now, &self.up.options.slos)
            {
                return Err(Error::Upgrade(format!(
                    "node {} of pool {} is stuck in {phase} for {} (expected at most {}); the roll stops here and resumes when run again",
                    t.node,
                    self.pool,
                    capstan_core::duration::format_duration(lasted),
                    self.up
                        .options
                        .slos
                        .slo(phase)
                        .and_then(|s| s.max)
                        .map(capstan_core::duration::format_duration)
                        .unwrap_or_default(),
                )));
            }
        }
        Ok(())
    }

    async fn provision(&mut self, count: u32) -> Result<()> {
        let names = self
            .up
            .provider
            .create_nodes(&self.pool, count, &self.target)
            .await?;
        tracing::debug!(pool = %self.pool, count, ?names, "ordered machines");
        if names.is_empty() {
            self.ordered_anonymous += count;
        }
        self.report.created.extend(names.iter().cloned());
        self.ordered.extend(names);
        self.observer.observe(&UpgradeProgress::Provisioning {
            pool: self.pool.clone(),
            count,
        });
        Ok(())
    }

    async fn start_drain(
        &mut self,
        drains: &mut JoinSet<DrainResult>,
        tx: &UnboundedSender<(String, DrainProgress)>,
        node: String,
        resume: bool,
        timelines: &mut BTreeMap<String, NodeTimeline>,
    ) {
        if !self.draining.insert(node.clone()) {
            return; // running already
        }
        let now = self.up.clock.now();
        timelines
            .entry(node.clone())
            .or_insert_with(|| NodeTimeline::new(&node, Some(&self.pool)))
            .record(NodePhase::Draining, now);
        let (reason, message) = if resume {
            (
                "UpgradeDrainResumed",
                format!(
                    "Resuming the drain of {node} for the upgrade to {}",
                    self.target
                ),
            )
        } else {
            (
                "UpgradeDrainStarted",
                format!("Draining {node} for the upgrade to {}", self.target),
            )
        };
        self.up
            .record_event(&node, EventType::Normal, reason, &message)
            .await;
        self.observer.observe(&UpgradeProgress::DrainStarted {
            pool: self.pool.clone(),
            node: node.clone(),
            resume,
        });
        let drainer = self.up.drainer.clone();
        let tx = tx.clone();
        drains.spawn(async move {
            let observer = ChannelObserver {
                node: node.clone(),
                tx,
            };
            let result = drainer.drain(&node, &observer).await;
            (node, result)
        });
    }

    async fn drain_finished(&mut self, node: &str, result: Result<DrainReport>) -> Result<()> {
        self.draining.remove(node);
        let report = result.map_err(|e| {
            Error::Upgrade(format!(
                "draining {node} failed: {e}; the node stays cordoned, run again to continue"
            ))
        })?;
        if !report.succeeded() {
            let why = match &report.outcome {
                DrainOutcome::Refused { errors } => format!("refused: {}", errors.join("; ")),
                DrainOutcome::Halted { message } => format!("halted: {message}"),
                DrainOutcome::Failed { message } => format!("failed: {message}"),
                DrainOutcome::Drained => String::new(),
            };
            let blockers: Vec<String> = report
                .blockers
                .iter()
                .map(|b| format!("{} held by {} ({})", b.pod, b.pdb, b.reason))
                .collect();
            self.report.drains.push(report);
            return Err(Error::Upgrade(format!(
                "the drain of {node} {why}{}; the node stays cordoned and a re-run continues from it",
                if blockers.is_empty() {
                    String::new()
                } else {
                    format!("; blocked: {}", blockers.join(", "))
                }
            )));
        }
        self.up
            .record_event(
                node,
                EventType::Normal,
                "UpgradeDrained",
                &format!("Drained {node}: {} pod(s) evicted", report.evicted.len()),
            )
            .await;
        self.observer.observe(&UpgradeProgress::Drained {
            pool: self.pool.clone(),
            node: node.to_string(),
            evicted: report.evicted.len(),
        });
        self.report.drains.push(report);
        Ok(())
    }

    /// Mark the node terminate-requested first, so that a restarted agent knows the request
    /// may be out, then ask the provider.
    async fn terminate(
        &mut self,
        node: &str,
        marked: bool,
        timelines: &mut BTreeMap<String, NodeTimeline>,
    ) -> Result<()> {
        if self.terminate_sent.contains(node) || self.draining.contains(node) {
            return Ok(());
        }
        let now = self.up.clock.now();
        if !marked {
            let api: Api<Node> = Api::all(self.up.client.clone());
            let body = serde_json::json!({"metadata": {"annotations": {TERMINATE_REQUESTED: now.to_string()}}});
            api.patch(node, &PatchParams::default(), &Patch::Merge(&body))
                .await?;
        }
        self.up.provider.delete_node(node).await?;
        self.terminate_sent.insert(node.to_string());
        timelines
            .entry(node.to_string())
            .or_insert_with(|| NodeTimeline::new(node, Some(&self.pool)))
            .record(NodePhase::Terminating, now);
        self.up
            .record_event(
                node,
                EventType::Normal,
                "UpgradeTerminating",
                &format!(
                    "Asked provider {} to terminate {node}",
                    self.up.provider.name()
                ),
            )
            .await;
        self.report.terminated.push(node.to_string());
        self.observer.observe(&UpgradeProgress::Terminating {
            pool: self.pool.clone(),
            node: node.to_string(),
        });
        Ok(())
    }
}
