#![allow(clippy::unwrap_used)]
//! The daily history (migration 0006): evaluations either side of midnight land in their own
//! days, the daily read agrees with the hourly read it replaced, an upgraded hub's hourly
//! points are rolled up into days by the migration, and `step=1h` reads a bounded window.

mod common;
mod posture_fixture;

use std::path::Path;

use axum::http::StatusCode;
use capstan_core::posture::report::{Control, PostureReport};
use capstan_hub::api::PostureHistory;
use capstan_hub::store::{
    HistoryQuery, HistoryStep, PostureHistoryBucket, PostureWriteOutcome, SqliteStore, Store,
};
use common::Hub;
use posture_fixture::{Bucket, DAY, HOUR, T0, compact, report, ts};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

const RBAC: Control = Control::Rbac;
const NP: Control = Control::NetworkPolicy;
const PS: Control = Control::PodSecurity;

async fn stored(reports: &[PostureReport]) -> SqliteStore {
    let store = SqliteStore::memory().await.unwrap();
    for r in reports {
        assert_eq!(
            store.put_posture(r, r.evaluated_at).await.unwrap(),
            PostureWriteOutcome::Stored
        );
    }
    store
}

fn query(clusters: Option<&[&str]>, control: Option<Control>, since: i64) -> HistoryQuery {
    HistoryQuery {
        clusters: clusters.map(|c| c.iter().map(ToString::to_string).collect()),
        control,
        since: ts(since),
        step: HistoryStep::Day,
    }
}

/// The hourly buckets of `query` (its step aside) and those the read from before 0006 gives.
async fn hours_both_ways(
    store: &SqliteStore,
    query: &HistoryQuery,
) -> (Vec<PostureHistoryBucket>, Vec<PostureHistoryBucket>) {
    let query = HistoryQuery {
        step: HistoryStep::Hour,
        ..query.clone()
    };
    (
        store.posture_history_buckets(&query).await.unwrap(),
        store
            .posture_history_buckets_from_hourly(&query)
            .await
            .unwrap(),
    )
}

/// The daily buckets of `query`, checked against the hourly read of the same days first, and
/// the hourly buckets against it too.
async fn days(store: &SqliteStore, query: &HistoryQuery) -> Vec<Bucket> {
    let (hours, before_0006) = hours_both_ways(store, query).await;
    assert_eq!(hours, before_0006, "by hour: {query:?}");
    let daily = store.posture_history_buckets(query).await.unwrap();
    let hourly = store
        .posture_history_buckets_from_hourly(query)
        .await
        .unwrap();
    assert_eq!(daily, hourly, "{query:?}");
    compact(&daily)
}

#[tokio::test]
async fn evaluations_either_side_of_midnight_land_in_their_own_days() {
    // a at 23:30 and 00:30; b at 23:50 (RBAC and NP), then 00:10 and 22:00 the next day,
    // the last without RBAC: the day's latest evaluation has no RBAC, so b counts none.
    let store = stored(&[
        report("a", T0 + DAY - 1800).control(NP, 10, 8, 0).build(),
        report("b", T0 + DAY - 600)
            .control(RBAC, 1, 1, 0)
            .control(NP, 10, 5, 1)
            .build(),
        report("a", T0 + DAY + 1800).control(NP, 10, 10, 0).build(),
        report("b", T0 + DAY + 600)
            .control(RBAC, 1, 1, 0)
            .control(NP, 10, 6, 0)
            .build(),
        report("b", T0 + DAY + 22 * HOUR)
            .control(NP, 10, 7, 0)
            .build(),
    ])
    .await;
    assert_eq!(
        days(&store, &query(None, None, T0)).await,
        [
            (0, 2, vec![(RBAC, 1, 1, 1, 0, 0), (NP, 2, 20, 13, 1, 0)]),
            (24, 2, vec![(NP, 2, 20, 17, 0, 0)]),
        ]
    );
    // b's rows of the second day are its 22:00 evaluation's only.
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT day, cluster, control, evaluated_at FROM posture_history_daily
         ORDER BY day, cluster, control",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let micros = |s: i64| s * 1_000_000;
    let row = |day: i64, cluster: &str, control: Control, at: i64| {
        (
            micros(day),
            cluster.to_string(),
            control.as_str().to_string(),
            micros(at),
        )
    };
    assert_eq!(
        rows,
        [
            row(T0, "a", NP, T0 + DAY - 1800),
            row(T0, "b", NP, T0 + DAY - 600),
            row(T0, "b", RBAC, T0 + DAY - 600),
            row(T0 + DAY, "a", NP, T0 + DAY + 1800),
            row(T0 + DAY, "b", NP, T0 + DAY + 22 * HOUR),
        ]
    );
    // One cluster, one control, from the second day.
    assert_eq!(
        days(&store, &query(Some(&["b"]), Some(NP), T0 + DAY + 5)).await,
        [(24, 1, vec![(NP, 1, 10, 7, 0, 0)])]
    );
}

