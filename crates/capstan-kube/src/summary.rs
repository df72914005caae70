//! The bounded [`ClusterSummary`] of a [`ClusterView`](crate::view::ClusterView).
//!
//! One pass over the nodes, one over the pods, then the PodDisruptionBudgets that allow no
//! disruption matched against their namespace's pods (once per distinct label set, since the
//! pods of one ReplicaSet share theirs). Every list is capped with the constants of
//! [`capstan_core::summary`].

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use capstan_core::lifecycle::{LifecycleSlos, NodePhase, phase_stats};
use capstan_core::summary::{
    BLOCKER_POD_NAMES, Capped, ClusterSummary, DrainBlocker, Histogram, MAX_BUCKETS,
    MAX_DRAIN_BLOCKERS, MAX_POOL_VERSIONS, MAX_POOLS, NodeSummary, ObjectCounts, PhaseCounts,
    PodSummary, PoolSummary, Resources, RestartingPod, Restarts, TOP_RESTARTING, pdb_block_reason,
};
use jiff::Timestamp;

use crate::slim::PodPhase;
use crate::view::{PdbRecord, PodRecord, Readiness, ViewState};

/// Pools by name (`None`: nodes without a pool label), and each node's pool.
type Pools = HashMap<Option<Arc<str>>, PoolTally>;
type NodePools = HashMap<Arc<str>, Option<Arc<str>>>;

#[derive(Default)]
struct PoolTally {
    nodes: u64,
    ready: u64,
    versions: HashMap<Arc<str>, u64>,
    resources: Resources,
}

pub(crate) fn summarize(state: &ViewState, now: Timestamp) -> ClusterSummary {
    let mut summary = ClusterSummary {
        observed_at: now,
        control_plane_version: state.control_plane_version.read().clone(),
        ..ClusterSummary::default()
    };
    let (mut pools, node_pool) = summarize_nodes(state, now, &mut summary);
    summarize_pods(state, &mut pools, &node_pool, &mut summary);
    summarize_blockers(state, &mut summary);
    summarize_objects(state, &mut summary);

    let pool_count = pools.len() as u64;
    let mut pools: Vec<(Option<Arc<str>>, PoolTally)> = pools.into_iter().collect();
    pools.sort_by(|a, b| b.1.nodes.cmp(&a.1.nodes).then_with(|| a.0.cmp(&b.0)));
    summary.pools = Capped {
        total: pool_count,
        items: pools
            .into_iter()
            .take(MAX_POOLS)
            .map(|(pool, t)| PoolSummary {
                pool: pool.map(|p| p.to_string()),
                nodes: t.nodes,
                ready: t.ready,
                by_version: Histogram::from_counts(t.versions, MAX_POOL_VERSIONS),
                resources: t.resources,
            })
            .collect(),
    };
    summary
}

/// Nodes by version, phase and condition, allocatable resources per pool, and the lifecycle
/// statistics. Returns the pools and each node's pool.
fn summarize_nodes(
    state: &ViewState,
    now: Timestamp,
    summary: &mut ClusterSummary,
) -> (Pools, NodePools) {
    let store = state.nodes.read();
    let mut pools = Pools::new();
    let mut node_pool = HashMap::with_capacity(store.table.len());
    let mut versions: HashMap<Arc<str>, u64> = HashMap::new();
    let mut conditions: HashMap<Arc<str>, u64> = HashMap::new();
    let mut nodes = NodeSummary::default();
    let mut phases = PhaseCounts::default();
    let mut resources = Resources::default();
    for node in store.table.iter() {
        nodes.total += 1;
        let ready = node.ready == Readiness::True;
        nodes.ready += u64::from(ready);
        nodes.cordoned += u64::from(node.unschedulable);
        *versions.entry(node.kubelet_version.clone()).or_default() += 1;
        if !ready {
            let key: Arc<str> = Arc::from(format!("Ready={}", node.ready.as_str()));
            *conditions.entry(key).or_default() += 1;
        }
        for p in &node.pressure {
            *conditions.entry(p.clone()).or_default() += 1;
        }
        match node.phase() {
            NodePhase::Provisioning => phases.provisioning += 1,
            NodePhase::Joining => phases.joining += 1,
            NodePhase::Operating => phases.operating += 1,
            NodePhase::Draining => phases.draining += 1,
            NodePhase::Terminating => phases.terminating += 1,
        }
        let allocatable = Resources {
            cpu_allocatable_millis: node.allocatable_cpu_millis,
            memory_allocatable_bytes: node.allocatable_memory_bytes,
            pods_allocatable: node.allocatable_pods,
            ..Resources::default()
        };
        resources.add(&allocatable);
        let pool = pools.entry(node.pool.clone()).or_default();
        pool.nodes += 1;
        pool.ready += u64::from(ready);
        *pool
            .versions
            .entry(node.kubelet_version.clone())
            .or_default() += 1;
        pool.resources.add(&allocatable);
        node_pool.insert(node.name.clone(), node.pool.clone());
    }
    nodes.by_version = Histogram::from_counts(versions, MAX_BUCKETS);
    nodes.by_condition = Histogram::from_counts(conditions, MAX_BUCKETS);
    nodes.by_phase = phases;
    summary.nodes = nodes;
    summary.resources = resources;
    summary.lifecycle = phase_stats(
        store
            .table
            .iter()
            .map(|n| &n.timeline)
            .chain(store.finished.iter()),
        now,
        &LifecycleSlos::default(),
    );
    (pools, node_pool)
}

