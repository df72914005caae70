#![allow(clippy::unwrap_used)]
//! Fleet health (issue 5 item 4): the latest health report per cluster in the store, the
//! health every view shows (reported health, firing alerts, the lease), `/api/v1/alerts`,
//! the cluster views' alert counts and the fleet health on `/metrics`.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use capstan_core::health::{AlertPhase, Comparison, HealthReport, Severity};
use capstan_hub::store::{ClusterHealth, SqliteStore, Store};
use jiff::{SignedDuration, Timestamp};

use common::healthy;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

/// One alert of `rule` on `node`, in `state`.
fn alert(
    rule: &str,
    severity: Severity,
    state: AlertPhase,
    node: &str,
    value: f64,
) -> capstan_core::health::Alert {
    capstan_core::health::Alert {
        rule: rule.to_string(),
        severity,
        value,
        threshold: 0.8,
        comparison: Comparison::Above,
        labels: BTreeMap::from([("node".to_string(), node.to_string())]),
        since: at(-120),
        state,
    }
}

/// A health report with `alerts`, its counts computed from them.
fn health_report(
    alerts: Vec<capstan_core::health::Alert>,
    evaluated_at: Timestamp,
) -> HealthReport {
    let mut firing = BTreeMap::new();
    let mut pending = 0;
    for a in &alerts {
        match a.state {
            AlertPhase::Firing => *firing.entry(a.severity).or_insert(0) += 1,
            AlertPhase::Pending => pending += 1,
            AlertPhase::Inactive => {}
        }
    }
    HealthReport {
        source: "scrape".to_string(),
        evaluation: 1,
        evaluated_at,
        alerts,
        firing,
        pending,
        healthy_streak: BTreeMap::new(),
        errors: BTreeMap::new(),
    }
}

#[tokio::test]
async fn the_store_keeps_the_latest_health_report_and_its_counts() {
    let store = Arc::new(SqliteStore::memory().await.unwrap());
    let lease = SignedDuration::from_secs(40);
    let critical = health_report(
        vec![
            alert(
                "NodeCPUHigh",
                Severity::Critical,
                AlertPhase::Firing,
                "n1",
                0.93,
            ),
            alert(
                "NodeMemoryHigh",
                Severity::Warning,
                AlertPhase::Pending,
                "n2",
                0.85,
            ),
        ],
        at(0),
    );
    let mut report = healthy("eu-1", "production", "v1.32.4", &[]);
    report.health_report = Some(critical.clone());
    store.upsert_cluster(&report, at(0)).await.unwrap();
    store
        .upsert_cluster(&healthy("us-1", "production", "v1.32.4", &[]), at(0))
        .await
        .unwrap();

    let eu = store.get_cluster("eu-1").await.unwrap().unwrap();
    let counts = eu.alerts.clone().unwrap();
    assert_eq!(
        (
            counts.firing_critical,
            counts.firing_warning,
            counts.pending
        ),
        (1, 0, 1)
    );
    assert_eq!(counts.evaluated_at, at(0));
    assert_eq!(counts.source, "scrape");
    assert_eq!(eu.reported_health, ClusterHealth::Healthy);
    assert_eq!(eu.health_at(at(10), lease), ClusterHealth::Critical);
    assert_eq!(eu.health_at(at(41), lease), ClusterHealth::Unknown);
    let us = store.get_cluster("us-1").await.unwrap().unwrap();
    assert_eq!(us.alerts, None);
    assert_eq!(us.health_at(at(10), lease), ClusterHealth::Healthy);

    // One query for any number of names; unknown names and clusters without a report are absent.
    let mut names: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    names.extend(["eu-1".to_string(), "us-1".to_string()]);
    let reports = store.health_reports(&names).await.unwrap();
    assert_eq!(reports.keys().collect::<Vec<_>>(), ["eu-1"]);
    assert_eq!(reports["eu-1"], critical);
    assert!(store.health_reports(&[]).await.unwrap().is_empty());

    // A report without a health report keeps the latest one; a new one replaces it.
    report.health_report = None;
    store.upsert_cluster(&report, at(5)).await.unwrap();
    let eu = store.get_cluster("eu-1").await.unwrap().unwrap();
    assert_eq!(eu.alerts.as_ref().unwrap().firing_critical, 1);
    assert_eq!(eu.health_at(at(10), lease), ClusterHealth::Critical);

    report.health_report = Some(health_report(
        vec![alert(
            "NodeDiskFull",
            Severity::Warning,
            AlertPhase::Firing,
            "n3",
            0.9,
        )],
        at(6),
    ));
    store.upsert_cluster(&report, at(6)).await.unwrap();
    let eu = store.get_cluster("eu-1").await.unwrap().unwrap();
    assert_eq!(eu.health_at(at(10), lease), ClusterHealth::Degraded);

    report.health_report = Some(health_report(Vec::new(), at(7)));
    store.upsert_cluster(&report, at(7)).await.unwrap();
    let eu = store.get_cluster("eu-1").await.unwrap().unwrap();
    assert_eq!(eu.health_at(at(10), lease), ClusterHealth::Healthy);
    let reports = store.health_reports(&["eu-1".to_string()]).await.unwrap();
    assert!(reports["eu-1"].alerts.is_empty());
    assert_eq!(reports["eu-1"].evaluated_at, at(7));
}

#[test]
fn the_old_unhealthy_spelling_still_parses_as_critical() {
    assert_eq!(
        serde_json::from_str::<ClusterHealth>("\"Unhealthy\"").unwrap(),
        ClusterHealth::Critical
    );
    assert_eq!(
        "Unhealthy".parse::<ClusterHealth>().unwrap(),
        ClusterHealth::Critical
    );
    assert_eq!(
        "Critical".parse::<ClusterHealth>().unwrap(),
        ClusterHealth::Critical
    );
    assert_eq!(
        serde_json::to_string(&ClusterHealth::Critical).unwrap(),
        "\"Critical\""
    );
}
