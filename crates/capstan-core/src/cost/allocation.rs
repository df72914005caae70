//! The agent's hour of cost: every sampling tick adds nodes, pods and volume claims; the
//! hour's end turns the sums into a bounded [`CostHour`].
//!
//! OpenCost's model (spec; pkg/costmodel/allocation_helpers.go):
//! - a container costs max(request, usage) for CPU and RAM, its request for GPUs, at its
//!   node's rates; running pods only (a Pending pod has no node and costs nothing);
//! - a volume costs its claim's requested capacity at the storage rate, charged to the
//!   workload of the pod mounting it, or to its namespace's `__unmounted__` row;
//! - egress costs bytes at the egress rate (internet unless known otherwise);
//! - idle = node cost − allocated, per resource, in the `__idle__` row;
//! - the management fee is shared to the non-idle rows by compute cost (Kubecost
//!   `shareTenancyCosts=true`, `shareSplit=weighted`, the defaults).
//!
//! Every cost becomes whole [`Nanodollars`] as soon as it is priced (per node and per pod
//! per tick), so the rows add up to the cluster's total exactly.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::money::{Nanodollars, apportion};
use super::prices::{EgressKind, NodeRates, PriceSheet};
use super::report::{
    CostHour, CostParts, CostRow, IDLE, NodeCostSummary, ReportLimits, UNMOUNTED, fold_namespaces,
    fold_workloads,
};

const BYTES_PER_GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What the hour is priced with besides the nodes' own rates.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterCostContext {
    pub provider: String,
    pub region: String,
    /// USD per cluster-hour, usually [`PriceSheet::management_per_cluster_hour`].
    pub management_per_hour: f64,
}

/// A workload: its namespace, controller kind (`Deployment`, `StatefulSet`, `DaemonSet`,
/// `Job`, `CronJob`, or `Pod` for a bare pod) and name. Shared `Arc<str>`s so that a tick
/// over a million pods allocates nothing per pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "WorkloadKeyWire", from = "WorkloadKeyWire")]
pub struct WorkloadKey {
    pub namespace: Arc<str>,
    pub kind: Arc<str>,
    pub name: Arc<str>,
}

impl WorkloadKey {
    pub fn new(namespace: &str, kind: &str, name: &str) -> WorkloadKey {
        WorkloadKey {
            namespace: namespace.into(),
            kind: kind.into(),
            name: name.into(),
        }
    }
}

/// serde without its `rc` feature.
#[derive(Serialize, Deserialize)]
struct WorkloadKeyWire {
    namespace: String,
    kind: String,
    name: String,
}

impl From<WorkloadKey> for WorkloadKeyWire {
    fn from(k: WorkloadKey) -> Self {
        WorkloadKeyWire {
            namespace: k.namespace.to_string(),
            kind: k.kind.to_string(),
            name: k.name.to_string(),
        }
    }
}

impl From<WorkloadKeyWire> for WorkloadKey {
    fn from(k: WorkloadKeyWire) -> Self {
        WorkloadKey::new(&k.namespace, &k.kind, &k.name)
    }
}

/// A node in one tick: its rates ([`PriceSheet::node_rates`]) and capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeTick<'a> {
    pub name: &'a str,
    pub rates: NodeRates,
    pub cpu_cores: f64,
    pub memory_bytes: f64,
    pub gpus: f64,
    pub spot: bool,
}

/// A container in one tick. Usage `None` (no metric yet) counts as 0, so the request is
/// charged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContainerTick<'a> {
    pub name: &'a str,
    pub cpu_request_cores: f64,
    pub cpu_usage_cores: Option<f64>,
    pub memory_request_bytes: f64,
    pub memory_usage_bytes: Option<f64>,
    pub gpu_request: f64,
}

/// A pod in one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodTick<'a> {
    pub workload: &'a WorkloadKey,
    /// Index into the tick's nodes; `None` (Pending) costs nothing.
    pub node: Option<usize>,
    pub containers: &'a [ContainerTick<'a>],
    /// Bytes sent during this tick, if measured.
    pub egress_bytes: Option<f64>,
}

