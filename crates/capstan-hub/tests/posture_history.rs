#![allow(clippy::unwrap_used)]
//! The posture history: the store's buckets over uploads at chosen hours (several in one
//! hour, clusters that stop reporting, a report without some controls) against figures
//! computed by hand, then `GET /api/v1/posture/history` (filters, every bucket listed, the
//! fleet report's figures when every cluster reported in the bucket, 400s naming the
//! parameter).

mod common;
mod posture_fixture;

use axum::http::StatusCode;
use capstan_core::posture::report::{Control, PostureReport, Severity, Target, Unit};
use capstan_hub::api::{PostureHistory, PostureView};
use capstan_hub::store::{HistoryQuery, HistoryStep, PostureWriteOutcome, SqliteStore, Store};
use posture_fixture::{
    Bucket, DAY, HOUR, T0, cluster_a, cluster_b, cluster_c, compact, hub_with, report, ts,
};

const RBAC: Control = Control::Rbac;
const NP: Control = Control::NetworkPolicy;
const PS: Control = Control::PodSecurity;

/// The uploads, oldest evaluation first (T0 is 2026-03-10T00:00:00Z):
/// - hour 0: a twice (the later one counts: network policy 15 + 1 excepted of 20, RBAC
///   complete only through exceptions; its pod security point from the earlier one stays in
///   the table, and must not count), b once (RBAC 3 of 5: neither covered nor excepted;
///   pod security 4 of 4).
/// - hour 1: a (everything covered), c (nothing eligible: RBAC counts it covered, as the
///   fleet report does).
/// - hour 5: b, network policy only (9 of 10, one finding); b's other controls are not in
///   this evaluation.
/// - the next day, hour 1: a alone (b and c stopped reporting).
fn uploads() -> Vec<PostureReport> {
    let medium = Severity::Medium;
    vec![
        report("a", T0 + 600)
            .control(RBAC, 10, 10, 0)
            .control(NP, 20, 10, 0)
            .control(PS, 5, 5, 0)
            .unlisted(NP, "netpol.namespace-uncovered", medium, 10, 0)
            .build(),
        report("b", T0 + 1200)
            .control(RBAC, 5, 3, 0)
            .unlisted(RBAC, "rbac.wildcard", medium, 2, 0)
            .control(NP, 10, 10, 0)
            .control(PS, 4, 4, 0)
            .build(),
        report("a", T0 + 3000)
            .control(RBAC, 10, 8, 2)
            .unlisted(RBAC, "rbac.wildcard", medium, 2, 2)
            .control(NP, 20, 15, 1)
            .unlisted(NP, "netpol.namespace-uncovered", medium, 5, 1)
            .build(),
        report("a", T0 + HOUR + 100)
            .control(RBAC, 10, 10, 0)
            .control(NP, 20, 20, 0)
            .build(),
        report("c", T0 + HOUR + 200)
            .control(RBAC, 0, 0, 0)
            .control(NP, 0, 0, 0)
            .build(),
        report("b", T0 + 5 * HOUR)
            .control(NP, 10, 9, 0)
            .unlisted(NP, "netpol.namespace-uncovered", medium, 1, 0)
            .build(),
        report("a", T0 + DAY + HOUR)
            .control(RBAC, 10, 10, 0)
            .control(NP, 20, 18, 0)
            .unlisted(NP, "netpol.namespace-uncovered", medium, 2, 0)
            .build(),
    ]
}

async fn stored_uploads() -> SqliteStore {
    let store = SqliteStore::memory().await.unwrap();
    for r in uploads() {
        let now = r.evaluated_at;
        assert_eq!(
            store.put_posture(&r, now).await.unwrap(),
            PostureWriteOutcome::Stored
        );
    }
    // A retry of a's first evaluation arriving last changes nothing.
    let late = &uploads()[0];
    assert!(matches!(
        store.put_posture(late, ts(T0 + DAY + HOUR)).await.unwrap(),
        PostureWriteOutcome::Older { .. }
    ));
    store
}

