#![allow(clippy::unwrap_used)]
//! Per-cluster preflight and target resolution in the rollout controller, and clusters that
//! leave the inventory mid-rollout: in process, as `tests/rollout.rs`.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use capstan_clock::Clock;
use capstan_core::rollout::ClusterState;
use capstan_hub::rollout::{PREFLIGHT_FAILED, work_id};
use capstan_hub::store::{ClusterHealth, SqliteStore, WorkStatus};
use common::{CANONICAL, HOUR, Hub, healthy};
use serde_json::json;

/// A one-step rollout over the production clusters, all at once; `VERSION` is replaced by a
/// `version:` line or nothing.
const ALL_AT_ONCE: &str = "\
apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
metadata: {name: NAME}
spec:
  VERSION
  clusterSelector: {matchLabels: {environment: production}}
  strategy:
    type: Canary
    canary:
      maxFailures: MAXFAILURES
      steps: [{percentage: 100}]
";

fn all_at_once(name: &str, version: Option<&str>, max_failures: u32) -> String {
    ALL_AT_ONCE
        .replace("NAME", name)
        .replace(
            "VERSION",
            &version.map_or(String::new(), |v| format!("version: \"{v}\"")),
        )
        .replace("MAXFAILURES", &max_failures.to_string())
}

#[tokio::test]
async fn each_cluster_gets_the_newest_patch_its_provider_offers() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    let offered_a = ["1.32.4", "1.33.1", "1.33.5", "1.34.2"];
    let offered_b = ["1.33.2", "1.33.3", "1.34.0"];
    hub.report(&healthy("prod-a", "production", "v1.32.4", &offered_a))
        .await;
    hub.report(&healthy(
        "prod-b",
        "production",
        "v1.32.4-eks-1",
        &offered_b,
    ))
    .await;
    // Reported no offered versions: `1.33` passes through for its agent to resolve.
    hub.report(&healthy("prod-c", "production", "v1.32.4", &[]))
        .await;

    let applied = hub.apply(&all_at_once("minor", Some("1.33"), 0)).await;
    assert_eq!(applied.upgrade.status["phase"], "Progressing");
    let a = hub.payload("minor", "prod-a", 1).await;
    assert_eq!(
        (&a["version"], &a["from"]),
        (&json!("1.33.5"), &json!("1.32.4"))
    );
    let b = hub.payload("minor", "prod-b", 1).await;
    assert_eq!(
        (&b["version"], &b["from"]),
        (&json!("1.33.3"), &json!("1.32.4"))
    );
    let c = hub.payload("minor", "prod-c", 1).await;
    assert_eq!(c["version"], "1.33");
    // Visible in the upgrade's clusters, as `describe` shows them.
    let rollout = hub.cluster_rollout("minor", "prod-b").await;
    assert_eq!(rollout.from.as_deref(), Some("1.32.4"));
    assert_eq!(rollout.to.as_deref(), Some("1.33.3"));

    // The target is fixed at the first work item: a newer patch offered later and a retry
    // do not move it.
    let newer = ["1.33.2", "1.33.3", "1.33.9", "1.34.0"];
    hub.report(&healthy("prod-b", "production", "v1.32.4", &newer))
        .await;
    hub.store
        .set_work_status(
            &work_id("minor", "prod-b", 1),
            1,
            WorkStatus::Failed,
            Some("drain halted"),
            hub.clock.now(),
        )
        .await
        .unwrap();
    let controller = hub.controller();
    hub.reconcile(&controller).await;
    let (code, body) = hub.call("POST", "/api/v1/upgrades/minor/retry", None).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let retried = hub.payload("minor", "prod-b", 2).await;
    assert_eq!(retried["version"], "1.33.3");
}

#[tokio::test]
async fn without_a_version_each_cluster_goes_to_its_own_next_minor() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    let offered = ["1.31.9", "1.32.1", "1.32.7", "1.33.0", "1.33.3", "1.34.1"];
    hub.report(&healthy("prod-old", "production", "v1.31.9", &offered))
        .await;
    hub.report(&healthy("prod-new", "production", "v1.33.3", &offered))
        .await;
    hub.apply(&all_at_once("next", None, 0)).await;
    assert_eq!(
        hub.payload("next", "prod-old", 1).await["version"],
        "1.32.7"
    );
    assert_eq!(
        hub.payload("next", "prod-new", 1).await["version"],
        "1.34.1"
    );
    assert_eq!(hub.payload("next", "prod-new", 1).await["from"], "1.33.3");
}