/// A PersistentVolumeClaim in one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaimTick<'a> {
    pub namespace: &'a str,
    pub claim: &'a str,
    /// The claim's requested capacity.
    pub bytes: f64,
    pub storage_class: Option<&'a str>,
    /// The workload of a running pod mounting the claim.
    pub mounted_by: Option<&'a WorkloadKey>,
}

/// A quantity in units of 1e-12: sums of these do not depend on the order of the terms.
fn fixed(x: f64) -> i128 {
    if x.is_finite() {
        (x * 1e12).round() as i128
    } else {
        0
    }
}

fn unfixed(x: i128) -> f64 {
    x as f64 / 1e12
}

#[derive(Debug, Clone, Copy, Default)]
struct RowSums {
    cpu: i64,
    ram: i64,
    gpu: i64,
    storage: i64,
    network: i64,
    // Quantities in fixed point ([`fixed`]): the agent hands pods over in hash order, and a
    // float sum would differ in its last bits from run to run.
    cpu_request_core_hours: i128,
    cpu_usage_core_hours: i128,
    ram_request_gib_hours: i128,
    ram_usage_gib_hours: i128,
    pod_hours: i128,
}

impl RowSums {
    fn into_row(self, namespace: &str, kind: &str, name: &str) -> CostRow {
        CostRow {
            namespace: namespace.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            parts: CostParts {
                cpu: Nanodollars(self.cpu),
                ram: Nanodollars(self.ram),
                gpu: Nanodollars(self.gpu),
                storage: Nanodollars(self.storage),
                network: Nanodollars(self.network),
                management: Nanodollars::ZERO,
            },
            cpu_request_core_hours: unfixed(self.cpu_request_core_hours),
            cpu_usage_core_hours: unfixed(self.cpu_usage_core_hours),
            ram_request_gib_hours: unfixed(self.ram_request_gib_hours),
            ram_usage_gib_hours: unfixed(self.ram_usage_gib_hours),
            pod_hours: unfixed(self.pod_hours),
        }
    }
}

/// A node's prices for one tick: USD per core, per byte and per GPU over the tick.
#[derive(Debug, Clone, Copy)]
struct TickRates {
    cpu_per_core: f64,
    ram_per_byte: f64,
    gpu_per_gpu: f64,
}

/// One cluster's costs over one hour, fed tick by tick.
#[derive(Debug, Clone)]
pub struct HourAccumulator {
    ctx: ClusterCostContext,
    hour_start: jiff::Timestamp,
    hours_sampled: f64,
    ticks: u32,
    index: FxHashMap<WorkloadKey, usize>,
    rows: Vec<(WorkloadKey, RowSums)>,
    unmounted: FxHashMap<String, RowSums>,
    node_cpu: i64,
    node_ram: i64,
    node_gpu: i64,
    nodes: NodeCostSummary,
    network_measured: bool,
    containers_without_usage: u64,
    tick_rates: Vec<TickRates>,
}

impl HourAccumulator {
    pub fn new(ctx: ClusterCostContext, hour_start: jiff::Timestamp) -> Self {
        HourAccumulator {
            ctx,
            hour_start,
            hours_sampled: 0.0,
            ticks: 0,
            index: FxHashMap::default(),
            rows: Vec::new(),
            unmounted: FxHashMap::default(),
            node_cpu: 0,
            node_ram: 0,
            node_gpu: 0,
            nodes: NodeCostSummary::default(),
            network_measured: false,
            containers_without_usage: 0,
            tick_rates: Vec::new(),
        }
    }

    pub fn hour_start(&self) -> jiff::Timestamp {
        self.hour_start
    }

    pub fn context(&self) -> &ClusterCostContext {
        &self.ctx
    }

    /// The sum of the ticks' lengths so far.
    pub fn hours_sampled(&self) -> f64 {
        self.hours_sampled
    }

