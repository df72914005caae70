#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::*;
use crate::health::{Alert, AlertPhase, Comparison, HealthReport, Severity};
use crate::rollout::{ClusterUpgrade, parse_cluster_upgrade, start, step};

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + 60 * minutes).unwrap()
}

/// The canonical example over 20 clusters (step targets 2, 10, 20) with `gate` as the
/// canary strategy's `healthGate` (flow map), or none.
fn upgrade(gate: Option<&str>) -> ClusterUpgrade {
    let gate = gate.map_or(String::new(), |g| format!("      healthGate: {g}\n"));
    let yaml = format!(
        "apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
metadata: {{name: test}}
spec:
  clusterSelector: {{matchLabels: {{environment: production}}}}
  strategy:
    type: Canary
    canary:
      steps: [{{pause: 1h, percentage: 10}}, {{pause: 4h, percentage: 50}}, {{pause: 1h, percentage: 100}}]
{gate}"
    );
    parse_cluster_upgrade(&yaml).unwrap()
}

fn fleet() -> Vec<(String, BTreeMap<String, String>)> {
    (0..20)
        .map(|i| (format!("prod-{i:02}"), BTreeMap::new()))
        .collect()
}

fn go(state: &RolloutState, input: Input, now: Timestamp) -> (RolloutState, Vec<Action>) {
    let (next, actions) = step(state, input.clone(), now);
    let (again, _) = step(&next, input, now);
    assert_eq!(again, next, "a repeated input changed the state");
    (next, actions)
}

fn reasons(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Record { reason, .. } => Some(reason.as_str()),
            Action::StartUpgrade { .. } => None,
        })
        .collect()
}

/// Starts the rollout and completes step 0's two clusters at minute 10: soaking until 70.
fn soaking_step_0(spec: &ClusterUpgrade) -> RolloutState {
    let (mut state, _) = start(spec, &fleet(), at(0)).unwrap();
    let canaries = state.plan.clusters[..2].to_vec();
    for name in canaries {
        state = go(&state, Input::ClusterSucceeded { cluster: name }, at(10)).0;
    }
    assert_eq!(state.phase, RolloutPhase::Soaking);
    assert_eq!(state.soak_until, Some(at(70)));
    state
}

fn restarts_alert(severity: Severity) -> Alert {
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
        since: at(11),
        state: AlertPhase::Firing,
    }
}

/// A report of evaluation `evaluation` made at `minute`, with `alerts` firing and the given
/// critical and warning streaks.
fn report(
    evaluation: u64,
    minute: i64,
    alerts: Vec<Alert>,
    critical_streak: u64,
    warning_streak: u64,
) -> HealthReport {
    let mut firing = BTreeMap::new();
    for a in &alerts {
        *firing.entry(a.severity).or_default() += 1;
    }
    HealthReport {
        source: "scrape".into(),
        evaluation,
        evaluated_at: at(minute),
        alerts,
        firing,
        pending: 0,
        healthy_streak: BTreeMap::from([
            (Severity::Critical, critical_streak),
            (Severity::Warning, warning_streak),
        ]),
        errors: BTreeMap::new(),
    }
}

/// Feeds what `reports` say, as the hub does each round, then a tick.
fn round(
    state: &RolloutState,
    reports: &BTreeMap<String, HealthReport>,
    now: Timestamp,
) -> (RolloutState, Vec<Action>) {
    let mut state = state.clone();
    let mut all = Vec::new();
    for input in health_inputs(&state, reports) {
        let (next, actions) = go(&state, input, now);
        state = next;
        all.extend(actions);
    }
    let (state, actions) = go(&state, Input::Tick, now);
    all.extend(actions);
    (state, all)
}

