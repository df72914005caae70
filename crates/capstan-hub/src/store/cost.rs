//! What the store keeps of cost (issue 6): the agents' hours, their daily rollups and each
//! cluster's latest recommendation bundle.
//!
//! Amounts are [`Nanodollars`] end to end, so that sums over hours, days and clusters are
//! exact; rounding to cents happens only when a report is printed.

use capstan_core::cost::{CostParts, Nanodollars, efficiency};
use jiff::Timestamp;
use serde_json::Value;

/// How much of the stored rows a read decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CostDetail {
    /// Totals only: the periods come back with no rows.
    Totals,
    /// The namespace rows (not the workload rows).
    Namespaces,
    /// The workload rows (not the namespace rows).
    Workloads,
}

/// One cluster's cost over a window, summed by the database from the totals columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterCostTotals {
    pub cluster: String,
    pub total: CostParts,
    pub idle: CostParts,
    /// How many stored hours (or days) the sums cover.
    pub periods: u64,
    pub hours_sampled: f64,
    pub network_measured: bool,
    pub cpu_request_core_hours: f64,
    pub cpu_usage_core_hours: f64,
    pub ram_request_gib_hours: f64,
    pub ram_usage_gib_hours: f64,
    pub pod_hours: f64,
}

impl ClusterCostTotals {
    pub fn amount(&self) -> Nanodollars {
        self.total.total()
    }

    pub fn cpu_efficiency(&self) -> f64 {
        efficiency(self.cpu_usage_core_hours, self.cpu_request_core_hours)
    }

    pub fn ram_efficiency(&self) -> f64 {
        efficiency(self.ram_usage_gib_hours, self.ram_request_gib_hours)
    }
}

/// What one upload changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CostWriteOutcome {
    /// Hours inserted or replaced.
    pub stored: usize,
    /// Hours already stored whose rows were dropped past the hourly retention: their day
    /// rollup cannot be recomputed without them, so the stored hour stays (a retried upload
    /// carries the same numbers).
    pub kept: usize,
    /// Days whose rollup was written.
    pub days: usize,
}

/// A cluster's latest recommendation bundle, opaque to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct CostRecommendationsRecord {
    pub cluster: String,
    /// The bundle's `generatedAt` when it has one, else when the hub received it.
    pub generated_at: Timestamp,
    pub body: Value,
}
