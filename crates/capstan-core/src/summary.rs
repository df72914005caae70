//! The cluster summary: what an agent reports about its cluster, on the wire to the hub.
//!
//! Its size is bounded whatever the cluster's size: every list is either fixed (one entry per
//! pod phase, per node phase) or capped, and a capped list carries the total count beside the
//! entries it keeps ([`Histogram::other`], [`Capped::total`]). A 10-node cluster and a
//! 10,000-node one send summaries of the same order of size.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::lifecycle::PhaseStats;

/// Buckets kept in a histogram (kubelet versions, conditions, pod phases...).
pub const MAX_BUCKETS: usize = 16;
/// Node pools described one by one; the rest are only counted.
pub const MAX_POOLS: usize = 32;
/// Kubelet versions listed per pool.
pub const MAX_POOL_VERSIONS: usize = 4;
/// Restarting pods listed, most restarts first.
pub const TOP_RESTARTING: usize = 10;
/// Blocking PodDisruptionBudgets listed.
pub const MAX_DRAIN_BLOCKERS: usize = 20;
/// Pod names listed per blocking PodDisruptionBudget.
pub const BLOCKER_POD_NAMES: usize = 5;

/// One cluster, as its agent sees it at `observed_at`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSummary {
    pub observed_at: Timestamp,
    /// The API server's `gitVersion` (`v1.32.4`), when it answered.
    pub control_plane_version: Option<String>,
    pub nodes: NodeSummary,
    /// Node pools (by [`crate::annotations::node_pool`]), most nodes first.
    pub pools: Capped<PoolSummary>,
    pub pods: PodSummary,
    /// Requests of bound, non-terminal pods against the nodes' allocatable resources.
    pub resources: Resources,
    /// PodDisruptionBudgets that allow no disruption now: draining a node with their pods
    /// would wait. Most nodes touched first.
    pub drain_blockers: Capped<DrainBlocker>,
    /// How long nodes spent in each lifecycle phase (p50/p95, slow and stuck counts), from
    /// the nodes that still exist: one entry per phase.
    pub lifecycle: Vec<PhaseStats>,
    pub objects: ObjectCounts,
}

/// Counts by key, largest first, at most [`MAX_BUCKETS`] (or the cap given) kept.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Histogram {
    pub buckets: Vec<Bucket>,
    /// Summed counts of the keys not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other: u64,
    /// How many keys were seen, kept or not.
    pub distinct: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub key: String,
    pub count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Histogram {
    /// The histogram of `counts` keeping the `cap` largest (ties by key, so that equal inputs
    /// give equal summaries).
    pub fn from_counts<K: AsRef<str>>(
        counts: impl IntoIterator<Item = (K, u64)>,
        cap: usize,
    ) -> Self {
        let mut all: Vec<(K, u64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.as_ref().cmp(b.0.as_ref())));
        let distinct = all.len() as u64;
        let other = all.iter().skip(cap).map(|(_, n)| n).sum();
        let buckets = all
            .into_iter()
            .take(cap)
            .map(|(k, count)| Bucket {
                key: k.as_ref().to_string(),
                count,
            })
            .collect();
        Self {
            buckets,
            other,
            distinct,
        }
    }

    /// The count of `key`, if it was kept.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.buckets.iter().find(|b| b.key == key).map(|b| b.count)
    }

    /// The sum of all counts, kept or not.
    pub fn total(&self) -> u64 {
        self.buckets.iter().map(|b| b.count).sum::<u64>() + self.other
    }
}

/// The first entries of a list, and how long the whole list was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Capped<T> {
    pub total: u64,
    pub items: Vec<T>,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Self {
            total: 0,
            items: Vec::new(),
        }
    }
}

