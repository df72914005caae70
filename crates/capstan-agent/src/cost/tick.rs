//! One sampling tick: the view's nodes, running pods and claims, with the sampled usage,
//! turned into the allocation's inputs ([`NodeTick`], [`PodTick`], [`ClaimTick`]).
//!
//! A pod's workload is its controller, with a ReplicaSet's Deployment in its place (OpenCost
//! and Kubecost aggregate by controller the same way); a pod without a controller is its own
//! workload of kind `Pod`.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::sync::Arc;

use capstan_core::cloud;
use capstan_core::cost::{
    ClaimTick, ContainerTick, HourAccumulator, NodePriceKey, NodeRates, NodeTick, PodTick,
    PriceSheet, WorkloadKey,
};
use capstan_kube::slim::PodPhase;
use capstan_kube::view::{ClusterView, Labels, NodeRecord, PodRecord, WorkloadKind};

use super::usage::UsageSnapshot;

const BYTES_PER_GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What a tick saw of one running container, for the right-sizing states.
#[derive(Debug, Clone, Copy)]
pub struct ContainerSample<'a> {
    pub workload: usize,
    pub pod_uid: &'a capstan_kube::view::Uid,
    /// The view's shared name of the container.
    pub container: &'a Arc<str>,
    pub containers_in_pod: usize,
    pub cpu_request_cores: f64,
    pub memory_request_bytes: f64,
    pub cpu_usage_cores: Option<f64>,
    pub memory_usage_bytes: Option<f64>,
    /// The container's restart count when its last termination was an OOM kill.
    pub oom_restarts: Option<u32>,
    pub spot_node: bool,
    /// The node's rates, and what the same node would cost as spot capacity.
    pub rates: NodeRates,
    pub spot_rates: NodeRates,
    pub has_empty_dir: bool,
    pub labels: &'a Labels,
}

/// The cluster's cloud and region, as most of its nodes say.
pub fn cluster_location(nodes: &[NodeRecord]) -> (String, String) {
    let mut votes: HashMap<(&str, &str), usize> = HashMap::new();
    for n in nodes {
        let label = |k: &str| n.labels.get(k);
        let provider = cloud::provider(n.provider_id.as_deref(), label);
        let region = cloud::first_label(label, &cloud::REGION_LABELS).unwrap_or("");
        *votes.entry((provider, region)).or_default() += 1;
    }
    votes
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|((p, r), _)| (p.to_string(), r.to_string()))
        .unwrap_or_default()
}

/// The nodes of one tick, priced, each with its rates as spot capacity beside (what moving a
/// workload to spot would cost).
pub fn node_ticks<'a>(
    prices: &PriceSheet,
    nodes: &'a [NodeRecord],
) -> Vec<(NodeTick<'a>, NodeRates)> {
    nodes
        .iter()
        .filter(|n| n.deleted.is_none())
        .map(|n| {
            let label = |k: &str| n.labels.get(k);
            let spot = cloud::is_spot(label);
            let cpu_millis = if n.capacity_cpu_millis > 0 {
                n.capacity_cpu_millis
            } else {
                n.allocatable_cpu_millis
            };
            let memory = if n.capacity_memory_bytes > 0 {
                n.capacity_memory_bytes
            } else {
                n.allocatable_memory_bytes
            };
            let cpu_cores = cpu_millis as f64 / 1000.0;
            let memory_bytes = memory as f64;
            let gpus = n.capacity_gpus as f64;
            let key = NodePriceKey {
                provider: cloud::provider(n.provider_id.as_deref(), label),
                region: cloud::first_label(label, &cloud::REGION_LABELS).unwrap_or(""),
                instance_type: cloud::first_label(label, &cloud::INSTANCE_TYPE_LABELS)
                    .unwrap_or(""),
                spot,
                cpu_cores,
                memory_gib: memory_bytes / BYTES_PER_GIB,
                gpus,
            };
            let rates = prices.node_rates(&key);
            let spot_rates = if spot {
                rates
            } else {
                prices.node_rates(&NodePriceKey { spot: true, ..key })
            };
            (
                NodeTick {
                    name: &n.name,
                    rates,
                    cpu_cores,
                    memory_bytes,
                    gpus,
                    spot,
                },
                spot_rates,
            )
        })
        .collect()
}

