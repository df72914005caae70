//! The cluster upgrade: control plane first, one minor at a time, then every node pool rolled
//! under `maxSurge`/`maxUnavailable` through a [`Provider`].
//!
//! Decisions are `capstan_core::upgrade`'s (target, path, skew, the stateless roll planner);
//! this module reads the cluster, acts, and waits. Everything a restarted agent needs is in the
//! cluster: versions, cordons, the drain engine's marks, the terminate-requested mark written
//! before the provider is asked, and the roll's record ([`record`]: target and pool sizes).
//! Run again after a crash, it plans the same roll from there: a drained node is terminated,
//! never drained again; an interrupted drain is resumed; no node is left cordoned.

mod control_plane;
mod observe;
mod pool;
pub mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use capstan_clock::SharedClock;
use capstan_core::drain::DrainReport;
use capstan_core::lifecycle::{LifecycleSlos, NodeTimeline, PhaseStats, phase_stats};
use capstan_core::upgrade::{IntOrPercent, RollBudget, RollStatus, UpgradePlan, plan_upgrade};
use capstan_core::version::KubeVersion;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::drain::{DrainProgress, Drainer};
use crate::events::EventRecorder;
use crate::provider::Provider;
use crate::{Error, Result};

use self::record::{PoolRecord, UpgradeRecord};

/// How to upgrade.
#[derive(Debug, Clone)]
pub struct UpgradeOptions {
    /// `1.31` (newest offered patch) or `1.31.4`.
    pub to: String,
    pub max_surge: IntOrPercent,
    pub max_unavailable: IntOrPercent,
    /// Only these pools; `None` for every pool.
    pub pools: Option<Vec<String>>,
    /// Real time between looks at the cluster while waiting.
    pub poll_interval: Duration,
    /// Longest wait for one control-plane step, in the provider's time.
    pub control_plane_timeout: Duration,
    /// Expected phase durations; a new machine stuck past them fails the upgrade.
    pub slos: LifecycleSlos,
}

impl UpgradeOptions {
    pub fn new(to: &str) -> Self {
        Self {
            to: to.to_string(),
            max_surge: IntOrPercent::Percent(10),
            max_unavailable: IntOrPercent::Int(0),
            pools: None,
            poll_interval: Duration::from_secs(2),
            control_plane_timeout: Duration::from_secs(60 * 60),
            slos: LifecycleSlos::default(),
        }
    }
}

/// What an upgrade reports while it runs.
#[derive(Debug, Clone)]
pub enum UpgradeProgress {
    Planned {
        target: KubeVersion,
        control_plane_steps: Vec<KubeVersion>,
        /// Pools to roll with their sizes.
        pools: Vec<(String, u32)>,
        /// Continuing an upgrade whose record was found in the cluster.
        resumed: bool,
    },
    ControlPlaneUpgrading {
        from: KubeVersion,
        to: KubeVersion,
    },
    ControlPlaneUpgraded {
        version: KubeVersion,
    },
    PoolStarted {
        pool: String,
        size: u32,
        budget: RollBudget,
    },
    PoolStatus {
        pool: String,
        status: RollStatus,
    },
    Provisioning {
        pool: String,
        count: u32,
    },
    DrainStarted {
        pool: String,
        node: String,
        resume: bool,
    },
    Drain {
        node: String,
        progress: DrainProgress,
    },
    Drained {
        pool: String,
        node: String,
        evicted: usize,
    },
    Terminating {
        pool: String,
        node: String,
    },
    PoolDone {
        pool: String,
    },
}

/// Receives [`UpgradeProgress`] (progress bars, logs).
pub trait UpgradeObserver: Send + Sync {
    fn observe(&self, progress: &UpgradeProgress);
}

/// An observer that only logs.
#[derive(Debug, Default)]
pub struct LogUpgradeObserver;

impl UpgradeObserver for LogUpgradeObserver {
    fn observe(&self, progress: &UpgradeProgress) {
        tracing::info!(?progress, "upgrade");
    }
}

