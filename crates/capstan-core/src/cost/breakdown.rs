//! The fleet's cost grouped by cluster, namespace or workload, and its shares beside the
//! typical ranges.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::money::{Nanodollars, cents_summing_to_total};
use super::report::{CostParts, CostPeriod, CostRow, OTHER, efficiency};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupBy {
    Cluster,
    Namespace,
    Workload,
}

/// One line of a breakdown. Namespace and workload lines keep their cluster (namespaces
/// are per cluster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownRow {
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    /// The workload's kind (empty for namespace and cluster lines, and special rows).
    pub kind: String,
    /// The workload's name, `__idle__`/`__unmounted__`/`__other__`, or empty.
    pub name: String,
    pub parts: CostParts,
    pub total: Nanodollars,
    pub cpu_efficiency: f64,
    pub ram_efficiency: f64,
    pub cpu_request_core_hours: f64,
    pub cpu_usage_core_hours: f64,
    pub ram_request_gib_hours: f64,
    pub ram_usage_gib_hours: f64,
}

impl BreakdownRow {
    fn from_row(cluster: Option<&str>, namespace: Option<&str>, row: &CostRow) -> BreakdownRow {
        BreakdownRow {
            cluster: cluster.map(str::to_string),
            namespace: namespace.map(str::to_string),
            kind: row.kind.clone(),
            name: row.name.clone(),
            parts: row.parts,
            total: row.total(),
            cpu_efficiency: row.cpu_efficiency(),
            ram_efficiency: row.ram_efficiency(),
            cpu_request_core_hours: row.cpu_request_core_hours,
            cpu_usage_core_hours: row.cpu_usage_core_hours,
            ram_request_gib_hours: row.ram_request_gib_hours,
            ram_usage_gib_hours: row.ram_usage_gib_hours,
        }
    }

    fn absorb(&mut self, other: &BreakdownRow) {
        self.parts += other.parts;
        self.total = self.parts.total();
        self.cpu_request_core_hours += other.cpu_request_core_hours;
        self.cpu_usage_core_hours += other.cpu_usage_core_hours;
        self.ram_request_gib_hours += other.ram_request_gib_hours;
        self.ram_usage_gib_hours += other.ram_usage_gib_hours;
        self.cpu_efficiency = efficiency(self.cpu_usage_core_hours, self.cpu_request_core_hours);
        self.ram_efficiency = efficiency(self.ram_usage_gib_hours, self.ram_request_gib_hours);
    }
}

/// Rows sorted by total, descending; `total` is their sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Breakdown {
    pub by: GroupBy,
    pub rows: Vec<BreakdownRow>,
    pub total: CostParts,
}

impl Breakdown {
    /// Keeps the first `max_rows` rows and folds the rest into one `__other__` row (kept
    /// last), so the sum still equals the total.
    pub fn truncate(&mut self, max_rows: usize) {
        if self.rows.len() <= max_rows {
            return;
        }
        let rest = self.rows.split_off(max_rows);
        let mut other = BreakdownRow::from_row(None, None, &CostRow::new("", "", OTHER));
        for row in &rest {
            other.absorb(row);
        }
        self.rows.push(other);
    }

    /// Each row's total in cents, summing to [`Breakdown::total_cents`].
    pub fn row_cents(&self) -> Vec<i64> {
        let totals: Vec<Nanodollars> = self.rows.iter().map(|r| r.total).collect();
        cents_summing_to_total(&totals)
    }

    /// One column in cents (e.g. `|r| r.parts.storage`), summing to the column's total
    /// rounded. Each column adds up on its own; a row's columns may differ from its total
    /// cents by rounding.
    pub fn column_cents(&self, column: impl Fn(&BreakdownRow) -> Nanodollars) -> Vec<i64> {
        let values: Vec<Nanodollars> = self.rows.iter().map(column).collect();
        cents_summing_to_total(&values)
    }

    pub fn total_cents(&self) -> i64 {
        self.total.total().cents()
    }
}

