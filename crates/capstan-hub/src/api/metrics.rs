//! `GET /metrics`: the hub in the Prometheus text exposition format (see [`crate::metrics`]).
//!
//! | Metric | Type | Labels | What |
//! |---|---|---|---|
//! | `capstan_hub_clusters` | gauge | `health` | clusters by health at scrape time (Unknown once silent past the lease), every state present |
//! | `capstan_hub_upgrades` | gauge | `phase` | upgrades by phase, every phase present |
//! | `capstan_hub_upgrade_step` | gauge | `upgrade` | a live upgrade's current step, 1-based |
//! | `capstan_hub_upgrade_steps` | gauge | `upgrade` | its number of steps |
//! | `capstan_hub_upgrade_clusters` | gauge | `upgrade`, `state` | its frozen clusters by state, every state present |
//! | `capstan_hub_report_ingest_seconds` | histogram | | from receiving an agent report to its store write done |
//! | `capstan_cluster_health` | gauge | `cluster`, `health` | 1, one series per cluster: its health at scrape time (`ClusterRecord::health_at`) |
//! | `capstan_cluster_alerts` | gauge | `cluster`, `severity`, `state` | a live cluster's alerts in its latest health report, firing and pending per severity (zeros present) |
//! | `capstan_fleet_alerts_firing` | gauge | `rule`, `severity` | firing alerts over the live clusters, per rule |
//! | `capstan_posture_coverage_ratio` | gauge | `control` | the fleet's coverage (0 to 1) over the latest posture reports; absent while nothing is eligible |
//! | `capstan_posture_clusters_reporting` | gauge | | clusters with a posture report |
//! | `capstan_posture_reports_total` | counter | | posture reports stored since the hub started |
//!
//! The fleet health families are for a global Prometheus (Thanos, Cortex): `cluster` is the
//! inventory name. Firing counts per cluster are exact; pending per severity and the per-rule
//! totals count the alerts a report lists (at most
//! `capstan_core::health::MAX_REPORTED_ALERTS` per cluster, firing first). A cluster whose
//! agent is silent past the lease exports its health (Unknown) but no alerts.
//!
//! A *live* upgrade is one the rollout controller still reconciles: not Succeeded or Aborted,
//! and not Failed with nothing left Upgrading (as `crate::rollout` decides). Finished upgrades
//! only count in `capstan_hub_upgrades`, so the per-upgrade series do not grow without bound.
//!
//! The gauges are read from the store at scrape time: one inventory read and one upgrades read
//! per scrape, cheap next to 1,000 reports/s at a usual 15 s scrape interval.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::collections::BTreeMap;

use capstan_core::health::{AlertPhase, Severity};
use capstan_core::rollout::{ClusterState, RolloutPhase, RolloutState};
use capstan_core::selector::LabelSelector;

use super::alerts::live_alert_reports;
use super::clusters::lease;
use super::{ApiError, ApiState};
use crate::metrics::{CONTENT_TYPE, Exposition, MetricType};
use crate::rollout::decode_state;
use crate::store::{ClusterHealth, ClusterRecord};

/// Every [`ClusterHealth`], in the order they are exposed.
pub const HEALTH_STATES: [ClusterHealth; 4] = ClusterHealth::ALL;

/// Every [`RolloutPhase`]; [`phase_name`]'s exhaustive match fails to compile when a phase is
/// added, as a reminder to list it here.
pub const PHASES: [RolloutPhase; 9] = [
    RolloutPhase::Pending,
    RolloutPhase::Progressing,
    RolloutPhase::Soaking,
    RolloutPhase::AwaitingApproval,
    RolloutPhase::Paused,
    RolloutPhase::Halted,
    RolloutPhase::Succeeded,
    RolloutPhase::Failed,
    RolloutPhase::Aborted,
];

