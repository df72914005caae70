#![allow(clippy::unwrap_used)]
//! The rollout controller and the upgrades API, in process over a SQLite store, with a
//! simulated clock advanced by hand. The agents are played by the test: it marks work items
//! Succeeded or Failed in the store as an agent's status report would.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use capstan_clock::Clock;
use capstan_hub::api::{InvalidUpgrade, WorkNotifier};
use capstan_hub::rollout::{RolloutController, WORK_KIND, work_id};
use capstan_hub::store::{SqliteStore, WorkStatus};
use common::{CANONICAL, HOUR, Hub};
use serde_json::json;

#[tokio::test]
async fn canonical_example_over_20_clusters_succeeds_with_each_cluster_started_once() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(20).await;
    let controller = hub.controller();

    let applied = hub.apply(CANONICAL).await;
    assert_eq!(applied.upgrade.name, "to-1-33");
    assert_eq!(
        applied.clusters.len(),
        20,
        "staging clusters are not selected"
    );
    assert_eq!(
        applied.upgrade.status["plan"]["stepTargets"],
        json!([2, 10, 20])
    );
    let first = hub.open_work(20).await;
    assert_eq!(first.len(), 2, "step 1 is ceil(10% of 20) = 2 clusters");
    let item = hub.store.get_work(&first[0].1).await.unwrap().unwrap();
    assert_eq!(item.kind, WORK_KIND);
    assert_eq!(item.generation, 1);
    assert_eq!(item.payload["upgrade"], "to-1-33");
    assert_eq!(item.payload["version"], "1.33");
    // The canaries are the first two of the frozen order.
    let order: Vec<_> = applied.clusters.iter().map(|c| c.cluster.clone()).collect();
    let mut started: Vec<_> = first.iter().map(|(c, _)| c.clone()).collect();
    started.sort();
    let mut expected = order[..2].to_vec();
    expected.sort();
    assert_eq!(started, expected);

    // Step by step: finish the open work, then the soak holds back the next step until
    // its pause has elapsed.
    let soaks = [HOUR, 4 * HOUR, HOUR];
    let next_sizes = [8, 10, 0];
    for (soak, next_size) in soaks.into_iter().zip(next_sizes) {
        hub.finish_open_work(20, WorkStatus::Succeeded).await;
        hub.reconcile(&controller).await;
        assert_eq!(hub.phase("to-1-33").await, "Soaking");
        hub.clock.advance(soak - Duration::from_secs(60));
        hub.reconcile(&controller).await;
        assert!(
            hub.open_work(20).await.is_empty(),
            "no work during the soak"
        );
        assert_eq!(hub.phase("to-1-33").await, "Soaking");
        hub.clock.advance(Duration::from_secs(60));
        hub.reconcile(&controller).await;
        assert_eq!(hub.open_work(20).await.len(), next_size);
        // A repeated round changes nothing.
        hub.reconcile(&controller).await;
        assert_eq!(hub.open_work(20).await.len(), next_size);
    }

    let done = hub.describe("to-1-33").await;
    assert_eq!(done.upgrade.status["phase"], "Succeeded");
    for cluster in &done.clusters {
        assert_eq!(cluster.rollout.attempts, 1, "{}", cluster.cluster);
        let first = work_id("to-1-33", &cluster.cluster, 1);
        let item = hub.store.get_work(&first).await.unwrap().unwrap();
        assert_eq!(item.status, WorkStatus::Succeeded);
        let second = work_id("to-1-33", &cluster.cluster, 2);
        assert!(hub.store.get_work(&second).await.unwrap().is_none());
    }
    for staging in ["staging-a", "staging-b"] {
        assert!(hub.store.list_open_work(staging).await.unwrap().is_empty());
    }
    let reasons: Vec<_> = done.events.iter().map(|e| e.reason.as_str()).collect();
    assert!(reasons.contains(&"RolloutStarted"), "{reasons:?}");
    assert!(reasons.contains(&"RolloutSucceeded"), "{reasons:?}");
    let (code, list) = hub.call("GET", "/api/v1/upgrades", None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn invalid_upgrade_is_422_with_every_field_and_stores_nothing() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(3).await;

    // Percentages not increasing and not ending at 100, and a pause that is no duration.
    let bad_values = CANONICAL
        .replace("percentage: 50", "percentage: 5")
        .replace("percentage: 100", "percentage: 90")
        .replace("pause: 4h", "pause: soon");
    let (code, body) = hub
        .call("POST", "/api/v1/upgrades", Some(&bad_values))
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let invalid: InvalidUpgrade = serde_json::from_value(body).unwrap();
    let paths: Vec<_> = invalid.errors.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.len() >= 3, "{paths:?}");
    assert!(
        paths.iter().any(|p| p.contains("steps[1].percentage")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.contains("steps[1].pause")),
        "{paths:?}"
    );

    // A misspelt field is named by its path.
    let misspelt = CANONICAL.replace("pause: 1h, percentage: 10", "pauze: 1h, percentage: 10");
    let (code, body) = hub.call("POST", "/api/v1/upgrades", Some(&misspelt)).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["field"]
            .as_str()
            .unwrap()
            .contains("spec.strategy.canary.steps[0]"),
        "{body}"
    );

    assert!(hub.store.list_upgrades().await.unwrap().is_empty());
    assert!(hub.open_work(3).await.is_empty());

    // Once valid it is accepted; a second apply of the same name is a conflict.
    hub.apply(CANONICAL).await;
    let (code, _) = hub.call("POST", "/api/v1/upgrades", Some(CANONICAL)).await;
    assert_eq!(code, StatusCode::CONFLICT);
}

