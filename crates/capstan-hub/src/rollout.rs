//! The hub's rollout controller: carries out the pure `ClusterUpgrade` state machine of
//! [`capstan_core::rollout`] against the [`Store`](crate::store::Store).
//!
//! Each round ([`RolloutController::reconcile_once`]) reads every live upgrade, folds in the
//! results of its clusters' work items, feeds a `Tick`, and persists the new state with the
//! actions' effects (work items for the agents, events) in one [`Store::write_rollout`].
//!
//! **Crash safety.** The rollout state and the effects of the decision that produced it are
//! written in one transaction, compare-and-set on the generation read: a hub killed at any
//! point has stored either the old state and none of the effects, or the new state and all of
//! them, and the next round (in this process or a restarted one) re-decides from what is
//! stored. Work ids are deterministic (`{upgrade}/{cluster}/{attempt}`, [`work_id`]) and
//! queuing is idempotent on the id, so repeating a decision never starts a cluster twice, and
//! a result is matched to the attempt that produced it (an older attempt's result is ignored).
//! As a last line, every round checks that each Upgrading cluster's work item exists and
//! queues it again if not: the one non-transactional step, creating an upgrade and then
//! writing its first decision, cannot lose a cluster either.
//!
//! **Health** (issue 5): each round reads the latest health reports of the clusters that
//! matter, once for all upgrades ([`capstan_core::rollout::clusters_to_watch`]), and feeds
//! what they say ([`capstan_core::rollout::health_inputs`]): a firing alert of a `haltOn`
//! severity on an upgraded cluster halts a soak; with `consecutiveHealthyEvaluations`, new
//! evaluations count towards the gate that holds a soak until they are enough.
//!
//! **Per cluster**, before a work item is queued: [`preflight`] (health and firing alerts,
//! version skew, permanent drain blockers; a refusal fails the cluster in the same decision) and
//! [`target`] (the version resolved against what the cluster's provider offers, fixed from
//! the first work item on). A frozen cluster that left the inventory before finishing is
//! fed to the machine as removed (skipped and reported).
//!
//! [`Store::write_rollout`]: crate::store::Store::write_rollout

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use capstan_clock::SharedClock;
use capstan_core::rollout::{
    Action, ClusterState, ClusterUpgrade, Input, PreflightPolicy, RolloutPhase, RolloutState,
    clusters_to_watch, health_inputs, step,
};
use jiff::Timestamp;
use serde_json::Value;

use crate::api::{ApiState, WorkNotifier};
use crate::store::{NewEvent, RolloutWrite, SharedStore, Subject, UpgradeRecord, WorkStatus};
use crate::{Error, Result};

mod health;
mod preflight;
mod target;

use health::HealthCache;

pub use preflight::PREFLIGHT_FAILED;
pub use target::work_item;

/// How long a cluster's last report counts for preflight when no lease is given (the hub's
/// `--lease` default).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// The kind of the work items that upgrade one cluster.
pub const WORK_KIND: &str = "cluster-upgrade";

/// How many times a command is re-decided when another writer moved the upgrade meanwhile.
const COMMAND_ATTEMPTS: usize = 5;

/// The id of the work item for `attempt` of `cluster` in `upgrade`.
pub fn work_id(upgrade: &str, cluster: &str, attempt: u32) -> String {
    format!("{upgrade}/{cluster}/{attempt}")
}

/// Drives every live rollout; see the module documentation.
#[derive(Clone)]
pub struct RolloutController {
    pub store: SharedStore,
    pub clock: SharedClock,
    /// Wakes agents long-polling for work (the API's notifier).
    pub notifier: WorkNotifier,
    /// A cluster whose last report is older than this is Unknown, and refused by preflight.
    pub lease: Duration,
    pub preflight: PreflightPolicy,
    /// Upgrades decoded at their generation, shared by clones: a round re-reads only those
    /// whose generation moved (a 10,000-cluster status is 1.5 MB of JSON).
    decoded: Arc<Mutex<HashMap<String, Arc<Decoded>>>>,
}

/// An upgrade as stored, with its status decoded.
struct Decoded {
    record: UpgradeRecord,
    state: RolloutState,
}