/// Every [`ClusterState`]; see [`PHASES`] for why [`cluster_state_name`] matches exhaustively.
pub const CLUSTER_STATES: [ClusterState; 6] = [
    ClusterState::Pending,
    ClusterState::Upgrading,
    ClusterState::Succeeded,
    ClusterState::Failed,
    ClusterState::Skipped,
    ClusterState::Removed,
];

/// The phase as the API's JSON spells it.
pub fn phase_name(phase: RolloutPhase) -> &'static str {
    match phase {
        RolloutPhase::Pending => "Pending",
        RolloutPhase::Progressing => "Progressing",
        RolloutPhase::Soaking => "Soaking",
        RolloutPhase::AwaitingApproval => "AwaitingApproval",
        RolloutPhase::Paused => "Paused",
        RolloutPhase::Halted => "Halted",
        RolloutPhase::Succeeded => "Succeeded",
        RolloutPhase::Failed => "Failed",
        RolloutPhase::Aborted => "Aborted",
    }
}

/// The cluster state as the API's JSON spells it.
pub fn cluster_state_name(state: ClusterState) -> &'static str {
    match state {
        ClusterState::Pending => "Pending",
        ClusterState::Upgrading => "Upgrading",
        ClusterState::Succeeded => "Succeeded",
        ClusterState::Failed => "Failed",
        ClusterState::Skipped => "Skipped",
        ClusterState::Removed => "Removed",
    }
}

/// Whether the rollout controller still works on this upgrade (mirrors its dormancy rule).
fn is_live(state: &RolloutState) -> bool {
    match state.phase {
        RolloutPhase::Succeeded | RolloutPhase::Aborted => false,
        RolloutPhase::Failed => state.count(ClusterState::Upgrading) > 0,
        _ => true,
    }
}