/// One pool's roll.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolReport {
    pub pool: String,
    pub size: u32,
    pub budget: RollBudget,
    /// When the roll started (possibly in an earlier run) and finished.
    pub started: Timestamp,
    pub finished: Timestamp,
    /// Machines ordered for this roll: by this run, or by an earlier run it resumed.
    pub created: Vec<String>,
    /// Nodes this run asked the provider to terminate.
    pub terminated: Vec<String>,
    /// Drains this run completed.
    pub drains: Vec<DrainReport>,
}

/// What an upgrade did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradeReport {
    pub target: KubeVersion,
    pub control_plane_steps: Vec<KubeVersion>,
    pub resumed: bool,
    pub pools: Vec<PoolReport>,
    /// Nodes that carry no pool label: not rolled.
    pub unpooled: Vec<String>,
    pub timelines: Vec<NodeTimeline>,
    pub phase_stats: Vec<PhaseStats>,
    pub started: Timestamp,
    pub finished: Timestamp,
}

/// Upgrades one cluster.
pub struct ClusterUpgrader {
    client: kube::Client,
    provider: Arc<dyn Provider>,
    drainer: Drainer,
    recorder: EventRecorder,
    clock: SharedClock,
    options: UpgradeOptions,
}

fn planning_error(e: capstan_core::upgrade::UpgradeError) -> Error {
    Error::Upgrade(e.to_string())
}

impl ClusterUpgrader {
    /// `clock` is used unless the provider has its own (simulated) clock. The drainer's
    /// options (timeout, escalation) apply to every drain of the roll.
    pub fn new(
        client: kube::Client,
        provider: Arc<dyn Provider>,
        drainer: Drainer,
        recorder: EventRecorder,
        clock: SharedClock,
        options: UpgradeOptions,
    ) -> Self {
        let clock = provider.clock().unwrap_or(clock);
        Self {
            client,
            provider,
            drainer,
            recorder,
            clock,
            options,
        }
    }

    /// The clock timings are taken on.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Check the request against the cluster and the provider, changing nothing: the target,
    /// the control plane's path, the skew policy, the budget settings and the pool names.
    pub async fn plan(&self) -> Result<UpgradePlan> {
        Ok(self.prepare().await?.plan)
    }

