#![allow(clippy::unwrap_used)]
//! The SQLite posture store: the latest report replaces the previous one (findings too), an
//! older one changes nothing, the history keeps one point per hour for 30 days, and posture
//! leaves with its cluster.

mod common;
mod posture_fixture;

use std::collections::BTreeMap;

use capstan_core::posture::report::{Control, Severity};
use capstan_hub::store::{
    ClusterHealth, ClusterReport, ClusterVersions, ExceptedFilter, FindingsQuery, PostureRead,
    PostureWriteOutcome, SqliteStore, Store,
};
use posture_fixture::{DAY, F, HOUR, T0, cluster_a, cluster_b, cluster_c, report, ts};
use serde_json::Value;

fn inventory(name: &str, env: &str) -> ClusterReport {
    ClusterReport {
        name: name.to_string(),
        labels: BTreeMap::from([("environment".to_string(), env.to_string())]),
        versions: ClusterVersions::default(),
        node_count: 1,
        pod_count: 1,
        health: ClusterHealth::Healthy,
        summary: Value::Null,
        health_report: None,
    }
}

fn all_findings(limit: usize) -> FindingsQuery {
    FindingsQuery {
        clusters: None,
        control: None,
        rule: None,
        severities: Vec::new(),
        excepted: ExceptedFilter::Include,
        limit,
    }
}