/// The fleet health families; see the module documentation.
async fn fleet_health(
    state: &ApiState,
    out: &mut Exposition,
    clusters: &[ClusterRecord],
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let lease = lease(state);
    out.family(
        "capstan_cluster_health",
        "A cluster's health at scrape time (1 for the current health, one series per cluster).",
        MetricType::Gauge,
    );
    for cluster in clusters {
        out.sample(
            "capstan_cluster_health",
            &[
                ("cluster", &cluster.name),
                ("health", cluster.health_at(now, lease).as_str()),
            ],
            1.0,
        );
    }

    let reports = live_alert_reports(state, clusters, now, lease).await?;
    out.family(
        "capstan_cluster_alerts",
        "Alerts in a live cluster's latest health report, by severity and state.",
        MetricType::Gauge,
    );
    for cluster in clusters {
        let Some(counts) = cluster.alerts.as_ref() else {
            continue;
        };
        if cluster.health_at(now, lease) == ClusterHealth::Unknown {
            continue;
        }
        let pending = |severity: Severity| {
            reports.get(&cluster.name).map_or(0, |r| {
                r.alerts
                    .iter()
                    .filter(|a| a.state == AlertPhase::Pending && a.severity == severity)
                    .count()
            })
        };
        for (severity, firing) in [
            (Severity::Critical, counts.firing_critical),
            (Severity::Warning, counts.firing_warning),
        ] {
            for (phase, count) in [
                ("firing", firing as f64),
                ("pending", pending(severity) as f64),
            ] {
                out.sample(
                    "capstan_cluster_alerts",
                    &[
                        ("cluster", &cluster.name),
                        ("severity", severity.as_str()),
                        ("state", phase),
                    ],
                    count,
                );
            }
        }
    }

    let mut by_rule: BTreeMap<(&str, Severity), u64> = BTreeMap::new();
    for alert in reports.values().flat_map(|r| &r.alerts) {
        if alert.state == AlertPhase::Firing {
            *by_rule.entry((&alert.rule, alert.severity)).or_default() += 1;
        }
    }
    out.family(
        "capstan_fleet_alerts_firing",
        "Firing alerts over the fleet's live clusters, per rule.",
        MetricType::Gauge,
    );
    for ((rule, severity), count) in by_rule {
        out.sample(
            "capstan_fleet_alerts_firing",
            &[("rule", rule), ("severity", severity.as_str())],
            count as f64,
        );
    }
    Ok(())
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    let mut out = Exposition::new();

    let clusters = state
        .store
        .list_clusters(&LabelSelector::everything())
        .await?;
    let now = state.clock.now();
    let lease = lease(&state);
    let mut by_health = [0u64; HEALTH_STATES.len()];
    for cluster in &clusters {
        let health = cluster.health_at(now, lease);
        if let Some(i) = HEALTH_STATES.iter().position(|&h| h == health) {
            by_health[i] += 1;
        }
    }
    out.family(
        "capstan_hub_clusters",
        "Clusters in the inventory by health (Unknown once the agent is silent past the lease).",
        MetricType::Gauge,
    );
    for (health, count) in HEALTH_STATES.iter().zip(by_health) {
        out.sample(
            "capstan_hub_clusters",
            &[("health", health.as_str())],
            count as f64,
        );
    }

    fleet_health(&state, &mut out, &clusters).await?;
    super::posture::metrics(&state, &mut out).await?;

    let mut states = Vec::new();
    for record in state.store.list_upgrades().await? {
        match decode_state(&record) {
            Ok(rollout) => states.push((record.name, rollout)),
            // One unreadable upgrade should not blind the whole scrape.
            Err(error) => tracing::warn!(upgrade = %record.name, %error, "metrics skip an upgrade"),
        }
    }
    let mut by_phase = [0u64; PHASES.len()];
    for (_, rollout) in &states {
        if let Some(i) = PHASES.iter().position(|&p| p == rollout.phase) {
            by_phase[i] += 1;
        }
    }
    out.family(
        "capstan_hub_upgrades",
        "ClusterUpgrades by rollout phase.",
        MetricType::Gauge,
    );
    for (phase, count) in PHASES.iter().zip(by_phase) {
        out.sample(
            "capstan_hub_upgrades",
            &[("phase", phase_name(*phase))],
            count as f64,
        );
    }

    let live: Vec<_> = states.iter().filter(|(_, s)| is_live(s)).collect();
    out.family(
        "capstan_hub_upgrade_step",
        "A live upgrade's current canary step, 1-based.",
        MetricType::Gauge,
    );
    for (name, rollout) in &live {
        let steps = rollout.plan.steps.len();
        let current = (rollout.step + 1).min(steps.max(1));
        out.sample(
            "capstan_hub_upgrade_step",
            &[("upgrade", name)],
            current as f64,
        );
    }
    out.family(
        "capstan_hub_upgrade_steps",
        "A live upgrade's number of canary steps.",
        MetricType::Gauge,
    );
    for (name, rollout) in &live {
        out.sample(
            "capstan_hub_upgrade_steps",
            &[("upgrade", name)],
            rollout.plan.steps.len() as f64,
        );
    }
    out.family(
        "capstan_hub_upgrade_clusters",
        "A live upgrade's frozen clusters by state.",
        MetricType::Gauge,
    );
    for (name, rollout) in &live {
        for cluster_state in CLUSTER_STATES {
            out.sample(
                "capstan_hub_upgrade_clusters",
                &[
                    ("upgrade", name),
                    ("state", cluster_state_name(cluster_state)),
                ],
                rollout.count(cluster_state) as f64,
            );
        }
    }

    out.histogram(
        "capstan_hub_report_ingest_seconds",
        "Time from receiving an agent report to its store write done.",
        &state.metrics.report_ingest.snapshot(),
    );

    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_json_spelling() {
        for phase in PHASES {
            assert_eq!(
                serde_json::to_value(phase).ok(),
                Some(serde_json::Value::from(phase_name(phase)))
            );
        }
        for state in CLUSTER_STATES {
            assert_eq!(
                serde_json::to_value(state).ok(),
                Some(serde_json::Value::from(cluster_state_name(state)))
            );
        }
    }
}