    fn row_index(&mut self, key: &WorkloadKey) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.rows.len();
        self.rows.push((key.clone(), RowSums::default()));
        self.index.insert(key.clone(), i);
        i
    }

    /// One sampling tick covering `hours` (e.g. 1/60) of the hour: the nodes' cost, each
    /// running pod's containers and egress, each claim's capacity. A tick with a
    /// non-positive or non-finite length is ignored.
    pub fn add_tick(
        &mut self,
        prices: &PriceSheet,
        hours: f64,
        nodes: &[NodeTick<'_>],
        pods: &[PodTick<'_>],
        claims: &[ClaimTick<'_>],
    ) {
        if !(hours.is_finite() && hours > 0.0) {
            return;
        }
        self.hours_sampled += hours;
        self.ticks += 1;
        self.nodes.max_nodes = self
            .nodes
            .max_nodes
            .max(u32::try_from(nodes.len()).unwrap_or(u32::MAX));

        self.tick_rates.clear();
        for node in nodes {
            let r = TickRates {
                cpu_per_core: node.rates.cpu_per_core_hour * hours,
                ram_per_byte: node.rates.ram_per_gib_hour / BYTES_PER_GIB * hours,
                gpu_per_gpu: node.rates.gpu_per_hour * hours,
            };
            self.tick_rates.push(r);
            let cpu = Nanodollars::from_dollars(r.cpu_per_core * node.cpu_cores).0;
            let ram = Nanodollars::from_dollars(r.ram_per_byte * node.memory_bytes).0;
            let gpu = Nanodollars::from_dollars(r.gpu_per_gpu * node.gpus).0;
            self.node_cpu += cpu;
            self.node_ram += ram;
            self.node_gpu += gpu;
            if node.spot {
                self.nodes.spot_node_hours += hours;
                self.nodes.spot_cost += Nanodollars(cpu + ram + gpu);
            } else {
                self.nodes.on_demand_node_hours += hours;
                self.nodes.on_demand_cost += Nanodollars(cpu + ram + gpu);
            }
        }

        let egress_per_byte =
            prices.egress_per_gib(&self.ctx.provider, &self.ctx.region, EgressKind::Internet)
                / BYTES_PER_GIB;
        // Pods of one workload usually come together: skip the hash when the caller passes
        // the same key again. Addresses are only compared within this call, while every
        // borrowed key is alive.
        let mut last: Option<(usize, usize)> = None;
        for pod in pods {
            let Some(rates) = pod.node.and_then(|i| self.tick_rates.get(i)).copied() else {
                continue;
            };
            let address = std::ptr::from_ref(pod.workload) as usize;
            let row = match last {
                Some((a, row)) if a == address => row,
                _ => {
                    let row = self.row_index(pod.workload);
                    last = Some((address, row));
                    row
                }
            };
            let mut cpu_cores = 0.0;
            let mut ram_bytes = 0.0;
            let mut gpus = 0.0;
            let mut cpu_request = 0.0;
            let mut cpu_usage = 0.0;
            let mut ram_request = 0.0;
            let mut ram_usage = 0.0;
            for c in pod.containers {
                if c.cpu_usage_cores.is_none() || c.memory_usage_bytes.is_none() {
                    self.containers_without_usage += 1;
                }
                let cpu_used = c.cpu_usage_cores.unwrap_or(0.0);
                let ram_used = c.memory_usage_bytes.unwrap_or(0.0);
                cpu_cores += c.cpu_request_cores.max(cpu_used);
                ram_bytes += c.memory_request_bytes.max(ram_used);
                gpus += c.gpu_request;
                cpu_request += c.cpu_request_cores;
                cpu_usage += cpu_used;
                ram_request += c.memory_request_bytes;
                ram_usage += ram_used;
            }
            let sums = &mut self.rows[row].1;
            sums.cpu += Nanodollars::from_dollars(cpu_cores * rates.cpu_per_core).0;
            sums.ram += Nanodollars::from_dollars(ram_bytes * rates.ram_per_byte).0;
            sums.gpu += Nanodollars::from_dollars(gpus * rates.gpu_per_gpu).0;
            sums.cpu_request_core_hours += fixed(cpu_request * hours);
            sums.cpu_usage_core_hours += fixed(cpu_usage * hours);
            sums.ram_request_gib_hours += fixed(ram_request / BYTES_PER_GIB * hours);
            sums.ram_usage_gib_hours += fixed(ram_usage / BYTES_PER_GIB * hours);
            sums.pod_hours += fixed(hours);
            if let Some(bytes) = pod.egress_bytes {
                self.network_measured = true;
                sums.network += Nanodollars::from_dollars(bytes * egress_per_byte).0;
            }
        }

        let mut class_rates: FxHashMap<Option<&str>, f64> = FxHashMap::default();
        for claim in claims {
            let per_gib_hour = *class_rates.entry(claim.storage_class).or_insert_with(|| {
                prices.storage_per_gib_hour(
                    &self.ctx.provider,
                    &self.ctx.region,
                    claim.storage_class,
                )
            });
            let cost =
                Nanodollars::from_dollars(claim.bytes / BYTES_PER_GIB * per_gib_hour * hours).0;
            match claim.mounted_by {
                Some(workload) => {
                    let row = self.row_index(workload);
                    self.rows[row].1.storage += cost;
                }
                None => {
                    let sums = match self.unmounted.get_mut(claim.namespace) {
                        Some(sums) => sums,
                        None => self
                            .unmounted
                            .entry(claim.namespace.to_string())
                            .or_default(),
                    };
                    sums.storage += cost;
                }
            }
        }
    }

    /// The hour: rows per workload (plus `__unmounted__` per namespace and `__idle__`),
    /// rows per namespace, the management fee shared, both lists folded to `limits`.
    pub fn finish(self, limits: &ReportLimits) -> CostHour {
        let mut workloads: Vec<CostRow> =
            Vec::with_capacity(self.rows.len() + self.unmounted.len() + 1);
        let (mut cpu, mut ram, mut gpu) = (0_i64, 0_i64, 0_i64);
        for (key, sums) in &self.rows {
            cpu += sums.cpu;
            ram += sums.ram;
            gpu += sums.gpu;
            workloads.push(sums.into_row(&key.namespace, &key.kind, &key.name));
        }
        for (namespace, sums) in &self.unmounted {
            workloads.push(sums.into_row(namespace, "", UNMOUNTED));
        }
        // Rows in key order, whatever order the pods came in: the fee's remainders and the
        // namespaces' float sums then come out the same on every run.
        workloads.sort_unstable_by(|a, b| {
            (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name))
        });

        let management =
            Nanodollars::from_dollars(self.ctx.management_per_hour * self.hours_sampled);
        let weights: Vec<f64> = workloads
            .iter()
            .map(|r| r.parts.compute().0 as f64)
            .collect();
        let shares = apportion(management, &weights);
        for (row, share) in workloads.iter_mut().zip(&shares) {
            row.parts.management = share.to_owned();
        }

        // Idle is exact, not clamped: negative when allocations exceed the nodes (usage
        // above capacity, or requests on nodes missing from the tick), as OpenCost's
        // `Cluster Idle Cost = Cluster Asset Costs − Workload Costs`.
        let mut idle = CostRow::new(IDLE, "", IDLE);
        idle.parts.cpu = Nanodollars(self.node_cpu - cpu);
        idle.parts.ram = Nanodollars(self.node_ram - ram);
        idle.parts.gpu = Nanodollars(self.node_gpu - gpu);
        if workloads.is_empty() {
            // Nobody to share the fee with: it stays visible on the idle row.
            idle.parts.management = management;
        }
        let idle_parts = idle.parts;
        workloads.push(idle);

        let mut by_namespace: FxHashMap<&str, CostRow> = FxHashMap::default();
        for row in &workloads {
            by_namespace
                .entry(row.namespace.as_str())
                .or_insert_with(|| {
                    let name = if row.is_idle() { IDLE } else { "" };
                    CostRow::new(&row.namespace, "", name)
                })
                .absorb(row);
        }
        let mut namespaces: Vec<CostRow> = by_namespace.into_values().collect();
        let mut total = CostParts::default();
        for row in &namespaces {
            total += row.parts;
        }
        let (kept, truncated_namespaces) = fold_namespaces(&mut namespaces, limits);
        let truncated_workloads = fold_workloads(&mut workloads, &kept, limits);

        let end = self
            .hour_start
            .checked_add(jiff::SignedDuration::from_hours(1))
            .unwrap_or(self.hour_start);
        CostHour {
            start: self.hour_start,
            end,
            hours_sampled: self.hours_sampled,
            ticks: self.ticks,
            network_measured: self.network_measured,
            total,
            idle: idle_parts,
            nodes: self.nodes,
            namespaces,
            workloads,
            truncated_workloads,
            truncated_namespaces,
            containers_without_usage: self.containers_without_usage,
        }
    }
}