/// Resolves pods' controllers to workloads, keeping one [`WorkloadKey`] per workload.
#[derive(Default)]
pub struct WorkloadKeys {
    pub keys: Vec<WorkloadKey>,
    index: FxHashMap<(usize, usize), usize>,
    bare: FxHashMap<(Arc<str>, Arc<str>), usize>,
    /// (namespace, ReplicaSet) -> its Deployment.
    deployments: HashMap<(Arc<str>, Arc<str>), Arc<str>>,
}

impl WorkloadKeys {
    pub fn new(view: &ClusterView) -> Self {
        let deployments = view
            .workloads(WorkloadKind::ReplicaSet)
            .into_iter()
            .filter_map(|rs| {
                let owner = rs.owner.as_ref().filter(|o| &*o.kind == "Deployment")?;
                Some(((rs.namespace.clone(), rs.name.clone()), owner.name.clone()))
            })
            .collect();
        Self {
            deployments,
            ..Self::default()
        }
    }

    /// The index of `pod`'s workload in [`WorkloadKeys::keys`].
    pub fn of(&mut self, pod: &PodRecord) -> usize {
        let Some(owner) = &pod.controller else {
            let key = (pod.namespace.clone(), pod.name.clone());
            if let Some(&i) = self.bare.get(&key) {
                return i;
            }
            let i = self.push(WorkloadKey {
                namespace: pod.namespace.clone(),
                kind: Arc::from("Pod"),
                name: pod.name.clone(),
            });
            self.bare.insert(key, i);
            return i;
        };
        // Owners are interned per store without their namespace: the pair identifies it.
        let id = (
            Arc::as_ptr(&pod.namespace) as *const u8 as usize,
            Arc::as_ptr(owner) as usize,
        );
        if let Some(&i) = self.index.get(&id) {
            return i;
        }
        let key = match &*owner.kind {
            "ReplicaSet" => match self
                .deployments
                .get(&(pod.namespace.clone(), owner.name.clone()))
            {
                Some(deployment) => WorkloadKey {
                    namespace: pod.namespace.clone(),
                    kind: Arc::from("Deployment"),
                    name: deployment.clone(),
                },
                None => WorkloadKey {
                    namespace: pod.namespace.clone(),
                    kind: owner.kind.clone(),
                    name: owner.name.clone(),
                },
            },
            _ => WorkloadKey {
                namespace: pod.namespace.clone(),
                kind: owner.kind.clone(),
                name: owner.name.clone(),
            },
        };
        let i = self.push(key);
        self.index.insert(id, i);
        i
    }

    fn push(&mut self, key: WorkloadKey) -> usize {
        self.keys.push(key);
        self.keys.len() - 1
    }
}

/// Counts of one tick, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickCounts {
    pub nodes: usize,
    pub pods: usize,
    pub containers: usize,
    pub containers_without_usage: usize,
    pub claims: usize,
}

