#![allow(clippy::unwrap_used)]
//! The SQLite store: every operation, durability across reopen, and its concurrency rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use capstan_core::selector::LabelSelector;
use capstan_hub::Error;
use capstan_hub::store::{
    ClusterHealth, ClusterReport, ClusterVersions, NewEvent, NewWorkItem, RolloutWrite,
    SharedStore, SqliteStore, Store, Subject, WorkStatus,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn report(name: &str, labels: &[(&str, &str)], health: ClusterHealth) -> ClusterReport {
    ClusterReport {
        name: name.to_owned(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        versions: ClusterVersions {
            control_plane: Some("v1.32.4".to_owned()),
            kubelet: BTreeMap::from([("v1.32.4".to_owned(), 3), ("v1.31.9".to_owned(), 1)]),
            offered: vec!["1.32.9".to_owned(), "1.33.3".to_owned()],
        },
        node_count: 4,
        pod_count: 57,
        health,
        summary: json!({"nodes": {"total": 4}}),
        health_report: None,
    }
}

async fn memory() -> SharedStore {
    Arc::new(SqliteStore::memory().await.unwrap())
}

#[tokio::test]
async fn clusters_upsert_get_list_and_delete() {
    let store = memory().await;
    let first = report(
        "eu-1",
        &[("environment", "production")],
        ClusterHealth::Healthy,
    );
    store.upsert_cluster(&first, at(0)).await.unwrap();

    let mut second = first.clone();
    second.node_count = 5;
    second.health = ClusterHealth::Degraded;
    second.labels.insert("region".into(), "eu".into());
    store.upsert_cluster(&second, at(10)).await.unwrap();

    let got = store.get_cluster("eu-1").await.unwrap().unwrap();
    assert_eq!(got.node_count, 5);
    assert_eq!(got.pod_count, 57);
    assert_eq!(got.reported_health, ClusterHealth::Degraded);
    assert_eq!(got.labels, second.labels);
    assert_eq!(got.versions, second.versions);
    assert_eq!(got.summary, second.summary);
    assert_eq!(got.last_seen, at(10));
    assert_eq!(
        got.registered_at,
        at(0),
        "registration time kept across reports"
    );

    assert!(store.get_cluster("missing").await.unwrap().is_none());
    assert!(store.delete_cluster("eu-1").await.unwrap());
    assert!(!store.delete_cluster("eu-1").await.unwrap());
    assert!(store.get_cluster("eu-1").await.unwrap().is_none());
}

#[tokio::test]
async fn deregistering_removes_the_cluster_and_its_token_together() {
    let sqlite = SqliteStore::memory().await.unwrap();
    for name in ["eu-1", "us-2"] {
        let r = report(name, &[], ClusterHealth::Healthy);
        sqlite.upsert_cluster(&r, at(0)).await.unwrap();
        sqlite.register_agent(name, "token", at(0)).await.unwrap();
    }
    // An agent registered but never reported: its token alone is enough to deregister.
    sqlite.register_agent("ap-3", "token", at(0)).await.unwrap();
    assert_eq!(sqlite.cluster_names().await.unwrap(), ["eu-1", "us-2"]);

    assert!(sqlite.deregister_cluster("eu-1").await.unwrap());
    assert!(sqlite.get_cluster("eu-1").await.unwrap().is_none());
    assert!(!sqlite.verify_agent("eu-1", "token").await.unwrap());
    assert_eq!(sqlite.cluster_names().await.unwrap(), ["us-2"]);
    assert!(
        sqlite.verify_agent("us-2", "token").await.unwrap(),
        "others stay"
    );
    assert!(sqlite.deregister_cluster("ap-3").await.unwrap());
    assert!(
        !sqlite.deregister_cluster("eu-1").await.unwrap(),
        "already gone"
    );
    assert!(!sqlite.deregister_cluster("never").await.unwrap());
}

#[tokio::test]
async fn list_clusters_applies_the_label_selector() {
    let store = memory().await;
    for (name, env, region) in [
        ("us-2", "production", "us"),
        ("eu-1", "production", "eu"),
        ("eu-dev", "development", "eu"),
    ] {
        let r = report(
            name,
            &[("environment", env), ("region", region)],
            ClusterHealth::Healthy,
        );
        store.upsert_cluster(&r, at(0)).await.unwrap();
    }
    store
        .upsert_cluster(&report("bare", &[], ClusterHealth::Healthy), at(0))
        .await
        .unwrap();

    let names = |clusters: Vec<capstan_hub::store::ClusterRecord>| {
        clusters.into_iter().map(|c| c.name).collect::<Vec<_>>()
    };
    let all = store.list_clusters(&LabelSelector::everything()).await;
    assert_eq!(names(all.unwrap()), ["bare", "eu-1", "eu-dev", "us-2"]);

    let production = LabelSelector::parse("environment=production").unwrap();
    let got = store.list_clusters(&production).await.unwrap();
    assert_eq!(names(got), ["eu-1", "us-2"]);

    let set_based = LabelSelector::parse("region in (eu),environment!=production").unwrap();
    assert_eq!(
        names(store.list_clusters(&set_based).await.unwrap()),
        ["eu-dev"]
    );

    let unlabelled = LabelSelector::parse("!environment").unwrap();
    assert_eq!(
        names(store.list_clusters(&unlabelled).await.unwrap()),
        ["bare"]
    );
}

#[tokio::test]
async fn a_silent_cluster_is_unknown_after_its_lease() {
    let store = memory().await;
    let r = report("eu-1", &[], ClusterHealth::Degraded);
    store.upsert_cluster(&r, at(0)).await.unwrap();
    let cluster = store.get_cluster("eu-1").await.unwrap().unwrap();
    let lease = SignedDuration::from_secs(40);
    assert_eq!(cluster.health_at(at(40), lease), ClusterHealth::Degraded);
    assert_eq!(cluster.health_at(at(41), lease), ClusterHealth::Unknown);
}

#[tokio::test]
async fn agent_tokens_verify_and_are_stored_hashed() {
    let sqlite = SqliteStore::memory().await.unwrap();
    let token = "s3cret-agent-token-0123456789";
    sqlite.register_agent("eu-1", token, at(0)).await.unwrap();

    assert!(sqlite.verify_agent("eu-1", token).await.unwrap());
    assert!(!sqlite.verify_agent("eu-1", "wrong").await.unwrap());
    assert!(
        !sqlite.verify_agent("us-2", token).await.unwrap(),
        "other cluster"
    );

    let (hash, created): (String, i64) =
        sqlx::query_as("SELECT token_hash, created_at FROM agents WHERE cluster = 'eu-1'")
            .fetch_one(sqlite.pool())
            .await
            .unwrap();
    assert!(!hash.contains(token));
    assert_eq!(hash.len(), 64);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(created, at(0).as_microsecond());

    // Re-registration rotates the token: the old one stops working.
    sqlite
        .register_agent("eu-1", "rotated", at(5))
        .await
        .unwrap();
    assert!(!sqlite.verify_agent("eu-1", token).await.unwrap());
    assert!(sqlite.verify_agent("eu-1", "rotated").await.unwrap());
}

#[tokio::test]
async fn upgrades_create_get_list_update_and_delete() {
    let store = memory().await;
    let spec = json!({"clusterSelector": {"matchLabels": {"environment": "production"}}});
    let created = store
        .create_upgrade("canary", &spec, &json!({"phase": "Pending"}), at(0))
        .await
        .unwrap();
    assert_eq!(created.generation, 1);
    assert_eq!(created.created_at, at(0));
    assert_eq!(created.spec, spec);

    let again = store
        .create_upgrade("canary", &json!({}), &json!({}), at(1))
        .await;
    assert!(
        matches!(again, Err(Error::AlreadyExists { ref name, .. }) if name == "canary"),
        "{again:?}"
    );
    assert_eq!(
        store.get_upgrade("canary").await.unwrap().unwrap().spec,
        spec
    );

    let progressing = json!({"phase": "Progressing", "step": 0});
    let updated = store
        .update_upgrade_status("canary", 1, &progressing, at(5))
        .await
        .unwrap();
    assert_eq!(updated.generation, 2);
    assert_eq!(updated.status, progressing);
    assert_eq!(updated.updated_at, at(5));
    assert_eq!(updated.created_at, at(0));

    let paused = json!({"paused": true});
    let updated = store
        .update_upgrade_spec("canary", 2, &paused, at(6))
        .await
        .unwrap();
    assert_eq!((updated.generation, &updated.spec), (3, &paused));
    assert_eq!(updated.status, progressing, "a spec write keeps the status");

    store
        .create_upgrade("another", &json!({}), &json!({}), at(7))
        .await
        .unwrap();
    let names: Vec<_> = store
        .list_upgrades()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["another", "canary"]);

    assert!(store.delete_upgrade("canary").await.unwrap());
    assert!(!store.delete_upgrade("canary").await.unwrap());
    assert!(store.get_upgrade("canary").await.unwrap().is_none());
}

#[tokio::test]
async fn a_stale_generation_conflicts_and_changes_nothing() {
    let store = memory().await;
    store
        .create_upgrade("canary", &json!({}), &json!({"phase": "Pending"}), at(0))
        .await
        .unwrap();
    // Two writers read generation 1; the first wins.
    store
        .update_upgrade_status("canary", 1, &json!({"phase": "Progressing"}), at(1))
        .await
        .unwrap();
    let lost = store
        .update_upgrade_status("canary", 1, &json!({"phase": "Aborted"}), at(2))
        .await;
    assert!(
        matches!(
            lost,
            Err(Error::Conflict {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{lost:?}"
    );
    let spec_lost = store
        .update_upgrade_spec("canary", 1, &json!({"paused": true}), at(2))
        .await;
    assert!(
        matches!(spec_lost, Err(Error::Conflict { .. })),
        "{spec_lost:?}"
    );

    let stored = store.get_upgrade("canary").await.unwrap().unwrap();
    assert_eq!(stored.status, json!({"phase": "Progressing"}));
    assert_eq!(stored.spec, json!({}));
    assert_eq!(stored.generation, 2);

    let missing = store
        .update_upgrade_status("nope", 1, &json!({}), at(3))
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
}

#[tokio::test]
async fn rollout_cluster_states_upsert_and_list_by_upgrade() {
    let store = memory().await;
    for name in ["a", "b"] {
        store
            .create_upgrade(name, &json!({}), &json!({}), at(0))
            .await
            .unwrap();
    }
    store
        .upsert_rollout_cluster("a", "us-2", &json!({"state": "Pending"}), at(1))
        .await
        .unwrap();
    store
        .upsert_rollout_cluster("a", "eu-1", &json!({"state": "Pending"}), at(1))
        .await
        .unwrap();
    store
        .upsert_rollout_cluster("a", "eu-1", &json!({"state": "Upgrading"}), at(2))
        .await
        .unwrap();
    store
        .upsert_rollout_cluster("b", "eu-1", &json!({"state": "Done"}), at(3))
        .await
        .unwrap();

    let states = store.list_rollout_clusters("a").await.unwrap();
    let seen: Vec<_> = states
        .iter()
        .map(|s| {
            (
                s.cluster.as_str(),
                s.state["state"].as_str().unwrap(),
                s.updated_at,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("eu-1", "Upgrading", at(2)), ("us-2", "Pending", at(1))]
    );
    assert!(states.iter().all(|s| s.upgrade == "a"));

    let orphan = store
        .upsert_rollout_cluster("missing", "eu-1", &json!({}), at(4))
        .await;
    assert!(matches!(orphan, Err(Error::NotFound { .. })), "{orphan:?}");

    store.delete_upgrade("a").await.unwrap();
    assert!(store.list_rollout_clusters("a").await.unwrap().is_empty());
    assert_eq!(store.list_rollout_clusters("b").await.unwrap().len(), 1);
}

#[tokio::test]
async fn events_list_the_most_recent_per_subject_oldest_first() {
    let store = memory().await;
    let upgrade = Subject::Upgrade("canary".into());
    let cluster = Subject::Cluster("canary".into());
    for i in 0..5 {
        let event = NewEvent {
            subject: upgrade.clone(),
            reason: format!("Step{i}"),
            message: format!("step {i}"),
            at: at(i),
        };
        store.append_event(&event).await.unwrap();
    }
    let other = NewEvent {
        subject: cluster.clone(),
        reason: "ClusterUnknown".into(),
        message: "no report for 40s".into(),
        at: at(9),
    };
    store.append_event(&other).await.unwrap();

    let recent = store.list_events(&upgrade, 3).await.unwrap();
    let reasons: Vec<_> = recent.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["Step2", "Step3", "Step4"]);
    assert!(recent.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(recent[0].at, at(2));
    assert_eq!(recent[0].subject, upgrade);

    let about_cluster = store.list_events(&cluster, 10).await.unwrap();
    assert_eq!(about_cluster.len(), 1, "same name, other kind of subject");
    assert_eq!(about_cluster[0].message, "no report for 40s");
}

fn work(id: &str, cluster: &str, generation: i64) -> NewWorkItem {
    NewWorkItem {
        id: id.to_owned(),
        cluster: cluster.to_owned(),
        generation,
        kind: "UpgradeCluster".to_owned(),
        payload: json!({"version": "1.33"}),
    }
}

#[tokio::test]
async fn enqueue_is_idempotent_on_the_id() {
    let store = memory().await;
    assert!(
        store
            .enqueue_work(&work("w1", "eu-1", 1), at(0))
            .await
            .unwrap()
    );
    let mut changed = work("w1", "eu-1", 2);
    changed.payload = json!({"version": "1.34"});
    assert!(!store.enqueue_work(&changed, at(1)).await.unwrap());

    let open = store.list_open_work("eu-1").await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].generation, 1, "the first enqueue stands");
    assert_eq!(open[0].payload, json!({"version": "1.33"}));
    assert_eq!(open[0].status, WorkStatus::Pending);
    assert_eq!(open[0].created_at, at(0));
}

#[tokio::test]
async fn work_status_moves_forward_and_final_states_stick() {
    let store = memory().await;
    store
        .enqueue_work(&work("w1", "eu-1", 1), at(0))
        .await
        .unwrap();
    store
        .enqueue_work(&work("w2", "eu-1", 1), at(1))
        .await
        .unwrap();
    store
        .enqueue_work(&work("w3", "us-2", 1), at(2))
        .await
        .unwrap();

    let ids = |items: Vec<capstan_hub::store::WorkItem>| {
        items.into_iter().map(|w| w.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.list_open_work("eu-1").await.unwrap()),
        ["w1", "w2"]
    );

    let running = store
        .set_work_status("w1", 1, WorkStatus::Running, Some("draining"), at(3))
        .await
        .unwrap();
    assert_eq!(running.status, WorkStatus::Running);
    assert_eq!(running.message.as_deref(), Some("draining"));
    assert_eq!(running.updated_at, at(3));
    assert_eq!(
        ids(store.list_open_work("eu-1").await.unwrap()),
        ["w1", "w2"],
        "running work is still open"
    );

    store
        .set_work_status("w1", 1, WorkStatus::Succeeded, None, at(4))
        .await
        .unwrap();
    assert_eq!(ids(store.list_open_work("eu-1").await.unwrap()), ["w2"]);

    // A retried, older message does not reopen finished work.
    let retried = store
        .set_work_status("w1", 1, WorkStatus::Running, Some("late"), at(5))
        .await
        .unwrap();
    assert_eq!(retried.status, WorkStatus::Succeeded);
    assert_eq!(retried.updated_at, at(4));
    let stored = store.get_work("w1").await.unwrap().unwrap();
    assert_eq!(stored.status, WorkStatus::Succeeded);

    let wrong_generation = store
        .set_work_status("w2", 7, WorkStatus::Failed, None, at(6))
        .await;
    assert!(
        matches!(
            wrong_generation,
            Err(Error::Conflict {
                expected: 7,
                actual: 1,
                ..
            })
        ),
        "{wrong_generation:?}"
    );
    assert_eq!(
        store.get_work("w2").await.unwrap().unwrap().status,
        WorkStatus::Pending
    );

    let unknown = store
        .set_work_status("nope", 1, WorkStatus::Failed, None, at(6))
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound { .. })),
        "{unknown:?}"
    );
    assert!(store.get_work("nope").await.unwrap().is_none());
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let r = report(
            "eu-1",
            &[("environment", "production")],
            ClusterHealth::Healthy,
        );
        store.upsert_cluster(&r, at(0)).await.unwrap();
        store.register_agent("eu-1", "token", at(0)).await.unwrap();
        store
            .create_upgrade("canary", &json!({"a": 1}), &json!({}), at(0))
            .await
            .unwrap();
        store
            .update_upgrade_status("canary", 1, &json!({"phase": "Soaking"}), at(1))
            .await
            .unwrap();
        store
            .upsert_rollout_cluster("canary", "eu-1", &json!({"state": "Done"}), at(1))
            .await
            .unwrap();
        let event = NewEvent {
            subject: Subject::Upgrade("canary".into()),
            reason: "StepDone".into(),
            message: "step 1 done".into(),
            at: at(1),
        };
        store.append_event(&event).await.unwrap();
        store
            .enqueue_work(&work("w1", "eu-1", 1), at(1))
            .await
            .unwrap();
        store.close().await;
    }

    let store = SqliteStore::open(&path).await.unwrap();
    let cluster = store.get_cluster("eu-1").await.unwrap().unwrap();
    assert_eq!(cluster.labels["environment"], "production");
    assert!(store.verify_agent("eu-1", "token").await.unwrap());
    let upgrade = store.get_upgrade("canary").await.unwrap().unwrap();
    assert_eq!(
        (upgrade.generation, upgrade.status),
        (2, json!({"phase": "Soaking"}))
    );
    assert_eq!(
        store.list_rollout_clusters("canary").await.unwrap().len(),
        1
    );
    let events = store
        .list_events(&Subject::Upgrade("canary".into()), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(store.list_open_work("eu-1").await.unwrap().len(), 1);
    // Reopening re-ran the migrator without error and kept the journal mode.
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn concurrent_writers_from_one_generation_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(SqliteStore::open(dir.path().join("hub.db")).await.unwrap());
    store
        .create_upgrade("canary", &json!({}), &json!({}), at(0))
        .await
        .unwrap();
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update_upgrade_status("canary", 1, &json!({"writer": i}), at(1))
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, writer) in writers.into_iter().enumerate() {
        match writer.await.unwrap() {
            Ok(_) => winners.push(i),
            Err(Error::Conflict { actual: 2, .. }) => {}
            Err(e) => panic!("writer {i}: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = store.get_upgrade("canary").await.unwrap().unwrap();
    assert_eq!(stored.generation, 2);
    assert_eq!(stored.status, json!({"writer": winners[0]}));
}

fn step_one(expected_generation: i64) -> RolloutWrite {
    RolloutWrite {
        upgrade: "canary".into(),
        expected_generation,
        status: json!({"phase": "Progressing", "step": 0}),
        clusters: vec![
            ("eu-1".into(), json!({"state": "Upgrading"})),
            ("us-2".into(), json!({"state": "Upgrading"})),
        ],
        work: vec![
            work("canary/eu-1/1.33", "eu-1", 1),
            work("canary/us-2/1.33", "us-2", 1),
        ],
        events: vec![NewEvent {
            subject: Subject::Upgrade("canary".into()),
            reason: "StepStarted".into(),
            message: "step 1: 2 clusters".into(),
            at: at(1),
        }],
    }
}

#[tokio::test]
async fn a_rollout_write_stores_everything_together() {
    let store = memory().await;
    store
        .create_upgrade("canary", &json!({}), &json!({"phase": "Pending"}), at(0))
        .await
        .unwrap();
    // Queued before by a write that the hub did not see complete.
    store
        .enqueue_work(&work("canary/eu-1/1.33", "eu-1", 1), at(0))
        .await
        .unwrap();

    let upgrade = store.write_rollout(&step_one(1), at(1)).await.unwrap();
    assert_eq!(upgrade.generation, 2);
    assert_eq!(upgrade.status["phase"], "Progressing");
    assert_eq!(upgrade.updated_at, at(1));

    let states = store.list_rollout_clusters("canary").await.unwrap();
    assert_eq!(states.len(), 2);
    assert!(states.iter().all(|s| s.state["state"] == "Upgrading"));
    let eu = store.list_open_work("eu-1").await.unwrap();
    assert_eq!(eu.len(), 1, "the earlier item is not duplicated");
    assert_eq!(eu[0].created_at, at(0));
    assert_eq!(store.list_open_work("us-2").await.unwrap().len(), 1);
    let events = store
        .list_events(&Subject::Upgrade("canary".into()), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, "StepStarted");
}

#[tokio::test]
async fn a_rollout_write_that_loses_the_race_stores_nothing() {
    let store = memory().await;
    store
        .create_upgrade("canary", &json!({}), &json!({"phase": "Pending"}), at(0))
        .await
        .unwrap();
    store
        .update_upgrade_status("canary", 1, &json!({"phase": "Paused"}), at(1))
        .await
        .unwrap();

    let lost = store.write_rollout(&step_one(1), at(2)).await;
    assert!(
        matches!(
            lost,
            Err(Error::Conflict {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{lost:?}"
    );
    let upgrade = store.get_upgrade("canary").await.unwrap().unwrap();
    assert_eq!(upgrade.status, json!({"phase": "Paused"}));
    assert!(
        store
            .list_rollout_clusters("canary")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.list_open_work("eu-1").await.unwrap().is_empty());
    assert!(store.list_open_work("us-2").await.unwrap().is_empty());
    let events = store
        .list_events(&Subject::Upgrade("canary".into()), 10)
        .await
        .unwrap();
    assert!(events.is_empty());

    let mut missing = step_one(1);
    missing.upgrade = "nope".into();
    let missing = store.write_rollout(&missing, at(3)).await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    assert!(store.list_open_work("eu-1").await.unwrap().is_empty());
}