/// The outcome of one persisted decision.
#[derive(Debug, Clone)]
pub struct Decision {
    pub record: UpgradeRecord,
    pub state: RolloutState,
    /// Clusters given new work by this decision.
    pub started: Vec<String>,
}

impl RolloutController {
    /// With [`DEFAULT_LEASE`] and the default [`PreflightPolicy`].
    pub fn new(store: SharedStore, clock: SharedClock, notifier: WorkNotifier) -> Self {
        Self {
            store,
            clock,
            notifier,
            lease: DEFAULT_LEASE,
            preflight: PreflightPolicy::default(),
            decoded: Arc::default(),
        }
    }

    /// A controller over the API's store, clock, work notifier and lease.
    pub fn from_api(state: &ApiState) -> Self {
        Self {
            lease: state.lease,
            ..Self::new(state.store.clone(), state.clock.clone(), state.work.clone())
        }
    }

    /// Reconciles every live upgrade once. One upgrade's failure does not stop the others;
    /// the first error is returned after all were tried.
    pub async fn reconcile_once(&self) -> Result<()> {
        let mut first_error = None;
        let mut inventory = None;
        let generations = self.store.list_upgrade_generations().await?;
        self.lock_decoded()
            .retain(|name, _| generations.iter().any(|(n, _)| n == name));
        let mut upgrades = Vec::with_capacity(generations.len());
        for (name, generation) in generations {
            match self.decoded(&name, generation).await {
                Ok(Some(upgrade)) => upgrades.push(upgrade),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(upgrade = %name, %error, "reading the upgrade failed");
                    first_error.get_or_insert(error);
                }
            }
        }
        // One read of the health reports for the round: every live upgrade's soaking
        // clusters, gated clusters and clusters about to start.
        let watched: BTreeSet<String> = upgrades
            .iter()
            .filter(|u| !is_dormant(&u.state))
            .flat_map(|u| clusters_to_watch(&u.state))
            .collect();
        let mut health = HealthCache::default();
        health
            .fetch(&self.store, watched.into_iter().collect())
            .await?;
        for upgrade in upgrades {
            let result = self
                .reconcile_upgrade(&upgrade.record, &upgrade.state, &mut inventory, &mut health)
                .await;
            if let Err(error) = result {
                tracing::warn!(upgrade = %upgrade.record.name, %error, "reconciling the upgrade failed");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn lock_decoded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Decoded>>> {
        // A poisoned lock only means a panic mid-insert; the map is still a valid cache.
        self.decoded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Upgrade `name` decoded at `generation`: from the cache, else read and decoded (`None`
    /// if it was deleted meanwhile).
    async fn decoded(&self, name: &str, generation: i64) -> Result<Option<Arc<Decoded>>> {
        if let Some(hit) = self.lock_decoded().get(name)
            && hit.record.generation == generation
        {
            return Ok(Some(Arc::clone(hit)));
        }
        let Some(record) = self.store.get_upgrade(name).await? else {
            return Ok(None);
        };
        let state = decode_state(&record)?;
        let decoded = Arc::new(Decoded { record, state });
        self.lock_decoded()
            .insert(name.to_string(), Arc::clone(&decoded));
        Ok(Some(decoded))
    }

    /// Reconciles every `every` (real time) until the future is dropped or its task aborted.
    pub async fn run(self, every: Duration) {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(error) = self.reconcile_once().await {
                tracing::warn!(%error, "rollout reconcile round failed");
            }
        }
    }

    /// `inventory` is the clusters' names, read once per round when a live upgrade needs it.
    async fn reconcile_upgrade(
        &self,
        record: &UpgradeRecord,
        state: &RolloutState,
        inventory: &mut Option<HashSet<String>>,
        health: &mut HealthCache,
    ) -> Result<()> {
        if is_dormant(state) {
            return Ok(());
        }
        let now = self.clock.now();
        let mut next = state.clone();
        let mut actions = Vec::new();
        let mut missing = Vec::new();
        // One query for the upgrade's items, not one per upgrading cluster: a 10,000-cluster
        // step has a thousand of them each round.
        let items: HashMap<String, (WorkStatus, Option<String>)> =
            if state.count(ClusterState::Upgrading) == 0 {
                HashMap::new()
            } else {
                self.store
                    .list_work_statuses(&format!("{}/", record.name))
                    .await?
                    .into_iter()
                    .map(|(id, status, message)| (id, (status, message)))
                    .collect()
            };
        for (cluster, rollout) in &state.clusters {
            if rollout.state != ClusterState::Upgrading {
                continue;
            }
            // Only the current attempt's item: an older attempt's result is not this one's.
            let id = work_id(&record.name, cluster, rollout.attempts);
            let input = match items.get(&id).cloned() {
                // Never queued: a hub stopped between creating the upgrade and writing its
                // first decision. Preflight it as a start; otherwise queue it again.
                None if rollout.from.is_none() && rollout.to.is_none() => {
                    actions.push(Action::StartUpgrade {
                        cluster: cluster.clone(),
                        attempt: rollout.attempts,
                    });
                    continue;
                }
                None => {
                    missing.push((cluster.clone(), rollout.attempts));
                    continue;
                }
                Some((status, message)) => match status {
                    WorkStatus::Succeeded => Input::ClusterSucceeded {
                        cluster: cluster.clone(),
                    },
                    WorkStatus::Failed => Input::ClusterFailed {
                        cluster: cluster.clone(),
                        message: message.unwrap_or_default(),
                    },
                    WorkStatus::Pending | WorkStatus::Running => continue,
                },
            };
            let (after, more) = step(&next, input, now);
            next = after;
            actions.extend(more);
        }
        // Clusters that left the inventory before finishing are skipped and reported.
        let unfinished = state
            .clusters
            .values()
            .any(|c| matches!(c.state, ClusterState::Pending | ClusterState::Upgrading));
        if unfinished {
            if inventory.is_none() {
                *inventory = Some(self.store.cluster_names().await?.into_iter().collect());
            }
            let names = inventory.as_ref();
            let removed: Vec<String> = next
                .clusters
                .iter()
                .filter(|(name, c)| {
                    matches!(c.state, ClusterState::Pending | ClusterState::Upgrading)
                        && names.is_some_and(|names| !names.contains(*name))
                })
                .map(|(name, _)| name.clone())
                .collect();
            for cluster in removed {
                missing.retain(|(c, _)| *c != cluster);
                let (after, more) = step(&next, Input::ClusterRemoved { cluster }, now);
                next = after;
                actions.extend(more);
            }
        }
        // Health: a firing alert halts a soak; with a gate, new evaluations count.
        for input in health_inputs(&next, &health.reports) {
            let (after, more) = step(&next, input, now);
            next = after;
            actions.extend(more);
        }
        let (after, more) = step(&next, Input::Tick, now);
        next = after;
        actions.extend(more);
        if next == *state && actions.is_empty() && missing.is_empty() {
            return Ok(());
        }
        let spec = decode_spec(record)?;
        let (next, actions) = self.admit_with(&spec, next, actions, now, health).await?;
        for (cluster, attempt) in &missing {
            tracing::warn!(upgrade = %record.name, %cluster, attempt, "work item missing; queuing it again");
        }
        let write = decision_write(record, &spec, state, &next, &actions, &missing, now)?;
        match self.store.write_rollout(&write, now).await {
            Ok(_) => {
                self.notify(&write);
                Ok(())
            }
            // Someone (a command, another hub) moved it since we read: their write stands, and
            // the next round decides again from it.
            Err(Error::Conflict { .. }) => {
                tracing::debug!(upgrade = %record.name, "rollout changed while reconciling; next round");
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// Feeds an operator command to upgrade `name` and persists the result, re-reading and
    /// re-deciding on a generation conflict. `input` sees the current state (to default
    /// `approve`'s step, say).
    pub async fn command(
        &self,
        name: &str,
        input: impl Fn(&RolloutState) -> Input,
    ) -> Result<Decision> {
        let mut last_conflict = None;
        for _ in 0..COMMAND_ATTEMPTS {
            let record = self
                .store
                .get_upgrade(name)
                .await?
                .ok_or_else(|| Error::NotFound {
                    kind: "upgrade",
                    name: name.to_string(),
                })?;
            let state = decode_state(&record)?;
            let now = self.clock.now();
            let (next, actions) = step(&state, input(&state), now);
            if next == state && actions.is_empty() {
                return Ok(Decision {
                    record,
                    state,
                    started: Vec::new(),
                });
            }
            let spec = decode_spec(&record)?;
            let (next, actions) = self.admit(&spec, next, actions, now).await?;
            let write = decision_write(&record, &spec, &state, &next, &actions, &[], now)?;
            match self.store.write_rollout(&write, now).await {
                Ok(record) => {
                    self.notify(&write);
                    return Ok(Decision {
                        record,
                        state: next,
                        started: write.work.iter().map(|w| w.cluster.clone()).collect(),
                    });
                }
                Err(conflict @ Error::Conflict { .. }) => last_conflict = Some(conflict),
                Err(other) => return Err(other),
            }
        }
        Err(last_conflict.unwrap_or_else(|| Error::NotFound {
            kind: "upgrade",
            name: name.to_string(),
        }))
    }

    fn notify(&self, write: &RolloutWrite) {
        for item in &write.work {
            self.notifier.notify(&item.cluster);
        }
    }
}

/// A rollout no round can move: final, or done and waiting only for a command (which the API
/// applies itself).
fn is_dormant(state: &RolloutState) -> bool {
    match state.phase {
        RolloutPhase::Succeeded | RolloutPhase::Aborted => true,
        RolloutPhase::Failed => state.count(ClusterState::Upgrading) == 0,
        _ => false,
    }
}

pub(crate) fn decode_state(record: &UpgradeRecord) -> Result<RolloutState> {
    serde_json::from_value(record.status.clone()).map_err(|e| Error::Corrupt {
        what: "upgrade status",
        reason: format!("{}: {e}", record.name),
    })
}

pub(crate) fn decode_spec(record: &UpgradeRecord) -> Result<ClusterUpgrade> {
    serde_json::from_value(record.spec.clone()).map_err(|e| Error::Corrupt {
        what: "upgrade spec",
        reason: format!("{}: {e}", record.name),
    })
}

pub(crate) fn encode<T: serde::Serialize>(what: &'static str, value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|source| Error::Encode { what, source })
}

/// Everything the transition `before -> after` with `actions` writes, plus work items for
/// `missing` (cluster, attempt) pairs to queue again. Clusters whose state differs from
/// `before` get their per-cluster row written.
pub(crate) fn decision_write(
    record: &UpgradeRecord,
    spec: &ClusterUpgrade,
    before: &RolloutState,
    after: &RolloutState,
    actions: &[Action],
    missing: &[(String, u32)],
    now: Timestamp,
) -> Result<RolloutWrite> {
    let name = &record.name;
    let mut clusters = Vec::new();
    for (cluster, rollout) in &after.clusters {
        if before.clusters.get(cluster) != Some(rollout) {
            clusters.push((cluster.clone(), encode("rollout cluster state", rollout)?));
        }
    }
    let mut work = Vec::new();
    let mut queued = BTreeSet::new();
    let mut events = Vec::new();
    let starts = actions.iter().filter_map(|a| match a {
        Action::StartUpgrade { cluster, attempt } => Some((cluster.clone(), *attempt)),
        Action::Record { .. } => None,
    });
    for (cluster, attempt) in starts.chain(missing.iter().cloned()) {
        let Some(rollout) = after.clusters.get(&cluster) else {
            continue;
        };
        if rollout.attempts == attempt && queued.insert((cluster.clone(), attempt)) {
            work.push(work_item(name, spec, &cluster, rollout));
        }
    }
    for action in actions {
        if let Action::Record { reason, message } = action {
            events.push(NewEvent {
                subject: Subject::Upgrade(name.clone()),
                reason: reason.clone(),
                message: message.clone(),
                at: now,
            });
        }
    }
    Ok(RolloutWrite {
        upgrade: name.clone(),
        expected_generation: record.generation,
        status: encode("upgrade status", after)?,
        clusters,
        work,
        events,
    })
}
