#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;

use super::*;
use crate::rng::SimRng;
use crate::rollout::{CANARY_LABEL, parse_cluster_upgrade};

type Fleet = Vec<(String, BTreeMap<String, String>)>;

fn at(minutes: u64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + 60 * minutes as i64).unwrap()
}

fn fleet(n: usize) -> Fleet {
    (0..n)
        .map(|i| (format!("prod-{i:02}"), BTreeMap::new()))
        .collect()
}

/// A `ClusterUpgrade` with the given steps (`{pause: .., percentage: ..}` flow maps) and
/// extra canary fields.
fn upgrade(steps: &str, extra: &str) -> ClusterUpgrade {
    let yaml = format!(
        "apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
metadata: {{name: test}}
spec:
  clusterSelector: {{matchLabels: {{environment: production}}}}
  strategy:
    type: Canary
    canary:
      steps: [{steps}]
{extra}"
    );
    parse_cluster_upgrade(&yaml).unwrap()
}

const CANONICAL: &str =
    "{pause: 1h, percentage: 10}, {pause: 4h, percentage: 50}, {pause: 1h, percentage: 100}";

fn started(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartUpgrade { cluster, .. } => Some(cluster.clone()),
            Action::Record { .. } => None,
        })
        .collect()
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

fn succeeded(cluster: &str) -> Input {
    Input::ClusterSucceeded {
        cluster: cluster.to_string(),
    }
}

fn failed(cluster: &str) -> Input {
    Input::ClusterFailed {
        cluster: cluster.to_string(),
        message: "kubelet did not come back".to_string(),
    }
}

/// Feeds `input` and asserts that feeding it again changes nothing.
fn feed(state: &RolloutState, input: Input, now: Timestamp) -> (RolloutState, Vec<Action>) {
    let (next, actions) = step(state, input.clone(), now);
    let (again, repeat) = step(&next, input, now);
    assert_eq!(again, next, "a repeated input changed the state");
    assert!(
        started(&repeat).is_empty(),
        "a repeated input started clusters"
    );
    (next, actions)
}

/// Completes every Upgrading cluster successfully at `now`.
fn complete_all(mut state: RolloutState, now: Timestamp) -> (RolloutState, Vec<Action>) {
    let mut all = Vec::new();
    loop {
        let running: Vec<String> = state
            .clusters
            .iter()
            .filter(|(_, c)| c.state == ClusterState::Upgrading)
            .map(|(n, _)| n.clone())
            .collect();
        if running.is_empty() {
            return (state, all);
        }
        for name in running {
            let (next, actions) = feed(&state, succeeded(&name), now);
            state = next;
            all.extend(actions);
        }
    }
}

#[test]
fn start_freezes_the_order_and_the_plan_and_starts_the_first_step() {
    let mut clusters = fleet(20);
    clusters[7]
        .1
        .insert(CANARY_LABEL.to_string(), "true".to_string());
    let spec = upgrade(CANONICAL, "      maxFailures: 1\n");
    let (state, actions) = start(&spec, &clusters, at(0)).unwrap();
    assert_eq!(state.phase, RolloutPhase::Progressing);
    assert_eq!(state.plan.clusters.len(), 20);
    assert_eq!(state.plan.clusters[0], "prod-07", "the canary goes first");
    assert_eq!(state.plan.step_targets, [2, 10, 20]);
    assert_eq!(state.plan.max_concurrency, 20);
    assert_eq!(state.plan.failure_budget, 1);
    assert_eq!(state.plan.steps[1].pause, Duration::from_secs(4 * 3600));
    assert_eq!(started(&actions), state.plan.clusters[..2]);
    assert!(actions.contains(&Action::StartUpgrade {
        cluster: "prod-07".to_string(),
        attempt: 1
    }));
    assert_eq!(state.count(ClusterState::Upgrading), 2);

    // JSON round trip: the hub persists exactly this.
    let json = serde_json::to_string(&state).unwrap();
    assert!(json.contains("\"pause\":\"4h\""), "{json}");
    let back: RolloutState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
}

