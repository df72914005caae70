//! The agent's recommender: per container (workload, container name) a usage state for
//! right-sizing, as the VPA recommender aggregates all pods of one target per container
//! name; per workload an idle tracker (KEDA hints) and its compute cost on on-demand nodes
//! (spot candidates). [`Recommender::bundle`] turns them into a bounded [`Recommendations`].
//!
//! States live in memory and, like the VPA recommender's, are checkpointed in the cluster
//! (ConfigMaps in `kube-system`, see [`super::checkpoint`]): [`Recommender::checkpoints`]
//! gives every container's state (of workloads that still exist) for the cost loop to write
//! every checkpoint interval (10 minutes of the agent's clock by default), and
//! [`Recommender::restore`] puts them back when the loop starts, before its first tick. An
//! agent restart thus loses at most one interval of samples, and the histograms come back as
//! saved up to the checkpoint's quantisation (bucket weights stored to 1/10000 of the
//! heaviest, as upstream; see `capstan_core::rightsizing::checkpoint`), with the averages
//! a bundle needs (replicas, requests, rates) and the OOM kills already counted (pod uid and
//! restart count), so a kill still shown in a pod's last state is not counted again after a
//! restart. What is not checkpointed: the idle trackers and spot costs per workload (rebuilt
//! within hours). OOM records of pods not seen for [`OOM_FORGET_TICKS`] ticks are dropped.

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;
use std::sync::Arc;

use capstan_core::cost::{PriceSheet, WorkloadKey};
use capstan_core::intstr::{Round, scaled_value};
use capstan_core::recommendations::{RecommendationCounts, Recommendations};
use capstan_core::rightsizing::{
    self, ContainerUsageState, RightsizingConfig, RightsizingInput, Strategy,
};
use capstan_core::savings::{
    self, ExistingQuota, IdleTracker, KedaConfig, KedaWorkload, QuotaInput, WorkloadFacts,
};
use capstan_kube::view::{ClusterView, Labels, PdbRecord, Uid, WorkloadKind};
use jiff::Timestamp;

use super::checkpoint::{ContainerCheckpoint, RestoredContainer};
use super::tick::{ContainerSample, WorkloadKeys};

const BYTES_PER_GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What the recommender recommends with, and how many of each it sends.
#[derive(Debug, Clone)]
pub struct RecommenderSettings {
    pub strategy: Strategy,
    pub rightsizing: RightsizingConfig,
    pub keda: KedaConfig,
    /// Headroom over the recommended requests in a quota suggestion.
    pub quota_headroom: f64,
    pub max_rightsizing: usize,
    pub max_spot: usize,
    pub max_quota: usize,
    pub max_keda: usize,
}

impl Default for RecommenderSettings {
    fn default() -> Self {
        Self {
            strategy: Strategy::Vpa,
            rightsizing: RightsizingConfig::default(),
            keda: KedaConfig::default(),
            quota_headroom: savings::DEFAULT_HEADROOM,
            max_rightsizing: 100,
            max_spot: 100,
            max_quota: 100,
            max_keda: 50,
        }
    }
}

/// One container name of one workload.
#[derive(Debug, Default)]
struct ContainerEntry {
    state: ContainerUsageState,
    containers_in_pod: usize,
    cpu_request_cores: f64,
    memory_request_bytes: f64,
    /// Σ over ticks of the replicas seen, and of the rates they ran at (for averages).
    replica_ticks: f64,
    cpu_rate_sum: Fixed,
    ram_rate_sum: Fixed,
    ticks: u32,
    /// Replicas seen in the current tick.
    seen_now: u32,
}

/// One workload.
#[derive(Debug, Default)]
struct WorkloadEntry {
    idle: IdleTracker,
    labels: Labels,
    has_local_storage: bool,
    // This tick's sums over its running containers.
    usage_cores: Fixed,
    request_cores: Fixed,
    pods: Fixed,
    on_demand_cost_per_hour: Fixed,
    spot_cost_per_hour: Fixed,
    compute_cost_per_hour: Fixed,
    touched: bool,
    // Sums over ticks, for averages.
    ticks: u32,
    on_demand_cost_sum: Fixed,
    spot_cost_sum: Fixed,
    compute_cost_sum: Fixed,
    pods_sum: Fixed,
}

/// A sum of floats in fixed point (1e-12 units): unlike f64 addition it does not depend on
/// the order of the terms, and pods come in hash order. Same samples, same recommendations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Fixed(pub(super) i128);

