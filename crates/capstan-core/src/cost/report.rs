//! The cost wire types: what an agent sends for each hour and the hub stores and merges.
//!
//! Invariant: a period's `total` equals the sum of its `namespaces` rows (the `__idle__` row
//! included) and the sum of its `workloads` rows (folded rows included), to the nanodollar.
//! Bounded: past [`ReportLimits`], rows fold into `__other__` rows that keep the sums.

use std::ops::AddAssign;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::money::Nanodollars;

/// OpenCost's name for unallocated node capacity (core/pkg/opencost/allocation.go
/// `IdleSuffix`).
pub const IDLE: &str = "__idle__";
/// Kubecost's name for volumes no pod mounts.
pub const UNMOUNTED: &str = "__unmounted__";
/// The row that stands for the rows beyond a report's limits.
pub const OTHER: &str = "__other__";

/// A cost split by what it pays for. Compute is `cpu + ram + gpu`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostParts {
    pub cpu: Nanodollars,
    pub ram: Nanodollars,
    pub gpu: Nanodollars,
    pub storage: Nanodollars,
    pub network: Nanodollars,
    pub management: Nanodollars,
}

impl CostParts {
    pub fn compute(&self) -> Nanodollars {
        self.cpu + self.ram + self.gpu
    }

    pub fn total(&self) -> Nanodollars {
        self.compute() + self.storage + self.network + self.management
    }
}

impl AddAssign for CostParts {
    fn add_assign(&mut self, rhs: CostParts) {
        self.cpu += rhs.cpu;
        self.ram += rhs.ram;
        self.gpu += rhs.gpu;
        self.storage += rhs.storage;
        self.network += rhs.network;
        self.management += rhs.management;
    }
}

/// One namespace's or one workload's cost over a period, with the resource-hours behind it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostRow {
    pub namespace: String,
    /// The controller kind (`Deployment`, `StatefulSet`, ...); empty for a namespace row and
    /// for the `__idle__`, `__unmounted__` and `__other__` rows.
    pub kind: String,
    /// The workload's name, or `__idle__`/`__unmounted__`/`__other__`; empty for a namespace
    /// row.
    pub name: String,
    pub parts: CostParts,
    pub cpu_request_core_hours: f64,
    pub cpu_usage_core_hours: f64,
    pub ram_request_gib_hours: f64,
    pub ram_usage_gib_hours: f64,
    pub pod_hours: f64,
}

impl CostRow {
    pub fn new(namespace: &str, kind: &str, name: &str) -> CostRow {
        CostRow {
            namespace: namespace.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            ..CostRow::default()
        }
    }

    pub fn total(&self) -> Nanodollars {
        self.parts.total()
    }

    pub fn is_idle(&self) -> bool {
        self.name == IDLE
    }

    /// Usage ÷ request, as OpenCost's `CPUEfficiency` (core/pkg/opencost/allocation.go): no
    /// request but some usage is 1.0, no usage is 0.
    pub fn cpu_efficiency(&self) -> f64 {
        efficiency(self.cpu_usage_core_hours, self.cpu_request_core_hours)
    }

    /// Usage ÷ request for memory, as OpenCost's `RAMEfficiency`.
    pub fn ram_efficiency(&self) -> f64 {
        efficiency(self.ram_usage_gib_hours, self.ram_request_gib_hours)
    }

    /// Adds `other`'s cost and resource-hours (not its key).
    pub fn absorb(&mut self, other: &CostRow) {
        self.parts += other.parts;
        self.cpu_request_core_hours += other.cpu_request_core_hours;
        self.cpu_usage_core_hours += other.cpu_usage_core_hours;
        self.ram_request_gib_hours += other.ram_request_gib_hours;
        self.ram_usage_gib_hours += other.ram_usage_gib_hours;
        self.pod_hours += other.pod_hours;
    }

    fn key(&self) -> (String, String, String) {
        (self.namespace.clone(), self.kind.clone(), self.name.clone())
    }
}