#[tokio::test]
async fn preflight_refusals_fail_the_cluster_and_count_against_the_budget() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    let offered = ["1.33.3", "1.33.5", "1.34.1"];
    hub.report(&healthy("prod-ok", "production", "v1.32.4", &offered))
        .await;
    let mut degraded = healthy("prod-degraded", "production", "v1.32.4", &offered);
    degraded.health = ClusterHealth::Degraded;
    hub.report(&degraded).await;
    hub.report(&healthy("prod-ahead", "production", "v1.34.1", &offered))
        .await;
    let mut blocked = healthy("prod-blocked", "production", "v1.32.4", &offered);
    blocked.summary = json!({"drainBlockers": {"total": 2, "items": [
        // minAvailable equal to the replicas: no eviction, ever.
        {"namespace": "shop", "name": "cart", "message": "needs 4 healthy, has 4",
         "desiredHealthy": 4, "currentHealthy": 4, "expectedPods": 4,
         "pods": {"total": 4, "items": []}, "nodes": 3},
        // Pods still starting under a budget with room: clears by itself.
        {"namespace": "shop", "name": "web", "message": "needs 2 healthy, has 2",
         "desiredHealthy": 2, "currentHealthy": 2, "expectedPods": 3,
         "pods": {"total": 3, "items": []}, "nodes": 3}]}});
    hub.report(&blocked).await;
    let mut transient = healthy("prod-transient", "production", "v1.32.4", &offered);
    transient.summary = json!({"drainBlockers": {"total": 1, "items": [
        {"namespace": "shop", "name": "web", "message": "needs 2 healthy, has 2",
         "desiredHealthy": 2, "currentHealthy": 2, "expectedPods": 3,
         "pods": {"total": 3, "items": []}, "nodes": 3}]}});
    hub.report(&transient).await;

    // Three refusals against a budget of two: the third halts the rollout.
    let applied = hub.apply(&all_at_once("checked", Some("1.33"), 2)).await;
    assert_eq!(
        applied.upgrade.status["phase"], "Halted",
        "{:?}",
        applied.events
    );
    let state = |name: &str| {
        applied
            .clusters
            .iter()
            .find(|c| c.cluster == name)
            .unwrap()
            .rollout
            .clone()
    };
    for ok in ["prod-ok", "prod-transient"] {
        assert_eq!(state(ok).state, ClusterState::Upgrading, "{ok}");
        assert_eq!(hub.payload("checked", ok, 1).await["version"], "1.33.5");
    }
    let refused = [
        (
            "prod-degraded",
            "preflight: the cluster is Degraded, not Healthy",
        ),
        ("prod-ahead", "never downgrades"),
        ("prod-blocked", "shop/cart (needs 4 healthy, has 4)"),
    ];
    for (name, why) in refused {
        let rollout = state(name);
        assert_eq!(rollout.state, ClusterState::Failed, "{name}");
        assert!(
            rollout.message.starts_with("preflight: "),
            "{name}: {}",
            rollout.message
        );
        assert!(rollout.message.contains(why), "{name}: {}", rollout.message);
        assert!(
            hub.store
                .get_work(&work_id("checked", name, 1))
                .await
                .unwrap()
                .is_none(),
            "no work for a refused cluster"
        );
    }
    assert!(
        !state("prod-blocked").message.contains("shop/web"),
        "transient"
    );
    let preflight_events: Vec<_> = applied
        .events
        .iter()
        .filter(|e| e.reason == PREFLIGHT_FAILED)
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(preflight_events.len(), 3, "{preflight_events:?}");
    assert!(
        applied
            .events
            .iter()
            .any(|e| e.reason == "FailureBudgetExceeded")
    );

    // Retry runs preflight again: the cluster that recovered starts, the others fail again.
    hub.report(&healthy("prod-degraded", "production", "v1.32.4", &offered))
        .await;
    let (code, body) = hub
        .call("POST", "/api/v1/upgrades/checked/retry", None)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let retried = hub.describe("checked").await;
    let rollout = |name: &str| {
        retried
            .clusters
            .iter()
            .find(|c| c.cluster == name)
            .unwrap()
            .rollout
            .clone()
    };
    assert_eq!(rollout("prod-degraded").state, ClusterState::Upgrading);
    assert_eq!(rollout("prod-degraded").attempts, 2);
    assert_eq!(
        hub.payload("checked", "prod-degraded", 2).await["version"],
        "1.33.5"
    );
    for name in ["prod-ahead", "prod-blocked"] {
        assert_eq!(rollout(name).state, ClusterState::Failed, "{name}");
        assert_eq!(rollout(name).attempts, 2, "{name}");
    }
    // Two failures are within the budget of two.
    assert_eq!(retried.upgrade.status["phase"], "Progressing");
}

