//! The cluster upgrade against the twin: the control plane goes up minor by minor, then every
//! node of the pool is replaced by one at the target, with no node left cordoned and every
//! pod running; requests that cannot be honoured change nothing.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use capstan_core::annotations::{DRAIN_STARTED, DRAINED};
use capstan_core::lifecycle::NodePhase;
use capstan_core::upgrade::IntOrPercent;
use capstan_kube::drain::DrainOptions;
use capstan_kube::provider::Provider;
use capstan_kube::provider::sim::SimProvider;
use capstan_kube::upgrade::{ClusterUpgrader, LogUpgradeObserver, UpgradeOptions, record};
use capstan_lab::{LabTwin, eventually};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Api;
use kube::api::{DeleteParams, ListParams};

const FLEET: &str = r#"
clusters:
- name: alpha
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 24
  seed: 11
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 5
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a]
"#;

/// Fifty simulated minutes per real second: a machine provisions in a fraction of a second.
const SCALE: f64 = 3000.0;
const DEADLINE: Duration = Duration::from_secs(60);

async fn upgrader(lab: &LabTwin, options: UpgradeOptions) -> ClusterUpgrader {
    // Over the wire like the CLI: the provider's clock follows the twin's reported time.
    let client = lab.client("alpha").await.unwrap();
    let provider: Arc<dyn Provider> = Arc::new(SimProvider::connect(client).await.unwrap());
    assert!(provider.clock().is_some(), "the twin reports its time");
    lab.upgrader("alpha", provider, drain_options(), options)
        .await
        .unwrap()
}

/// kubectl-like flags with the upgrade's 30-minute drain deadline.
fn drain_options() -> DrainOptions {
    DrainOptions {
        ignore_daemonsets: true,
        delete_emptydir_data: true,
        timeout: Some(Duration::from_secs(30 * 60)),
        ..DrainOptions::default()
    }
}

fn options(to: &str) -> UpgradeOptions {
    UpgradeOptions {
        max_surge: IntOrPercent::Int(2),
        max_unavailable: IntOrPercent::Int(0),
        poll_interval: Duration::from_millis(50),
        ..UpgradeOptions::new(to)
    }
}

fn kubelet(n: &Node) -> String {
    n.status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.kubelet_version.clone())
        .unwrap_or_default()
}

fn cordoned(n: &Node) -> bool {
    n.spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
}

