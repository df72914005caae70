//! The planner: a tier, optional exact sizes and a seed in, a concrete and realistic fleet
//! out (environments, providers, regions, versions, labels, node and pod counts).

use std::collections::{BTreeMap, HashMap};

use capstan_core::rng::SimRng;
use capstan_core::version::KubeVersion;

use super::node_pools::plan_pools;
use super::regions::regions;
use super::spec::default_max_pods;
use super::{ClusterSpec, FleetSpec, Tier};

/// What the user asked for on the command line (`--tier --clusters --nodes --pods --seed`).
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub tier: Tier,
    /// Exact number of clusters instead of a draw from the tier's range.
    pub clusters: Option<u32>,
    /// Exact node count for every cluster.
    pub nodes: Option<u32>,
    /// Exact pod count for every cluster (clamped to what the nodes can hold).
    pub pods: Option<u64>,
    pub seed: u64,
}

/// Pods a node spends on the twin's DaemonSets (kube-proxy and the CNI agent), which the
/// planner keeps free when it sets a cluster's pod target.
pub const DAEMON_PODS_PER_NODE: u32 = 2;

const TEAMS: [&str; 8] = [
    "platform", "payments", "checkout", "search", "data", "ml", "identity", "growth",
];

/// One of `items`, drawn with probability in proportion to its weight.
fn weighted<'a, T>(rng: &mut SimRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut x = rng.range_inclusive(0, u64::from(total.max(1)) - 1) as u32;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// Log-uniform draw in `[lo, hi]`: fleets have many modest clusters and a few huge ones.
fn log_uniform(rng: &mut SimRng, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let (l, h) = ((lo.max(1)) as f64, hi as f64);
    let v = (l.ln() + rng.next_f64() * (h.ln() - l.ln())).exp();
    (v.round() as u64).clamp(lo, hi)
}

/// Newest patch of each minor the planner uses (roughly as of late 2025).
pub(super) const MINORS: [(u32, u32); 5] = [(29, 15), (30, 14), (31, 13), (32, 9), (33, 5)];

/// Plan a fleet: deterministic for `opts` (the seed included).
pub fn plan_fleet(opts: &FleetOptions) -> FleetSpec {
    let mut rng = SimRng::new(opts.seed).fork("fleet");
    let (clo, chi) = opts.tier.cluster_range();
    let count = opts
        .clusters
        .unwrap_or_else(|| rng.range_inclusive(u64::from(clo), u64::from(chi)) as u32);
    let mut name_counters: HashMap<String, u32> = HashMap::new();
    let mut clusters = Vec::with_capacity(count as usize);
    for i in 0..count {
        // One stream per cluster index, so that planning cluster i never depends on how many
        // draws the clusters before it made.
        let mut r = rng.fork(&format!("cluster-{i}"));
        clusters.push(plan_cluster(opts, &mut r, &mut name_counters));
    }
    FleetSpec { clusters }
}

fn plan_cluster(
    opts: &FleetOptions,
    r: &mut SimRng,
    name_counters: &mut HashMap<String, u32>,
) -> ClusterSpec {
    let env = *weighted(
        r,
        &[("production", 50), ("staging", 30), ("development", 20)],
    );
    let provider = *weighted(
        r,
        &[("aws", 45), ("gcp", 25), ("azure", 20), ("onprem", 10)],
    );
    let region = *r
        .pick(regions(provider))
        .expect("region lists are not empty");
    let env_short = match env {
        "production" => "prod",
        "staging" => "staging",
        _ => "dev",
    };
    let prefix = format!("{env_short}-{provider}-{region}");
    let n = name_counters.entry(prefix.clone()).or_insert(0);
    *n += 1;
    let name = format!("{prefix}-{:02}", *n);

    // Production trails the newest minors a little; development runs ahead.
    let minor_weights: [u32; 5] = match env {
        "production" => [8, 15, 30, 32, 15],
        "staging" => [4, 10, 24, 34, 28],
        _ => [2, 6, 18, 34, 40],
    };
    let choices: Vec<((u32, u32), u32)> = MINORS
        .iter()
        .zip(minor_weights)
        .map(|(m, w)| (*m, w))
        .collect();
    let (minor, max_patch) = *weighted(r, &choices);
    let patch = max_patch.saturating_sub(r.range_inclusive(0, 4) as u32);
    let version = KubeVersion::new(1, minor, patch);

    let team = *r.pick(&TEAMS).expect("team list is not empty");
    let criticality = match env {
        "production" => *weighted(r, &[("tier-1", 60), ("tier-2", 40)]),
        "staging" => "tier-2",
        _ => "tier-3",
    };
    let mut labels = BTreeMap::new();
    labels.insert("environment".to_string(), env.to_string());
    labels.insert("provider".to_string(), provider.to_string());
    labels.insert("region".to_string(), region.to_string());
    labels.insert("team".to_string(), team.to_string());
    labels.insert("tier".to_string(), criticality.to_string());

    let (nlo, nhi) = opts.tier.node_range();
    let mut nodes = opts
        .nodes
        .unwrap_or_else(|| log_uniform(r, u64::from(nlo), u64::from(nhi)) as u32)
        .max(1);
    let mut max_pods = default_max_pods();
    let (plo, phi) = opts.tier.pod_range();
    let pods = match opts.pods {
        Some(p) => {
            if opts.nodes.is_none() {
                // An exact pod count wins over the tier's node range: add nodes until it fits.
                let per_node = u64::from(max_pods - DAEMON_PODS_PER_NODE) * 95 / 100;
                let needed = p.div_ceil(per_node.max(1)).min(u64::from(u32::MAX)) as u32;
                nodes = nodes.max(needed);
            } else {
                // Both exact: raise maxPods towards the 250 EKS and AKS allow before clamping.
                let per_node = p.div_ceil(u64::from(nodes)) + u64::from(DAEMON_PODS_PER_NODE);
                if per_node > u64::from(max_pods) {
                    max_pods = per_node.min(250) as u32;
                }
            }
            p
        }
        None => log_uniform(r, plo, phi),
    };
    let room = u64::from(nodes) * u64::from(max_pods - DAEMON_PODS_PER_NODE);
    let pods = pods.min(room * 98 / 100 + u64::from(nodes) * u64::from(DAEMON_PODS_PER_NODE));

    // Denser clusters get bigger machines so that requests stay realistic per pod.
    let density = pods as f64 / f64::from(nodes);
    let vcpu = [4u32, 8, 16, 32]
        .into_iter()
        .find(|v| f64::from(*v) >= density * 0.16)
        .unwrap_or(32);

    let node_pools = plan_pools(r, provider, region, env, nodes, vcpu, max_pods, version);

    ClusterSpec {
        name,
        labels,
        version: version.to_string(),
        provider: provider.to_string(),
        region: region.to_string(),
        node_pools,
        pods,
        seed: r.next_u64(),
        disruption_budgets: Default::default(),
    }
}