async fn summaries(
    store: &SqliteStore,
    with_rules: bool,
) -> Vec<capstan_hub::store::PostureSummary> {
    store
        .posture_summaries(PostureRead {
            clusters: None,
            with_rules,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_newer_report_replaces_the_latest_and_an_older_one_changes_nothing() {
    let store = SqliteStore::memory().await.unwrap();
    store
        .upsert_cluster(&inventory("b", "prod"), ts(T0))
        .await
        .unwrap();
    let first = cluster_b(T0);
    assert_eq!(
        store.put_posture(&first, ts(T0 + 60)).await.unwrap(),
        PostureWriteOutcome::Stored
    );
    assert_eq!(
        store
            .posture_findings(&all_findings(100))
            .await
            .unwrap()
            .len(),
        5
    );

    // A later evaluation with one finding left.
    let later = report("b", T0 + HOUR)
        .control(Control::Rbac, 8, 8, 0)
        .finding(F::new(Control::Rbac, "rbac.escalate", Severity::High, "Role").at("x", "y"))
        .build();
    assert_eq!(
        store.put_posture(&later, ts(T0 + HOUR + 5)).await.unwrap(),
        PostureWriteOutcome::Stored
    );
    let found = store.posture_findings(&all_findings(100)).await.unwrap();
    assert_eq!(found.len(), 1, "the findings are replaced, not added");
    assert_eq!(found[0].finding.rule, "rbac.escalate");
    let s = summaries(&store, true).await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].evaluated_at, ts(T0 + HOUR));
    assert_eq!(s[0].received_at, ts(T0 + HOUR + 5));
    assert_eq!(s[0].controls, later.controls);
    assert_eq!(s[0].rules, later.rules);
    assert_eq!(
        s[0].labels["environment"], "prod",
        "labels from the inventory"
    );

    // The first report again (a late retry): ignored.
    assert_eq!(
        store.put_posture(&first, ts(T0 + 2 * HOUR)).await.unwrap(),
        PostureWriteOutcome::Older {
            stored: ts(T0 + HOUR)
        }
    );
    assert_eq!(summaries(&store, true).await[0].controls, later.controls);
    assert_eq!(
        store
            .posture_findings(&all_findings(100))
            .await
            .unwrap()
            .len(),
        1
    );

    // The same evaluation again (a retry of the latest): stored, same content.
    assert_eq!(
        store.put_posture(&later, ts(T0 + 2 * HOUR)).await.unwrap(),
        PostureWriteOutcome::Stored
    );
    assert_eq!(
        store
            .posture_findings(&all_findings(100))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn summaries_decode_rules_only_when_asked_and_filter_by_cluster() {
    let store = SqliteStore::memory().await.unwrap();
    for r in [cluster_a(T0), cluster_b(T0), cluster_c(T0)] {
        store.put_posture(&r, ts(T0)).await.unwrap();
    }
    let without = summaries(&store, false).await;
    assert_eq!(
        without
            .iter()
            .map(|s| s.cluster.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert!(without.iter().all(|s| s.rules.is_empty()));
    assert!(without[0].labels.is_empty(), "a is not in the inventory");
    let names = vec!["c".to_string(), "zz".to_string()];
    let some = store
        .posture_summaries(PostureRead {
            clusters: Some(&names),
            with_rules: true,
        })
        .await
        .unwrap();
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].rules, cluster_c(T0).rules);
}

#[tokio::test]
async fn findings_come_back_whole_filtered_and_in_order() {
    let store = SqliteStore::memory().await.unwrap();
    for r in [cluster_a(T0), cluster_b(T0), cluster_c(T0)] {
        store.put_posture(&r, ts(T0)).await.unwrap();
    }
    let all = store.posture_findings(&all_findings(1000)).await.unwrap();
    assert_eq!(all.len(), 4 + 5 + 4);
    // Each stored finding reads back exactly as sent.
    for r in [cluster_a(T0), cluster_b(T0), cluster_c(T0)] {
        for f in &r.findings {
            assert!(
                all.iter()
                    .any(|cf| cf.cluster == r.cluster && cf.finding == *f),
                "{} {f:?}",
                r.cluster
            );
        }
    }
    // Most severe first: the critical admin binding, then the high ones by count.
    assert_eq!(all[0].finding.rule, "rbac.cluster-admin-binding");
    assert_eq!(all[1].finding.rule, "pss.privileged", "high with 3 pods");
    assert_eq!(
        all[2].finding.object.kind, "ClusterRole",
        "high, 1, by object"
    );
    assert_eq!(all[3].finding.object.kind, "Role");

    let mut q = all_findings(10);
    q.control = Some(Control::NetworkPolicy);
    q.excepted = ExceptedFilter::Exclude;
    let netpol = store.posture_findings(&q).await.unwrap();
    let names: Vec<_> = netpol
        .iter()
        .map(|f| (f.cluster.as_str(), f.finding.object.name.as_str()))
        .collect();
    assert_eq!(names, [("c", "ns-1"), ("c", "ns-3"), ("a", "team-a")]);
    q.excepted = ExceptedFilter::Only;
    let excepted = store.posture_findings(&q).await.unwrap();
    assert_eq!(excepted.len(), 1);
    assert_eq!(excepted[0].finding.excepted.as_deref(), Some("sandbox"));

    let mut q = all_findings(10);
    q.severities = vec![Severity::Medium];
    q.clusters = Some(vec!["b".to_string()]);
    let b_medium = store.posture_findings(&q).await.unwrap();
    assert_eq!(b_medium.len(), 2);
    assert!(
        b_medium
            .iter()
            .all(|f| f.cluster == "b" && f.finding.severity == Severity::Medium)
    );

    let mut q = all_findings(2);
    q.rule = Some("netpol.namespace-uncovered".to_string());
    assert_eq!(store.posture_findings(&q).await.unwrap().len(), 2, "limit");
}

#[tokio::test]
async fn history_keeps_one_point_per_hour_for_thirty_days() {
    let store = SqliteStore::memory().await.unwrap();
    let at = |t: i64, covered: u64| {
        report("a", t)
            .control(Control::NetworkPolicy, 20, covered, 0)
            .build()
    };
    // Two evaluations in the first hour: the later one is the hour's point.
    store
        .put_posture(&at(T0 + 60, 10), ts(T0 + 60))
        .await
        .unwrap();
    store
        .put_posture(&at(T0 + 1800, 12), ts(T0 + 1800))
        .await
        .unwrap();
    store
        .put_posture(&at(T0 + HOUR, 15), ts(T0 + HOUR))
        .await
        .unwrap();
    let points = store.posture_history("a", ts(0)).await.unwrap();
    let figures: Vec<_> = points
        .iter()
        .map(|p| (p.evaluated_at.as_second(), p.covered))
        .collect();
    assert_eq!(figures, [(T0 + 1800, 12), (T0 + HOUR, 15)]);
    assert!(
        points
            .iter()
            .all(|p| p.control == Control::NetworkPolicy && p.eligible == 20)
    );

    // 30 days after the first hour the first point is still kept; a day later it is gone.
    let d30 = T0 + 30 * DAY;
    store.put_posture(&at(d30, 16), ts(d30)).await.unwrap();
    assert_eq!(store.posture_history("a", ts(0)).await.unwrap().len(), 3);
    let d31 = T0 + 31 * DAY + 60;
    store.put_posture(&at(d31, 17), ts(d31)).await.unwrap();
    let left: Vec<_> = store
        .posture_history("a", ts(0))
        .await
        .unwrap()
        .iter()
        .map(|p| p.covered)
        .collect();
    assert_eq!(
        left,
        [16, 17],
        "points older than 30 days at the hub's now are gone"
    );
}

#[tokio::test]
async fn posture_leaves_with_its_cluster() {
    let store = SqliteStore::memory().await.unwrap();
    for name in ["b", "c"] {
        store
            .upsert_cluster(&inventory(name, "prod"), ts(T0))
            .await
            .unwrap();
    }
    store.put_posture(&cluster_b(T0), ts(T0)).await.unwrap();
    store.put_posture(&cluster_c(T0), ts(T0)).await.unwrap();
    assert!(store.deregister_cluster("b").await.unwrap());
    assert!(store.delete_cluster("c").await.unwrap());
    assert!(summaries(&store, true).await.is_empty());
    assert!(
        store
            .posture_findings(&all_findings(100))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.posture_history("b", ts(0)).await.unwrap().is_empty());
    assert!(store.posture_history("c", ts(0)).await.unwrap().is_empty());
}