impl Fixed {
    const SCALE: f64 = 1e12;

    fn of(x: f64) -> Self {
        if x.is_finite() {
            Fixed((x * Self::SCALE).round() as i128)
        } else {
            Fixed(0)
        }
    }

    fn value(self) -> f64 {
        self.0 as f64 / Self::SCALE
    }
}

impl std::ops::AddAssign for Fixed {
    fn add_assign(&mut self, other: Fixed) {
        self.0 += other.0;
    }
}

/// One workload's states: its own and its containers' (a handful, found by a linear scan).
#[derive(Debug)]
struct WorkloadSlot {
    key: WorkloadKey,
    entry: WorkloadEntry,
    containers: Vec<(Arc<str>, ContainerEntry)>,
}

/// Right-sizing states, idle trackers and spot costs, fed every tick.
///
/// A tick visits every running container (a million and more): the slot of a workload is
/// looked up once per tick (`tick_slots`, by the tick's workload index), its containers by a
/// scan of a few names compared by pointer first (the view shares one `Arc<str>` per name).
pub struct Recommender {
    settings: RecommenderSettings,
    slots: Vec<WorkloadSlot>,
    index: FxHashMap<WorkloadKey, usize>,
    /// The tick's workload index -> slot (`usize::MAX` until first seen this tick).
    tick_slots: Vec<usize>,
    /// Each OOM-killed container as last seen: a grown restart count is a new kill.
    ooms: HashMap<(Uid, Arc<str>), OomSeen>,
    /// Ticks begun, for forgetting the OOM records of pods no longer seen.
    tick: u64,
}

/// An OOM-killed container's restart count when last seen, its workload's slot and the tick.
#[derive(Debug, Clone, Copy)]
struct OomSeen {
    restarts: u32,
    slot: usize,
    tick: u64,
}

/// Ticks after which the OOM record of a container no longer seen is dropped: long enough
/// that a pod missing from a few samples is not counted afresh when it comes back.
const OOM_FORGET_TICKS: u64 = 120;

impl Recommender {
    pub fn new(settings: RecommenderSettings) -> Self {
        Self {
            settings,
            slots: Vec::new(),
            index: FxHashMap::default(),
            tick_slots: Vec::new(),
            ooms: HashMap::new(),
            tick: 0,
        }
    }

    /// A new tick: its workload indexes start afresh.
    pub fn begin_tick(&mut self) {
        self.tick_slots.clear();
        self.tick += 1;
    }

    fn slot_of(&mut self, keys: &WorkloadKeys, workload: usize) -> usize {
        if workload >= self.tick_slots.len() {
            self.tick_slots.resize(workload + 1, usize::MAX);
        }
        if self.tick_slots[workload] != usize::MAX {
            return self.tick_slots[workload];
        }
        let key = &keys.keys[workload];
        let slot = match self.index.get(key) {
            Some(&slot) => slot,
            None => {
                self.slots.push(WorkloadSlot {
                    key: key.clone(),
                    entry: WorkloadEntry::default(),
                    containers: Vec::new(),
                });
                self.index.insert(key.clone(), self.slots.len() - 1);
                self.slots.len() - 1
            }
        };
        self.tick_slots[workload] = slot;
        slot
    }

    pub fn strategy(&self) -> Strategy {
        self.settings.strategy
    }

    /// Containers with a usage state.
    pub fn tracked_containers(&self) -> usize {
        self.slots.iter().map(|s| s.containers.len()).sum()
    }

