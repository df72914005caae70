use std::sync::Arc;

use capstan_clock::ScaledClock;
use capstan_core::lifecycle::NodePhase;
use capstan_core::summary::{MAX_DRAIN_BLOCKERS, MAX_POOLS, TOP_RESTARTING};
use serde_json::{Value, json};

use super::summarize;
use crate::slim::{SlimNode, SlimPdb, SlimPod};
use crate::view::ViewState;
use crate::view::stores::Watched;

const T0: &str = "2026-01-01T00:00:00Z";

/// A view whose clock (dating node deletions) reads 25 minutes after [`T0`].
fn state() -> ViewState {
    let origin = "2026-01-01T00:25:00Z".parse().unwrap();
    ViewState::new(Arc::new(ScaledClock::starting_at(origin, 1.0)))
}

fn node(name: &str, pool: &str, ready: &str, annotations: Value) -> SlimNode {
    serde_json::from_value(json!({
        "metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": T0,
            "labels": {"capstan.io/node-pool": pool}, "annotations": annotations},
        "status": {
            "conditions": [{"type": "Ready", "status": ready, "lastTransitionTime": "2026-01-01T00:03:00Z"}],
            "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            "nodeInfo": {"kubeletVersion": "v1.32.4"}
        }
    }))
    .unwrap()
}

fn pod(ns: &str, name: &str, node: Option<&str>, app: &str, phase: &str, restarts: i64) -> SlimPod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {"nodeName": node, "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"restartCount": restarts, "state": {}, "lastState": {}}]}
    }))
    .unwrap()
}

fn pdb(ns: &str, name: &str, app: &str, allowed: i64) -> SlimPdb {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns, "generation": 1},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": app}}},
        "status": {"observedGeneration": 1, "currentHealthy": 2, "desiredHealthy": 2,
            "disruptionsAllowed": allowed, "expectedPods": 2}
    }))
    .unwrap()
}

fn list<K: Watched>(s: &ViewState, objects: Vec<K>) {
    K::init(s);
    for o in objects {
        K::apply(s, o);
    }
    K::init_done(s);
}

#[test]
fn the_summary_counts_phases_resources_and_blockers() {
    let s = state();
    list(
        &s,
        vec![
            node("a1", "apps", "True", json!({})),
            node(
                "a2",
                "apps",
                "True",
                json!({"upgrade.toolkit.io/drain-started": "2026-01-01T00:20:00Z"}),
            ),
            node("b1", "batch", "False", json!({})),
        ],
    );
    list(
        &s,
        vec![
            pod("shop", "web-1", Some("a1"), "web", "Running", 0),
            pod("shop", "web-2", Some("a2"), "web", "Running", 7),
            pod("shop", "db-1", Some("a1"), "db", "Running", 1),
            pod("shop", "done", Some("b1"), "job", "Succeeded", 0),
            pod("shop", "waiting", None, "web", "Pending", 0),
        ],
    );
    list(
        &s,
        vec![pdb("shop", "web", "web", 0), pdb("shop", "db", "db", 1)],
    );
    let now = "2026-01-01T00:30:00Z".parse().unwrap();
    let sum = summarize(&s, now);

    assert_eq!((sum.nodes.total, sum.nodes.ready), (3, 2));
    assert_eq!(sum.nodes.by_version.get("v1.32.4"), Some(3));
    assert_eq!(sum.nodes.by_condition.get("Ready=False"), Some(1));
    let p = &sum.nodes.by_phase;
    assert_eq!(
        (p.joining, p.operating, p.draining, p.terminating),
        (1, 1, 1, 0)
    );

    assert_eq!(sum.pods.total, 5);
    assert_eq!((sum.pods.pending, sum.pods.pending_unscheduled), (1, 1));
    assert_eq!(sum.pods.by_phase.get("Succeeded"), Some(1));
    assert_eq!(sum.pods.restarts.total, 8);
    let top: Vec<_> = sum
        .pods
        .restarts
        .top
        .items
        .iter()
        .map(|p| (p.name.as_str(), p.restarts))
        .collect();
    assert_eq!(top, [("web-2", 7), ("db-1", 1)]);

    // Three bound, non-terminal pods at 100m / 1Gi; the Succeeded one does not count.
    assert_eq!(sum.resources.cpu_requested_millis, 300);
    assert_eq!(sum.resources.cpu_allocatable_millis, 12_000);
    assert_eq!(sum.resources.memory_requested_bytes, 3 << 30);
    let apps = sum
        .pools
        .items
        .iter()
        .find(|p| p.pool.as_deref() == Some("apps"))
        .unwrap();
    assert_eq!(
        (
            apps.nodes,
            apps.resources.pods_scheduled,
            apps.resources.cpu_requested_millis
        ),
        (2, 3, 300)
    );

    // Only the budget allowing no disruption blocks; the pending pod is selected too.
    assert_eq!(sum.drain_blockers.total, 1);
    let b = &sum.drain_blockers.items[0];
    assert_eq!(
        (b.name.as_str(), b.message.as_str()),
        ("web", "needs 2 healthy, has 2")
    );
    assert_eq!(b.pods.items, ["waiting", "web-1", "web-2"]);
    assert_eq!(b.nodes, 2);

    // Lifecycle: a1 and a2 joined for 3 minutes; a2 operated 17 minutes before draining.
    let joining = sum
        .lifecycle
        .iter()
        .find(|l| l.phase == NodePhase::Joining)
        .unwrap();
    assert_eq!((joining.completed, joining.in_progress), (2, 1));
    assert_eq!(joining.p50, Some(std::time::Duration::from_secs(180)));
    let draining = sum
        .lifecycle
        .iter()
        .find(|l| l.phase == NodePhase::Draining)
        .unwrap();
    assert_eq!(draining.in_progress, 1);
}