#[test]
fn a_step_soaks_then_the_next_starts_and_the_last_soak_succeeds() {
    let spec = upgrade(CANONICAL, "");
    let (state, _) = start(&spec, &fleet(20), at(0)).unwrap();
    let (state, actions) = complete_all(state, at(10));
    assert_eq!(state.phase, RolloutPhase::Soaking);
    assert_eq!(state.soak_until, Some(at(70)));
    assert!(reasons(&actions).contains(&"StepCompleted"));

    // Nothing starts during the soak.
    let (state, actions) = feed(&state, Input::Tick, at(69));
    assert!(started(&actions).is_empty());
    assert_eq!(state.phase, RolloutPhase::Soaking);

    let (state, actions) = feed(&state, Input::Tick, at(70));
    assert_eq!(state.step, 1);
    assert_eq!(state.phase, RolloutPhase::Progressing);
    assert_eq!(started(&actions), state.plan.clusters[2..10]);

    let (state, _) = complete_all(state, at(80));
    assert_eq!(state.soak_until, Some(at(80 + 240)));
    let (state, _) = feed(&state, Input::Tick, at(320));
    let (state, _) = complete_all(state, at(330));
    assert_eq!(state.phase, RolloutPhase::Soaking);
    let (state, actions) = feed(&state, Input::Tick, at(390));
    assert_eq!(state.phase, RolloutPhase::Succeeded);
    assert_eq!(state.count(ClusterState::Succeeded), 20);
    assert!(reasons(&actions).contains(&"RolloutSucceeded"));
    assert_eq!(state.updated, at(390));
}

#[test]
fn concurrency_limits_the_clusters_upgrading_at_once() {
    let spec = upgrade("{percentage: 100}", "      maxConcurrency: 3\n");
    let (state, actions) = start(&spec, &fleet(10), at(0)).unwrap();
    assert_eq!(started(&actions).len(), 3);
    let first = started(&actions)[0].clone();
    let (state, actions) = feed(&state, succeeded(&first), at(1));
    assert_eq!(started(&actions), [state.plan.clusters[3].clone()]);
    assert_eq!(state.count(ClusterState::Upgrading), 3);
}

#[test]
fn approval_gates_a_step_until_approved() {
    let spec = upgrade("{percentage: 50}, {percentage: 100, approval: true}", "");
    let (state, _) = start(&spec, &fleet(4), at(0)).unwrap();
    let (state, actions) = complete_all(state, at(5));
    // Zero pause: the soak ends at once and the next step waits.
    assert_eq!(state.phase, RolloutPhase::AwaitingApproval);
    assert_eq!(state.step, 1);
    assert!(reasons(&actions).contains(&"AwaitingApproval"));
    let (state, actions) = feed(&state, Input::Tick, at(60));
    assert!(started(&actions).is_empty());

    let (_, actions) = feed(&state, Input::Approve { step: 7 }, at(61));
    assert_eq!(reasons(&actions), ["InputIgnored"]);

    let (state, actions) = feed(&state, Input::Approve { step: 1 }, at(61));
    assert_eq!(state.phase, RolloutPhase::Progressing);
    assert_eq!(started(&actions).len(), 2);

    // An approval given in advance lets the step start without waiting.
    let (state, _) = start(&spec, &fleet(4), at(0)).unwrap();
    let (state, _) = feed(&state, Input::Approve { step: 1 }, at(1));
    let first_step = state.plan.clusters[..2].to_vec();
    let (state, _) = feed(&state, succeeded(&first_step[0]), at(5));
    let (state, actions) = feed(&state, succeeded(&first_step[1]), at(5));
    assert_eq!(state.phase, RolloutPhase::Progressing);
    assert_eq!(state.step, 1);
    assert_eq!(started(&actions), state.plan.clusters[2..]);

    // A first step with approval waits from the start.
    let spec = upgrade("{percentage: 100, approval: true}", "");
    let (state, actions) = start(&spec, &fleet(4), at(0)).unwrap();
    assert_eq!(state.phase, RolloutPhase::AwaitingApproval);
    assert!(started(&actions).is_empty());
}