#[tokio::test]
async fn exact_version_not_offered_and_silent_clusters_are_refused() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.report(&healthy(
        "prod-a",
        "production",
        "v1.32.4",
        &["1.33.3", "1.33.5"],
    ))
    .await;
    let applied = hub.apply(&all_at_once("exact", Some("1.33.4"), 0)).await;
    let a = &applied.clusters[0].rollout;
    assert_eq!(a.state, ClusterState::Failed);
    assert!(
        a.message.contains(
            "preflight: version 1.33.4 is not offered by the provider (offered: 1.33.3, 1.33.5)"
        ),
        "{}",
        a.message
    );
    assert_eq!(applied.upgrade.status["phase"], "Halted");

    // A cluster whose last report is older than the lease is Unknown.
    hub.report(&healthy("prod-b", "production", "v1.32.4", &["1.33.3"]))
        .await;
    hub.clock.advance(Duration::from_secs(601));
    let applied = hub.apply(&all_at_once("silent", Some("1.33"), 5)).await;
    for c in &applied.clusters {
        assert_eq!(c.rollout.state, ClusterState::Failed, "{}", c.cluster);
        assert!(
            c.rollout
                .message
                .contains("Unknown: its last report is 601s old"),
            "{}",
            c.rollout.message
        );
    }
}

#[tokio::test]
async fn a_deleted_cluster_is_skipped_and_reported() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(20).await;
    let controller = hub.controller();
    let applied = hub.apply(CANONICAL).await;
    let order: Vec<String> = applied.clusters.iter().map(|c| c.cluster.clone()).collect();
    let (upgrading, pending) = (&order[0], &order[10]);

    for cluster in [upgrading, pending] {
        let (code, body) = hub
            .call("DELETE", &format!("/api/v1/clusters/{cluster}"), None)
            .await;
        assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
    }
    let (code, _) = hub
        .call("DELETE", &format!("/api/v1/clusters/{pending}"), None)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = hub
        .call("GET", &format!("/api/v1/clusters/{pending}"), None)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    hub.reconcile(&controller).await;
    let after = hub.describe("to-1-33").await;
    for cluster in [upgrading, pending] {
        let rollout = hub.cluster_rollout("to-1-33", cluster).await;
        assert_eq!(rollout.state, ClusterState::Removed, "{cluster}");
    }
    let removed_events = after
        .events
        .iter()
        .filter(|e| e.reason == "ClusterRemoved")
        .count();
    assert_eq!(removed_events, 2);
    // Removed is not failed: the rollout goes on and finishes without them.
    assert_ne!(after.upgrade.status["phase"], "Halted");
    for soak in [HOUR, 4 * HOUR, HOUR] {
        hub.finish_open_work(20, WorkStatus::Succeeded).await;
        hub.reconcile(&controller).await;
        hub.clock.advance(soak);
        hub.reconcile(&controller).await;
    }
    let done = hub.describe("to-1-33").await;
    assert_eq!(done.upgrade.status["phase"], "Succeeded");
    assert!(
        done.upgrade.status["message"]
            .as_str()
            .unwrap()
            .contains("18 upgraded, 0 skipped, 2 removed"),
        "{}",
        done.upgrade.status["message"]
    );
}