impl<T> Capped<T> {
    /// The `cap` greatest items of `iter` by `key` (greatest first; ties keep the earlier
    /// item first), in memory proportional to `cap`, not to the input.
    pub fn top_by<K: Ord>(
        iter: impl IntoIterator<Item = T>,
        cap: usize,
        key: impl Fn(&T) -> K,
    ) -> Self {
        // A min-heap of the best `cap` so far; `Reverse(seq)` makes the earlier of two equal
        // keys the greater, so it is the one kept.
        struct Entry<K, T>(K, Reverse<u64>, T);
        impl<K: Ord, T> PartialEq for Entry<K, T> {
            fn eq(&self, other: &Self) -> bool {
                (&self.0, &self.1) == (&other.0, &other.1)
            }
        }
        impl<K: Ord, T> Eq for Entry<K, T> {}
        impl<K: Ord, T> PartialOrd for Entry<K, T> {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
        impl<K: Ord, T> Ord for Entry<K, T> {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                (&self.0, &self.1).cmp(&(&other.0, &other.1))
            }
        }
        let mut heap: BinaryHeap<Reverse<Entry<K, T>>> = BinaryHeap::with_capacity(cap + 1);
        let mut total = 0u64;
        for item in iter {
            let entry = Entry(key(&item), Reverse(total), item);
            total += 1;
            if cap == 0 {
                continue;
            }
            if heap.len() < cap {
                heap.push(Reverse(entry));
            } else if heap.peek().is_some_and(|Reverse(min)| entry > *min) {
                heap.pop();
                heap.push(Reverse(entry));
            }
        }
        let mut kept: Vec<Entry<K, T>> = heap.into_iter().map(|Reverse(e)| e).collect();
        kept.sort_by(|a, b| b.cmp(a));
        Self {
            total,
            items: kept.into_iter().map(|e| e.2).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSummary {
    pub total: u64,
    /// Condition Ready is True.
    pub ready: u64,
    /// `spec.unschedulable`.
    pub cordoned: u64,
    /// Kubelet versions (`status.nodeInfo.kubeletVersion`).
    pub by_version: Histogram,
    pub by_phase: PhaseCounts,
    /// Conditions that need attention: `Ready=False`, `Ready=Unknown`, `Ready=Missing`, and
    /// each pressure condition that is True (`MemoryPressure`, `DiskPressure`, ...).
    pub by_condition: Histogram,
}

/// Nodes per lifecycle phase. Provisioning is known only to a provider (the machine exists,
/// the node object does not yet), so a summary built from the API alone leaves it 0.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseCounts {
    pub provisioning: u64,
    pub joining: u64,
    pub operating: u64,
    pub draining: u64,
    pub terminating: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSummary {
    /// `None` for nodes that carry no pool label.
    pub pool: Option<String>,
    pub nodes: u64,
    pub ready: u64,
    pub by_version: Histogram,
    pub resources: Resources,
}

/// Requested against allocatable, in millicores and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    pub cpu_requested_millis: u64,
    pub cpu_allocatable_millis: u64,
    pub memory_requested_bytes: u64,
    pub memory_allocatable_bytes: u64,
    /// Non-terminal pods bound to the nodes, against their pod capacity.
    pub pods_scheduled: u64,
    pub pods_allocatable: u64,
}

impl Resources {
    pub fn add(&mut self, other: &Resources) {
        self.cpu_requested_millis += other.cpu_requested_millis;
        self.cpu_allocatable_millis += other.cpu_allocatable_millis;
        self.memory_requested_bytes += other.memory_requested_bytes;
        self.memory_allocatable_bytes += other.memory_allocatable_bytes;
        self.pods_scheduled += other.pods_scheduled;
        self.pods_allocatable += other.pods_allocatable;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSummary {
    pub total: u64,
    /// `status.phase`: Pending, Running, Succeeded, Failed, Unknown.
    pub by_phase: Histogram,
    pub pending: u64,
    /// Pending and bound to no node: the scheduler found no room (or has not tried yet).
    pub pending_unscheduled: u64,
    /// Running but not Ready.
    pub not_ready: u64,
    /// Deletion requested, not yet gone.
    pub terminating: u64,
    pub restarts: Restarts,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restarts {
    /// Container restarts summed over every pod.
    pub total: u64,
    /// Pods with a container waiting in `CrashLoopBackOff`.
    pub crash_looping: u64,
    /// Pods whose container last terminated `OOMKilled`.
    pub oom_killed: u64,
    /// Pods that restarted, most restarts first; `total` counts every pod that restarted.
    pub top: Capped<RestartingPod>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartingPod {
    pub namespace: String,
    pub name: String,
    pub node: Option<String>,
    pub restarts: u64,
    pub crash_looping: bool,
    pub oom_killed: bool,
}

/// A PodDisruptionBudget that allows no disruption (`status.disruptionsAllowed == 0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainBlocker {
    pub namespace: String,
    pub name: String,
    /// In the API server's words, as [`pdb_block_reason`] writes them.
    pub message: String,
    pub desired_healthy: i64,
    pub current_healthy: i64,
    pub expected_pods: i64,
    /// Its non-terminal pods (count and the first names, sorted).
    pub pods: Capped<String>,
    /// Distinct nodes those pods run on: the nodes whose drain it would hold.
    pub nodes: u64,
}

/// Why a PodDisruptionBudget refuses an eviction, after the API server's eviction message
/// ("The disruption budget %s needs %d healthy pods and has %d currently",
/// `pkg/registry/core/pod/storage/eviction.go`).
pub fn pdb_block_reason(desired_healthy: i64, current_healthy: i64) -> String {
    format!("needs {desired_healthy} healthy, has {current_healthy}")
}

/// Objects of the kinds the view watches, beside nodes and pods.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectCounts {
    pub namespaces: u64,
    pub pod_disruption_budgets: u64,
    pub deployments: u64,
    pub replica_sets: u64,
    pub stateful_sets: u64,
    pub daemon_sets: u64,
    /// Workloads (of the four kinds) with fewer ready replicas than desired.
    pub workloads_not_ready: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_keeps_the_largest_and_counts_the_rest() {
        let h = Histogram::from_counts([("a", 1), ("b", 5), ("c", 5), ("d", 2), ("e", 0)], 2);
        let keys: Vec<_> = h
            .buckets
            .iter()
            .map(|b| (b.key.as_str(), b.count))
            .collect();
        assert_eq!(keys, [("b", 5), ("c", 5)]);
        assert_eq!((h.other, h.distinct, h.total()), (3, 4, 13));
        assert_eq!(h.get("a"), None);
    }

    #[test]
    fn top_by_keeps_the_greatest_in_order_and_the_total() {
        let top = Capped::top_by([3, 9, 1, 9, 7, 2], 3, |n| *n);
        assert_eq!(top.items, [9, 9, 7]);
        assert_eq!(top.total, 6);
        // Ties keep the earlier item.
        let top = Capped::top_by([("x", 1), ("y", 1), ("z", 1)], 2, |p| p.1);
        assert_eq!(top.items, [("x", 1), ("y", 1)]);
        let none = Capped::top_by(1..=5, 0, |n| *n);
        assert_eq!((none.total, none.items.len()), (5, 0));
    }

    #[test]
    fn the_reason_reads_like_the_api_server() {
        assert_eq!(pdb_block_reason(3, 3), "needs 3 healthy, has 3");
    }

    #[test]
    fn a_summary_round_trips_in_camel_case() {
        let mut s = ClusterSummary::default();
        s.nodes.by_version = Histogram::from_counts([("v1.32.4", 3u64)], MAX_BUCKETS);
        s.resources.cpu_requested_millis = 1500;
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["resources"]["cpuRequestedMillis"], 1500);
        assert_eq!(json["nodes"]["byVersion"]["buckets"][0]["key"], "v1.32.4");
        let back: ClusterSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }
}