#[test]
fn pause_stops_new_starts_but_records_running_results() {
    let spec = upgrade("{percentage: 100}", "      maxConcurrency: 2\n");
    let (state, actions) = start(&spec, &fleet(5), at(0)).unwrap();
    let running = started(&actions);
    let (state, _) = feed(&state, Input::Pause, at(1));
    assert_eq!(state.phase, RolloutPhase::Paused);
    let (state, actions) = feed(&state, succeeded(&running[0]), at(2));
    assert!(started(&actions).is_empty(), "paused: nothing new starts");
    assert_eq!(state.clusters[&running[0]].state, ClusterState::Succeeded);
    let (state, actions) = feed(&state, Input::Resume, at(3));
    assert_eq!(state.phase, RolloutPhase::Progressing);
    assert_eq!(started(&actions), [state.plan.clusters[2].clone()]);

    // spec.paused starts the rollout paused.
    let spec = upgrade("{percentage: 100}", "");
    let mut spec = spec;
    spec.spec.paused = true;
    let (state, actions) = start(&spec, &fleet(3), at(0)).unwrap();
    assert_eq!(state.phase, RolloutPhase::Paused);
    assert!(started(&actions).is_empty());
    let (state, actions) = feed(&state, Input::Resume, at(1));
    assert_eq!(started(&actions).len(), 3);
    assert_eq!(state.phase, RolloutPhase::Progressing);
}

#[test]
fn abort_is_final() {
    let spec = upgrade(CANONICAL, "");
    let (state, actions) = start(&spec, &fleet(20), at(0)).unwrap();
    let (state, _) = feed(&state, Input::Abort, at(1));
    assert_eq!(state.phase, RolloutPhase::Aborted);
    assert!(state.is_final());
    // Running clusters are still recorded, nothing else moves.
    let (state, _) = feed(&state, succeeded(&started(&actions)[0]), at(2));
    assert_eq!(state.phase, RolloutPhase::Aborted);
    for input in [
        Input::Resume,
        Input::RetryFailed,
        Input::Approve { step: 1 },
        Input::Tick,
    ] {
        let (next, actions) = feed(&state, input, at(500));
        assert_eq!(next.phase, RolloutPhase::Aborted);
        assert!(started(&actions).is_empty());
    }
}

#[test]
fn the_budget_halts_when_exceeded_and_retry_reruns_only_the_failed() {
    let spec = upgrade("{percentage: 100}", "      maxFailures: 1\n");
    let (state, actions) = start(&spec, &fleet(4), at(0)).unwrap();
    let names = started(&actions);
    let (state, actions) = feed(&state, failed(&names[0]), at(1));
    assert_eq!(
        state.phase,
        RolloutPhase::Progressing,
        "1 failure is within 1"
    );
    assert_eq!(reasons(&actions), ["ClusterFailed"]);
    let (state, actions) = feed(&state, failed(&names[1]), at(2));
    assert_eq!(state.phase, RolloutPhase::Halted, "2 failures exceed 1");
    assert!(reasons(&actions).contains(&"FailureBudgetExceeded"));
    assert!(
        state.message.contains("failure budget of 1"),
        "{}",
        state.message
    );

    // Running clusters still finish while halted.
    let (state, _) = feed(&state, succeeded(&names[2]), at(3));
    let (state, _) = feed(&state, succeeded(&names[3]), at(3));
    assert_eq!(state.phase, RolloutPhase::Halted);
    let (state, actions) = feed(&state, Input::Resume, at(4));
    assert_eq!(reasons(&actions), ["InputIgnored"]);
    assert_eq!(state.phase, RolloutPhase::Halted);

    let (state, actions) = feed(&state, Input::RetryFailed, at(5));
    assert_eq!(state.phase, RolloutPhase::Progressing);
    assert_eq!(state.plan.clusters.len(), 4, "same frozen plan");
    let retried: BTreeSet<_> = started(&actions).into_iter().collect();
    assert_eq!(retried, names[..2].iter().cloned().collect());
    assert!(actions.contains(&Action::StartUpgrade {
        cluster: names[0].clone(),
        attempt: 2
    }));
    let (state, _) = complete_all(state, at(6));
    assert_eq!(state.phase, RolloutPhase::Succeeded);
}

#[test]
fn failures_within_the_budget_finish_as_failed_not_succeeded() {
    let spec = upgrade("{percentage: 100}", "      maxFailures: 1\n");
    let (state, actions) = start(&spec, &fleet(3), at(0)).unwrap();
    let names = started(&actions);
    let (state, _) = feed(&state, failed(&names[0]), at(1));
    let (state, _) = complete_all(state, at(2));
    assert_eq!(state.phase, RolloutPhase::Failed);
    let (state, _) = feed(&state, Input::RetryFailed, at(3));
    let (state, _) = complete_all(state, at(4));
    assert_eq!(state.phase, RolloutPhase::Succeeded);
}

