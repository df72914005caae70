use std::collections::BTreeSet;

use capstan_core::rollout::{FrozenPlan, FrozenStep};
use capstan_hub::api::{ClusterRolloutView, UpgradeView};
use jiff::SignedDuration;

use super::*;

const NAME: &str = "prod-canary";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// The hub's time in these tests.
fn now() -> Timestamp {
    at("2026-01-02T10:00:00Z")
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_secs(m * 60)
}

/// Four clusters `a..d` in plan order; steps 25% (1h), 50% (4h, needs approval), 100%
/// (1h): step targets 1, 2, 4.
fn state(phase: RolloutPhase, step: usize) -> RolloutState {
    let names = ["a", "b", "c", "d"].map(String::from);
    let frozen = |percentage, hours: u64, approval| FrozenStep {
        percentage,
        pause: Duration::from_secs(hours * 3600),
        approval,
    };
    RolloutState {
        phase,
        plan: FrozenPlan {
            clusters: names.to_vec(),
            step_targets: vec![1, 2, 4],
            steps: vec![
                frozen(25, 1, false),
                frozen(50, 4, true),
                frozen(100, 1, false),
            ],
            max_concurrency: 4,
            failure_budget: 0,
        },
        step,
        clusters: names
            .iter()
            .map(|n| (n.clone(), rollout(ClusterState::Pending, 0, None, None)))
            .collect(),
        soak_until: None,
        approved_steps: BTreeSet::new(),
        paused_from: None,
        message: String::new(),
        updated: now() - minutes(60),
        health: Default::default(),
    }
}

fn rollout(
    state: ClusterState,
    attempts: u32,
    started: Option<Timestamp>,
    finished: Option<Timestamp>,
) -> ClusterRollout {
    // Through serde, so that fields the hub adds later take their defaults here.
    let mut rollout: ClusterRollout =
        serde_json::from_value(serde_json::json!({"state": state, "attempts": attempts})).unwrap();
    rollout.started = started;
    rollout.finished = finished;
    rollout
}

fn set(state: &mut RolloutState, cluster: &str, rollout: ClusterRollout) {
    state.clusters.insert(cluster.to_string(), rollout);
}

fn event(minute: i64, reason: &str, message: &str) -> UpgradeEvent {
    UpgradeEvent {
        reason: reason.to_string(),
        message: message.to_string(),
        at: now() - minutes(60) + minutes(minute),
    }
}

/// The hub's answer for `state`, at `hub_now` (none: an older hub that does not say).
fn detail(
    state: &RolloutState,
    events: Vec<UpgradeEvent>,
    hub_now: Option<Timestamp>,
) -> UpgradeDetail {
    let clusters = state
        .plan
        .clusters
        .iter()
        .enumerate()
        .map(|(position, name)| ClusterRolloutView {
            cluster: name.clone(),
            position,
            rollout: state.clusters[name].clone(),
        })
        .collect();
    UpgradeDetail {
        upgrade: UpgradeView {
            name: NAME.to_string(),
            generation: 1,
            created_at: now() - minutes(120),
            updated_at: state.updated,
            spec: serde_json::json!({}),
            status: serde_json::to_value(state).unwrap(),
        },
        clusters,
        events,
        now: hub_now,
    }
}

fn snapshot(state: &RolloutState, events: Vec<UpgradeEvent>) -> Snapshot {
    Snapshot::new(detail(state, events, Some(now()))).unwrap()
}

fn messages(view: &BarsView) -> Vec<&str> {
    view.steps.iter().map(|b| b.message.as_str()).collect()
}

fn positions(view: &BarsView) -> Vec<(u64, u64)> {
    view.steps.iter().map(|b| (b.position, b.length)).collect()
}

#[test]
fn step_bars_count_each_steps_settled_clusters_and_list_those_upgrading() {
    let mut s = state(RolloutPhase::Progressing, 2);
    set(&mut s, "a", rollout(ClusterState::Succeeded, 1, None, None));
    set(&mut s, "b", rollout(ClusterState::Succeeded, 1, None, None));
    set(
        &mut s,
        "c",
        rollout(ClusterState::Upgrading, 2, Some(now() - minutes(3)), None),
    );
    let view = bars(&snapshot(&s, vec![]));
    assert_eq!(
        view.overall,
        Bar {
            prefix: "upgraded".to_string(),
            position: 2,
            length: 4,
            message: "Progressing, step 3/3, 1 upgrading".to_string(),
        }
    );
    assert_eq!(positions(&view), [(1, 1), (1, 1), (0, 2)]);
    assert_eq!(messages(&view), ["done", "done", "1 upgrading"]);
    assert_eq!(view.steps[1].prefix, "step 2/3 50%");
    // Elapsed against the hub's clock: 3 minutes, whatever this machine's time is.
    assert_eq!(view.upgrading, ["c   attempt 2   3m"]);
}

