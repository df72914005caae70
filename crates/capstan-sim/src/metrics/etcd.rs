//! etcd's disk latency histograms (`GET .../services/etcd:2381/proxy/metrics`):
//! `etcd_disk_wal_fsync_duration_seconds` and `etcd_disk_backend_commit_duration_seconds`,
//! with etcd's buckets (server/storage/wal/metrics.go, backend/metrics.go:
//! `prometheus.ExponentialBuckets(0.001, 2, 14)`).
//!
//! Baseline: a healthy SSD, median fsync 0.6-1.0 ms (per cluster seed), p99 under 3 ms. The
//! `faults/etcd` fault `{"fsyncMs": n}` moves the median to n ms (commits a little slower).
//! WAL writes come from every write to the cluster, so their rate grows with its size.

use super::expo::{Expo, Kind};
use super::{Histogram, Latency, MetricsState};
use crate::cluster::{ClusterData, keys};

/// `ExponentialBuckets(0.001, 2, 14)`.
pub const BUCKETS: [f64; 14] = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192,
];

/// Seconds of history a fresh member shows.
const WARMUP_SECS: f64 = 3600.0;

#[derive(Debug, Clone, Copy)]
struct Rates {
    fsyncs_per_sec: f64,
    commits_per_sec: f64,
    fsync: Latency,
    commit: Latency,
}

#[derive(Debug, Default)]
pub struct EtcdState {
    last: Option<f64>,
    rates: Option<Rates>,
    wal_fsync: Histogram,
    backend_commit: Histogram,
}

fn current_rates(m: &MetricsState, data: &ClusterData) -> Rates {
    let nodes = data.store.range(&keys::NODES, "").count() as f64;
    let (median, sigma) = match data.faults.etcd_fsync_ms {
        Some(ms) => (ms.max(0.01) / 1000.0, 0.25),
        None => ((0.6 + 0.4 * m.unit(&["etcd", "fsync"])) / 1000.0, 0.4),
    };
    Rates {
        fsyncs_per_sec: 15.0 + nodes * 0.2,
        // The backend batches commits (every 100 ms by default).
        commits_per_sec: 10.0 + nodes * 0.02,
        fsync: Latency {
            median,
            sigma,
            shift: 0.0,
        },
        commit: Latency {
            median: median * 1.5,
            sigma,
            shift: 0.0,
        },
    }
}

/// Advance to now at the last rates, then take the cluster's.
pub fn advance(m: &mut MetricsState, data: &ClusterData) {
    let now = m.real_secs();
    let current = current_rates(m, data);
    let e = &mut m.etcd;
    let dt = match e.last {
        Some(last) => (now - last).max(0.0),
        None => WARMUP_SECS,
    };
    let r = e.rates.unwrap_or(current);
    e.wal_fsync
        .observe_many(&BUCKETS, r.fsyncs_per_sec * dt, &r.fsync);
    e.backend_commit
        .observe_many(&BUCKETS, r.commits_per_sec * dt, &r.commit);
    e.last = Some(now);
    e.rates = Some(current);
}

/// The etcd member's metrics body.
pub fn scrape(m: &mut MetricsState, data: &ClusterData) -> String {
    advance(m, data);
    let e = &m.etcd;
    let mut out = Expo::with_capacity(4096);
    out.family(
        "etcd_disk_backend_commit_duration_seconds",
        "The latency distributions of commit called by backend.",
        Kind::Histogram,
    );
    e.backend_commit.write(
        &mut out,
        "etcd_disk_backend_commit_duration_seconds",
        &[],
        &BUCKETS,
    );
    out.family(
        "etcd_disk_wal_fsync_duration_seconds",
        "The latency distributions of fsync called by WAL.",
        Kind::Histogram,
    );
    e.wal_fsync.write(
        &mut out,
        "etcd_disk_wal_fsync_duration_seconds",
        &[],
        &BUCKETS,
    );
    out.finish()
}