#[test]
fn skip_removed_and_unknown_clusters() {
    let spec = upgrade(
        "{percentage: 50, pause: 1h}, {percentage: 100}",
        "      maxConcurrency: 1\n",
    );
    let (state, actions) = start(&spec, &fleet(4), at(0)).unwrap();
    let order = state.plan.clusters.clone();
    assert_eq!(started(&actions), [order[0].clone()]);

    let (_, actions) = feed(
        &state,
        Input::Skip {
            cluster: order[0].clone(),
        },
        at(1),
    );
    assert_eq!(
        reasons(&actions),
        ["InputIgnored"],
        "upgrading: not skippable"
    );
    let (_, actions) = feed(
        &state,
        Input::Skip {
            cluster: "nope".into(),
        },
        at(1),
    );
    assert_eq!(reasons(&actions), ["InputIgnored"]);

    // Skipping a pending cluster settles its position: the step does not take a later one.
    let (state, _) = feed(
        &state,
        Input::Skip {
            cluster: order[1].clone(),
        },
        at(1),
    );
    assert_eq!(state.clusters[&order[1]].state, ClusterState::Skipped);
    let (state, actions) = feed(&state, succeeded(&order[0]), at(2));
    assert_eq!(state.phase, RolloutPhase::Soaking);
    assert!(started(&actions).is_empty());

    // A later joiner is not part of the frozen set.
    let (same, actions) = feed(&state, succeeded("prod-99"), at(3));
    assert_eq!(same, state);
    assert!(actions.is_empty());

    // A cluster removed before its turn is skipped and reported.
    let (state, actions) = feed(
        &state,
        Input::ClusterRemoved {
            cluster: order[2].clone(),
        },
        at(4),
    );
    assert_eq!(reasons(&actions), ["ClusterRemoved"]);
    let (state, actions) = feed(&state, Input::Tick, at(62));
    assert_eq!(started(&actions), [order[3].clone()]);
    let (state, _) = feed(&state, succeeded(&order[3]), at(63));
    assert_eq!(state.phase, RolloutPhase::Succeeded);
    assert_eq!(state.count(ClusterState::Removed), 1);
    assert_eq!(state.count(ClusterState::Skipped), 1);
}

#[test]
fn an_unhealthy_cluster_during_a_soak_halts_naming_it() {
    let spec = upgrade(CANONICAL, "");
    let (state, actions) = start(&spec, &fleet(20), at(0)).unwrap();
    let canary = started(&actions)[0].clone();
    let unhealthy = Input::Unhealthy {
        cluster: canary.clone(),
        reason: "NodeNotReady".to_string(),
        alert: None,
    };
    // Not soaking yet: ignored.
    let (same, _) = feed(&state, unhealthy.clone(), at(1));
    assert_eq!(same, state);

    let (state, _) = complete_all(state, at(10));
    let (state, actions) = feed(&state, unhealthy, at(20));
    assert_eq!(state.phase, RolloutPhase::Halted);
    assert!(state.message.contains(&canary) && state.message.contains("NodeNotReady"));
    assert_eq!(reasons(&actions), ["UnhealthyDuringSoak"]);
    let (state, _) = feed(&state, Input::Tick, at(500));
    assert_eq!(
        state.phase,
        RolloutPhase::Halted,
        "no soak ends while halted"
    );

    // Resume soaks the step again from now, in full.
    let (state, _) = feed(&state, Input::Resume, at(600));
    assert_eq!(state.phase, RolloutPhase::Soaking);
    assert_eq!(state.soak_until, Some(at(660)));
}

#[test]
fn no_clusters_succeeds_at_once() {
    let (state, actions) = start(&upgrade(CANONICAL, ""), &fleet(0), at(0)).unwrap();
    assert_eq!(state.phase, RolloutPhase::Succeeded);
    assert!(started(&actions).is_empty());
}