    /// One container of one running pod in the tick at `now`.
    pub fn observe(&mut self, keys: &WorkloadKeys, s: &ContainerSample<'_>, now: Timestamp) {
        let slot_index = self.slot_of(keys, s.workload);
        let slot = &mut self.slots[slot_index];
        let position = slot
            .containers
            .iter()
            .position(|(name, _)| Arc::ptr_eq(name, s.container) || **name == **s.container);
        let entry = match position {
            Some(i) => &mut slot.containers[i].1,
            None => {
                slot.containers
                    .push((s.container.clone(), ContainerEntry::default()));
                let last = slot.containers.len() - 1;
                &mut slot.containers[last].1
            }
        };
        if let Some(cores) = s.cpu_usage_cores {
            entry.state.add_cpu_sample(now, cores);
        }
        if let Some(bytes) = s.memory_usage_bytes {
            entry.state.add_memory_sample(now, bytes);
        }
        if let Some(restarts) = s.oom_restarts {
            let seen = self.ooms.insert(
                (s.pod_uid.clone(), s.container.clone()),
                OomSeen {
                    restarts,
                    slot: slot_index,
                    tick: self.tick,
                },
            );
            if seen.is_none_or(|before| restarts > before.restarts) {
                // An OOM older than the memory window is refused by the state (VPA
                // discards it too); nothing else to do about it.
                let _ = entry.state.record_oom(now, s.memory_request_bytes);
            }
        }
        entry.containers_in_pod = s.containers_in_pod;
        entry.cpu_request_cores = s.cpu_request_cores;
        entry.memory_request_bytes = s.memory_request_bytes;
        entry.seen_now += 1;
        entry.cpu_rate_sum += Fixed::of(s.rates.cpu_per_core_hour);
        entry.ram_rate_sum += Fixed::of(s.rates.ram_per_gib_hour);

        let w = &mut slot.entry;
        let usage = s.cpu_usage_cores.unwrap_or(0.0);
        let cpu = s.cpu_request_cores.max(usage);
        let ram_gib = s
            .memory_request_bytes
            .max(s.memory_usage_bytes.unwrap_or(0.0))
            / BYTES_PER_GIB;
        let cost = cpu * s.rates.cpu_per_core_hour + ram_gib * s.rates.ram_per_gib_hour;
        w.usage_cores += Fixed::of(usage);
        w.request_cores += Fixed::of(s.cpu_request_cores);
        w.pods += Fixed::of(1.0 / s.containers_in_pod.max(1) as f64);
        w.compute_cost_per_hour += Fixed::of(cost);
        if !s.spot_node {
            w.on_demand_cost_per_hour += Fixed::of(cost);
            w.spot_cost_per_hour += Fixed::of(
                cpu * s.spot_rates.cpu_per_core_hour + ram_gib * s.spot_rates.ram_per_gib_hour,
            );
        }
        w.has_local_storage |= s.has_empty_dir;
        if !w.touched {
            w.labels = s.labels.clone();
        }
        w.touched = true;
    }

    /// Closes the tick at `now`: per-workload sums go to the idle trackers and averages.
    pub fn end_tick(&mut self, now: Timestamp) {
        let tick = self.tick;
        self.ooms
            .retain(|_, seen| seen.tick + OOM_FORGET_TICKS > tick);
        let keda = &self.settings.keda;
        for slot in &mut self.slots {
            for (_, entry) in &mut slot.containers {
                if entry.seen_now > 0 {
                    entry.replica_ticks += f64::from(entry.seen_now);
                    entry.ticks += 1;
                    entry.seen_now = 0;
                }
            }
            let w = &mut slot.entry;
            if !w.touched {
                continue;
            }
            w.idle.observe(
                keda,
                now,
                w.usage_cores.value(),
                w.pods.value(),
                w.request_cores.value(),
            );
            w.ticks += 1;
            w.on_demand_cost_sum += w.on_demand_cost_per_hour;
            w.spot_cost_sum += w.spot_cost_per_hour;
            w.compute_cost_sum += w.compute_cost_per_hour;
            w.pods_sum += w.pods;
            w.usage_cores = Fixed::default();
            w.request_cores = Fixed::default();
            w.pods = Fixed::default();
            w.on_demand_cost_per_hour = Fixed::default();
            w.spot_cost_per_hour = Fixed::default();
            w.compute_cost_per_hour = Fixed::default();
            w.touched = false;
        }
        // Forget what is gone: states unseen for the memory window's length.
        let config = &self.settings.rightsizing.vpa;
        let before = self.slots.len();
        for slot in &mut self.slots {
            slot.containers
                .retain(|(_, e)| !e.state.is_expired(config, now));
        }
        self.slots.retain(|s| !s.containers.is_empty());
        if self.slots.len() != before {
            self.index = self
                .slots
                .iter()
                .enumerate()
                .map(|(i, s)| (s.key.clone(), i))
                .collect();
        }
    }

