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

// --- the API and /metrics ---

const LEASE_SECONDS: u64 = 600;

/// Reports `cluster` (in `environment`) with `alerts` in its health report, now.
async fn report_alerts(
    hub: &common::Hub,
    cluster: &str,
    environment: &str,
    alerts: Vec<capstan_core::health::Alert>,
) {
    use capstan_clock::Clock;
    let mut report = healthy(cluster, environment, "v1.32.4", &[]);
    report.health_report = Some(health_report(alerts, hub.clock.now()));
    hub.report(&report).await;
}

async fn get_json(hub: &common::Hub, uri: &str) -> serde_json::Value {
    let (code, body) = hub.call("GET", uri, None).await;
    assert_eq!(code, axum::http::StatusCode::OK, "{uri}: {body}");
    body
}

async fn metrics_text(hub: &common::Hub) -> String {
    let answer = hub.send("GET", "/metrics", None, None).await;
    assert_eq!(answer.code, axum::http::StatusCode::OK);
    answer.text
}

/// The value of the sample line `name{labels}` (labels exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

/// `promtool check metrics` on the exposition, when promtool is installed (CI installs it).
fn promtool_accepts(text: &str) {
    use std::io::Write;
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool not found: exposition not checked by it");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn alerts_drive_the_health_the_views_the_alert_list_and_the_metrics_show() {
    let hub = common::Hub::over(SqliteStore::memory().await.unwrap(), common::Hub::clock()).await;
    hub.register("eu-1", "production").await;
    hub.register("us-1", "production").await;
    hub.register("dev-1", "staging").await;
    report_alerts(
        &hub,
        "eu-1",
        "production",
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
    )
    .await;
    report_alerts(
        &hub,
        "us-1",
        "production",
        vec![alert(
            "NodeDiskFull",
            Severity::Warning,
            AlertPhase::Firing,
            "n7",
            0.91,
        )],
    )
    .await;
    report_alerts(
        &hub,
        "dev-1",
        "staging",
        vec![alert(
            "NodeCPUHigh",
            Severity::Critical,
            AlertPhase::Firing,
            "d1",
            0.99,
        )],
    )
    .await;

    // The views: health from the alerts, counts, evaluation time and source.
    let eu = get_json(&hub, "/api/v1/clusters/eu-1").await;
    assert_eq!(eu["health"], "Critical");
    assert_eq!(eu["reportedHealth"], "Healthy");
    assert_eq!(
        eu["alerts"],
        serde_json::json!({"critical": 1, "warning": 0, "pending": 1})
    );
    assert_eq!(eu["healthSource"], "scrape");
    assert!(eu["healthEvaluatedAt"].is_string());
    let list = get_json(&hub, "/api/v1/clusters").await;
    let health: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["health"].as_str().unwrap()))
        .collect();
    assert_eq!(
        health,
        [
            ("dev-1", "Critical"),
            ("eu-1", "Critical"),
            ("us-1", "Degraded")
        ]
    );

    // The alert list: critical first, then by cluster and rule, with everything an alert says.
    let all = get_json(&hub, "/api/v1/alerts").await;
    assert_eq!(all["clusters"], 3);
    let order: Vec<(&str, &str, &str)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["cluster"].as_str().unwrap(),
                a["rule"].as_str().unwrap(),
                a["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("dev-1", "NodeCPUHigh", "firing"),
            ("eu-1", "NodeCPUHigh", "firing"),
            ("eu-1", "NodeMemoryHigh", "pending"),
            ("us-1", "NodeDiskFull", "firing"),
        ]
    );
    let first = &all["items"][1];
    assert_eq!(first["severity"], "critical");
    assert_eq!(first["value"], 0.93);
    assert_eq!(first["threshold"], 0.8);
    assert_eq!(first["labels"], serde_json::json!({"node": "n1"}));
    assert_eq!(
        first["since"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        at(-120)
    );

    // Filters: label selector, severity, state; bad values name the field.
    let prod = get_json(
        &hub,
        "/api/v1/alerts?labelSelector=environment%3Dproduction",
    )
    .await;
    assert_eq!(prod["clusters"], 2);
    assert_eq!(prod["items"].as_array().unwrap().len(), 3);
    let critical = get_json(
        &hub,
        "/api/v1/alerts?labelSelector=environment%3Dproduction&severity=critical",
    )
    .await;
    assert_eq!(critical["items"].as_array().unwrap().len(), 1);
    assert_eq!(critical["items"][0]["cluster"], "eu-1");
    let pending = get_json(&hub, "/api/v1/alerts?state=pending").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    assert_eq!(pending["items"][0]["rule"], "NodeMemoryHigh");
    let warnings = get_json(&hub, "/api/v1/alerts?severity=warning&state=firing").await;
    assert_eq!(warnings["items"].as_array().unwrap().len(), 1);
    assert_eq!(warnings["items"][0]["cluster"], "us-1");
    let (code, body) = hub.call("GET", "/api/v1/alerts?severity=page", None).await;
    assert_eq!(code, axum::http::StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "severity");
    let (code, body) = hub
        .call("GET", "/api/v1/alerts?labelSelector=%3D%3D", None)
        .await;
    assert_eq!(code, axum::http::StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "labelSelector");

    // /metrics: one health series per cluster, alert counts, fleet totals per rule.
    let text = metrics_text(&hub).await;
    promtool_accepts(&text);
    assert_eq!(
        sample(
            &text,
            r#"capstan_cluster_health{cluster="eu-1",health="Critical"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"capstan_cluster_health{cluster="us-1",health="Degraded"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("capstan_cluster_health{"))
            .count(),
        3
    );
    let alerts = |cluster: &str, severity: &str, state: &str| {
        sample(
            &text,
            &format!(
                r#"capstan_cluster_alerts{{cluster="{cluster}",severity="{severity}",state="{state}"}}"#
            ),
        )
    };
    assert_eq!(alerts("eu-1", "critical", "firing"), Some(1.0));
    assert_eq!(alerts("eu-1", "warning", "pending"), Some(1.0));
    assert_eq!(alerts("eu-1", "warning", "firing"), Some(0.0));
    assert_eq!(alerts("us-1", "warning", "firing"), Some(1.0));
    assert_eq!(
        sample(
            &text,
            r#"capstan_fleet_alerts_firing{rule="NodeCPUHigh",severity="critical"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"capstan_fleet_alerts_firing{rule="NodeDiskFull",severity="warning"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"capstan_hub_clusters{health="Critical"}"#),
        Some(2.0)
    );

    // A later evaluation without alerts: Healthy again, out of the alert list and metrics.
    report_alerts(&hub, "eu-1", "production", Vec::new()).await;
    let eu = get_json(&hub, "/api/v1/clusters/eu-1").await;
    assert_eq!(eu["health"], "Healthy");
    assert_eq!(
        eu["alerts"],
        serde_json::json!({"critical": 0, "warning": 0, "pending": 0})
    );
    let prod = get_json(
        &hub,
        "/api/v1/alerts?labelSelector=environment%3Dproduction",
    )
    .await;
    assert_eq!(prod["clusters"], 1);
    let text = metrics_text(&hub).await;
    assert_eq!(
        sample(
            &text,
            r#"capstan_cluster_health{cluster="eu-1",health="Healthy"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"capstan_fleet_alerts_firing{rule="NodeCPUHigh",severity="critical"}"#
        ),
        Some(1.0)
    );

    // Silent past the lease: Unknown, and its alerts are no longer current.
    hub.clock
        .advance(std::time::Duration::from_secs(LEASE_SECONDS + 1));
    report_alerts(&hub, "eu-1", "production", Vec::new()).await;
    let dev = get_json(&hub, "/api/v1/clusters/dev-1").await;
    assert_eq!(dev["health"], "Unknown");
    let all = get_json(&hub, "/api/v1/alerts").await;
    assert_eq!(all["clusters"], 0, "{all}");
    let text = metrics_text(&hub).await;
    promtool_accepts(&text);
    assert_eq!(
        sample(
            &text,
            r#"capstan_cluster_health{cluster="dev-1",health="Unknown"}"#
        ),
        Some(1.0)
    );
    assert_eq!(alerts_line_count(&text, "dev-1"), 0);
}

fn alerts_line_count(text: &str, cluster: &str) -> usize {
    let prefix = format!(r#"capstan_cluster_alerts{{cluster="{cluster}""#);
    text.lines().filter(|l| l.starts_with(&prefix)).count()
}

#[test]
fn a_report_carries_its_health_report_as_health_report() {
    let report = health_report(
        vec![alert(
            "NodeCPUHigh",
            Severity::Critical,
            AlertPhase::Firing,
            "n1",
            0.93,
        )],
        at(0),
    );
    let body = serde_json::json!({
        "nodeCount": 3, "podCount": 40, "health": "Unhealthy",
        "healthReport": report,
    });
    let request: capstan_hub::api::ReportRequest = serde_json::from_value(body).unwrap();
    let stored = request.into_report("eu-1");
    assert_eq!(stored.health, ClusterHealth::Critical);
    assert_eq!(stored.health_report, Some(report));
    // Without one, the field is absent on the wire.
    let plain: capstan_hub::api::ReportRequest = serde_json::from_value(
        serde_json::json!({"nodeCount": 3, "podCount": 40, "health": "Healthy"}),
    )
    .unwrap();
    assert!(plain.health_report.is_none());
    assert!(
        serde_json::to_value(&plain)
            .unwrap()
            .get("healthReport")
            .is_none()
    );
}
