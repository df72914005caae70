//! Synthetic agents' data: Small-tier-shaped cluster summaries, names and labels.

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_core::lifecycle::{NodePhase, PhaseStats};
use capstan_core::rng::SimRng;
use capstan_core::summary::{
    Capped, ClusterSummary, DrainBlocker, Histogram, MAX_BUCKETS, PoolSummary, Resources,
    RestartingPod,
};

/// A Small-tier-shaped summary (50 to 200 nodes, about 60 pods a node): three pools, a
/// two-version kubelet histogram mid-roll for some, a few transient drain blockers, restarting
/// pods and the five lifecycle phases.
pub(super) fn synthetic_summary(
    rng: &mut SimRng,
    index: usize,
    now: jiff::Timestamp,
) -> ClusterSummary {
    let nodes = rng.range_inclusive(50, 200);
    let pods = nodes * rng.range_inclusive(50, 70);
    let (old, new) = ("v1.31.6", "v1.32.4");
    let rolled = if rng.chance(0.2) {
        rng.range_inclusive(0, nodes)
    } else {
        0
    };
    let mut s = ClusterSummary {
        observed_at: now,
        control_plane_version: Some(if rolled > 0 { new } else { old }.to_string()),
        ..ClusterSummary::default()
    };
    s.nodes.total = nodes;
    s.nodes.ready = nodes - u64::from(rng.chance(0.1));
    s.nodes.by_version =
        Histogram::from_counts([(old, nodes - rolled), (new, rolled)], MAX_BUCKETS);
    s.nodes.by_phase.operating = s.nodes.ready;
    s.nodes.by_phase.joining = nodes - s.nodes.ready;
    s.nodes.by_condition = Histogram::from_counts([("Ready=False", nodes - s.nodes.ready)], 16);
    let per_node = Resources {
        cpu_requested_millis: 2_600,
        cpu_allocatable_millis: 3_920,
        memory_requested_bytes: 9 << 30,
        memory_allocatable_bytes: 14 << 30,
        pods_scheduled: pods / nodes,
        pods_allocatable: 110,
    };
    let pool_nodes = [nodes / 2, nodes / 3, nodes - nodes / 2 - nodes / 3];
    let pools: Vec<PoolSummary> = ["general", "memory", "spot"]
        .iter()
        .zip(pool_nodes)
        .map(|(name, n)| {
            let mut resources = Resources::default();
            for _ in 0..n {
                resources.add(&per_node);
            }
            s.resources.add(&resources);
            PoolSummary {
                pool: Some(format!("{name}-pool")),
                nodes: n,
                ready: n,
                by_version: Histogram::from_counts([(old, n)], 4),
                resources,
            }
        })
        .collect();
    s.pools = Capped::top_by(pools, 32, |p| p.nodes);
    s.pods.total = pods;
    s.pods.by_phase = Histogram::from_counts(
        [("Running", pods - 12), ("Pending", 8), ("Succeeded", 4)],
        MAX_BUCKETS,
    );
    s.pods.pending = 8;
    s.pods.not_ready = rng.range_inclusive(0, 20);
    s.pods.restarts.total = rng.range_inclusive(0, 400);
    s.pods.restarts.crash_looping = rng.range_inclusive(0, 3);
    let restarting = (0..10).map(|k| RestartingPod {
        namespace: format!("team-{k}"),
        name: format!("api-{index}-{k}-7d9f8b6c5d-x{k}q2z"),
        node: Some(format!("ip-10-0-{k}-{index}.ec2.internal")),
        restarts: 40 - k,
        crash_looping: k < 2,
        oom_killed: k == 3,
    });
    s.pods.restarts.top = Capped::top_by(restarting, 10, |p| p.restarts);
    let blockers = (0..rng.range_inclusive(0, 4)).map(|k| DrainBlocker {
        namespace: format!("team-{k}"),
        name: format!("db-{k}-pdb"),
        // A transient blocker (a pod still starting), which preflight lets pass: a
        // permanent one would have the hub refuse the cluster's upgrade.
        message: capstan_core::summary::pdb_block_reason(2, 2),
        desired_healthy: 2,
        current_healthy: 2,
        expected_pods: 3,
        pods: Capped {
            total: 3,
            items: (0..3).map(|p| format!("db-{k}-{p}")).collect(),
        },
        nodes: 3,
    });
    s.drain_blockers = Capped::top_by(blockers, 20, |b| b.nodes);
    s.lifecycle = NodePhase::ALL
        .iter()
        .map(|&phase| PhaseStats {
            phase,
            completed: 40,
            in_progress: u32::from(phase == NodePhase::Operating) * 150,
            p50: Some(Duration::from_secs(45)),
            p95: Some(Duration::from_secs(110)),
            max: Some(Duration::from_secs(170)),
            slow: 1,
            stuck: 0,
        })
        .collect();
    s.objects.namespaces = 40;
    s.objects.deployments = 180;
    s.objects.replica_sets = 540;
    s.objects.stateful_sets = 12;
    s.objects.daemon_sets = 8;
    s.objects.pod_disruption_budgets = 30;
    s
}

pub(super) fn cluster_name(index: usize) -> String {
    format!("bench-{index:05}")
}

pub(super) fn cluster_labels(index: usize) -> BTreeMap<String, String> {
    let regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"];
    let mut labels = BTreeMap::from([
        ("environment".to_string(), "production".to_string()),
        (
            "region".to_string(),
            regions[index % regions.len()].to_string(),
        ),
        ("tier".to_string(), "small".to_string()),
    ]);
    if index < 10 {
        labels.insert("upgrade.toolkit.io/canary".into(), "true".into());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthetic_summary_is_small_tier_shaped_and_healthy_enough_to_report() {
        let mut rng = SimRng::new(7);
        let s = synthetic_summary(&mut rng, 3, jiff::Timestamp::UNIX_EPOCH);
        assert!((50..=200).contains(&s.nodes.total));
        assert_eq!(
            s.pools.items.iter().map(|p| p.nodes).sum::<u64>(),
            s.nodes.total
        );
        assert_eq!(s.nodes.by_version.total(), s.nodes.total);
        assert_eq!(s.lifecycle.len(), NodePhase::ALL.len());
        let body = capstan_agent::report::report_body(&s, &cluster_labels(3));
        assert_eq!(body.labels["environment"], "production");
        assert_eq!(body.node_count, s.nodes.total);
    }
}