    /// Every container's checkpoint, of workloads `exists` says are still there (the
    /// others' are dropped: VPA's checkpoint garbage collection), in key order.
    pub fn checkpoints(&self, exists: impl Fn(&WorkloadKey) -> bool) -> Vec<ContainerCheckpoint> {
        let mut ooms: HashMap<(usize, &str), Vec<(String, u32)>> = HashMap::new();
        for ((uid, container), seen) in &self.ooms {
            ooms.entry((seen.slot, &**container))
                .or_default()
                .push((uid.to_string(), seen.restarts));
        }
        let mut all: Vec<ContainerCheckpoint> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| exists(&slot.key))
            .flat_map(|(index, slot)| {
                let ooms = &ooms;
                slot.containers
                    .iter()
                    .filter(|(_, e)| e.ticks > 0)
                    .map(move |(name, e)| {
                        let mut oom_restarts_seen =
                            ooms.get(&(index, &**name)).cloned().unwrap_or_default();
                        oom_restarts_seen.sort_unstable();
                        ContainerCheckpoint {
                            namespace: slot.key.namespace.to_string(),
                            kind: slot.key.kind.to_string(),
                            workload: slot.key.name.to_string(),
                            container: name.to_string(),
                            usage: e.state.to_checkpoint(),
                            containers_in_pod: e.containers_in_pod,
                            cpu_request_cores: e.cpu_request_cores,
                            memory_request_bytes: e.memory_request_bytes,
                            ticks: e.ticks,
                            replica_ticks: e.replica_ticks,
                            cpu_rate_sum_pico: e.cpu_rate_sum.0,
                            ram_rate_sum_pico: e.ram_rate_sum.0,
                            oom_restarts_seen,
                        }
                    })
            })
            .collect();
        all.sort_unstable_by(|a, b| {
            (&a.namespace, &a.kind, &a.workload, &a.container).cmp(&(
                &b.namespace,
                &b.kind,
                &b.workload,
                &b.container,
            ))
        });
        all
    }

    /// Puts restored containers back; a container already tracked keeps its live state.
    /// Returns how many were restored.
    pub fn restore(&mut self, restored: Vec<RestoredContainer>) -> usize {
        let mut count = 0;
        for RestoredContainer {
            checkpoint: c,
            state,
        } in restored
        {
            let key = WorkloadKey::new(&c.namespace, &c.kind, &c.workload);
            let slot = match self.index.get(&key) {
                Some(&slot) => slot,
                None => {
                    self.slots.push(WorkloadSlot {
                        key: key.clone(),
                        entry: WorkloadEntry::default(),
                        containers: Vec::new(),
                    });
                    self.index.insert(key, self.slots.len() - 1);
                    self.slots.len() - 1
                }
            };
            let slot_index = slot;
            let slot = &mut self.slots[slot_index];
            if slot
                .containers
                .iter()
                .any(|(name, _)| **name == *c.container)
            {
                continue;
            }
            let container: Arc<str> = Arc::from(c.container.as_str());
            for (uid, restarts) in &c.oom_restarts_seen {
                self.ooms
                    .entry((Uid::parse(uid), container.clone()))
                    .or_insert(OomSeen {
                        restarts: *restarts,
                        slot: slot_index,
                        tick: self.tick,
                    });
            }
            slot.containers.push((
                container,
                ContainerEntry {
                    state,
                    containers_in_pod: c.containers_in_pod,
                    cpu_request_cores: c.cpu_request_cores,
                    memory_request_bytes: c.memory_request_bytes,
                    replica_ticks: c.replica_ticks,
                    cpu_rate_sum: Fixed(c.cpu_rate_sum_pico),
                    ram_rate_sum: Fixed(c.ram_rate_sum_pico),
                    ticks: c.ticks,
                    seen_now: 0,
                },
            ));
            count += 1;
        }
        count
    }

    /// The bundle at `now`.
    pub fn bundle(
        &self,
        view: &ClusterView,
        _prices: &PriceSheet,
        now: Timestamp,
    ) -> Recommendations {
        let s = &self.settings;
        let mut counts = RecommendationCounts::default();

        // Right-sizing, and per namespace the sums a quota suggestion needs.
        let mut recommended = Vec::new();
        let mut namespaces: BTreeMap<Arc<str>, QuotaInput> = BTreeMap::new();
        // In key order: float sums and ties then come out the same on every run (a HashMap's
        // order is random).
        let mut containers: Vec<(&WorkloadKey, &Arc<str>, &ContainerEntry)> = self
            .slots
            .iter()
            .flat_map(|s| s.containers.iter().map(move |(name, e)| (&s.key, name, e)))
            .collect();
        containers.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (workload, container, e) in containers {
            if e.ticks == 0 {
                continue;
            }
            let ticks = f64::from(e.ticks);
            let replicas = e.replica_ticks / ticks;
            let input = RightsizingInput {
                namespace: workload.namespace.to_string(),
                kind: workload.kind.to_string(),
                workload: workload.name.to_string(),
                container: container.to_string(),
                replicas,
                current_cpu_request_cores: e.cpu_request_cores,
                current_memory_request_bytes: e.memory_request_bytes,
                cpu_per_core_hour: e.cpu_rate_sum.value() / e.replica_ticks.max(1.0),
                ram_per_gib_hour: e.ram_rate_sum.value() / e.replica_ticks.max(1.0),
            };
            let quota = namespaces
                .entry(workload.namespace.clone())
                .or_insert_with(|| QuotaInput {
                    namespace: workload.namespace.to_string(),
                    recommended_cpu_cores: 0.0,
                    recommended_memory_bytes: 0.0,
                    current_requests_cpu: 0.0,
                    current_requests_memory: 0.0,
                    existing: None,
                });
            quota.current_requests_cpu += e.cpu_request_cores * replicas;
            quota.current_requests_memory += e.memory_request_bytes * replicas;
            match rightsizing::rightsize(
                &input,
                &e.state,
                s.strategy,
                &s.rightsizing,
                e.containers_in_pod.max(1),
                now,
            ) {
                Ok(r) => {
                    counts.containers_recommended += 1;
                    if r.monthly_saving_dollars >= 0.0 {
                        counts.rightsizing_monthly_saving_dollars += r.monthly_saving_dollars;
                    } else {
                        counts.rightsizing_monthly_shortfall_dollars += r.monthly_saving_dollars;
                    }
                    quota.recommended_cpu_cores += r.target.cpu_cores * replicas;
                    quota.recommended_memory_bytes += r.target.memory_bytes * replicas;
                    recommended.push(r);
                }
                Err(_) => {
                    counts.containers_without_enough_data += 1;
                    // Without a recommendation the current requests stand in.
                    quota.recommended_cpu_cores += e.cpu_request_cores * replicas;
                    quota.recommended_memory_bytes += e.memory_request_bytes * replicas;
                }
            }
        }
        counts.truncated_rightsizing = recommended.len().saturating_sub(s.max_rightsizing) as u64;
        let rightsizing = rightsizing::top_recommendations(recommended, s.max_rightsizing);

        // Quotas: the namespace's existing ResourceQuota that bounds requests, if any.
        for q in view.quotas() {
            let Some(input) = namespaces.get_mut(&q.namespace) else {
                continue;
            };
            let thousandths = |v: Option<u64>| v.map(|v| v as f64 / 1000.0);
            let requests_cpu = thousandths(q.hard("requests.cpu").or(q.hard("cpu")));
            let requests_memory = thousandths(q.hard("requests.memory").or(q.hard("memory")));
            let candidate = ExistingQuota {
                name: q.name.to_string(),
                requests_cpu,
                requests_memory,
                limits_cpu: thousandths(q.hard("limits.cpu")),
                limits_memory: thousandths(q.hard("limits.memory")),
            };
            // Several quotas in one namespace: the tightest CPU cap decides.
            let tighter = match &input.existing {
                None => true,
                Some(e) => {
                    requests_cpu.unwrap_or(f64::INFINITY) < e.requests_cpu.unwrap_or(f64::INFINITY)
                }
            };
            if tighter {
                input.existing = Some(candidate);
            }
        }
        let inputs: Vec<QuotaInput> = namespaces.into_values().collect();
        let mut quota = savings::suggest_quotas(&inputs, s.quota_headroom);
        counts.truncated_quota = quota.len().saturating_sub(s.max_quota) as u64;
        quota.truncate(s.max_quota);

        // Spot candidates and KEDA hints, per workload.
        let declared = declared_workloads(view);
        let mut pdbs: HashMap<Arc<str>, Vec<PdbRecord>> = HashMap::new();
        let mut facts = Vec::new();
        let mut keda = Vec::new();
        let mut workloads: Vec<(&WorkloadKey, &WorkloadEntry)> =
            self.slots.iter().map(|s| (&s.key, &s.entry)).collect();
        workloads.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (key, w) in workloads {
            if w.ticks == 0 {
                continue;
            }
            let ticks = f64::from(w.ticks);
            let declared =
                declared.get(&(key.namespace.clone(), key.kind.clone(), key.name.clone()));
            let replicas = declared
                .map(|d| d.replicas)
                .unwrap_or_else(|| (w.pods_sum.value() / ticks).round() as i64);
            facts.push(WorkloadFacts {
                namespace: key.namespace.to_string(),
                kind: key.kind.to_string(),
                name: key.name.to_string(),
                replicas,
                has_local_storage: w.has_local_storage,
                pdb_min_available_fraction: pdb_fraction(
                    pdbs.entry(key.namespace.clone())
                        .or_insert_with(|| view.pdbs_in(&key.namespace)),
                    &w.labels,
                    replicas,
                ),
                max_unavailable_fraction: declared
                    .and_then(|d| d.max_unavailable.as_ref())
                    .and_then(|v| scaled_value(v, replicas, Round::Down).ok())
                    .filter(|_| replicas > 0)
                    .map(|n| n as f64 / replicas as f64),
                spot_ready_annotation: declared.is_some_and(|d| d.spot_ready),
                on_demand_compute_cost_per_hour: w.on_demand_cost_sum.value() / ticks,
                spot_compute_cost_per_hour_if_moved: w.spot_cost_sum.value() / ticks,
            });
            if let Some(hint) = w.idle.hint(
                &s.keda,
                &KedaWorkload {
                    namespace: key.namespace.to_string(),
                    kind: key.kind.to_string(),
                    name: key.name.to_string(),
                    compute_cost_per_hour: w.compute_cost_sum.value() / ticks,
                },
            ) {
                keda.push(hint);
            }
        }
        let mut spot = savings::spot_candidates(&facts);
        counts.spot_ready = spot.iter().filter(|c| c.ready).count() as u64;
        counts.spot_ready_monthly_saving_dollars = spot
            .iter()
            .filter(|c| c.ready)
            .map(|c| c.monthly_saving_dollars)
            .sum();
        counts.truncated_spot = spot.len().saturating_sub(s.max_spot) as u64;
        spot.truncate(s.max_spot);
        keda.sort_by(|a, b| {
            b.monthly_saving_dollars
                .total_cmp(&a.monthly_saving_dollars)
                .then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
        });
        counts.keda_monthly_saving_dollars = keda.iter().map(|k| k.monthly_saving_dollars).sum();
        counts.truncated_keda = keda.len().saturating_sub(s.max_keda) as u64;
        keda.truncate(s.max_keda);

        Recommendations {
            generated_at: now,
            strategy: s.strategy,
            rightsizing,
            spot,
            quota,
            keda,
            counts,
        }
    }
}