/// Reads the buckets of `query`'s filters and compares them with `want`.
async fn check(
    store: &SqliteStore,
    name: &str,
    clusters: Option<&[&str]>,
    control: Option<Control>,
    since: i64,
    step: HistoryStep,
    want: Vec<Bucket>,
) {
    let query = HistoryQuery {
        clusters: clusters.map(|c| c.iter().map(ToString::to_string).collect()),
        control,
        since: ts(since),
        step,
    };
    let got = store.posture_history_buckets(&query).await.unwrap();
    assert_eq!(compact(&got), want, "{name}");
}

#[tokio::test]
async fn buckets_count_each_cluster_once_at_its_latest_evaluation() {
    let store = stored_uploads().await;
    // The table keeps a's pod security point of hour 0 from its first evaluation (the later
    // one has no pod security to replace it): the buckets must skip it.
    let stale: Vec<_> = store
        .posture_history("a", ts(T0))
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.control == PS)
        .map(|p| p.evaluated_at)
        .collect();
    assert_eq!(stale, [ts(T0 + 600)]);
    check(
        &store,
        "hourly, everything",
        None,
        None,
        T0,
        HistoryStep::Hour,
        vec![
            (
                0,
                2,
                vec![
                    // a excepted (8 + 2 of 10), b neither (3 of 5).
                    (RBAC, 2, 2, 0, 1, 4),
                    (NP, 2, 30, 25, 1, 5),
                    (PS, 1, 4, 4, 0, 0),
                ],
            ),
            (1, 2, vec![(RBAC, 2, 2, 2, 0, 0), (NP, 2, 20, 20, 0, 0)]),
            (5, 1, vec![(NP, 1, 10, 9, 0, 1)]),
            (25, 1, vec![(RBAC, 1, 1, 1, 0, 0), (NP, 1, 20, 18, 0, 2)]),
        ],
    )
    .await;
    check(
        &store,
        "daily: a at hour 1, b at hour 5 (no RBAC, no pod security), c at hour 1",
        None,
        None,
        T0,
        HistoryStep::Day,
        vec![
            (0, 3, vec![(RBAC, 2, 2, 2, 0, 0), (NP, 3, 30, 29, 0, 1)]),
            (24, 1, vec![(RBAC, 1, 1, 1, 0, 0), (NP, 1, 20, 18, 0, 2)]),
        ],
    )
    .await;
    check(
        &store,
        "since is rounded down to its hour",
        None,
        None,
        T0 + HOUR + 1800,
        HistoryStep::Hour,
        vec![
            (1, 2, vec![(RBAC, 2, 2, 2, 0, 0), (NP, 2, 20, 20, 0, 0)]),
            (5, 1, vec![(NP, 1, 10, 9, 0, 1)]),
            (25, 1, vec![(RBAC, 1, 1, 1, 0, 0), (NP, 1, 20, 18, 0, 2)]),
        ],
    )
    .await;
    check(
        &store,
        "some clusters, one control",
        Some(&["a", "b"]),
        Some(NP),
        T0,
        HistoryStep::Hour,
        vec![
            (0, 2, vec![(NP, 2, 30, 25, 1, 5)]),
            (1, 1, vec![(NP, 1, 20, 20, 0, 0)]),
            (5, 1, vec![(NP, 1, 10, 9, 0, 1)]),
            (25, 1, vec![(NP, 1, 20, 18, 0, 2)]),
        ],
    )
    .await;
    check(
        &store,
        "a control only some buckets have: the others keep their clusters, no figures",
        None,
        Some(PS),
        T0,
        HistoryStep::Hour,
        vec![
            (0, 2, vec![(PS, 1, 4, 4, 0, 0)]),
            (1, 2, vec![]),
            (5, 1, vec![]),
            (25, 1, vec![]),
        ],
    )
    .await;
    check(
        &store,
        "one cluster, daily",
        Some(&["c"]),
        None,
        T0,
        HistoryStep::Day,
        vec![(0, 1, vec![(RBAC, 1, 1, 1, 0, 0), (NP, 1, 0, 0, 0, 0)])],
    )
    .await;
    check(
        &store,
        "an unknown cluster",
        Some(&["nope"]),
        None,
        T0,
        HistoryStep::Day,
        vec![],
    )
    .await;
}