/// OpenCost: `usage / request`; request 0 and usage > 0 → 1.0; usage 0 → 0.
pub fn efficiency(usage: f64, request: f64) -> f64 {
    if usage <= 0.0 {
        0.0
    } else if request <= 0.0 {
        1.0
    } else {
        usage / request
    }
}

/// The cluster's nodes over the period, spot apart from on-demand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeCostSummary {
    pub spot_node_hours: f64,
    pub on_demand_node_hours: f64,
    pub spot_cost: Nanodollars,
    pub on_demand_cost: Nanodollars,
    /// The most nodes seen in one sampling tick.
    pub max_nodes: u32,
}

impl NodeCostSummary {
    fn absorb(&mut self, other: &NodeCostSummary) {
        self.spot_node_hours += other.spot_node_hours;
        self.on_demand_node_hours += other.on_demand_node_hours;
        self.spot_cost += other.spot_cost;
        self.on_demand_cost += other.on_demand_cost;
        self.max_nodes = self.max_nodes.max(other.max_nodes);
    }
}

/// How many rows a report keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportLimits {
    pub max_namespaces: usize,
    pub max_workloads: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        ReportLimits {
            max_namespaces: 500,
            max_workloads: 200,
        }
    }
}

/// One cluster's cost over a period (an hour from an agent, or merged hours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostPeriod {
    pub start: jiff::Timestamp,
    pub end: jiff::Timestamp,
    /// The sum of the sampling ticks' lengths; less than `end - start` when ticks were
    /// missed.
    pub hours_sampled: f64,
    pub ticks: u32,
    /// Whether any egress was measured; without it network cost is 0 for lack of data.
    pub network_measured: bool,
    pub total: CostParts,
    /// Node cost not allocated to workloads (cpu/ram/gpu only); may be negative when
    /// allocations exceed capacity.
    pub idle: CostParts,
    pub nodes: NodeCostSummary,
    /// Sorted by total cost, descending; includes the `__idle__` row.
    pub namespaces: Vec<CostRow>,
    /// Sorted by total cost, descending; includes `__idle__`, `__unmounted__` and `__other__`.
    pub workloads: Vec<CostRow>,
    /// Workload rows folded into `__other__` rows (after a merge, a lower bound).
    pub truncated_workloads: u64,
    /// Namespaces folded into the `__other__` namespace (after a merge, a lower bound).
    pub truncated_namespaces: u64,
    /// Container samples without a usage metric, charged at their request.
    pub containers_without_usage: u64,
}

impl CostPeriod {
    /// A period with no cost yet.
    pub fn empty(start: jiff::Timestamp, end: jiff::Timestamp) -> CostPeriod {
        CostPeriod {
            start,
            end,
            hours_sampled: 0.0,
            ticks: 0,
            network_measured: false,
            total: CostParts::default(),
            idle: CostParts::default(),
            nodes: NodeCostSummary::default(),
            namespaces: Vec::new(),
            workloads: Vec::new(),
            truncated_workloads: 0,
            truncated_namespaces: 0,
            containers_without_usage: 0,
        }
    }

    /// The window's length in hours (`end - start`).
    pub fn window_hours(&self) -> f64 {
        self.end.duration_since(self.start).as_secs_f64() / 3600.0
    }
}

/// An agent's hour is a period of one hour.
pub type CostHour = CostPeriod;

fn by_total_desc(a: &CostRow, b: &CostRow) -> std::cmp::Ordering {
    b.total()
        .cmp(&a.total())
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.name.cmp(&b.name))
}

