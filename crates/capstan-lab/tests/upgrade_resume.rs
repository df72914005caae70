//! An upgrade killed mid-roll and started again continues from the cluster's state: no node
//! drained twice, none lost, none left cordoned.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use capstan_clock::SharedClock;
use capstan_core::annotations::DRAIN_STARTED;
use capstan_core::upgrade::IntOrPercent;
use capstan_kube::drain::DrainOptions;
use capstan_kube::provider::Provider;
use capstan_kube::provider::sim::SimProvider;
use capstan_kube::upgrade::{
    ClusterUpgrader, LogUpgradeObserver, UpgradeObserver, UpgradeOptions, UpgradeProgress, record,
};
use capstan_lab::LabTwin;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node};
use kube::Api;
use kube::api::ListParams;

/// Six nodes; the generated PodDisruptionBudgets are deleted below so that no drain halts.
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
    nodes: 6
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a]
"#;

const SCALE: f64 = 3000.0;
const DEADLINE: Duration = Duration::from_secs(60);

async fn upgrader(lab: &LabTwin) -> ClusterUpgrader {
    let client = lab.client("alpha").await.unwrap();
    let clock: SharedClock = lab.clock.clone();
    let provider: Arc<dyn Provider> = Arc::new(SimProvider::new(client, Some(clock)));
    let drain = DrainOptions {
        ignore_daemonsets: true,
        delete_emptydir_data: true,
        timeout: Some(Duration::from_secs(30 * 60)),
        ..DrainOptions::default()
    };
    let options = UpgradeOptions {
        max_surge: IntOrPercent::Int(2),
        max_unavailable: IntOrPercent::Int(1),
        poll_interval: Duration::from_millis(50),
        ..UpgradeOptions::new("1.32")
    };
    lab.upgrader("alpha", provider, drain, options)
        .await
        .unwrap()
}

async fn nodes(client: &kube::Client) -> Vec<Node> {
    Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

fn annotated(n: &Node, key: &str) -> bool {
    n.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(key))
}

/// Upgrade events per (node, reason).
async fn upgrade_events(client: &kube::Client) -> BTreeMap<(String, String), usize> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let mut counts = BTreeMap::new();
    for e in events.list(&ListParams::default()).await.unwrap().items {
        let (Some(node), Some(reason)) = (e.involved_object.name.clone(), e.reason.clone()) else {
            continue;
        };
        if reason.starts_with("Upgrade") {
            *counts.entry((node, reason)).or_default() += 1;
        }
    }
    counts
}

/// Forwards the name of every node the roll reports drained.
struct DrainedObserver(tokio::sync::mpsc::UnboundedSender<String>);

impl UpgradeObserver for DrainedObserver {
    fn observe(&self, progress: &UpgradeProgress) {
        LogUpgradeObserver.observe(progress);
        if let UpgradeProgress::Drained { node, .. } = progress {
            // The receiver outlives the run; a send after the test stopped listening is moot.
            let _ = self.0.send(node.clone());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_roll_then_resumed() {
    let lab = LabTwin::start(FLEET, SCALE, capstan_sim::TwinConfig::default())
        .await
        .unwrap();
    let client = lab.client("alpha").await.unwrap();
    // A patch upgrade (1.32.4 -> newest 1.32.x): the control plane moves first, then the pool.
    // PDBs that allow no disruption would halt the roll; this test is about the restart.
    for p in Api::<k8s_openapi::api::policy::v1::PodDisruptionBudget>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
    {
        let api: Api<k8s_openapi::api::policy::v1::PodDisruptionBudget> =
            Api::namespaced(client.clone(), p.metadata.namespace.as_deref().unwrap());
        api.delete(p.metadata.name.as_deref().unwrap(), &Default::default())
            .await
            .unwrap();
    }
    let old: BTreeSet<String> = nodes(&client)
        .await
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(old.len(), 6);

    // Kill it as soon as the first run reports a node drained. The observer tells us: polling
    // the nodes for the drained annotation can miss it, since a drained node is terminated
    // moments later on the scaled clock.
    let (drained_tx, mut drained_rx) = tokio::sync::mpsc::unbounded_channel();
    let observer = DrainedObserver(drained_tx);
    let first = upgrader(&lab).await;
    let run = tokio::spawn(async move { first.run(&observer).await });
    let first_drained = tokio::time::timeout(DEADLINE, drained_rx.recv())
        .await
        .expect("a node drained by the first run within the deadline")
        .expect("the first run reports a drain before it ends");
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    let mut drained_at_kill = BTreeSet::from([first_drained]);
    while let Ok(node) = drained_rx.try_recv() {
        drained_at_kill.insert(node);
    }
    let at_kill = nodes(&client).await;
    let started_at_kill: BTreeSet<String> = at_kill
        .iter()
        .filter(|n| annotated(n, DRAIN_STARTED))
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), record::NAMESPACE);
    assert!(
        cms.get_opt(record::NAME).await.unwrap().is_some(),
        "the record survives"
    );

    // A new agent, knowing nothing, finishes the roll.
    let report = upgrader(&lab).await.run(&LogUpgradeObserver).await.unwrap();
    assert!(report.resumed);
    let target = report.target.to_string();

    // No node drained twice: a node drained before the kill is never drained again, and every
    // node's drain started once (resumed at most once, if the kill interrupted it).
    let second_drains: BTreeSet<String> = report.pools[0]
        .drains
        .iter()
        .map(|d| d.node.clone())
        .collect();
    for node in &drained_at_kill {
        assert!(!second_drains.contains(node), "{node} drained again");
    }
    let events = upgrade_events(&client).await;
    for node in &old {
        let count = |reason: &str| {
            events
                .get(&(node.clone(), reason.to_string()))
                .copied()
                .unwrap_or(0)
        };
        assert_eq!(count("UpgradeDrainStarted"), 1, "{node}: {events:?}");
        assert!(count("UpgradeDrained") <= 1, "{node}: {events:?}");
        assert!(count("UpgradeTerminating") <= 2, "{node}: {events:?}");
        if started_at_kill.contains(node) {
            assert!(count("UpgradeDrainResumed") <= 1, "{node}: {events:?}");
        } else {
            assert_eq!(count("UpgradeDrainResumed"), 0, "{node}: {events:?}");
        }
    }

    // No node lost, none left cordoned, all at the target, no old node left, no record.
    let after = nodes(&client).await;
    assert_eq!(after.len(), 6);
    for n in &after {
        let name = n.metadata.name.clone().unwrap();
        assert!(!old.contains(&name), "{name} is an old node");
        assert!(
            !n.spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false),
            "{name} cordoned"
        );
        let kubelet = n
            .status
            .as_ref()
            .unwrap()
            .node_info
            .as_ref()
            .unwrap()
            .kubelet_version
            .clone();
        assert!(
            kubelet.starts_with(&format!("v{target}")),
            "{name}: {kubelet}"
        );
    }
    assert!(cms.get_opt(record::NAME).await.unwrap().is_none());
}