    async fn prepare(&self) -> Result<Prepared> {
        RollBudget::validate(self.options.max_surge, self.options.max_unavailable)
            .map_err(planning_error)?;
        let cp = self.provider.control_plane().await?;
        let offered = self.provider.versions().await?;
        let nodes = observe::list_nodes(&self.client).await?;
        let kubelets: Vec<(String, KubeVersion)> = nodes
            .iter()
            .filter_map(|(n, o)| Some((n.clone(), o.version?)))
            .collect();
        // A control plane mid-step plans from where it is going: it will not go back.
        let current = cp
            .upgrading_to
            .filter(|to| *to > cp.version)
            .unwrap_or(cp.version);
        let plan = plan_upgrade(&self.options.to, &current, &offered, &kubelets)
            .map_err(planning_error)?;
        let mut plan = plan;
        if let Some(to) = cp.upgrading_to.filter(|to| *to > cp.version)
            && plan.control_plane_steps.first() != Some(&to)
        {
            plan.control_plane_steps.insert(0, to);
        }
        let all_pools: BTreeSet<String> = nodes.values().filter_map(|n| n.pool.clone()).collect();
        let pools: Vec<String> = match &self.options.pools {
            Some(wanted) => {
                for p in wanted {
                    if !all_pools.contains(p) {
                        return Err(Error::invalid(
                            "--pool",
                            format!(
                                "no node pool named {p:?} (pools: {})",
                                all_pools.iter().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                }
                let wanted: BTreeSet<String> = wanted.iter().cloned().collect();
                wanted.into_iter().collect()
            }
            None => all_pools.into_iter().collect(),
        };
        let unpooled = nodes
            .iter()
            .filter(|(_, n)| n.pool.is_none())
            .map(|(name, _)| name.clone())
            .collect();
        let sizes = pools
            .iter()
            .map(|p| {
                let size = nodes
                    .values()
                    .filter(|n| n.pool.as_ref() == Some(p) && n.terminate_requested.is_none())
                    .count();
                (p.clone(), u32::try_from(size).unwrap_or(u32::MAX))
            })
            .collect();
        Ok(Prepared {
            plan,
            pools,
            sizes,
            unpooled,
        })
    }

    /// Upgrade the cluster, or continue the upgrade its record describes.
    pub async fn run(&self, observer: &dyn UpgradeObserver) -> Result<UpgradeReport> {
        let started = self.clock.now();
        let prepared = self.prepare().await?;
        let plan = prepared.plan.clone();
        let (mut record, resumed) = match record::load(&self.client).await? {
            Some(existing) => {
                if existing.target != plan.target {
                    return Err(Error::Upgrade(format!(
                        "an upgrade to {} is in progress (started {}); run it again with --to {}, or delete ConfigMap {}/{} to abandon it",
                        existing.target,
                        existing.started,
                        existing.target,
                        record::NAMESPACE,
                        record::NAME
                    )));
                }
                (existing, true)
            }
            None => {
                let fresh = UpgradeRecord {
                    target: plan.target,
                    started,
                    max_surge: self.options.max_surge,
                    max_unavailable: self.options.max_unavailable,
                    pools: BTreeMap::new(),
                };
                record::create(&self.client, &fresh).await?;
                (fresh, false)
            }
        };
        observer.observe(&UpgradeProgress::Planned {
            target: plan.target,
            control_plane_steps: plan.control_plane_steps.clone(),
            pools: prepared
                .pools
                .iter()
                .map(|p| {
                    let size = record
                        .pools
                        .get(p)
                        .map(|r| r.size)
                        .or_else(|| prepared.sizes.get(p).copied())
                        .unwrap_or(0);
                    (p.clone(), size)
                })
                .collect(),
            resumed,
        });

        for step in &plan.control_plane_steps {
            self.upgrade_control_plane(step, observer).await?;
        }

        let mut timelines = BTreeMap::new();
        let mut pools = Vec::new();
        for pool in &prepared.pools {
            let pool_record = match record.pools.get(pool) {
                Some(r) => r.clone(),
                None => {
                    let r = PoolRecord {
                        size: prepared.sizes.get(pool).copied().unwrap_or(0),
                        started: self.clock.now(),
                    };
                    record.pools.insert(pool.clone(), r.clone());
                    record::save(&self.client, &record).await?;
                    r
                }
            };
            let report = pool::PoolRoll::new(self, observer, pool, plan.target, &pool_record)?
                .run(&mut timelines)
                .await?;
            pools.push(report);
        }
        record::delete(&self.client).await?;
        let finished = self.clock.now();
        let timelines: Vec<NodeTimeline> = timelines.into_values().collect();
        Ok(UpgradeReport {
            target: plan.target,
            control_plane_steps: plan.control_plane_steps,
            resumed,
            pools,
            unpooled: prepared.unpooled,
            phase_stats: phase_stats(&timelines, finished, &self.options.slos),
            timelines,
            started,
            finished,
        })
    }

    async fn record_event(
        &self,
        node: &str,
        kind: crate::events::EventType,
        reason: &str,
        message: &str,
    ) {
        let target = crate::events::EventTarget::node(node);
        if let Err(e) = self.recorder.record(&target, kind, reason, message).await {
            tracing::warn!(node, reason, error = %e, "could not record an event");
        }
    }
}

struct Prepared {
    plan: UpgradePlan,
    pools: Vec<String>,
    sizes: BTreeMap<String, u32>,
    unpooled: Vec<String>,
}