/// Groups clusters' periods. Cluster lines carry each cluster's total; namespace and
/// workload lines are per cluster (the same namespace in two clusters is two lines), each
/// period's rows summed by key.
pub fn breakdown<'a>(
    inputs: impl IntoIterator<Item = (&'a str, &'a CostPeriod)>,
    by: GroupBy,
) -> Breakdown {
    let mut total = CostParts::default();
    let mut index: FxHashMap<(String, String, String, String), usize> = FxHashMap::default();
    let mut rows: Vec<BreakdownRow> = Vec::new();
    let mut add = |key: (String, String, String, String), row: BreakdownRow| match index.get(&key) {
        Some(&i) => rows[i].absorb(&row),
        None => {
            index.insert(key, rows.len());
            rows.push(row);
        }
    };
    for (cluster, period) in inputs {
        total += period.total;
        match by {
            GroupBy::Cluster => {
                let mut row = CostRow::new("", "", "");
                for ns in &period.namespaces {
                    row.absorb(ns);
                }
                // The cluster's total is authoritative; the namespace rows sum to it.
                row.parts = period.total;
                add(
                    (
                        cluster.to_string(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ),
                    BreakdownRow::from_row(Some(cluster), None, &row),
                );
            }
            GroupBy::Namespace => {
                for ns in &period.namespaces {
                    add(
                        (
                            cluster.to_string(),
                            ns.namespace.clone(),
                            String::new(),
                            ns.name.clone(),
                        ),
                        BreakdownRow::from_row(Some(cluster), Some(&ns.namespace), ns),
                    );
                }
            }
            GroupBy::Workload => {
                for w in &period.workloads {
                    add(
                        (
                            cluster.to_string(),
                            w.namespace.clone(),
                            w.kind.clone(),
                            w.name.clone(),
                        ),
                        BreakdownRow::from_row(Some(cluster), Some(&w.namespace), w),
                    );
                }
            }
        }
    }
    rows.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| a.cluster.cmp(&b.cluster))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.name.cmp(&b.name))
    });
    Breakdown { by, rows, total }
}

/// The cost categories of the typical split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CostCategory {
    Compute,
    Storage,
    Network,
    Management,
}

impl CostCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            CostCategory::Compute => "compute",
            CostCategory::Storage => "storage",
            CostCategory::Network => "network",
            CostCategory::Management => "management",
        }
    }
}

/// A cluster's typical cost split (issue 6): compute 65-75%, storage 15-20%, network
/// 5-10%, management 5-10%.
pub struct TypicalShares;

impl TypicalShares {
    pub const COMPUTE: (f64, f64) = (0.65, 0.75);
    pub const STORAGE: (f64, f64) = (0.15, 0.20);
    pub const NETWORK: (f64, f64) = (0.05, 0.10);
    pub const MANAGEMENT: (f64, f64) = (0.05, 0.10);
}

/// One category's share of the total beside its typical range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareLine {
    pub category: CostCategory,
    pub amount: Nanodollars,
    /// Of the total, 0 to 1 (0 when the total is 0).
    pub share: f64,
    pub typical_low: f64,
    pub typical_high: f64,
    pub within: bool,
}

/// Compute (cpu+ram+gpu, idle included), storage, network, management.
pub fn shares(total: &CostParts) -> Vec<ShareLine> {
    let sum = total.total();
    [
        (
            CostCategory::Compute,
            total.compute(),
            TypicalShares::COMPUTE,
        ),
        (CostCategory::Storage, total.storage, TypicalShares::STORAGE),
        (CostCategory::Network, total.network, TypicalShares::NETWORK),
        (
            CostCategory::Management,
            total.management,
            TypicalShares::MANAGEMENT,
        ),
    ]
    .into_iter()
    .map(|(category, amount, (low, high))| {
        let share = if sum.0 == 0 {
            0.0
        } else {
            amount.0 as f64 / sum.0 as f64
        };
        ShareLine {
            category,
            amount,
            share,
            typical_low: low,
            typical_high: high,
            within: (low..=high).contains(&share),
        }
    })
    .collect()
}