#[tokio::test]
async fn pause_stops_new_work_and_resume_continues() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(20).await;
    let controller = hub.controller();
    hub.apply(CANONICAL).await;

    let (code, body) = hub
        .call("POST", "/api/v1/upgrades/to-1-33/pause", None)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["status"]["phase"], "Paused");
    // The running clusters finish and are recorded, but nothing new starts, soak or not.
    hub.finish_open_work(20, WorkStatus::Succeeded).await;
    hub.reconcile(&controller).await;
    hub.clock.advance(2 * HOUR);
    hub.reconcile(&controller).await;
    assert!(hub.open_work(20).await.is_empty());
    let paused = hub.describe("to-1-33").await;
    assert_eq!(paused.upgrade.status["phase"], "Paused");
    let succeeded = paused
        .clusters
        .iter()
        .filter(|c| c.rollout.state == capstan_core::rollout::ClusterState::Succeeded)
        .count();
    assert_eq!(succeeded, 2);

    let (code, body) = hub
        .call("POST", "/api/v1/upgrades/to-1-33/resume", None)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    // The step's clusters finished while paused, so its soak starts now, not before.
    assert_eq!(body["status"]["phase"], "Soaking");
    hub.reconcile(&controller).await;
    assert!(hub.open_work(20).await.is_empty());
    hub.clock.advance(HOUR);
    hub.reconcile(&controller).await;
    assert_eq!(hub.open_work(20).await.len(), 8);

    let (code, _) = hub
        .call("POST", "/api/v1/upgrades/to-1-33/explode", None)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = hub.call("POST", "/api/v1/upgrades/nope/pause", None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn failed_cluster_halts_and_retry_starts_only_it_again() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(20).await;
    let controller = hub.controller();
    hub.apply(CANONICAL).await;

    let open = hub.open_work(20).await;
    let (failed_cluster, failed_id) = open[0].clone();
    hub.store
        .set_work_status(
            &failed_id,
            1,
            WorkStatus::Failed,
            Some("drain blocked"),
            hub.clock.now(),
        )
        .await
        .unwrap();
    hub.reconcile(&controller).await;
    let halted = hub.describe("to-1-33").await;
    assert_eq!(
        halted.upgrade.status["phase"], "Halted",
        "budget 0 exceeded"
    );
    let failed = halted
        .clusters
        .iter()
        .find(|c| c.cluster == failed_cluster)
        .unwrap();
    assert_eq!(failed.rollout.message, "drain blocked");

    let (code, body) = hub
        .call("POST", "/api/v1/upgrades/to-1-33/retry", None)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    hub.reconcile(&controller).await;
    let retry_id = work_id("to-1-33", &failed_cluster, 2);
    let retry = hub.store.get_work(&retry_id).await.unwrap().unwrap();
    assert_eq!(retry.status, WorkStatus::Pending);
    let open: Vec<_> = hub
        .open_work(20)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert!(open.contains(&retry_id), "{open:?}");
    // Only the failed cluster is tried again.
    let others_retried = open.iter().filter(|id| id.ends_with("/2")).count();
    assert_eq!(others_retried, 1, "{open:?}");
    let first = hub.store.get_work(&failed_id).await.unwrap().unwrap();
    assert_eq!(first.status, WorkStatus::Failed);
}