#[test]
fn a_critical_alert_during_the_soak_halts_naming_rule_cluster_value_and_threshold() {
    let state = soaking_step_0(&upgrade(None));
    let canary = state.plan.clusters[1].clone();
    let watched = clusters_to_watch(&state);
    assert_eq!(watched, state.plan.clusters[..2], "the upgraded clusters");

    let reports = BTreeMap::from([(
        canary.clone(),
        report(4, 20, vec![restarts_alert(Severity::Critical)], 0, 0),
    )]);
    let (state, actions) = round(&state, &reports, at(20));
    assert_eq!(state.phase, RolloutPhase::Halted);
    assert_eq!(
        state.message,
        format!(
            "{canary} unhealthy during the soak of step 0: ContainerRestartsHigh on \
             container=app,namespace=shop,pod=web-1: 7 > 5"
        )
    );
    assert_eq!(reasons(&actions), ["UnhealthyDuringSoak"]);
    let halt = state.health.halt.clone().unwrap();
    assert_eq!(
        (halt.cluster.as_str(), halt.step, halt.at),
        (&*canary, 0, at(20))
    );
    let alert = halt.alert.unwrap();
    assert_eq!(alert.rule, "ContainerRestartsHigh");
    assert_eq!((alert.value, alert.threshold), (7.0, 5.0));
    assert_eq!(alert.severity, Severity::Critical);

    // The status carries it as JSON, and decodes back.
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(
        json["health"]["halt"]["alert"]["rule"],
        "ContainerRestartsHigh"
    );
    assert_eq!(json["health"]["halt"]["alert"]["threshold"], 5.0);
    assert_eq!(json["health"]["halt"]["cluster"], canary.as_str());
    let back: RolloutState = serde_json::from_value(json).unwrap();
    assert_eq!(back, state);

    // Resume clears the halt and soaks again from now.
    let (state, _) = go(&state, Input::Resume, at(30));
    assert_eq!(state.phase, RolloutPhase::Soaking);
    assert_eq!(state.health.halt, None);
}

#[test]
fn warnings_do_not_halt_by_default_but_do_when_halt_on_says_so() {
    let warning = |state: &RolloutState| {
        let canary = state.plan.clusters[0].clone();
        BTreeMap::from([(
            canary,
            report(4, 20, vec![restarts_alert(Severity::Warning)], 5, 0),
        )])
    };
    let state = soaking_step_0(&upgrade(None));
    assert_eq!(state.health.halt_on, [Severity::Critical]);
    let (after, actions) = round(&state, &warning(&state), at(20));
    assert_eq!(after.phase, RolloutPhase::Soaking);
    assert!(actions.is_empty(), "{actions:?}");

    let state = soaking_step_0(&upgrade(Some("{haltOn: [warning, critical]}")));
    assert_eq!(
        state.health.halt_on,
        [Severity::Warning, Severity::Critical]
    );
    let (after, _) = round(&state, &warning(&state), at(20));
    assert_eq!(after.phase, RolloutPhase::Halted);
    assert!(
        after.message.contains("ContainerRestartsHigh on"),
        "{}",
        after.message
    );

    // `haltOn: []` never halts, even on a critical alert.
    let state = soaking_step_0(&upgrade(Some("{haltOn: []}")));
    let canary = state.plan.clusters[0].clone();
    let critical = BTreeMap::from([(
        canary,
        report(4, 20, vec![restarts_alert(Severity::Critical)], 0, 0),
    )]);
    assert_eq!(
        round(&state, &critical, at(20)).0.phase,
        RolloutPhase::Soaking
    );
}

