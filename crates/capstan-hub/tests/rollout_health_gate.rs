#![allow(clippy::unwrap_used)]
//! Health gates in the rollout controller (issue 5, item 5): agents' health reports halt a
//! soak, hold it until enough healthy evaluations arrive, and refuse unhealthy clusters in
//! preflight. In process over SQLite with a clock advanced by hand; the agents are played by
//! the test (reports and work results written to the store).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use capstan_clock::Clock;
use capstan_core::health::{Alert, AlertPhase, Comparison, HealthReport, Severity};
use capstan_core::rollout::ClusterState;
use capstan_hub::store::{ClusterReport, SqliteStore, WorkStatus};
use common::{CANONICAL, HOUR, Hub};

const UPGRADE: &str = "to-1-33";

fn restarts_high(severity: Severity, since: jiff::Timestamp) -> Alert {
    Alert {
        rule: "ContainerRestartsHigh".into(),
        severity,
        value: 7.0,
        threshold: 5.0,
        comparison: Comparison::Above,
        labels: [
            ("container", "app"),
            ("namespace", "shop"),
            ("pod", "web-1"),
            ("severity", severity.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        since,
        state: AlertPhase::Firing,
    }
}

/// `cluster`'s agent sends evaluation `evaluation`, made now, with `alerts` firing and the
/// same healthy `streak` for both severities.
async fn report_health(hub: &Hub, cluster: &str, evaluation: u64, alerts: Vec<Alert>, streak: u64) {
    let record = hub.store.get_cluster(cluster).await.unwrap().unwrap();
    let mut firing = BTreeMap::new();
    for a in &alerts {
        *firing.entry(a.severity).or_default() += 1;
    }
    let report = HealthReport {
        source: "scrape".into(),
        evaluation,
        evaluated_at: hub.clock.now(),
        alerts,
        firing,
        pending: 0,
        healthy_streak: BTreeMap::from([(Severity::Critical, streak), (Severity::Warning, streak)]),
        errors: BTreeMap::new(),
    };
    hub.report(&ClusterReport {
        name: record.name,
        labels: record.labels,
        versions: record.versions,
        node_count: record.node_count,
        pod_count: record.pod_count,
        health: record.reported_health,
        summary: record.summary,
        health_report: Some(report),
    })
    .await;
}

/// The frozen upgrade order.
async fn order(hub: &Hub) -> Vec<String> {
    let detail = hub.describe(UPGRADE).await;
    detail.clusters.iter().map(|c| c.cluster.clone()).collect()
}

async fn reasons(hub: &Hub) -> Vec<String> {
    let detail = hub.describe(UPGRADE).await;
    detail.events.iter().map(|e| e.reason.clone()).collect()
}

#[tokio::test]
async fn a_critical_alert_on_a_canary_during_the_first_soak_halts_the_canonical_upgrade() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(20).await;
    let controller = hub.controller();
    hub.apply(CANONICAL).await;
    let order = order(&hub).await;
    let canary = order[1].clone();
    // A critical alert before the upgrade finished: not about the new version, no halt.
    report_health(
        &hub,
        &canary,
        3,
        vec![restarts_high(Severity::Critical, hub.clock.now())],
        0,
    )
    .await;
    hub.clock.advance(Duration::from_secs(60));
    assert_eq!(hub.finish_open_work(20, WorkStatus::Succeeded).await, 2);
    hub.reconcile(&controller).await;
    assert_eq!(hub.phase(UPGRADE).await, "Soaking");
    hub.reconcile(&controller).await;
    assert_eq!(
        hub.phase(UPGRADE).await,
        "Soaking",
        "the old report is ignored"
    );

    // Ten minutes into the soak the canary's agent reports the alert firing.
    hub.clock.advance(Duration::from_secs(600));
    report_health(
        &hub,
        &canary,
        4,
        vec![restarts_high(Severity::Critical, hub.clock.now())],
        0,
    )
    .await;
    hub.reconcile(&controller).await;
    let detail = hub.describe(UPGRADE).await;
    let status = &detail.upgrade.status;
    assert_eq!(status["phase"], "Halted");
    assert_eq!(
        status["message"],
        format!(
            "{canary} unhealthy during the soak of step 0: ContainerRestartsHigh on \
             container=app,namespace=shop,pod=web-1: 7 > 5"
        )
    );
    let halt = &status["health"]["halt"];
    assert_eq!(halt["cluster"], canary.as_str());
    assert_eq!(halt["step"], 0);
    assert_eq!(halt["alert"]["rule"], "ContainerRestartsHigh");
    assert_eq!(halt["alert"]["severity"], "critical");
    assert_eq!(halt["alert"]["value"], 7.0);
    assert_eq!(halt["alert"]["threshold"], 5.0);
    assert!(
        reasons(&hub)
            .await
            .contains(&"UnhealthyDuringSoak".to_string())
    );

    // The other clusters stay untouched, however long it stays halted.
    hub.clock.advance(5 * HOUR);
    hub.reconcile(&controller).await;
    assert_eq!(hub.phase(UPGRADE).await, "Halted");
    assert!(hub.open_work(20).await.is_empty());
    let detail = hub.describe(UPGRADE).await;
    let upgraded: Vec<_> = detail
        .clusters
        .iter()
        .filter(|c| c.rollout.state != ClusterState::Pending)
        .map(|c| c.cluster.clone())
        .collect();
    assert_eq!(upgraded.len(), 2, "{upgraded:?}");
}

#[tokio::test]
async fn preflight_refuses_a_cluster_with_a_firing_critical_alert() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(20).await;
    let controller = hub.controller();
    let order_before = {
        // The order is frozen at apply; the third cluster is the first of step 1.
        hub.apply(CANONICAL).await;
        order(&hub).await
    };
    let sick = order_before[2].clone();
    // A warning is not in the default haltOn: shown as Degraded, but not refused.
    let warned = order_before[3].clone();
    report_health(
        &hub,
        &warned,
        9,
        vec![restarts_high(Severity::Warning, hub.clock.now())],
        0,
    )
    .await;
    report_health(
        &hub,
        &sick,
        9,
        vec![restarts_high(Severity::Critical, hub.clock.now())],
        0,
    )
    .await;
    hub.finish_open_work(20, WorkStatus::Succeeded).await;
    hub.reconcile(&controller).await;
    hub.clock.advance(HOUR);
    hub.reconcile(&controller).await;

    let rollout = hub.cluster_rollout(UPGRADE, &sick).await;
    assert_eq!(rollout.state, ClusterState::Failed);
    assert_eq!(
        rollout.message,
        "preflight: the cluster is unhealthy: ContainerRestartsHigh on \
         container=app,namespace=shop,pod=web-1: 7 > 5 is firing (critical)"
    );
    assert!(reasons(&hub).await.contains(&"PreflightFailed".to_string()));
    let open: Vec<_> = hub
        .open_work(20)
        .await
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert!(!open.contains(&sick), "{open:?}");
    assert!(open.contains(&warned), "{open:?}");
}

