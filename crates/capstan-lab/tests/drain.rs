//! The drain engine against the twin: kubectl's filters, PDB-held pods reported with their
//! budget, the escalation policy at the deadline, and idempotent re-runs.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use capstan_core::annotations::{DRAIN_STARTED, DRAINED};
use capstan_kube::drain::{DrainOptions, DrainOutcome, Drainer, Escalation, LogObserver};
use capstan_lab::LabTwin;
use capstan_lab::fixtures::guarded_deployment;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

/// One cluster of six nodes with generated workloads (DaemonSets, Deployments with PDBs).
const FLEET: &str = r#"
clusters:
- name: alpha
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 30
  seed: 7
  nodePools:
  - name: general
    instanceType: m6i.2xlarge
    capacityType: on-demand
    nodes: 6
    cpu: "8"
    memory: 32Gi
    zones: [eu-west-1a]
"#;

/// Simulated seconds per real second: a 30 s grace period passes in 50 ms.
const SCALE: f64 = 600.0;

async fn lab() -> LabTwin {
    LabTwin::start(FLEET, SCALE, capstan_sim::TwinConfig::default())
        .await
        .unwrap()
}

async fn drainer(lab: &LabTwin, options: DrainOptions) -> Drainer {
    lab.drainer("alpha", options).await.unwrap()
}

async fn first_node(client: &kube::Client) -> String {
    let nodes: Api<Node> = Api::all(client.clone());
    let mut names: Vec<String> = nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    names.remove(0)
}

async fn pods_on(client: &kube::Client, node: &str) -> Vec<Pod> {
    let pods: Api<Pod> = Api::all(client.clone());
    pods.list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .unwrap()
        .items
}

fn key(p: &Pod) -> String {
    format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or(""),
        p.metadata.name.as_deref().unwrap_or("")
    )
}

fn is_daemonset_pod(p: &Pod) -> bool {
    p.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet")
}

fn kubectl_like() -> DrainOptions {
    DrainOptions {
        ignore_daemonsets: true,
        delete_emptydir_data: true,
        ..DrainOptions::default()
    }
}

#[tokio::test]
async fn drain_evicts_every_replicated_pod_and_marks_the_node() {
    let lab = lab().await;
    let client = lab.client("alpha").await.unwrap();
    let node = first_node(&client).await;
    let before = pods_on(&client, &node).await;
    let mut expected: Vec<String> = before
        .iter()
        .filter(|p| !is_daemonset_pod(p))
        .map(key)
        .collect();
    expected.sort();
    assert!(
        !expected.is_empty(),
        "the generator puts workload pods on every node"
    );

    let report = drainer(&lab, kubectl_like())
        .await
        .drain(&node, &LogObserver)
        .await
        .unwrap();
    assert_eq!(report.outcome, DrainOutcome::Drained, "{report:?}");
    assert_eq!(report.evicted, expected);
    assert!(report.skipped.iter().all(|p| p.starts_with("kube-system/")));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("ignoring DaemonSet-managed Pods: "))
    );

    let left = pods_on(&client, &node).await;
    assert!(
        left.iter().all(is_daemonset_pod),
        "only DaemonSet pods stay"
    );
    let n: Node = Api::all(client.clone()).get(&node).await.unwrap();
    assert_eq!(n.spec.unwrap().unschedulable, Some(true));
    let annotations = n.metadata.annotations.unwrap();
    let started = annotations[DRAIN_STARTED].clone();
    assert!(annotations.contains_key(DRAINED));

    // Draining again is harmless: nothing left to evict, the first start time stays.
    let again = drainer(&lab, kubectl_like())
        .await
        .drain(&node, &LogObserver)
        .await
        .unwrap();
    assert_eq!(again.outcome, DrainOutcome::Drained);
    assert!(again.evicted.is_empty());
    let n: Node = Api::all(client.clone()).get(&node).await.unwrap();
    assert_eq!(n.metadata.annotations.unwrap()[DRAIN_STARTED], started);
}

#[tokio::test]
async fn filter_errors_refuse_the_drain_and_touch_no_pod() {
    let lab = lab().await;
    let client = lab.client("alpha").await.unwrap();
    let node = first_node(&client).await;
    let bare: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "bare", "namespace": "default"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    Api::<Pod>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &bare)
        .await
        .unwrap();
    let mut before: Vec<String> = pods_on(&client, &node).await.iter().map(key).collect();
    before.sort();

    let report = drainer(&lab, kubectl_like())
        .await
        .drain(&node, &LogObserver)
        .await
        .unwrap();
    assert_eq!(
        report.outcome,
        DrainOutcome::Refused {
            errors: vec![
                "cannot delete Pods that declare no controller (use --force to override): default/bare"
                    .into()
            ]
        }
    );
    let mut after: Vec<String> = pods_on(&client, &node).await.iter().map(key).collect();
    after.sort();
    assert_eq!(before, after, "a refused drain evicts nothing");

    // With --force the bare pod goes too.
    let forced = drainer(
        &lab,
        DrainOptions {
            force: true,
            ..kubectl_like()
        },
    )
    .await
    .drain(&node, &LogObserver)
    .await
    .unwrap();
    assert_eq!(forced.outcome, DrainOutcome::Drained);
    assert!(forced.evicted.contains(&"default/bare".to_string()));
}