#[test]
fn a_soak_counts_down_on_the_hubs_clock() {
    let mut s = state(RolloutPhase::Soaking, 0);
    set(&mut s, "a", rollout(ClusterState::Succeeded, 1, None, None));
    s.soak_until = Some(now() + minutes(12));
    let view = bars(&snapshot(&s, vec![]));
    assert_eq!(
        messages(&view),
        ["soaking 12m left", "needs approval", "waiting"]
    );
    assert_eq!(positions(&view), [(1, 1), (0, 1), (0, 2)]);
    assert!(view.upgrading.is_empty());
    // Less than a second to go still reads as time left.
    s.soak_until = Some(now() + SignedDuration::from_millis(300));
    assert_eq!(
        bars(&snapshot(&s, vec![])).steps[0].message,
        "soaking 1s left"
    );
    s.soak_until = Some(now() + minutes(12));

    // A hub that does not send its time: the last transition (the soak's start, an hour
    // before `now` here) stands in, so the whole pause shows rather than less than is left.
    s.updated = s.soak_until.unwrap() - minutes(60);
    let older = Snapshot::new(detail(&s, vec![], None)).unwrap();
    assert_eq!(bars(&older).steps[0].message, "soaking 60m left");
    assert_eq!(older.now, s.updated);
}

#[test]
fn a_step_waiting_for_approval_says_how_to_give_it() {
    let mut s = state(RolloutPhase::AwaitingApproval, 1);
    set(&mut s, "a", rollout(ClusterState::Succeeded, 1, None, None));
    s.message = "step 1 waits for approval".to_string();
    let view = bars(&snapshot(&s, vec![]));
    assert_eq!(
        messages(&view),
        [
            "done",
            "awaiting approval (capstan upgrade approve prod-canary)",
            "waiting"
        ]
    );
    // Approved ahead of time: the later step no longer says it needs approval.
    let mut s = state(RolloutPhase::Soaking, 0);
    s.approved_steps.insert(1);
    assert_eq!(bars(&snapshot(&s, vec![])).steps[1].message, "waiting");
}

#[test]
fn a_halt_shows_its_reason_and_the_failures_and_ends_the_watch_only_when_asked() {
    let mut s = state(RolloutPhase::Halted, 1);
    set(&mut s, "a", rollout(ClusterState::Succeeded, 1, None, None));
    let mut failed = rollout(
        ClusterState::Failed,
        1,
        Some(now() - minutes(5)),
        Some(now()),
    );
    failed.message = "node pool drain timed out".to_string();
    set(&mut s, "b", failed);
    s.message = "1 failed cluster exceeds the failure budget of 0".to_string();
    let view = bars(&snapshot(&s, vec![]));
    assert_eq!(
        view.steps[1].message,
        "halted: 1 failed cluster exceeds the failure budget of 0, 1 failed"
    );
    assert_eq!(positions(&view)[1], (1, 1));
    assert_eq!(
        view.overall.message, "Halted, step 2/3, 1 failed",
        "{view:?}"
    );

    assert!(!is_done(RolloutPhase::Halted, false));
    assert!(is_done(RolloutPhase::Halted, true));
    for phase in [
        RolloutPhase::Succeeded,
        RolloutPhase::Failed,
        RolloutPhase::Aborted,
    ] {
        assert!(is_done(phase, false), "{phase:?}");
    }
    for phase in [
        RolloutPhase::Pending,
        RolloutPhase::Progressing,
        RolloutPhase::Soaking,
        RolloutPhase::AwaitingApproval,
        RolloutPhase::Paused,
    ] {
        assert!(!is_done(phase, true), "{phase:?}");
    }
}

#[test]
fn paused_and_succeeded_rollouts_read_as_such() {
    let s = state(RolloutPhase::Paused, 0);
    assert_eq!(bars(&snapshot(&s, vec![])).steps[0].message, "paused");
    let mut s = state(RolloutPhase::Succeeded, 2);
    for name in ["a", "b", "c"] {
        set(
            &mut s,
            name,
            rollout(ClusterState::Succeeded, 1, None, None),
        );
    }
    set(&mut s, "d", rollout(ClusterState::Skipped, 0, None, None));
    let view = bars(&snapshot(&s, vec![]));
    assert_eq!(messages(&view), ["done", "done", "done, 1 skipped"]);
    assert_eq!((view.overall.position, view.overall.length), (3, 4));
}

#[test]
fn the_first_answer_prints_the_phase_started_clusters_and_every_event() {
    let mut s = state(RolloutPhase::Progressing, 0);
    s.message = "step 0: upgrading to 1 of 4 clusters".to_string();
    set(
        &mut s,
        "a",
        rollout(ClusterState::Upgrading, 1, Some(now() - minutes(2)), None),
    );
    let events = vec![event(
        0,
        "StepStarted",
        "step 0: upgrading to 1 of 4 clusters",
    )];
    assert_eq!(
        lines(None, &snapshot(&s, events)),
        [
            "2026-01-02T10:00:00Z  Progressing  step 1/3  upgraded 0/4  step 0: upgrading to 1 of 4 clusters",
            "2026-01-02T09:58:00Z  cluster a: Upgrading (attempt 1)",
            "2026-01-02T09:00:00Z  event StepStarted: step 0: upgrading to 1 of 4 clusters",
        ]
    );
}