/// One simulated rollout: agents finish after a random 1–30 minutes, failing with
/// probability `failure_rate`; the loop jumps virtual time to the next event. Checks every
/// invariant after every transition and returns the final state.
struct Sim {
    rng: SimRng,
    state: RolloutState,
    now: Timestamp,
    /// cluster -> (finish time, fails)
    running: BTreeMap<String, (Timestamp, bool)>,
    started_attempts: BTreeSet<(String, u32)>,
    /// Soak end of each step, once known.
    soak_ends: BTreeMap<usize, Timestamp>,
    /// Succeeded total when each step completed.
    step_totals: Vec<usize>,
    total_soak: Duration,
    failure_rate: f64,
}

impl Sim {
    fn new(spec: &ClusterUpgrade, n: usize, seed: u64, failure_rate: f64) -> Self {
        let (state, actions) = start(spec, &fleet(n), at(0)).unwrap();
        let mut sim = Sim {
            rng: SimRng::new(seed),
            state: state.clone(),
            now: at(0),
            running: BTreeMap::new(),
            started_attempts: BTreeSet::new(),
            soak_ends: BTreeMap::new(),
            step_totals: Vec::new(),
            total_soak: Duration::ZERO,
            failure_rate,
        };
        sim.observe(&state, &actions);
        sim
    }

    fn input(&mut self, input: Input) {
        let before = self.state.clone();
        let (next, actions) = feed(&before, input, self.now);
        self.state = next;
        self.observe(&before, &actions);
    }

    fn observe(&mut self, before: &RolloutState, actions: &[Action]) {
        let s = &self.state;
        let plan = &s.plan;
        assert!(
            s.count(ClusterState::Upgrading) <= plan.max_concurrency,
            "more than {} upgrading",
            plan.max_concurrency
        );
        let failed = s.count(ClusterState::Failed);
        if failed > plan.failure_budget && before.phase != RolloutPhase::Halted {
            assert_eq!(
                s.phase,
                RolloutPhase::Halted,
                "{failed} failures did not halt"
            );
        }
        if s.phase == RolloutPhase::Halted && before.phase != RolloutPhase::Halted {
            assert!(
                failed > plan.failure_budget,
                "halted with {failed} failures"
            );
        }
        let upgraded = s.count(ClusterState::Succeeded);
        for action in actions {
            match action {
                Action::Record { reason, .. } if reason == "StepCompleted" => {
                    // Without retries, steps complete in order; within one transition no
                    // cluster settles after the input, so the count is the step's total.
                    let k = self.step_totals.len();
                    let pause = self.state.plan.steps[k].pause;
                    self.soak_ends
                        .insert(k, self.now.checked_add(pause).unwrap());
                    self.step_totals.push(upgraded);
                    self.total_soak += pause;
                }
                Action::Record { .. } => {}
                Action::StartUpgrade { cluster, attempt } => {
                    self.started(cluster, *attempt);
                }
            }
        }
    }

    fn started(&mut self, cluster: &str, attempt: u32) {
        let plan = &self.state.plan;
        assert!(
            self.started_attempts.insert((cluster.to_string(), attempt)),
            "{cluster} attempt {attempt} started twice"
        );
        let position = plan.clusters.iter().position(|c| c == cluster).unwrap();
        // The step that contains this position: every earlier step is done and soaked.
        let own_step = plan
            .step_targets
            .iter()
            .position(|&t| position < t)
            .unwrap();
        for k in 0..own_step {
            let end = self.soak_ends.get(&k);
            assert!(end.is_some(), "{cluster} started before step {k} was done");
            assert!(
                end.is_some_and(|end| self.now >= *end),
                "{cluster} started before step {k}'s soak ended"
            );
        }
        let minutes = self.rng.range_inclusive(1, 30);
        let fails = self.rng.chance(self.failure_rate);
        let done = self
            .now
            .checked_add(Duration::from_secs(60 * minutes))
            .unwrap();
        self.running.insert(cluster.to_string(), (done, fails));
    }