#[tokio::test]
async fn daily_rows_older_than_400_days_are_dropped_by_an_upload() {
    let store = stored(&[report("a", T0).control(NP, 10, 10, 0).build()]).await;
    let later = report("a", T0 + 400 * DAY + HOUR)
        .control(NP, 10, 9, 0)
        .build();
    store.put_posture(&later, later.evaluated_at).await.unwrap();
    let days: Vec<i64> = sqlx::query_scalar("SELECT day FROM posture_history_daily ORDER BY day")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(days, [(T0 + 400 * DAY) * 1_000_000]);
}

/// Hourly points as a hub before migration 0006 holds them:
/// (cluster, hour after T0, control, evaluated at (seconds after T0), eligible, covered,
/// excepted, findings).
type OldPoint = (&'static str, i64, Control, i64, i64, i64, i64, i64);

const OLD_POINTS: [OldPoint; 11] = [
    // a, day 0, hour 0: evaluated at 00:10 then 00:50; pod security is the 00:10 one's
    // (the later evaluation had none), then a last evaluation at 07:01 with RBAC only.
    ("a", 0, RBAC, 3000, 10, 8, 2, 2),
    ("a", 0, NP, 3000, 20, 15, 1, 5),
    ("a", 0, PS, 600, 5, 5, 0, 0),
    ("a", 7, RBAC, 7 * HOUR + 60, 10, 9, 0, 1),
    // b, day 0: one evaluation at 03:00.
    ("b", 3, NP, 3 * HOUR, 10, 10, 0, 0),
    ("b", 3, PS, 3 * HOUR, 4, 4, 0, 0),
    // a, day 1: one evaluation.
    ("a", 25, NP, DAY + HOUR, 20, 18, 0, 2),
    // a, day 2, hour 4: RBAC and pod security at 04:01:40, then RBAC only at 04:03:20:
    // the day's latest evaluation is the hour's second, without pod security.
    ("a", 52, RBAC, 2 * DAY + 4 * HOUR + 100, 10, 10, 0, 0),
    ("a", 52, PS, 2 * DAY + 4 * HOUR + 100, 5, 4, 0, 1),
    ("a", 52, RBAC, 2 * DAY + 4 * HOUR + 200, 10, 10, 0, 0),
    // c, day 2.
    ("c", 50, NP, 2 * DAY + 2 * HOUR, 0, 0, 0, 0),
];

#[tokio::test]
async fn the_migration_rolls_the_stored_hourly_points_up_into_days() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    // A hub as it was before 0006: the first five migrations, hourly points stored.
    {
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let mut migrator = Migrator::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
            .await
            .unwrap();
        let before: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|m| m.version <= 5)
            .cloned()
            .collect();
        assert_eq!(before.len(), 5);
        migrator.migrations = before.into();
        migrator.run(&pool).await.unwrap();
        for (cluster, hour, control, at, eligible, covered, excepted, findings) in OLD_POINTS {
            // INSERT OR REPLACE, as 0005's uploads: a's two RBAC points of hour 52 leave one.
            sqlx::query(
                "INSERT OR REPLACE INTO posture_history (cluster, hour, control, evaluated_at,
                     eligible, covered, excepted, findings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(cluster)
            .bind((T0 + hour * HOUR) * 1_000_000)
            .bind(control.as_str())
            .bind((T0 + at) * 1_000_000)
            .bind(eligible)
            .bind(covered)
            .bind(excepted)
            .bind(findings)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    // The hourly points are all kept (10: hour 52's RBAC point was replaced), those of an
    // earlier evaluation of their hour than the cluster's latest marked so.
    let stale: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT cluster, hour, control FROM posture_history WHERE latest = 0 ORDER BY hour",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let hour = |h: i64| (T0 + h * HOUR) * 1_000_000;
    assert_eq!(
        stale,
        [
            ("a".to_string(), hour(0), PS.as_str().to_string()),
            ("a".to_string(), hour(52), PS.as_str().to_string()),
        ]
    );
    let hourly: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posture_history")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(hourly, 10);
    let (hours, _) = hours_both_ways(&store, &query(None, None, T0)).await;
    assert_eq!(
        compact(&hours)[0],
        (0, 1, vec![(RBAC, 1, 1, 0, 1, 2), (NP, 1, 20, 15, 1, 5)])
    );
    let all = query(None, None, T0);
    assert_eq!(
        days(&store, &all).await,
        [
            // a's 07:01 evaluation (RBAC only: 9 of 10, neither covered nor excepted), b's.
            (
                0,
                2,
                vec![
                    (RBAC, 1, 1, 0, 0, 1),
                    (NP, 1, 10, 10, 0, 0),
                    (PS, 1, 4, 4, 0, 0)
                ]
            ),
            (24, 1, vec![(NP, 1, 20, 18, 0, 2)]),
            // a's 04:03:20 evaluation, without the pod security of 04:01:40; c.
            (48, 2, vec![(RBAC, 1, 1, 1, 0, 0), (NP, 1, 0, 0, 0, 0)]),
        ]
    );
    // The rebuilt trigger: a cluster leaving the inventory takes its daily rows too.
    store.register_agent("a", "token-a", ts(T0)).await.unwrap();
    let report = common::healthy("a", "production", "1.32.1", &[]);
    store.upsert_cluster(&report, ts(T0)).await.unwrap();
    assert!(store.delete_cluster("a").await.unwrap());
    let left: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT cluster FROM posture_history_daily ORDER BY cluster")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(left, ["b", "c"]);
}

/// The hub's time: 2026-03-17T02:30:00Z.
const NOW: i64 = T0 + 7 * DAY + 2 * HOUR + 1800;

#[tokio::test]
async fn hours_are_read_over_24_hours_by_default_and_7_days_at_most() {
    let hub = Hub::memory_at(ts(NOW)).await;
    // By default, the 24 hours before now: from 02:00 the day before to 02:00 now.
    let day: PostureHistory = hub.get("/api/v1/posture/history?step=1h").await;
    assert_eq!(day.since, ts(NOW - 1800 - DAY));
    assert_eq!(day.buckets.len(), 25);
    // 7 days is the most.
    let week: PostureHistory = hub.get("/api/v1/posture/history?step=1h&since=7d").await;
    assert_eq!(week.since, ts(NOW - 1800 - 7 * DAY));
    assert_eq!(week.buckets.len(), 7 * 24 + 1);
    // Days are not bounded that way.
    let days: PostureHistory = hub.get("/api/v1/posture/history?since=90d").await;
    assert_eq!(days.buckets.len(), 91);
    for (query, since) in [
        ("step=1h&since=8d", "2026-03-09T02:30:00Z"),
        ("step=1h&since=2026-03-10T02:29:59Z", "2026-03-10T02:29:59Z"),
    ] {
        let answer = hub
            .send(
                "GET",
                &format!("/api/v1/posture/history?{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(answer.code, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(answer.body["field"], "since", "{query}");
        assert_eq!(
            answer.body["message"],
            format!(
                "since {since} is more than 168h before the hub's time 2026-03-17T02:30:00Z: \
                 step=1h reads at most 168 hours; use step=1d for longer"
            ),
            "{query}"
        );
    }
}