#[tokio::test]
async fn a_pdb_that_allows_nothing_halts_at_the_deadline_naming_the_budget() {
    let lab = lab().await;
    let client = lab.client("alpha").await.unwrap();
    let node = first_node(&client).await;
    guarded_deployment(&client, &node, json!({"minAvailable": 2}))
        .await
        .unwrap();

    let report = drainer(
        &lab,
        DrainOptions {
            timeout: Some(Duration::from_secs(600)),
            ..kubectl_like()
        },
    )
    .await
    .drain(&node, &LogObserver)
    .await
    .unwrap();
    assert!(
        matches!(report.outcome, DrainOutcome::Halted { .. }),
        "{report:?}"
    );
    let held: Vec<(String, String)> = report
        .blockers
        .iter()
        .map(|b| (b.pdb.clone(), b.reason.clone()))
        .collect();
    assert_eq!(
        held,
        vec![
            (
                "default/guarded".to_string(),
                "needs 2 healthy, has 2".to_string()
            ),
            (
                "default/guarded".to_string(),
                "needs 2 healthy, has 2".to_string()
            ),
        ]
    );
    assert!(
        report
            .blockers
            .iter()
            .all(|b| b.pod.starts_with("default/guarded-"))
    );
    // Everything else left; the guarded pods stay and the node stays cordoned.
    let left: Vec<Pod> = pods_on(&client, &node)
        .await
        .into_iter()
        .filter(|p| !is_daemonset_pod(p))
        .collect();
    assert_eq!(left.len(), 2);
    let n: Node = Api::all(client.clone()).get(&node).await.unwrap();
    assert_eq!(n.spec.unwrap().unschedulable, Some(true));
}

#[tokio::test]
async fn escalation_force_deletes_held_pods_and_records_an_event_for_each() {
    let lab = lab().await;
    let client = lab.client("alpha").await.unwrap();
    let node = first_node(&client).await;
    guarded_deployment(&client, &node, json!({"minAvailable": 2}))
        .await
        .unwrap();

    let report = drainer(
        &lab,
        DrainOptions {
            timeout: Some(Duration::from_secs(600)),
            on_deadline: Escalation::Force,
            ..kubectl_like()
        },
    )
    .await
    .drain(&node, &LogObserver)
    .await
    .unwrap();
    assert_eq!(report.outcome, DrainOutcome::Drained, "{report:?}");
    assert_eq!(report.forced.len(), 2);
    assert!(
        report
            .forced
            .iter()
            .all(|p| p.starts_with("default/guarded-"))
    );

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let forced_events: Vec<Event> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("DrainForcedDeletion"))
        .collect();
    for pod in &report.forced {
        let name = pod.split_once('/').unwrap().1;
        let event = forced_events
            .iter()
            .find(|e| e.involved_object.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("an event for {pod}"));
        assert_eq!(event.type_.as_deref(), Some("Warning"));
        let message = event.message.as_deref().unwrap();
        assert!(
            message.contains("PodDisruptionBudget default/guarded (needs 2 healthy, has 2)"),
            "{message}"
        );
    }
    // The node's own events record them too (kubectl describe node shows them).
    let node_events = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("Node")
                && e.reason.as_deref() == Some("DrainForcedDeletion")
        })
        .count();
    assert_eq!(node_events, 2);
}

#[tokio::test]
async fn server_dry_run_changes_nothing() {
    let lab = lab().await;
    let client = lab.client("alpha").await.unwrap();
    let node = first_node(&client).await;
    let mut before: Vec<String> = pods_on(&client, &node).await.iter().map(key).collect();
    before.sort();
    let report = drainer(
        &lab,
        DrainOptions {
            dry_run: true,
            ..kubectl_like()
        },
    )
    .await
    .drain(&node, &LogObserver)
    .await
    .unwrap();
    assert_eq!(report.outcome, DrainOutcome::Drained);
    assert!(!report.evicted.is_empty());
    let mut after: Vec<String> = pods_on(&client, &node).await.iter().map(key).collect();
    after.sort();
    assert_eq!(before, after);
    let n: Node = Api::all(client.clone()).get(&node).await.unwrap();
    assert_ne!(n.spec.unwrap().unschedulable, Some(true));
}