    /// Runs until nothing more happens on its own; returns the final phase.
    fn run(&mut self) -> RolloutPhase {
        for _ in 0..100_000 {
            let next_finish = self.running.values().map(|(t, _)| *t).min();
            let next_soak = self.state.soak_until;
            let Some(next) = [next_finish, next_soak].into_iter().flatten().min() else {
                return self.state.phase;
            };
            self.now = self.now.max(next);
            let due: Vec<(String, bool)> = self
                .running
                .iter()
                .filter(|(_, (t, _))| *t <= self.now)
                .map(|(c, (_, fails))| (c.clone(), *fails))
                .collect();
            for (cluster, fails) in due {
                self.running.remove(&cluster);
                self.input(if fails {
                    failed(&cluster)
                } else {
                    succeeded(&cluster)
                });
            }
            self.input(Input::Tick);
            if matches!(self.state.phase, RolloutPhase::Halted) && self.running.is_empty() {
                return self.state.phase;
            }
            if self.running.is_empty() && self.state.soak_until.is_none() {
                return self.state.phase;
            }
        }
        panic!("the rollout did not settle");
    }
}

#[test]
fn the_canonical_example_over_20_clusters() {
    let spec = upgrade(CANONICAL, "");
    let mut sim = Sim::new(&spec, 20, 7, 0.0);
    assert_eq!(sim.run(), RolloutPhase::Succeeded);
    assert_eq!(sim.step_totals, [2, 10, 20]);
    assert_eq!(sim.total_soak, Duration::from_secs(6 * 3600));
    assert_eq!(sim.state.count(ClusterState::Succeeded), 20);
    assert!(sim.state.clusters.values().all(|c| c.attempts == 1));
}

/// Random plans: step lists, fleet sizes, concurrency, budgets and failure rates.
#[test]
fn property_invariants_hold_over_many_random_rollouts() {
    let mut rng = SimRng::new(2026);
    let mut halted = 0;
    for case in 0..300 {
        let n = rng.range_inclusive(1, 60) as usize;
        let mut percentages = BTreeSet::new();
        for _ in 0..rng.range_inclusive(0, 4) {
            percentages.insert(rng.range_inclusive(1, 99) as u32);
        }
        percentages.insert(100);
        let steps: Vec<String> = percentages
            .iter()
            .map(|p| {
                let pause = rng.range_inclusive(0, 180);
                let approval = rng.chance(0.2);
                format!("{{percentage: {p}, pause: {pause}m, approval: {approval}}}")
            })
            .collect();
        let concurrency = rng.range_inclusive(1, 10);
        let budget = rng.range_inclusive(0, 3);
        let extra = format!("      maxConcurrency: {concurrency}\n      maxFailures: {budget}\n");
        let spec = upgrade(&steps.join(", "), &extra);
        let failure_rate = *rng.pick(&[0.0, 0.0, 0.05, 0.2]).unwrap();
        let mut sim = Sim::new(&spec, n, case, failure_rate);
        let targets = sim.state.plan.step_targets.clone();
        for (target, p) in targets.iter().zip(&percentages) {
            let exact = (*p as usize * n).div_ceil(100).max(1);
            assert_eq!(*target, exact, "case {case}: N = {n}, {p}%");
        }
        // Drive to the end, approving each gated step when asked.
        let phase = loop {
            let phase = sim.run();
            if phase == RolloutPhase::AwaitingApproval {
                let k = sim.state.step;
                sim.input(Input::Approve { step: k });
                continue;
            }
            break phase;
        };
        let failed = sim.state.count(ClusterState::Failed);
        match phase {
            RolloutPhase::Succeeded => {
                assert_eq!(sim.state.count(ClusterState::Succeeded), n, "case {case}");
                assert_eq!(failed, 0);
            }
            RolloutPhase::Failed => assert!((1..=budget as usize).contains(&failed)),
            RolloutPhase::Halted => {
                halted += 1;
                assert!(failed > budget as usize, "case {case}");
            }
            other => panic!("case {case}: ended {other:?}"),
        }
        if failed == 0 && phase == RolloutPhase::Succeeded {
            assert_eq!(sim.step_totals, targets, "case {case}: totals at step ends");
            assert!(sim.state.clusters.values().all(|c| c.attempts == 1));
        }
        // Persisted and read back, the state is the same.
        let json = serde_json::to_string(&sim.state).unwrap();
        assert_eq!(
            serde_json::from_str::<RolloutState>(&json).unwrap(),
            sim.state
        );
    }
    assert!(halted > 0, "no random case exercised the failure budget");
}
