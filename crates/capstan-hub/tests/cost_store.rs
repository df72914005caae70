#![allow(clippy::unwrap_used)]
//! The SQLite cost store: idempotent uploads, exact day rollups, the hourly retention, and
//! cost leaving with its cluster.

mod cost_fixture;

use std::collections::BTreeMap;
use std::sync::Arc;

use capstan_core::cost::{CostParts, CostPeriod, CostWindow, Resolution};
use capstan_hub::store::{
    ClusterHealth, ClusterReport, ClusterVersions, CostDetail, SharedStore, SqliteStore,
};
use cost_fixture::{DAY_SECONDS, DAY0, HOUR_SECONDS, hour, sum, ts};
use serde_json::{Value, json};

async fn memory() -> SharedStore {
    Arc::new(SqliteStore::memory().await.unwrap())
}

fn window(start: i64, end: i64) -> CostWindow {
    CostWindow {
        start: ts(start),
        end: ts(end),
    }
}

fn inventory(name: &str) -> ClusterReport {
    ClusterReport {
        name: name.to_string(),
        labels: BTreeMap::new(),
        versions: ClusterVersions::default(),
        node_count: 1,
        pod_count: 1,
        health: ClusterHealth::Healthy,
        summary: Value::Null,
        health_report: None,
    }
}

/// The rows of a period sum to its total.
fn rows_sum(period: &CostPeriod) -> (CostParts, CostParts) {
    let mut namespaces = CostParts::default();
    for r in &period.namespaces {
        namespaces += r.parts;
    }
    let mut workloads = CostParts::default();
    for r in &period.workloads {
        workloads += r.parts;
    }
    (namespaces, workloads)
}

async fn day_total(store: &SharedStore, cluster: &str, day: i64) -> Option<CostParts> {
    let totals = store
        .cost_totals(
            Resolution::Daily,
            window(day, day + DAY_SECONDS),
            Some(&[cluster.to_string()]),
        )
        .await
        .unwrap();
    totals.first().map(|t| t.total)
}

#[tokio::test]
async fn uploading_twice_stores_once() {
    let store = memory().await;
    let hours: Vec<_> = (0..3).map(|i| hour(DAY0 + i * HOUR_SECONDS, i)).collect();
    let now = ts(DAY0 + 4 * HOUR_SECONDS);
    let first = store.put_cost("eu-1", &hours, None, now).await.unwrap();
    assert_eq!((first.stored, first.kept), (3, 0));
    store.put_cost("eu-1", &hours, None, now).await.unwrap();
    // A retry of one hour alone, too.
    store
        .put_cost("eu-1", &hours[1..2], None, now)
        .await
        .unwrap();

    let totals = store
        .cost_totals(Resolution::Hourly, window(DAY0, DAY0 + DAY_SECONDS), None)
        .await
        .unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].total, sum(&hours));
    assert_eq!(totals[0].periods, 3);
    assert_eq!(day_total(&store, "eu-1", DAY0).await, Some(sum(&hours)));
}

#[tokio::test]
async fn a_day_rollup_is_the_sum_of_its_hours_to_the_nanodollar() {
    let store = memory().await;
    let hours: Vec<_> = (0..24).map(|i| hour(DAY0 + i * HOUR_SECONDS, i)).collect();
    let now = ts(DAY0 + DAY_SECONDS);
    // In pieces, as an agent uploads: new hours merge into the rollup; a replaced hour (a
    // different number for hour 5, then the right one again) recomputes it.
    store
        .put_cost("eu-1", &hours[..10], None, now)
        .await
        .unwrap();
    let mut wrong = hour(DAY0 + 5 * HOUR_SECONDS, 1_000);
    wrong.hours_sampled = 0.5;
    store
        .put_cost("eu-1", std::slice::from_ref(&wrong), None, now)
        .await
        .unwrap();
    store
        .put_cost("eu-1", &hours[10..], None, now)
        .await
        .unwrap();
    store
        .put_cost("eu-1", &hours[5..6], None, now)
        .await
        .unwrap();
    // An hour of the next day makes a second rollup.
    let next = hour(DAY0 + DAY_SECONDS, 99);
    store
        .put_cost("eu-1", std::slice::from_ref(&next), None, now)
        .await
        .unwrap();

    assert_eq!(day_total(&store, "eu-1", DAY0).await, Some(sum(&hours)));
    assert_eq!(
        day_total(&store, "eu-1", DAY0 + DAY_SECONDS).await,
        Some(next.total)
    );
    for detail in [CostDetail::Namespaces, CostDetail::Workloads] {
        let days = store
            .cost_periods(
                Resolution::Daily,
                window(DAY0, DAY0 + DAY_SECONDS),
                None,
                detail,
            )
            .await
            .unwrap();
        assert_eq!(days.len(), 1);
        let (name, day) = &days[0];
        assert_eq!(name, "eu-1");
        assert_eq!(day.total, sum(&hours));
        assert_eq!(day.hours_sampled, 24.0);
        let (namespaces, workloads) = rows_sum(day);
        match detail {
            CostDetail::Namespaces => {
                assert_eq!(namespaces, day.total);
                assert!(day.workloads.is_empty(), "only the rows asked for");
                // Per key: web's cpu over the day is 24 × 1_234_567_891 + 7 × (0 + .. + 23).
                let shop = day
                    .namespaces
                    .iter()
                    .find(|r| r.namespace == "shop")
                    .unwrap();
                assert_eq!(
                    shop.parts.cpu.0,
                    24 * (1_234_567_891 + 555_555_555) + 7 * 276
                );
            }
            _ => {
                assert_eq!(workloads, day.total);
                assert!(day.namespaces.is_empty());
                assert_eq!(day.workloads.len(), 4);
            }
        }
    }
    // The hours as hours: the same sums, one period per cluster.
    let merged = store
        .cost_periods(
            Resolution::Hourly,
            window(DAY0, DAY0 + DAY_SECONDS),
            None,
            CostDetail::Totals,
        )
        .await
        .unwrap();
    assert_eq!(merged[0].1.total, sum(&hours));
    assert!(merged[0].1.namespaces.is_empty() && merged[0].1.workloads.is_empty());
}