async fn nodes(client: &kube::Client) -> Vec<Node> {
    Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

fn names(nodes: &[Node]) -> Vec<String> {
    let mut names: Vec<String> = nodes
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    names.sort();
    names
}

/// PodDisruptionBudgets that allow no disruption now (a one-replica app with `minAvailable: 1`).
async fn blocking_pdbs(client: &kube::Client) -> Vec<PodDisruptionBudget> {
    Api::<PodDisruptionBudget>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| {
            p.status
                .as_ref()
                .is_some_and(|s| s.disruptions_allowed == 0)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_then_every_node_of_the_pool() {
    let lab = LabTwin::start(FLEET, SCALE, capstan_sim::TwinConfig::default())
        .await
        .unwrap();
    let client = lab.client("alpha").await.unwrap();
    let before = nodes(&client).await;
    assert_eq!(before.len(), 5);
    let old = names(&before);

    // The generated apps include a one-replica Deployment whose PDB allows no disruption: the
    // roll halts on its node with the blocker named, after the control plane moved.
    let blockers = blocking_pdbs(&client).await;
    assert!(!blockers.is_empty(), "the fleet has a blocking PDB");
    let err = upgrader(&lab, options("1.34"))
        .await
        .run(&LogUpgradeObserver)
        .await
        .unwrap_err()
        .to_string();
    let pdb = blockers[0].metadata.name.clone().unwrap();
    assert!(err.contains("halted"), "{err}");
    assert!(
        err.contains(&format!("/{pdb} (needs 1 healthy, has 1)")),
        "{err}"
    );
    assert_eq!(client.apiserver_version().await.unwrap().minor, "34");
    let halted: Vec<Node> = nodes(&client)
        .await
        .into_iter()
        .filter(|n| {
            err.contains(&format!(
                "the drain of {} ",
                n.metadata.name.as_deref().unwrap()
            ))
        })
        .collect();
    assert_eq!(halted.len(), 1, "{err}");
    assert!(cordoned(&halted[0]), "the halted node stays cordoned");
    let marks = halted[0].metadata.annotations.clone().unwrap_or_default();
    assert!(marks.contains_key(DRAIN_STARTED) && !marks.contains_key(DRAINED));
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), record::NAMESPACE);
    assert!(
        cms.get_opt(record::NAME).await.unwrap().is_some(),
        "the record stays"
    );

    // The owner lifts the budget; the same command continues the roll to the end.
    for p in &blockers {
        let api: Api<PodDisruptionBudget> =
            Api::namespaced(client.clone(), p.metadata.namespace.as_deref().unwrap());
        api.delete(
            p.metadata.name.as_deref().unwrap(),
            &DeleteParams::default(),
        )
        .await
        .unwrap();
    }
    let report = upgrader(&lab, options("1.34"))
        .await
        .run(&LogUpgradeObserver)
        .await
        .unwrap();
    assert!(report.resumed);
    assert!(
        report.control_plane_steps.is_empty(),
        "{:?}",
        report.control_plane_steps
    );
    let target = report.target.to_string();
    assert!(target.starts_with("1.34."), "{target}");

    // Every node replaced by one at the target; none cordoned; the pool's size kept.
    let after = nodes(&client).await;
    assert_eq!(after.len(), 5, "{:?}", names(&after));
    for n in &after {
        assert!(
            kubelet(n).starts_with(&format!("v{target}")),
            "{}",
            kubelet(n)
        );
        assert!(!cordoned(n), "{:?} left cordoned", n.metadata.name);
    }
    assert!(names(&after).iter().all(|n| !old.contains(n)));
    let pool = &report.pools[0];
    assert_eq!((pool.pool.as_str(), pool.size), ("general", 5));
    assert!(pool.drains.iter().all(|d| d.succeeded()));
    // The halted node was drained by this run, taking its drain up again.
    let halted_name = halted[0].metadata.name.clone().unwrap();
    assert!(pool.drains.iter().any(|d| d.node == halted_name));

    // Timelines: new nodes went through Provisioning and Joining into Operating; old ones
    // through Draining (when this run saw it) into Terminating, and are gone.
    for t in &report.timelines {
        let phases: Vec<NodePhase> = t.transitions().iter().map(|(p, _)| *p).collect();
        if old.contains(&t.node) {
            assert_eq!(phases.last(), Some(&NodePhase::Terminating), "{}", t.node);
            assert!(t.finished().is_some(), "{} gone", t.node);
        } else {
            assert_eq!(
                phases,
                [
                    NodePhase::Provisioning,
                    NodePhase::Joining,
                    NodePhase::Operating
                ],
                "{}",
                t.node
            );
        }
    }
    let halted_timeline = report
        .timelines
        .iter()
        .find(|t| t.node == halted_name)
        .unwrap();
    assert_eq!(halted_timeline.transitions()[0].0, NodePhase::Draining);
    assert!(report.phase_stats[NodePhase::Draining as usize].completed >= 1);

    // The record is gone; the pods run on the new nodes.
    assert!(cms.get_opt(record::NAME).await.unwrap().is_none());
    let new_nodes = names(&after);
    eventually("every pod Running on a new node", DEADLINE, || {
        let pods: Api<Pod> = Api::all(client.clone());
        let new_nodes = new_nodes.clone();
        async move {
            let pods = pods.list(&ListParams::default()).await.ok()?.items;
            pods.iter()
                .all(|p| {
                    let status = p.status.as_ref();
                    let phase = status.and_then(|s| s.phase.as_deref());
                    let node = p.spec.as_ref().and_then(|s| s.node_name.as_ref());
                    phase == Some("Succeeded")
                        || (phase == Some("Running") && node.is_some_and(|n| new_nodes.contains(n)))
                })
                .then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_requests_change_nothing() {
    let lab = LabTwin::start(FLEET, SCALE, capstan_sim::TwinConfig::default())
        .await
        .unwrap();
    let client = lab.client("alpha").await.unwrap();
    let cases: Vec<(UpgradeOptions, &str)> = vec![
        (options("1.31"), "never downgrades"),
        (options("1.32.1"), "older than the control plane (1.32.4)"),
        (options("1.33.99"), "1.33.99 is not offered by the provider"),
        (options("2.0"), "not offered"),
        (options("soon"), "invalid version"),
        (
            UpgradeOptions {
                max_surge: IntOrPercent::Int(0),
                max_unavailable: IntOrPercent::Percent(0),
                ..options("1.33")
            },
            "maxUnavailable: may not be 0 when maxSurge is 0",
        ),
        (
            UpgradeOptions {
                pools: Some(vec!["gpu".into()]),
                ..options("1.33")
            },
            "no node pool named \"gpu\" (pools: general)",
        ),
    ];
    for (options, expected) in cases {
        let to = options.to.clone();
        let err = upgrader(&lab, options)
            .await
            .run(&LogUpgradeObserver)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(expected),
            "--to {to}: {err:?} lacks {expected:?}"
        );
    }
    assert_eq!(client.apiserver_version().await.unwrap().minor, "32");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), record::NAMESPACE);
    assert!(cms.get_opt(record::NAME).await.unwrap().is_none());
    let now = nodes(&client).await;
    assert_eq!(now.len(), 5);
    assert!(now.iter().all(|n| !cordoned(n)));
    let provider = SimProvider::new(client.clone(), None);
    assert!(
        provider.machines().await.unwrap().is_empty(),
        "no machine ordered"
    );
}