// --- the API ---

/// The hub's time: the next day, 02:30.
const NOW: i64 = T0 + DAY + 2 * HOUR + 1800;

/// (bucket start in hours after T0, clusters reporting, (control, eligible, covered,
/// excepted)) of the buckets where some cluster reported. Every percent is checked against
/// the counts (JSON numbers come back within a few ulps, so not compared exactly).
type Shown = (i64, u64, Vec<(Control, u64, u64, u64)>);

fn shown(history: &PostureHistory) -> Vec<Shown> {
    for b in &history.buckets {
        for c in &b.controls {
            let want = (c.eligible > 0)
                .then(|| (c.covered + c.excepted) as f64 * 100.0 / c.eligible as f64);
            match (c.percent, want) {
                (Some(got), Some(want)) => assert!((got - want).abs() < 1e-9, "{got} {want}"),
                (got, want) => assert_eq!(got, want),
            }
        }
    }
    history
        .buckets
        .iter()
        .filter(|b| b.clusters_reporting > 0)
        .map(|b| {
            (
                (b.start.as_second() - T0) / HOUR,
                b.clusters_reporting,
                b.controls
                    .iter()
                    .map(|c| (c.control, c.eligible, c.covered, c.excepted))
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_route_lists_every_bucket_and_filters_by_cluster_label_and_control() {
    let hub = hub_with(uploads(), NOW).await;

    // Hourly from T0: the buckets from T0 to 02:00 the next day, 27 of them.
    let hourly: PostureHistory = hub
        .get("/api/v1/posture/history?since=2026-03-10T00:00:00Z&step=1h")
        .await;
    assert_eq!(hourly.step, HistoryStep::Hour);
    assert_eq!(hourly.since, ts(T0));
    assert_eq!(hourly.until, ts(NOW));
    assert_eq!(hourly.buckets.len(), 27);
    assert_eq!(hourly.buckets[26].start, ts(T0 + DAY + 2 * HOUR));
    let columns: Vec<(Control, Unit, Target)> = hourly
        .controls
        .iter()
        .map(|c| (c.control, c.unit, c.target))
        .collect();
    assert_eq!(columns.len(), 5);
    assert_eq!(columns[0], (RBAC, Unit::Clusters, Target::at_least(100.0)));
    assert_eq!(columns[1], (NP, Unit::Namespaces, Target::above(95.0)));
    let all = |rbac: (u64, u64, u64), np: (u64, u64, u64), ps| {
        vec![
            (RBAC, rbac.0, rbac.1, rbac.2),
            (NP, np.0, np.1, np.2),
            (PS, ps, ps, 0),
            (Control::Secrets, 0, 0, 0),
            (Control::ImageScanning, 0, 0, 0),
        ]
    };
    assert_eq!(
        shown(&hourly),
        [
            (0, 2, all((2, 0, 1), (30, 25, 1), 4)),
            (1, 2, all((2, 2, 0), (20, 20, 0), 0)),
            (5, 1, all((0, 0, 0), (10, 9, 0), 0)),
            (25, 1, all((1, 1, 0), (20, 18, 0), 0)),
        ]
    );
    let np_hour0 = &hourly.buckets[0].controls[1];
    assert!(!np_hour0.meets_target);
    assert_eq!((np_hour0.clusters_reporting, np_hour0.findings), (2, 5));

    // The defaults: 7 days by day, from the day 7 days before now.
    let daily: PostureHistory = hub.get("/api/v1/posture/history").await;
    assert_eq!(daily.step, HistoryStep::Day);
    assert_eq!(daily.since, ts(T0 - 6 * DAY));
    assert_eq!(daily.buckets.len(), 8);
    assert_eq!(
        shown(&daily),
        [
            (0, 3, all((2, 2, 0), (30, 29, 0), 0)),
            (24, 1, all((1, 1, 0), (20, 18, 0), 0)),
        ]
    );

    // Production only (a and b), network policy only, from a duration.
    let prod: PostureHistory = hub
        .get(
            "/api/v1/posture/history?labelSelector=environment%3Dproduction\
             &control=network-policy&since=2d",
        )
        .await;
    assert_eq!(prod.controls.len(), 1);
    assert_eq!(
        shown(&prod),
        [
            (0, 2, vec![(NP, 30, 29, 0)]),
            (24, 1, vec![(NP, 20, 18, 0)]),
        ]
    );
    let c: PostureHistory = hub
        .get("/api/v1/posture/history?cluster=c&control=rbac&since=2d")
        .await;
    assert_eq!(shown(&c), [(0, 1, vec![(RBAC, 1, 1, 0)])]);

    // Days are kept 400 days: a year back is read as asked; earlier starts 400 days before
    // now, rounded down.
    let year: PostureHistory = hub.get("/api/v1/posture/history?since=365d").await;
    assert_eq!(year.since, ts(T0 + DAY - 365 * DAY));
    assert_eq!(year.buckets.len(), 366);
    let long: PostureHistory = hub.get("/api/v1/posture/history?since=500d").await;
    assert_eq!(long.since, ts(T0 + DAY - 400 * DAY));
    assert_eq!(long.buckets.len(), 401);
}

#[tokio::test]
async fn a_bucket_every_cluster_reported_in_matches_the_fleet_report() {
    // The fixture's three clusters (exceptions, RBAC in clusters), each once on day T0.
    let hub = hub_with(
        vec![
            cluster_a(T0 + 600),
            cluster_b(T0 + 7200),
            cluster_c(T0 + 9000),
        ],
        T0 + 12 * HOUR,
    )
    .await;
    let fleet: PostureView = hub.get("/api/v1/posture").await;
    let history: PostureHistory = hub.get("/api/v1/posture/history?since=1h").await;
    assert_eq!(history.buckets.len(), 1);
    let bucket = &history.buckets[0];
    assert_eq!(bucket.clusters_reporting, fleet.fleet.clusters_reporting);
    assert_eq!(bucket.controls.len(), fleet.fleet.controls.len());
    for (h, f) in bucket.controls.iter().zip(&fleet.fleet.controls) {
        assert_eq!(
            (
                h.control,
                h.clusters_reporting,
                h.eligible,
                h.covered,
                h.excepted,
                h.percent,
                h.meets_target,
                h.findings
            ),
            (
                f.control,
                f.clusters_reporting,
                f.eligible,
                f.covered,
                f.excepted,
                f.percent,
                f.meets_target,
                f.findings
            ),
            "{}",
            f.control
        );
    }
    // Not all the same: RBAC counts clusters, one of them excepted.
    let rbac = &bucket.controls[0];
    assert_eq!((rbac.eligible, rbac.covered, rbac.excepted), (3, 1, 1));
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let hub = hub_with(Vec::new(), NOW).await;
    for (query, field, message) in [
        (
            "control=netpol",
            "control",
            "control \"netpol\" is not one of rbac, network-policy, pod-security, secrets, \
             image-scanning",
        ),
        ("step=1w", "step", "step \"1w\" is not one of 1h, 1d"),
        (
            "since=yesterday",
            "since",
            "since \"yesterday\" is neither an RFC 3339 time nor a duration such as 7d or 12h",
        ),
        (
            "since=2026-03-12T00:00:00Z",
            "since",
            "since 2026-03-12T00:00:00Z is after the hub's time 2026-03-11T02:30:00Z",
        ),
        ("labelSelector=a%20in", "labelSelector", ""),
    ] {
        let answer = hub
            .send(
                "GET",
                &format!("/api/v1/posture/history?{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(
            answer.code,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            answer.text
        );
        assert_eq!(answer.body["field"], field, "{query}");
        if !message.is_empty() {
            assert_eq!(answer.body["message"], message, "{query}");
        }
    }
}