#[tokio::test]
async fn hour_rows_are_dropped_past_the_retention_and_their_days_keep_them() {
    let store = memory().await;
    let hours: Vec<_> = (0..4).map(|i| hour(DAY0 + i * HOUR_SECONDS, i)).collect();
    store
        .put_cost("eu-1", &hours, None, ts(DAY0 + 5 * HOUR_SECONDS))
        .await
        .unwrap();
    // Three days later an upload of a new hour drops the old hours' rows.
    let later = DAY0 + 3 * DAY_SECONDS;
    store
        .put_cost("eu-1", &[hour(later, 0)], None, ts(later + 1800))
        .await
        .unwrap();
    let old = store
        .cost_periods(
            Resolution::Hourly,
            window(DAY0, DAY0 + DAY_SECONDS),
            None,
            CostDetail::Namespaces,
        )
        .await
        .unwrap();
    assert_eq!(old[0].1.total, sum(&hours), "totals stay");
    assert!(old[0].1.namespaces.is_empty(), "rows dropped");
    let day = store
        .cost_periods(
            Resolution::Daily,
            window(DAY0, DAY0 + DAY_SECONDS),
            None,
            CostDetail::Namespaces,
        )
        .await
        .unwrap();
    assert_eq!(rows_sum(&day[0].1).0, sum(&hours), "the day keeps the rows");

    // A late retry of a dropped hour keeps the stored hour; a late new hour of that day is
    // merged into its rollup.
    let retry = store
        .put_cost("eu-1", &hours[..1], None, ts(later + 1800))
        .await
        .unwrap();
    assert_eq!((retry.stored, retry.kept), (0, 1));
    let late = hour(DAY0 + 10 * HOUR_SECONDS, 42);
    let added = store
        .put_cost("eu-1", std::slice::from_ref(&late), None, ts(later + 1800))
        .await
        .unwrap();
    assert_eq!((added.stored, added.kept, added.days), (1, 0, 1));
    let mut expected = sum(&hours);
    expected += late.total;
    assert_eq!(day_total(&store, "eu-1", DAY0).await, Some(expected));
    let day = store
        .cost_periods(
            Resolution::Daily,
            window(DAY0, DAY0 + DAY_SECONDS),
            None,
            CostDetail::Workloads,
        )
        .await
        .unwrap();
    assert_eq!(rows_sum(&day[0].1).1, expected);
}

#[tokio::test]
async fn reads_filter_by_cluster_and_window() {
    let store = memory().await;
    let now = ts(DAY0 + DAY_SECONDS);
    for (cluster, k) in [("a", 1), ("b", 2), ("c", 3)] {
        let hours = [hour(DAY0, k), hour(DAY0 + HOUR_SECONDS, k)];
        store.put_cost(cluster, &hours, None, now).await.unwrap();
    }
    let names = ["a".to_string(), "c".to_string(), "zz".to_string()];
    let totals = store
        .cost_totals(
            Resolution::Hourly,
            window(DAY0 + HOUR_SECONDS, DAY0 + 2 * HOUR_SECONDS),
            Some(&names),
        )
        .await
        .unwrap();
    let got: Vec<(&str, CostParts)> = totals
        .iter()
        .map(|t| (t.cluster.as_str(), t.total))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a", hour(DAY0 + HOUR_SECONDS, 1).total),
            ("c", hour(DAY0 + HOUR_SECONDS, 3).total)
        ]
    );
    let periods = store
        .cost_periods(
            Resolution::Hourly,
            window(DAY0, DAY0 + HOUR_SECONDS),
            Some(&names[1..]),
            CostDetail::Workloads,
        )
        .await
        .unwrap();
    assert_eq!(periods.len(), 1);
    assert_eq!(periods[0].0, "c");
    assert_eq!(periods[0].1.total, hour(DAY0, 3).total);
}

#[tokio::test]
async fn deleting_or_deregistering_a_cluster_removes_its_cost() {
    let store = memory().await;
    let now = ts(DAY0 + DAY_SECONDS);
    let bundle =
        json!({"spot": [{"namespace": "shop", "name": "web", "monthlySavingDollars": 10.0}]});
    for name in ["gone", "deregistered", "kept"] {
        store.upsert_cluster(&inventory(name), now).await.unwrap();
        store
            .put_cost(name, &[hour(DAY0, 1)], Some(&bundle), now)
            .await
            .unwrap();
    }
    store
        .register_agent("deregistered", "t", now)
        .await
        .unwrap();
    assert!(store.delete_cluster("gone").await.unwrap());
    assert!(store.deregister_cluster("deregistered").await.unwrap());

    let all = window(DAY0, DAY0 + DAY_SECONDS);
    for resolution in [Resolution::Hourly, Resolution::Daily] {
        let left: Vec<String> = store
            .cost_totals(resolution, all, None)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.cluster)
            .collect();
        assert_eq!(left, vec!["kept".to_string()], "{resolution:?}");
    }
    let bundles = store.cost_recommendations(None).await.unwrap();
    assert_eq!(bundles.len(), 1);
    assert_eq!(bundles[0].cluster, "kept");
    assert_eq!(bundles[0].body, bundle);
    assert_eq!(
        bundles[0].generated_at, now,
        "no generatedAt: when received"
    );
}