/// What a workload's own object declares.
struct Declared {
    replicas: i64,
    max_unavailable: Option<serde_json::Value>,
    spot_ready: bool,
}

/// (namespace, kind, name) of a workload.
type WorkloadId = (Arc<str>, Arc<str>, Arc<str>);

fn declared_workloads(view: &ClusterView) -> HashMap<WorkloadId, Declared> {
    let mut all = HashMap::new();
    for kind in [
        WorkloadKind::Deployment,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
    ] {
        for w in view.workloads(kind) {
            all.insert(
                (
                    w.namespace.clone(),
                    Arc::from(kind.as_str()),
                    w.name.clone(),
                ),
                Declared {
                    replicas: w.replicas,
                    max_unavailable: w.max_unavailable.clone(),
                    spot_ready: w.spot_ready,
                },
            );
        }
    }
    all
}

/// The strictest PodDisruptionBudget over the workload's pods as a fraction of its replicas
/// that must stay available (`minAvailable / replicas`, or `(replicas − maxUnavailable) /
/// replicas`), as Kubecost's spot checklist reads it.
fn pdb_fraction(pdbs: &[PdbRecord], labels: &Labels, replicas: i64) -> Option<f64> {
    if replicas <= 0 {
        return None;
    }
    pdbs.iter()
        .filter(|p| p.selects(labels))
        .filter_map(|p| {
            // minAvailable percentages round up, maxUnavailable ones down: the eviction
            // API's rounding (policy/v1).
            let available = match (&p.min_available, &p.max_unavailable) {
                (Some(min), _) => scaled_value(min, replicas, Round::Up).ok()?,
                (None, Some(max)) => replicas - scaled_value(max, replicas, Round::Down).ok()?,
                (None, None) => return None,
            };
            Some(available as f64 / replicas as f64)
        })
        .reduce(f64::max)
}

#[cfg(test)]
#[path = "recommend_tests.rs"]
mod tests;
