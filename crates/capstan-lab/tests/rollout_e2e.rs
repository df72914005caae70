//! The canonical ClusterUpgrade of DESIGN.md (examples/canary-upgrade.yaml, verbatim) end to
//! end over 20 production twin clusters, in one process: the twin on loopback TLS, one hosted
//! agent per cluster reporting over HTTP, the hub's API and rollout controller on SQLite, all
//! on the twin's scaled clock (as `capstan demo` wires them).
//!
//! What it checks: the canary-labelled cluster goes first; the steps hold ceil(10% x 20) = 2,
//! ceil(50% x 20) = 10 and 20 clusters; no cluster of a step starts before the previous
//! step's soak has ended; every cluster is upgraded in exactly one attempt, its result
//! matching what the cluster itself shows (control plane and every kubelet at the target,
//! every node replaced once, none cordoned or marked); clusters outside the selector are
//! untouched.

#![allow(clippy::unwrap_used)]

mod common;

use common::get;

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_agent::hosted::{HostedCluster, HostedConfig};
use capstan_agent::work::{UpgradeResult, UpgradeSettings};
use capstan_core::rollout::{ClusterState, RolloutPhase, RolloutState};
use capstan_core::version::KubeVersion;
use capstan_hub::api::{ClusterResult, ClusterView, UpgradeDetail};
use capstan_lab::fixtures::{NodesView, nodes_view, same_release, small_cluster};
use capstan_lab::{LabTwin, eventually};
use capstan_sim::TwinConfig;
use capstan_sim::fleet::{ClusterSpec, FleetSpec};

/// The example as shipped: the test applies exactly what users read.
const CANARY_UPGRADE: &str = include_str!("../../../examples/canary-upgrade.yaml");
const UPGRADE_NAME: &str = "prod-canary";

const PRODUCTION: usize = 20;
/// Clusters outside the example's selector, which must stay as they are.
const STAGING: usize = 3;
const NODES: u32 = 3;
const PODS: u64 = 30;
const VERSION: &str = "1.32.4";
/// The example's six hours of soak take about ten real seconds.
const SCALE: f64 = 2000.0;
/// A silent agent's cluster turns Unknown after this much real time.
const LEASE_REAL: Duration = Duration::from_secs(60);
const AGENTS_DEADLINE: Duration = Duration::from_secs(120);
const ROLLOUT_DEADLINE: Duration = Duration::from_secs(300);

fn cluster(name: &str, environment: &str) -> ClusterSpec {
    let seed = name.len() as u64 * 7919 + name.bytes().map(u64::from).sum::<u64>();
    small_cluster(name, environment, VERSION, NODES, PODS, seed)
}

/// 20 production clusters, the 17th labelled canary (so that it is not first by name or by
/// accident of hashing alone), and a few staging clusters.
fn fleet() -> (FleetSpec, String) {
    let mut clusters: Vec<ClusterSpec> = (1..=PRODUCTION)
        .map(|i| cluster(&format!("prod-{i:02}"), "production"))
        .collect();
    let canary = clusters[16].name.clone();
    clusters[16]
        .labels
        .insert("upgrade.toolkit.io/canary".to_string(), "true".to_string());
    clusters.extend((1..=STAGING).map(|i| cluster(&format!("staging-{i:02}"), "staging")));
    (FleetSpec { clusters }, canary)
}

fn version(text: &str) -> KubeVersion {
    KubeVersion::parse(text).unwrap_or_else(|e| panic!("version {text:?}: {e}"))
}