#[test]
fn cluster_transitions_print_once_with_how_long_they_took() {
    let started = now() - minutes(10);
    let mut before = state(RolloutPhase::Progressing, 2);
    set(
        &mut before,
        "a",
        rollout(ClusterState::Succeeded, 1, None, None),
    );
    set(
        &mut before,
        "b",
        rollout(ClusterState::Upgrading, 1, Some(started), None),
    );
    set(
        &mut before,
        "c",
        rollout(ClusterState::Upgrading, 1, Some(started), None),
    );
    let previous = snapshot(&before, vec![]);

    let mut after = before.clone();
    let finished = started + minutes(4) + SignedDuration::from_secs(12);
    set(
        &mut after,
        "b",
        rollout(ClusterState::Succeeded, 1, Some(started), Some(finished)),
    );
    let mut failed = rollout(ClusterState::Failed, 1, Some(started), Some(now()));
    failed.message = "preflight: version skew".to_string();
    set(&mut after, "c", failed);
    set(
        &mut after,
        "d",
        rollout(ClusterState::Upgrading, 1, Some(now()), None),
    );
    assert_eq!(
        lines(Some(&previous), &snapshot(&after, vec![])),
        [
            "2026-01-02T09:54:12Z  cluster b: Upgrading -> Succeeded (4m12s)",
            "2026-01-02T10:00:00Z  cluster c: Upgrading -> Failed (10m): preflight: version skew",
            "2026-01-02T10:00:00Z  cluster d: Pending -> Upgrading (attempt 1)",
        ]
    );

    let previous = snapshot(&after, vec![]);
    assert!(
        lines(Some(&previous), &snapshot(&after, vec![])).is_empty(),
        "nothing changed"
    );
    // Retried: c starts its second attempt; d failed and was retried between two answers,
    // which shows by its attempt number.
    let mut retried = after.clone();
    set(
        &mut retried,
        "c",
        rollout(ClusterState::Upgrading, 2, Some(now()), None),
    );
    set(
        &mut retried,
        "d",
        rollout(ClusterState::Upgrading, 2, Some(now()), None),
    );
    assert_eq!(
        lines(Some(&previous), &snapshot(&retried, vec![])),
        [
            "2026-01-02T10:00:00Z  cluster c: Failed -> Upgrading (attempt 2)",
            "2026-01-02T10:00:00Z  cluster d: Upgrading -> Upgrading (attempt 2)",
        ]
    );
}

#[test]
fn the_phase_line_prints_on_a_new_phase_step_or_message_with_the_soak_left() {
    let mut before = state(RolloutPhase::Progressing, 0);
    before.message = "step 0: upgrading to 1 of 4 clusters".to_string();
    let previous = snapshot(&before, vec![]);
    let mut after = before.clone();
    set(
        &mut after,
        "a",
        rollout(ClusterState::Succeeded, 1, None, Some(now())),
    );
    after.phase = RolloutPhase::Soaking;
    after.soak_until = Some(now() + minutes(60));
    after.message = "step 0 done; soaking until 2026-01-02T11:00:00Z".to_string();
    let changes = lines(Some(&previous), &snapshot(&after, vec![]));
    assert_eq!(
        changes[0],
        "2026-01-02T10:00:00Z  Soaking  step 1/3  upgraded 1/4  soak 60m left  step 0 done; soaking until 2026-01-02T11:00:00Z"
    );
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes[1].ends_with("cluster a: Pending -> Succeeded"));
}

#[test]
fn events_print_once_each_by_time_reason_and_message() {
    let s = state(RolloutPhase::Progressing, 0);
    let first = vec![
        event(0, "StepStarted", "step 0"),
        event(1, "ClusterSucceeded", "a upgraded (attempt 1)"),
    ];
    let previous = snapshot(&s, first.clone());
    // The same answer again prints nothing.
    assert!(lines(Some(&previous), &snapshot(&s, first.clone())).is_empty());
    // New events print, including one with the reason and message of an old one but a
    // later time; the oldest leaving the window prints nothing.
    let second = vec![
        event(1, "ClusterSucceeded", "a upgraded (attempt 1)"),
        event(2, "StepStarted", "step 0"),
        event(2, "StepCompleted", "step 0 done"),
    ];
    assert_eq!(
        lines(Some(&previous), &snapshot(&s, second)),
        [
            "2026-01-02T09:02:00Z  event StepStarted: step 0",
            "2026-01-02T09:02:00Z  event StepCompleted: step 0 done",
        ]
    );
}
