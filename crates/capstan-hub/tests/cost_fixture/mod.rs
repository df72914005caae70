//! Cost hours whose rows sum to their totals, with amounts that do not fall on whole cents,
//! shared by tests/cost_store.rs and tests/cost_api.rs.
#![allow(dead_code, clippy::unwrap_used)]

use capstan_core::cost::{CostHour, CostParts, CostRow, IDLE, Nanodollars, NodeCostSummary};
use jiff::Timestamp;

pub const HOUR_SECONDS: i64 = 3600;
pub const DAY_SECONDS: i64 = 86_400;

/// 2026-03-10T00:00:00Z, a Tuesday.
pub const DAY0: i64 = 1_773_100_800;

pub fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap()
}

pub fn parts(cpu: i64, ram: i64, storage: i64, network: i64, management: i64) -> CostParts {
    CostParts {
        cpu: Nanodollars(cpu),
        ram: Nanodollars(ram),
        gpu: Nanodollars::ZERO,
        storage: Nanodollars(storage),
        network: Nanodollars(network),
        management: Nanodollars(management),
    }
}

fn row(namespace: &str, kind: &str, name: &str, parts: CostParts, cpu: (f64, f64)) -> CostRow {
    CostRow {
        parts,
        cpu_request_core_hours: cpu.0,
        cpu_usage_core_hours: cpu.1,
        ram_request_gib_hours: cpu.0 * 4.0,
        ram_usage_gib_hours: cpu.1 * 2.0,
        pod_hours: 1.0,
        ..CostRow::new(namespace, kind, name)
    }
}

/// One hour starting at `start`; `k` varies the amounts so that hours differ. Namespaces
/// `shop` (workloads web, api), `data` (workload db) and the `__idle__` row, which carries
/// the management fee here.
pub fn hour(start: i64, k: i64) -> CostHour {
    let web = parts(
        1_234_567_891 + 7 * k,
        987_654_321,
        0,
        10_000_001,
        33_333_333,
    );
    let api = parts(555_555_555, 444_444_444 + k, 333_333_333, 0, 16_666_667);
    let db = parts(111_111_111, 222_222_222, 2_000_000_003 + 11 * k, 5, 0);
    let idle = parts(3_000_000_000 - k, 1_500_000_000, 0, 0, 50_000_000);
    let mut shop = web;
    shop += api;
    let mut total = shop;
    total += db;
    total += idle;
    CostHour {
        start: ts(start),
        end: ts(start + HOUR_SECONDS),
        hours_sampled: 1.0,
        ticks: 60,
        network_measured: true,
        total,
        idle: parts(3_000_000_000 - k, 1_500_000_000, 0, 0, 0),
        nodes: NodeCostSummary {
            spot_node_hours: 1.0,
            on_demand_node_hours: 2.0,
            spot_cost: Nanodollars(1),
            on_demand_cost: Nanodollars(2),
            max_nodes: 3,
        },
        namespaces: vec![
            row("shop", "", "", shop, (3.0, 1.5)),
            row("data", "", "", db, (1.0, 0.25)),
            row(IDLE, "", IDLE, idle, (0.0, 0.0)),
        ],
        workloads: vec![
            row("shop", "Deployment", "web", web, (2.0, 1.0)),
            row("shop", "Deployment", "api", api, (1.0, 0.5)),
            row("data", "StatefulSet", "db", db, (1.0, 0.25)),
            row(IDLE, "", IDLE, idle, (0.0, 0.0)),
        ],
        truncated_workloads: 0,
        truncated_namespaces: 0,
        containers_without_usage: 0,
    }
}

/// The sum of the hours' totals.
pub fn sum(hours: &[CostHour]) -> CostParts {
    let mut total = CostParts::default();
    for h in hours {
        total += h.total;
    }
    total
}