/// Prices one tick of `hours` into each `(accumulator, hours)` (a tick that crosses an hour
/// boundary is split between two hours) and hands every running container to `sample`.
/// `nodes` are the view's nodes, read once for the tick.
pub fn add_tick(
    view: &ClusterView,
    nodes: &[NodeRecord],
    prices: &PriceSheet,
    usage: &UsageSnapshot,
    targets: &mut [(&mut HourAccumulator, f64)],
    tick_seconds: f64,
    mut sample: impl FnMut(&WorkloadKeys, ContainerSample<'_>),
) -> TickCounts {
    let (node_ticks, spot_rates): (Vec<NodeTick<'_>>, Vec<NodeRates>) =
        node_ticks(prices, nodes).into_iter().unzip();
    let node_index: FxHashMap<&str, usize> = node_ticks
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name, i))
        .collect();
    let pvcs = view.pvcs();
    let mut keys = WorkloadKeys::new(view);
    let mut counts = TickCounts {
        nodes: node_ticks.len(),
        claims: pvcs.len(),
        ..TickCounts::default()
    };
    view.with_pods(|pods| {
        // Two passes over the running pods: first their containers into one flat list, then
        // the pods pointing into it (the allocation borrows both).
        let mut running: Vec<(&PodRecord, usize, usize, Option<f64>)> = Vec::new();
        let mut containers: Vec<ContainerTick<'_>> = Vec::new();
        let mut mounts: FxHashMap<(&str, &str), usize> = FxHashMap::default();
        for pod in pods {
            if pod.phase != PodPhase::Running || pod.deleted.is_some() {
                continue;
            }
            let Some(node) = pod.node.as_deref().and_then(|n| node_index.get(n).copied()) else {
                continue;
            };
            let workload = keys.of(pod);
            let measured = usage.pod(&pod.namespace, &pod.name);
            for (i, c) in pod.containers.iter().enumerate() {
                let used = measured.and_then(|m| m.containers.iter().find(|u| *u.name == *c.name));
                if used.is_none() {
                    counts.containers_without_usage += 1;
                }
                let tick = ContainerTick {
                    name: &c.name,
                    cpu_request_cores: c.cpu_millis as f64 / 1000.0,
                    cpu_usage_cores: used.map(|u| u.cpu_cores),
                    memory_request_bytes: c.memory_bytes as f64,
                    memory_usage_bytes: used.map(|u| u.memory_bytes),
                    gpu_request: c.gpus as f64,
                };
                let oom_restarts = pod
                    .oom_restarts
                    .iter()
                    .find(|(index, _)| usize::from(*index) == i)
                    .map(|(_, restarts)| *restarts);
                sample(
                    &keys,
                    ContainerSample {
                        workload,
                        pod_uid: &pod.uid,
                        container: &c.name,
                        containers_in_pod: pod.containers.len(),
                        cpu_request_cores: tick.cpu_request_cores,
                        memory_request_bytes: tick.memory_request_bytes,
                        cpu_usage_cores: tick.cpu_usage_cores,
                        memory_usage_bytes: tick.memory_usage_bytes,
                        oom_restarts,
                        spot_node: node_ticks[node].spot,
                        rates: node_ticks[node].rates,
                        spot_rates: spot_rates[node],
                        has_empty_dir: pod.has_empty_dir,
                        labels: &pod.labels,
                    },
                );
                containers.push(tick);
            }
            for claim in pod.claims.iter() {
                mounts.insert((&pod.namespace, claim), workload);
            }
            let egress = if usage.egress_measured {
                Some(
                    measured
                        .and_then(|m| m.egress_bytes_per_second)
                        .unwrap_or(0.0)
                        * tick_seconds,
                )
            } else {
                None
            };
            running.push((pod, workload, pod.containers.len(), egress));
        }
        counts.pods = running.len();
        counts.containers = containers.len();
        let mut pod_ticks = Vec::with_capacity(running.len());
        let mut start = 0;
        for (pod, workload, n, egress) in &running {
            pod_ticks.push(PodTick {
                workload: &keys.keys[*workload],
                node: pod.node.as_deref().and_then(|n| node_index.get(n).copied()),
                containers: &containers[start..start + n],
                egress_bytes: *egress,
            });
            start += n;
        }
        let claim_ticks: Vec<ClaimTick<'_>> = pvcs
            .iter()
            .map(|c| ClaimTick {
                namespace: &c.namespace,
                claim: &c.name,
                // OpenCost charges a claim's requested capacity.
                bytes: if c.requested_bytes > 0 {
                    c.requested_bytes
                } else {
                    c.capacity_bytes
                } as f64,
                storage_class: c.storage_class.as_deref(),
                mounted_by: mounts
                    .get(&(&*c.namespace, &*c.name))
                    .map(|&w| &keys.keys[w]),
            })
            .collect();
        for (accumulator, hours) in targets.iter_mut() {
            accumulator.add_tick(prices, *hours, &node_ticks, &pod_ticks, &claim_ticks);
        }
    });
    counts
}
