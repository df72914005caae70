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
use capstan_core::rollout::{ClusterState, RolloutPhase, RolloutState};
use capstan_core::selector::LabelSelector;

use super::clusters::lease;
use super::{ApiError, ApiState};
use crate::metrics::{CONTENT_TYPE, Exposition, MetricType};
use crate::rollout::decode_state;
use crate::store::ClusterHealth;

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