#[tokio::test]
async fn a_gate_of_three_healthy_evaluations_holds_the_first_soak_until_they_arrive() {
    let hub = Hub::over(SqliteStore::memory().await.unwrap(), Hub::clock()).await;
    hub.register_fleet(20).await;
    let controller = hub.controller();
    let gated = CANONICAL.replace(
        "    canary:\n",
        "    canary:\n      healthGate: {consecutiveHealthyEvaluations: 3}\n",
    );
    let applied = hub.apply(&gated).await;
    assert_eq!(
        applied.upgrade.status["health"]["consecutiveHealthyEvaluations"],
        3
    );
    let order = order(&hub).await;
    let canaries = [order[0].clone(), order[1].clone()];
    hub.finish_open_work(20, WorkStatus::Succeeded).await;
    hub.reconcile(&controller).await;
    assert_eq!(hub.phase(UPGRADE).await, "Soaking");

    // The hour is up, but no evaluation came after the upgrades: held.
    hub.clock.advance(HOUR);
    hub.reconcile(&controller).await;
    let detail = hub.describe(UPGRADE).await;
    assert_eq!(detail.upgrade.status["phase"], "Soaking");
    assert_eq!(detail.upgrade.status["health"]["heldStep"], 0);
    let message = detail.upgrade.status["message"].as_str().unwrap();
    assert!(
        message.contains("waiting for 3 consecutive healthy evaluations"),
        "{message}"
    );
    assert!(hub.open_work(20).await.is_empty());

    // Three evaluations each with a growing streak (the agents ran long before: 20+).
    for (i, evaluation) in [21, 22, 23].into_iter().enumerate() {
        hub.clock.advance(Duration::from_secs(30));
        for canary in &canaries {
            report_health(&hub, canary, evaluation, vec![], evaluation).await;
        }
        hub.reconcile(&controller).await;
        let detail = hub.describe(UPGRADE).await;
        let counted = &detail.upgrade.status["health"]["clusters"];
        if i < 2 {
            assert_eq!(
                detail.upgrade.status["phase"], "Soaking",
                "after {evaluation}"
            );
            for canary in &canaries {
                assert_eq!(counted[canary]["healthyEvaluations"], i + 1, "{counted}");
                assert_eq!(counted[canary]["firstEvaluation"], 21);
            }
            assert!(hub.open_work(20).await.is_empty());
        } else {
            assert_eq!(detail.upgrade.status["phase"], "Progressing");
            assert_eq!(detail.upgrade.status["step"], 1);
            assert_eq!(hub.open_work(20).await.len(), 8, "step 1 started");
        }
    }
    let reasons = reasons(&hub).await;
    let held = reasons
        .iter()
        .filter(|r| *r == "WaitingForHealthGate")
        .count();
    assert_eq!(held, 1, "recorded once: {reasons:?}");
    assert!(
        reasons.contains(&"HealthGatePassed".to_string()),
        "{reasons:?}"
    );
}