/// Sorts namespace rows and folds those beyond `limits.max_namespaces` (the `__idle__` row
/// never folds) into one `__other__` namespace row. Returns the namespaces kept (by name)
/// and how many folded.
pub(super) fn fold_namespaces(
    rows: &mut Vec<CostRow>,
    limits: &ReportLimits,
) -> (rustc_hash::FxHashSet<String>, u64) {
    rows.sort_by(by_total_desc);
    let mut kept = Vec::with_capacity(rows.len().min(limits.max_namespaces + 2));
    let mut other: Option<CostRow> = None;
    let mut folded = 0;
    let mut named = 0;
    for row in rows.drain(..) {
        if row.is_idle() || (row.namespace != OTHER && named < limits.max_namespaces) {
            if !row.is_idle() {
                named += 1;
            }
            kept.push(row);
        } else {
            if row.namespace != OTHER {
                folded += 1;
            }
            other
                .get_or_insert_with(|| CostRow::new(OTHER, "", ""))
                .absorb(&row);
        }
    }
    let names = kept.iter().map(|r| r.namespace.clone()).collect();
    kept.extend(other);
    kept.sort_by(by_total_desc);
    *rows = kept;
    (names, folded)
}

/// Sorts workload rows and folds those beyond `limits.max_workloads` into one `__other__`
/// row per namespace (per `__other__` namespace when the namespace itself was folded).
/// `__idle__` never folds; rows already named `__other__` fold again. Returns how many
/// workload rows folded.
pub(super) fn fold_workloads(
    rows: &mut Vec<CostRow>,
    kept_namespaces: &rustc_hash::FxHashSet<String>,
    limits: &ReportLimits,
) -> u64 {
    rows.sort_by(by_total_desc);
    let mut kept = Vec::with_capacity(rows.len().min(limits.max_workloads + 1));
    let mut others: FxHashMap<String, CostRow> = FxHashMap::default();
    let mut folded = 0;
    let mut named = 0;
    for row in rows.drain(..) {
        let is_other = row.name == OTHER;
        if row.is_idle() || (!is_other && named < limits.max_workloads) {
            if !row.is_idle() {
                named += 1;
            }
            kept.push(row);
            continue;
        }
        if !is_other {
            folded += 1;
        }
        let namespace = if kept_namespaces.contains(&row.namespace) {
            row.namespace.clone()
        } else {
            OTHER.to_string()
        };
        others
            .entry(namespace.clone())
            .or_insert_with(|| CostRow::new(&namespace, "", OTHER))
            .absorb(&row);
    }
    kept.extend(others.into_values());
    kept.sort_by(by_total_desc);
    *rows = kept;
    folded
}

/// Sums periods of one cluster (the hub's day rollups and windows): totals, nodes and rows
/// by key, then folds again to `limits`. The result spans the earliest start to the latest
/// end. `None` for no periods.
pub fn merge(periods: &[&CostPeriod], limits: &ReportLimits) -> Option<CostPeriod> {
    let first = periods.first()?;
    let mut out = CostPeriod::empty(first.start, first.end);
    let mut namespaces: FxHashMap<(String, String, String), CostRow> = FxHashMap::default();
    let mut workloads: FxHashMap<(String, String, String), CostRow> = FxHashMap::default();
    for p in periods {
        out.start = out.start.min(p.start);
        out.end = out.end.max(p.end);
        out.hours_sampled += p.hours_sampled;
        out.ticks += p.ticks;
        out.network_measured |= p.network_measured;
        out.total += p.total;
        out.idle += p.idle;
        out.nodes.absorb(&p.nodes);
        // Which rows an hour folded is gone, so a merged count is a lower bound: the most
        // any input folded, plus what this merge folds.
        out.truncated_workloads = out.truncated_workloads.max(p.truncated_workloads);
        out.truncated_namespaces = out.truncated_namespaces.max(p.truncated_namespaces);
        out.containers_without_usage += p.containers_without_usage;
        for (rows, into) in [
            (&p.namespaces, &mut namespaces),
            (&p.workloads, &mut workloads),
        ] {
            for row in rows {
                into.entry(row.key())
                    .or_insert_with(|| CostRow::new(&row.namespace, &row.kind, &row.name))
                    .absorb(row);
            }
        }
    }
    out.namespaces = namespaces.into_values().collect();
    out.workloads = workloads.into_values().collect();
    let (kept, folded_ns) = fold_namespaces(&mut out.namespaces, limits);
    out.truncated_namespaces += folded_ns;
    out.truncated_workloads += fold_workloads(&mut out.workloads, &kept, limits);
    Some(out)
}