#[test]
fn an_alert_reported_before_the_cluster_finished_is_ignored() {
    let state = soaking_step_0(&upgrade(None));
    let canary = state.plan.clusters[0].clone();
    // Evaluated at minute 9, before the upgrade finished at 10: not about the new version.
    let stale = BTreeMap::from([(
        canary.clone(),
        report(3, 9, vec![restarts_alert(Severity::Critical)], 0, 0),
    )]);
    assert!(health_inputs(&state, &stale).is_empty());
    let (after, _) = round(&state, &stale, at(20));
    assert_eq!(after.phase, RolloutPhase::Soaking);
    // Nor does an alert halt before the soak: the step is still running.
    let (running, _) = start(&upgrade(None), &fleet(), at(0)).unwrap();
    let first = running.plan.clusters[0].clone();
    let (running, _) = go(
        &running,
        Input::ClusterSucceeded {
            cluster: first.clone(),
        },
        at(5),
    );
    let firing = BTreeMap::from([(
        first,
        report(3, 6, vec![restarts_alert(Severity::Critical)], 0, 0),
    )]);
    assert!(health_inputs(&running, &firing).is_empty());
}

#[test]
fn the_gate_holds_a_soak_past_its_time_until_n_healthy_evaluations() {
    let spec = upgrade(Some("{consecutiveHealthyEvaluations: 3}"));
    let state = soaking_step_0(&spec);
    assert_eq!(state.health.consecutive_healthy_evaluations, 3);
    let [a, b] = [0, 1].map(|i| state.plan.clusters[i].clone());
    // The agent had long streaks before the upgrade: only evaluations after it count.
    let mut reports = BTreeMap::from([
        (a.clone(), report(40, 15, vec![], 40, 40)),
        (b.clone(), report(7, 15, vec![], 7, 7)),
    ]);
    let (state, _) = round(&state, &reports, at(15));
    assert_eq!(state.health.clusters[&a].first_evaluation, 40);
    assert_eq!(state.health.clusters[&a].healthy_evaluations, 1);

    // The soak's time is up (minute 70) with one evaluation each: held, recorded once.
    let (state, actions) = round(&state, &reports, at(70));
    assert_eq!(state.phase, RolloutPhase::Soaking);
    assert_eq!(state.step, 0);
    assert_eq!(reasons(&actions), ["WaitingForHealthGate"]);
    assert!(
        state.message.contains(&format!("{a} 1/3")) && state.message.contains(&format!("{b} 1/3")),
        "{}",
        state.message
    );
    assert_eq!(state.health.held_step, Some(0));
    let (same, actions) = round(&state, &reports, at(80));
    assert_eq!(same, state, "nothing new: no write");
    assert!(actions.is_empty());

    // Two more healthy evaluations each, one cluster at a time.
    for (evaluation, minute) in [(41, 81), (42, 82)] {
        reports.insert(a.clone(), report(evaluation, minute, vec![], 40, 40));
    }
    let (state, actions) = round(&state, &reports, at(83));
    assert_eq!(state.health.clusters[&a].healthy_evaluations, 3);
    assert_eq!(state.phase, RolloutPhase::Soaking, "{b} is still short");
    assert!(actions.is_empty(), "held already recorded: {actions:?}");
    reports.insert(b.clone(), report(9, 84, vec![], 9, 9));
    let (state, actions) = round(&state, &reports, at(84));
    assert_eq!(state.health.clusters.get(&b), None, "cleared once passed");
    assert_eq!(reasons(&actions)[..2], ["HealthGatePassed", "StepStarted"]);
    assert_eq!(state.step, 1);
    assert_eq!(state.phase, RolloutPhase::Progressing);
    assert_eq!(state.health.held_step, None);
}