async fn observe(lab: &LabTwin, name: &str) -> NodesView {
    nodes_view(&lab.client(name).await.unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canonical_canary_upgrade_rolls_twenty_production_clusters_step_by_step() {
    let (fleet, canary) = fleet();
    let specs: BTreeMap<String, ClusterSpec> = fleet
        .clusters
        .iter()
        .map(|c| (c.name.clone(), c.clone()))
        .collect();
    let hosted: Vec<HostedCluster> = fleet
        .clusters
        .iter()
        .map(|c| HostedCluster {
            context: c.name.clone(),
            name: c.name.clone(),
            labels: c.labels.clone(),
        })
        .collect();
    let lab = LabTwin::start_fleet(fleet, SCALE, TwinConfig::default())
        .await
        .unwrap();
    let before: BTreeMap<String, NodesView> = {
        let mut out = BTreeMap::new();
        for name in specs.keys() {
            out.insert(name.clone(), observe(&lab, name).await);
        }
        out
    };

    // The hub, on the twin's clock (soaks and leases in simulated time), on a SQLite file,
    // with the rollout controller.
    let mut lab_hub = common::Hub::start(&lab, LEASE_REAL, true).await;
    let hub = lab_hub.url.clone();
    let config = HostedConfig {
        upgrade: UpgradeSettings {
            poll_interval: Duration::from_millis(50),
            // A drain's limit in simulated time: generous, so that a loaded machine's
            // slowness (hours of twin time per real second) never halts one.
            default_drain_timeout: Some(Duration::from_secs(7 * 24 * 3600)),
        },
        ..lab_hub.hosted_config(&lab)
    };
    lab_hub.spawn_agents(&config, hosted);

    let http = reqwest::Client::new();
    eventually("every agent to report", AGENTS_DEADLINE, || {
        let (http, hub) = (http.clone(), hub.clone());
        async move {
            let clusters: Vec<ClusterView> = get(&http, &format!("{hub}/api/v1/clusters")).await;
            (clusters.iter().filter(|c| c.node_count > 0).count() == PRODUCTION + STAGING)
                .then_some(())
        }
    })
    .await;

    let response = http
        .post(format!("{hub}/api/v1/upgrades"))
        .header(reqwest::header::CONTENT_TYPE, "application/yaml")
        .body(CANARY_UPGRADE)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}: {}",
        response.status(),
        response.text().await.unwrap()
    );
    let created: UpgradeDetail = response.json().await.unwrap();
    assert_eq!(created.upgrade.name, UPGRADE_NAME);

    let state: RolloutState = eventually("the rollout to end", ROLLOUT_DEADLINE, || {
        let (http, hub) = (http.clone(), hub.clone());
        async move {
            let detail: UpgradeDetail =
                get(&http, &format!("{hub}/api/v1/upgrades/{UPGRADE_NAME}")).await;
            let state: RolloutState = serde_json::from_value(detail.upgrade.status).ok()?;
            matches!(
                state.phase,
                RolloutPhase::Succeeded
                    | RolloutPhase::Failed
                    | RolloutPhase::Halted
                    | RolloutPhase::Aborted
            )
            .then_some(state)
        }
    })
    .await;
    assert_eq!(
        state.phase,
        RolloutPhase::Succeeded,
        "{}: {:#?}",
        state.message,
        state.clusters
    );

    // The frozen plan: production clusters only, the canary first, steps of 2, 10 and 20.
    let plan = &state.plan;
    let mut planned = plan.clusters.clone();
    planned.sort();
    let production: Vec<String> = (1..=PRODUCTION).map(|i| format!("prod-{i:02}")).collect();
    assert_eq!(planned, production);
    assert_eq!(plan.clusters[0], canary, "the canary goes first");
    assert_eq!(plan.step_targets, [2, 10, 20]);
    let pauses: Vec<Duration> = plan.steps.iter().map(|s| s.pause).collect();
    assert_eq!(
        pauses,
        [3600, 4 * 3600, 3600].map(Duration::from_secs),
        "the example's pauses"
    );

    // Each step starts only after the previous one's soak: every cluster of step k+1 started
    // at or after the last finish among steps 0..=k plus step k's pause.
    let rollout = |name: &str| state.clusters.get(name).unwrap();
    let mut bounds = vec![0];
    bounds.extend(plan.step_targets.iter().copied());
    for k in 0..plan.steps.len() - 1 {
        let settled_by = plan.clusters[..bounds[k + 1]]
            .iter()
            .map(|c| rollout(c).finished.unwrap())
            .max()
            .unwrap();
        let soak_end = settled_by + plan.steps[k].pause;
        for next in &plan.clusters[bounds[k + 1]..bounds[k + 2]] {
            let started = rollout(next).started.unwrap();
            assert!(
                started >= soak_end,
                "{next} (step {}) started at {started}, before step {k}'s soak ended at {soak_end}",
                k + 1
            );
        }
    }

    // Exactly one attempt each, and its result is what the cluster shows.
    let results: Vec<ClusterResult> = get(
        &http,
        &format!("{hub}/api/v1/upgrades/{UPGRADE_NAME}/results"),
    )
    .await;
    assert_eq!(results.len(), PRODUCTION, "{results:#?}");
    for name in &production {
        let r = rollout(name);
        assert_eq!(r.state, ClusterState::Succeeded, "{name}: {r:?}");
        assert_eq!(r.attempts, 1, "{name}: {r:?}");
        let result = results.iter().find(|x| &x.cluster == name).unwrap();
        assert_eq!(result.attempt, 1);
        let result: UpgradeResult = serde_json::from_value(result.result.clone()).unwrap();
        let to = version(&result.to);
        let observed = observe(&lab, name).await;
        let nodes = specs[name].node_count() as usize;
        assert!(
            same_release(&observed.control_plane, &to),
            "{name}: control plane {} after an upgrade to {to}",
            observed.control_plane
        );
        assert_eq!(to.minor, before[name].control_plane.minor + 1, "{name}");
        assert_eq!(observed.kubelets.len(), nodes, "{name}: {observed:?}");
        for (node, kubelet) in &observed.kubelets {
            assert!(
                same_release(kubelet, &to),
                "{name}/{node}: kubelet {kubelet}, target {to}"
            );
            assert!(
                !before[name].kubelets.contains_key(node),
                "{name}/{node} was not replaced"
            );
        }
        assert!(
            observed.cordoned_or_marked.is_empty(),
            "{name}: {observed:?}"
        );
        assert_eq!(result.nodes_replaced, nodes, "{name}: {result:?}");
        // A timeline for every node the roll touched: each old node drained and removed,
        // each new one provisioned and joined.
        let timelines: std::collections::BTreeSet<&str> =
            result.timelines.iter().map(|t| t.node.as_str()).collect();
        let touched: std::collections::BTreeSet<&str> = before[name]
            .kubelets
            .keys()
            .chain(observed.kubelets.keys())
            .map(String::as_str)
            .collect();
        assert_eq!(timelines, touched, "{name}");
        assert_eq!(
            result.from.as_deref().map(version).map(|v| v.minor),
            Some(before[name].control_plane.minor),
            "{name}"
        );
        assert_eq!(r.to.as_deref().map(version), Some(to), "{name}");
    }

    // Outside the selector: not planned, nothing changed.
    for i in 1..=STAGING {
        let name = format!("staging-{i:02}");
        assert!(!state.clusters.contains_key(&name));
        let observed = observe(&lab, &name).await;
        assert_eq!(
            observed.control_plane, before[&name].control_plane,
            "{name}"
        );
        assert_eq!(observed.kubelets, before[&name].kubelets, "{name}");
    }

    lab_hub.agents.abort_all();
    lab_hub.services.abort_all();
}