#[tokio::test]
async fn restarted_controller_continues_without_duplicating_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let clock = Hub::clock();
    let hub = Hub::over(SqliteStore::open(&path).await.unwrap(), clock.clone()).await;
    hub.register_fleet(20).await;
    hub.apply(CANONICAL).await;
    hub.finish_open_work(20, WorkStatus::Succeeded).await;
    hub.reconcile(&hub.controller()).await;
    clock.advance(HOUR);
    hub.reconcile(&hub.controller()).await;
    assert_eq!(hub.open_work(20).await.len(), 8);
    // Half of step 2 reports back before the "crash".
    let open = hub.open_work(20).await;
    for (_, id) in &open[..4] {
        hub.store
            .set_work_status(id, 1, WorkStatus::Succeeded, None, clock.now())
            .await
            .unwrap();
    }
    hub.sqlite.close().await;
    drop(hub);

    // A new hub process: new store handle, new notifier, same file and (simulated) time.
    let hub = Hub::over(SqliteStore::open(&path).await.unwrap(), clock.clone()).await;
    let controller =
        RolloutController::new(hub.store.clone(), clock.clone(), WorkNotifier::default());
    hub.reconcile(&controller).await;
    assert_eq!(
        hub.open_work(20).await.len(),
        4,
        "the other half still runs"
    );
    for soak_and_step in 0..2 {
        hub.finish_open_work(20, WorkStatus::Succeeded).await;
        hub.reconcile(&controller).await;
        clock.advance(if soak_and_step == 0 { 4 * HOUR } else { HOUR });
        hub.reconcile(&controller).await;
    }
    let done = hub.describe("to-1-33").await;
    assert_eq!(done.upgrade.status["phase"], "Succeeded");
    for cluster in &done.clusters {
        assert_eq!(cluster.rollout.attempts, 1, "{}", cluster.cluster);
        let second = work_id("to-1-33", &cluster.cluster, 2);
        assert!(hub.store.get_work(&second).await.unwrap().is_none());
    }
}

/// A hub killed between creating an upgrade and writing its first decision leaves Upgrading
/// clusters without work items: the next round queues them, once.
#[tokio::test]
async fn upgrading_cluster_without_its_work_item_gets_it_queued_again() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(20).await;
    let upgrade = capstan_core::rollout::parse_cluster_upgrade(CANONICAL).unwrap();
    let selected: Vec<_> = (0..20)
        .map(|i| {
            let labels = BTreeMap::from([("environment", "production")]);
            (format!("prod-{i:02}"), labels)
        })
        .collect();
    let (state, _actions) =
        capstan_core::rollout::start(&upgrade, &selected, hub.clock.now()).unwrap();
    hub.store
        .create_upgrade(
            "to-1-33",
            &serde_json::to_value(&upgrade).unwrap(),
            &serde_json::to_value(&state).unwrap(),
            hub.clock.now(),
        )
        .await
        .unwrap();
    assert!(hub.open_work(20).await.is_empty());

    let controller = hub.controller();
    hub.reconcile(&controller).await;
    let open = hub.open_work(20).await;
    assert_eq!(open.len(), 2);
    for (cluster, id) in &open {
        assert_eq!(id, &work_id("to-1-33", cluster, 1));
    }
    hub.reconcile(&controller).await;
    assert_eq!(hub.open_work(20).await.len(), 2);
}