#[test]
fn an_unhealthy_evaluation_restarts_the_count() {
    let spec = upgrade(Some("{consecutiveHealthyEvaluations: 2}"));
    let state = soaking_step_0(&spec);
    let [a, b] = [0, 1].map(|i| state.plan.clusters[i].clone());
    let mut reports = BTreeMap::from([
        (a.clone(), report(1, 11, vec![], 1, 1)),
        (b.clone(), report(1, 11, vec![], 5, 5)),
    ]);
    let (state, _) = round(&state, &reports, at(11));
    reports.insert(a.clone(), report(2, 12, vec![], 2, 2));
    reports.insert(b.clone(), report(2, 12, vec![], 6, 6));
    let (state, _) = round(&state, &reports, at(12));
    assert_eq!(state.health.clusters[&a].healthy_evaluations, 2);
    assert_eq!(state.health.clusters[&b].healthy_evaluations, 2);
    // a's evaluation 3 (which the hub never saw) had a critical alert firing; by 4 it had
    // resolved: the streak says 1, and the count restarts from it.
    reports.insert(a.clone(), report(4, 14, vec![], 1, 1));
    let (state, _) = round(&state, &reports, at(14));
    assert_eq!(state.health.clusters[&a].healthy_evaluations, 1);
    assert_eq!(state.phase, RolloutPhase::Soaking);
    let (state, actions) = round(&state, &reports, at(71));
    assert_eq!(reasons(&actions), ["WaitingForHealthGate"]);
    assert!(
        state.message.contains(&format!("{a} 1/2")),
        "{}",
        state.message
    );
    assert!(!state.message.contains(&b), "{b} passed: {}", state.message);
    reports.insert(a.clone(), report(5, 72, vec![], 2, 2));
    let (state, actions) = round(&state, &reports, at(72));
    assert_eq!(reasons(&actions)[0], "HealthGatePassed");
    assert_eq!(state.step, 1);
}

#[test]
fn an_agent_restart_counts_from_its_new_evaluations() {
    let spec = upgrade(Some("{consecutiveHealthyEvaluations: 3}"));
    let state = soaking_step_0(&spec);
    let a = state.plan.clusters[0].clone();
    let input = |evaluation, minute, streak| Input::HealthEvaluation {
        cluster: a.clone(),
        evaluation,
        at: at(minute),
        healthy_streak: streak,
    };
    let (state, _) = go(&state, input(50, 11, 50), at(11));
    let (state, _) = go(&state, input(51, 12, 51), at(12));
    assert_eq!(state.health.clusters[&a].healthy_evaluations, 2);
    // An older report arriving late changes nothing.
    let (same, _) = go(&state, input(49, 10, 49), at(13));
    assert_eq!(same.health, state.health);
    // Restarted: sequence 1 again, later in time.
    let (state, _) = go(&state, input(1, 14, 1), at(14));
    let progress = &state.health.clusters[&a];
    assert_eq!(
        (progress.first_evaluation, progress.healthy_evaluations),
        (1, 1)
    );
}

#[test]
fn states_stored_before_gates_decode_with_the_default_gate() {
    let state = soaking_step_0(&upgrade(None));
    let mut json = serde_json::to_value(&state).unwrap();
    json.as_object_mut().unwrap().remove("health");
    let old: RolloutState = serde_json::from_value(json).unwrap();
    assert_eq!(old.health, HealthStatus::default());
    assert_eq!(old.health.halt_on, [Severity::Critical]);
    assert_eq!(old.health.consecutive_healthy_evaluations, 0);
}

#[test]
fn a_passing_cluster_is_not_fed_each_new_evaluation() {
    let spec = upgrade(Some("{consecutiveHealthyEvaluations: 2}"));
    let state = soaking_step_0(&spec);
    let a = state.plan.clusters[0].clone();
    let mut reports = BTreeMap::from([(a.clone(), report(1, 11, vec![], 1, 1))]);
    let (state, _) = round(&state, &reports, at(11));
    reports.insert(a.clone(), report(2, 12, vec![], 2, 2));
    let (state, _) = round(&state, &reports, at(12));
    assert_eq!(state.health.clusters[&a].healthy_evaluations, 2);
    // Still healthy: nothing to feed, so no write.
    reports.insert(a.clone(), report(3, 13, vec![], 3, 3));
    assert!(health_inputs(&state, &reports).is_empty());
    // A reset is fed.
    reports.insert(a.clone(), report(4, 14, vec![], 0, 0));
    assert_eq!(health_inputs(&state, &reports).len(), 1);
    let (state, _) = round(&state, &reports, at(14));
    assert_eq!(state.health.clusters[&a].healthy_evaluations, 0);
}