#[test]
fn a_relist_drops_deleted_objects_and_a_deleted_node_finishes_its_timeline() {
    let s = state();
    list(
        &s,
        vec![
            node("a1", "apps", "True", json!({})),
            node("a2", "apps", "True", json!({})),
        ],
    );
    list(
        &s,
        vec![pod("shop", "web-1", Some("a1"), "web", "Running", 0)],
    );
    // The watch restarts; the relist no longer has a2 nor the pod.
    list(&s, vec![node("a1", "apps", "True", json!({}))]);
    list::<SlimPod>(&s, vec![]);
    let sum = summarize(&s, "2026-01-01T00:30:00Z".parse().unwrap());
    assert_eq!((sum.nodes.total, sum.pods.total), (1, 0));
    assert!(s.pods.read().by_node.is_empty());
    let operating = sum
        .lifecycle
        .iter()
        .find(|l| l.phase == NodePhase::Operating)
        .unwrap();
    assert_eq!((operating.completed, operating.in_progress), (1, 1));
}

#[test]
fn the_summary_stays_bounded_on_a_large_cluster() {
    let s = state();
    let nodes: Vec<SlimNode> = (0..400)
        .map(|i| {
            node(
                &format!("n{i}"),
                &format!("pool-{}", i % 100),
                "True",
                json!({}),
            )
        })
        .collect();
    list(&s, nodes);
    let mut pods = Vec::new();
    let mut pdbs = Vec::new();
    for i in 0..20_000 {
        let app = format!("app-{}", i % 500);
        pods.push(pod(
            "big",
            &format!("p{i}"),
            Some(&format!("n{}", i % 400)),
            &app,
            "Running",
            i % 7,
        ));
    }
    for a in 0..500 {
        pdbs.push(pdb("big", &format!("pdb-{a}"), &format!("app-{a}"), 0));
    }
    list(&s, pods);
    list(&s, pdbs);
    let sum = summarize(&s, "2026-01-01T00:30:00Z".parse().unwrap());
    assert_eq!((sum.pools.total, sum.pools.items.len()), (100, MAX_POOLS));
    assert_eq!(sum.pods.restarts.top.items.len(), TOP_RESTARTING);
    assert!(sum.pods.restarts.top.items.iter().all(|p| p.restarts == 6));
    assert_eq!(
        (sum.drain_blockers.total, sum.drain_blockers.items.len()),
        (500, MAX_DRAIN_BLOCKERS)
    );
    assert!(
        sum.drain_blockers
            .items
            .iter()
            .all(|b| b.pods.total == 40 && b.pods.items.len() == 5)
    );
    let bytes = serde_json::to_vec(&sum).unwrap().len();
    assert!(bytes < 32 * 1024, "summary of {bytes} bytes");
}

#[test]
fn a_node_recreated_under_its_name_starts_a_new_timeline() {
    let s = state();
    list(&s, vec![node("a1", "apps", "True", json!({}))]);
    let mut again = node("a1", "apps", "True", json!({}));
    again.metadata.uid = Some("another-uid".to_string());
    list(&s, vec![again]);
    let sum = summarize(&s, "2026-01-01T00:30:00Z".parse().unwrap());
    let operating = sum
        .lifecycle
        .iter()
        .find(|l| l.phase == NodePhase::Operating)
        .unwrap();
    // The old node's Operating phase ended; the new node's is under way.
    assert_eq!((operating.completed, operating.in_progress), (1, 1));
}