/// Pods by phase, pending, not ready, terminating, restarts; requests per pool.
fn summarize_pods(
    state: &ViewState,
    pools: &mut Pools,
    node_pool: &NodePools,
    summary: &mut ClusterSummary,
) {
    let store = state.pods.read();
    let mut pods = PodSummary::default();
    let mut phases = [0u64; 5];
    let mut restarts = Restarts::default();
    for pod in store.table.iter() {
        pods.total += 1;
        phases[pod.phase as usize] += 1;
        if pod.phase == PodPhase::Pending {
            pods.pending += 1;
            pods.pending_unscheduled += u64::from(pod.node.is_none());
        }
        pods.not_ready += u64::from(pod.phase == PodPhase::Running && !pod.ready);
        pods.terminating += u64::from(pod.deleted.is_some());
        restarts.total += u64::from(pod.restarts);
        restarts.crash_looping += u64::from(pod.crash_looping);
        restarts.oom_killed += u64::from(pod.oom_killed);
        if let Some(node) = &pod.node
            && !pod.phase.is_terminal()
        {
            let requested = Resources {
                cpu_requested_millis: pod.cpu_request_millis,
                memory_requested_bytes: pod.memory_request_bytes,
                pods_scheduled: 1,
                ..Resources::default()
            };
            summary.resources.add(&requested);
            if let Some(pool) = node_pool.get(node).and_then(|p| pools.get_mut(p)) {
                pool.resources.add(&requested);
            }
        }
    }
    // Most restarts first; ties by namespace and name so that equal clusters summarize alike.
    let top = Capped::top_by(
        store.table.iter().filter(|p| p.restarts > 0),
        TOP_RESTARTING,
        |p| (p.restarts, Reverse((p.namespace.clone(), p.name.clone()))),
    );
    restarts.top = Capped {
        total: top.total,
        items: top
            .items
            .into_iter()
            .map(|p| RestartingPod {
                namespace: p.namespace.to_string(),
                name: p.name.to_string(),
                node: p.node.as_deref().map(str::to_string),
                restarts: u64::from(p.restarts),
                crash_looping: p.crash_looping,
                oom_killed: p.oom_killed,
            })
            .collect(),
    };
    pods.restarts = restarts;
    pods.by_phase = Histogram::from_counts(
        PodPhase::ALL
            .iter()
            .map(|p| (p.as_str(), phases[*p as usize])),
        MAX_BUCKETS,
    );
    summary.pods = pods;
}

/// PodDisruptionBudgets that allow no disruption, with the non-terminal pods they select.
fn summarize_blockers(state: &ViewState, summary: &mut ClusterSummary) {
    let pdbs = state.pdbs.read();
    let mut blocking: Vec<&PdbRecord> = pdbs
        .table
        .iter()
        // A budget whose status was never computed has zeros everywhere; upstream refuses
        // evictions under it too, but it has no counts worth reporting yet.
        .filter(|p| p.disruptions_allowed <= 0 && p.observed_generation.is_some())
        .collect();
    if blocking.is_empty() {
        return;
    }
    blocking.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let pods = state.pods.read();
    let mut blockers = Vec::with_capacity(blocking.len());
    let mut groups: Option<(Arc<str>, Vec<Vec<&PodRecord>>)> = None;
    for pdb in blocking {
        // Group the namespace's pods by label set once, for all its budgets.
        if groups.as_ref().is_none_or(|(ns, _)| *ns != pdb.namespace) {
            let mut by_set: HashMap<usize, Vec<&PodRecord>> = HashMap::new();
            for pod in pods.table.in_namespace(&pdb.namespace) {
                if !pod.phase.is_terminal() {
                    by_set.entry(pod.labels.id()).or_default().push(pod);
                }
            }
            groups = Some((pdb.namespace.clone(), by_set.into_values().collect()));
        }
        let Some((_, sets)) = &groups else { continue };
        let selected: Vec<&PodRecord> = sets
            .iter()
            .filter(|set| set.first().is_some_and(|p| pdb.selects(&p.labels)))
            .flatten()
            .copied()
            .collect();
        let nodes: HashSet<&str> = selected.iter().filter_map(|p| p.node.as_deref()).collect();
        let mut names: Vec<&str> = selected.iter().map(|p| &*p.name).collect();
        names.sort_unstable();
        blockers.push(DrainBlocker {
            namespace: pdb.namespace.to_string(),
            name: pdb.name.to_string(),
            message: pdb_block_reason(pdb.desired_healthy, pdb.current_healthy),
            desired_healthy: pdb.desired_healthy,
            current_healthy: pdb.current_healthy,
            expected_pods: pdb.expected_pods,
            pods: Capped {
                total: names.len() as u64,
                items: names
                    .into_iter()
                    .take(BLOCKER_POD_NAMES)
                    .map(str::to_string)
                    .collect(),
            },
            nodes: nodes.len() as u64,
        });
    }
    // Stable: budgets touching as many nodes stay in namespace/name order.
    blockers.sort_by_key(|b| Reverse(b.nodes));
    summary.drain_blockers = Capped {
        total: blockers.len() as u64,
        items: blockers.into_iter().take(MAX_DRAIN_BLOCKERS).collect(),
    };
}

fn summarize_objects(state: &ViewState, summary: &mut ClusterSummary) {
    let count = |i: usize| state.workloads[i].read().table.len() as u64;
    let not_ready: u64 = state
        .workloads
        .iter()
        .map(|w| {
            w.read()
                .table
                .iter()
                .filter(|r| r.ready_replicas < r.replicas)
                .count() as u64
        })
        .sum();
    summary.objects = ObjectCounts {
        namespaces: state.namespaces.read().table.len() as u64,
        pod_disruption_budgets: state.pdbs.read().table.len() as u64,
        deployments: count(0),
        replica_sets: count(1),
        stateful_sets: count(2),
        daemon_sets: count(3),
        workloads_not_ready: not_ready,
    };
}

#[cfg(test)]
mod tests;
