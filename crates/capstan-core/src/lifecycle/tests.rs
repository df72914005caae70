use super::*;

use NodePhase::*;

const MIN: u64 = 60;

/// `minutes` after a fixed origin.
fn at(minutes: u64) -> Timestamp {
    at_secs(minutes * MIN)
}

fn at_secs(secs: u64) -> Timestamp {
    let origin = Timestamp::from_second(1_750_000_000).unwrap();
    origin + Duration::from_secs(secs)
}

fn mins(m: u64) -> Duration {
    Duration::from_secs(m * MIN)
}

/// A timeline built from `(phase, minute)` pairs, each of which must be accepted.
fn timeline(steps: &[(NodePhase, u64)]) -> NodeTimeline {
    let mut t = NodeTimeline::new("node-a", Some("pool-a"));
    for (phase, minute) in steps {
        assert!(t.record(*phase, at(*minute)), "{phase} at {minute}");
    }
    t
}

#[test]
fn recording_the_current_phase_again_changes_nothing() {
    let mut t = timeline(&[(Provisioning, 0), (Joining, 10)]);
    let before = t.clone();
    assert!(!t.record(Joining, at(12)));
    assert!(!t.record(Joining, at(10)));
    assert!(!t.record(Joining, at(1)));
    assert_eq!(t, before);
    assert_eq!(t.current(), Some((Joining, at(10))));
}

#[test]
fn transitions_earlier_than_the_last_are_ignored() {
    let mut t = timeline(&[(Provisioning, 0), (Joining, 10)]);
    assert!(!t.record(Operating, at(9)));
    assert_eq!(t.transitions(), &[(Provisioning, at(0)), (Joining, at(10))]);
    // The same instant as the last transition is not earlier.
    assert!(t.record(Operating, at(10)));
    assert_eq!(t.current(), Some((Operating, at(10))));
}

#[test]
fn phases_never_go_backwards() {
    let mut t = timeline(&[(Provisioning, 0), (Draining, 10)]);
    assert!(!t.record(Operating, at(20)));
    assert!(!t.record(Provisioning, at(20)));
    assert!(t.record(Terminating, at(20)));
    for phase in NodePhase::ALL {
        assert!(!t.record(phase, at(30)), "{phase} after Terminating");
    }
    assert_eq!(t.current(), Some((Terminating, at(20))));
}

#[test]
fn phases_may_be_skipped() {
    let mut t = NodeTimeline::new("node-a", None);
    assert_eq!(t.current(), None);
    assert!(t.record(Operating, at(5)));
    assert!(t.record(Terminating, at(50)));
    assert_eq!(t.entered(Operating), Some(at(5)));
    assert_eq!(t.entered(Provisioning), None);
    assert_eq!(t.entered(Draining), None);
    assert_eq!(t.completed(), vec![(Operating, mins(45))]);
}

#[test]
fn completed_durations_end_where_the_next_phase_starts() {
    let mut t = timeline(&[
        (Provisioning, 0),
        (Joining, 7),
        (Operating, 10),
        (Draining, 100),
    ]);
    assert_eq!(
        t.completed(),
        vec![
            (Provisioning, mins(7)),
            (Joining, mins(3)),
            (Operating, mins(90))
        ]
    );
    assert!(t.record(Terminating, at(112)));
    assert!(!t.finish(at(111)), "finish before the last transition");
    assert!(t.finish(at(113)));
    assert!(!t.finish(at(114)), "finished twice");
    assert_eq!(t.finished(), Some(at(113)));
    assert!(!t.record(Terminating, at(120)));
    assert_eq!(
        t.completed(),
        vec![
            (Provisioning, mins(7)),
            (Joining, mins(3)),
            (Operating, mins(90)),
            (Draining, mins(12)),
            (Terminating, mins(1)),
        ]
    );
    assert_eq!(t.health(at(200), &LifecycleSlos::default()), None);
}

#[test]
fn an_empty_timeline_cannot_finish() {
    let mut t = NodeTimeline::new("node-a", None);
    assert!(!t.finish(at(1)));
    assert_eq!(t.finished(), None);
    assert!(t.completed().is_empty());
}

#[test]
fn health_boundaries() {
    // Joining: max 5 min, stuck past 15 min with the default multiple of 3.
    let slos = LifecycleSlos::default();
    let t = timeline(&[(Provisioning, 0), (Joining, 10)]);
    let check = |now: Timestamp, lasted: Duration, health: PhaseHealth| {
        assert_eq!(
            t.health(now, &slos),
            Some((Joining, lasted, health)),
            "lasted {lasted:?}"
        );
    };
    check(at(9), Duration::ZERO, PhaseHealth::OnTime);
    check(at(10), Duration::ZERO, PhaseHealth::OnTime);
    check(at(15), mins(5), PhaseHealth::OnTime);
    check(
        at_secs(15 * MIN + 1),
        mins(5) + Duration::from_secs(1),
        PhaseHealth::Slow,
    );
    check(at(25), mins(15), PhaseHealth::Slow);
    check(
        at_secs(25 * MIN + 1),
        mins(15) + Duration::from_secs(1),
        PhaseHealth::Stuck,
    );

    let operating = timeline(&[(Operating, 0)]);
    assert_eq!(
        operating.health(at(100_000), &slos),
        Some((Operating, mins(100_000), PhaseHealth::OnTime))
    );
    assert_eq!(NodeTimeline::default().health(at(0), &slos), None);
}

#[test]
fn classify_with_a_custom_multiple() {
    let slos = LifecycleSlos {
        stuck_multiple: 1.5,
        ..LifecycleSlos::default()
    };
    // Terminating: max 2 min, stuck past 3 min.
    assert_eq!(slos.classify(Terminating, mins(2)), PhaseHealth::OnTime);
    assert_eq!(slos.classify(Terminating, mins(3)), PhaseHealth::Slow);
    assert_eq!(
        slos.classify(Terminating, mins(3) + Duration::from_millis(1)),
        PhaseHealth::Stuck
    );
    // Unvalidated multiples still give an answer.
    let nan = LifecycleSlos {
        stuck_multiple: f64::NAN,
        ..LifecycleSlos::default()
    };
    assert_eq!(nan.classify(Terminating, mins(3)), PhaseHealth::Stuck);
    let huge = LifecycleSlos {
        stuck_multiple: f64::MAX,
        ..LifecycleSlos::default()
    };
    assert_eq!(
        huge.classify(Terminating, mins(1_000_000)),
        PhaseHealth::Slow
    );
}

#[test]
fn default_slos_are_valid_and_operating_has_none() {
    let slos = LifecycleSlos::default();
    slos.validate().unwrap();
    assert_eq!(slos.slo(Operating), None);
    assert_eq!(
        slos.slo(Provisioning),
        Some(PhaseSlo {
            min: mins(5),
            max: Some(mins(15))
        })
    );
    assert_eq!(slos.slo(Draining).and_then(|s| s.max), Some(mins(30)));
}

#[test]
fn validate_rejects_inverted_bounds_and_small_multiples() {
    let inverted = LifecycleSlos {
        draining: PhaseSlo {
            min: mins(40),
            max: Some(mins(30)),
        },
        ..LifecycleSlos::default()
    };
    let err = inverted.validate().unwrap_err().to_string();
    assert!(err.contains("Draining") && err.contains("40m"), "{err}");

    let unbounded = LifecycleSlos {
        draining: PhaseSlo {
            min: mins(40),
            max: None,
        },
        ..LifecycleSlos::default()
    };
    unbounded.validate().unwrap();

    for multiple in [0.5, f64::NAN, f64::INFINITY, -1.0] {
        let slos = LifecycleSlos {
            stuck_multiple: multiple,
            ..LifecycleSlos::default()
        };
        let err = slos.validate().unwrap_err().to_string();
        assert!(err.contains("stuck multiple"), "{multiple}: {err}");
    }
    LifecycleSlos {
        stuck_multiple: 1.0,
        ..LifecycleSlos::default()
    }
    .validate()
    .unwrap();
}

#[test]
fn percentiles_by_nearest_rank() {
    let hundred: Vec<Duration> = (1..=100).map(Duration::from_secs).collect();
    let check = |p: f64, expected: u64| {
        assert_eq!(
            percentile(&hundred, p),
            Some(Duration::from_secs(expected)),
            "p{p}"
        );
    };
    check(50.0, 50);
    check(95.0, 95);
    check(99.5, 100);
    check(100.0, 100);
    check(0.0, 1);
    check(f64::NAN, 1);
    check(1000.0, 100);

    let ten: Vec<Duration> = (1..=10).map(Duration::from_secs).collect();
    assert_eq!(percentile(&ten, 50.0), Some(Duration::from_secs(5)));
    assert_eq!(percentile(&ten, 51.0), Some(Duration::from_secs(6)));
    assert_eq!(percentile(&ten, 95.0), Some(Duration::from_secs(10)));

    let one = [Duration::from_secs(7)];
    for p in [0.0, 50.0, 95.0, 100.0] {
        assert_eq!(percentile(&one, p), Some(Duration::from_secs(7)));
    }
    assert_eq!(percentile(&[], 50.0), None);
}

#[test]
fn stats_count_completed_and_in_progress_phases() {
    let slos = LifecycleSlos::default();
    let now = at(100);
    let timelines = [
        // Provisioning 10 min (on time), Joining 6 min (slow), now Operating.
        timeline(&[(Provisioning, 0), (Joining, 10), (Operating, 16)]),
        // Provisioning 20 min (slow), Joining 16 min (stuck: past 15), now Operating.
        timeline(&[(Provisioning, 0), (Joining, 20), (Operating, 36)]),
        // Still provisioning after 50 min: stuck (past 45).
        timeline(&[(Provisioning, 50)]),
        // Draining for 40 min: slow.
        timeline(&[(Operating, 0), (Draining, 60)]),
        // Finished: Terminating 1 min.
        {
            let mut t = timeline(&[(Draining, 0), (Terminating, 10)]);
            assert!(t.finish(at(11)));
            t
        },
    ];
    let stats = phase_stats(&timelines, now, &slos);
    assert_eq!(
        stats.iter().map(|s| s.phase).collect::<Vec<_>>(),
        NodePhase::ALL
    );
    let by_phase = |phase: NodePhase| stats.iter().find(|s| s.phase == phase).unwrap();

    let provisioning = by_phase(Provisioning);
    assert_eq!(provisioning.completed, 2);
    assert_eq!(provisioning.in_progress, 1);
    assert_eq!(provisioning.p50, Some(mins(10)));
    assert_eq!(provisioning.p95, Some(mins(20)));
    assert_eq!(provisioning.max, Some(mins(20)));
    assert_eq!((provisioning.slow, provisioning.stuck), (1, 1));

    let joining = by_phase(Joining);
    assert_eq!((joining.completed, joining.in_progress), (2, 0));
    assert_eq!((joining.slow, joining.stuck), (1, 1));
    assert_eq!(joining.max, Some(mins(16)));

    let operating = by_phase(Operating);
    assert_eq!((operating.completed, operating.in_progress), (1, 2));
    assert_eq!(operating.max, Some(mins(60)));
    assert_eq!((operating.slow, operating.stuck), (0, 0));

    let draining = by_phase(Draining);
    assert_eq!((draining.completed, draining.in_progress), (1, 1));
    assert_eq!(draining.p50, Some(mins(10)));
    assert_eq!((draining.slow, draining.stuck), (1, 0));

    let terminating = by_phase(Terminating);
    assert_eq!((terminating.completed, terminating.in_progress), (1, 0));
    assert_eq!(terminating.p95, Some(mins(1)));
    assert_eq!((terminating.slow, terminating.stuck), (0, 0));

    let empty = phase_stats([], now, &slos);
    assert_eq!(empty.len(), 5);
    assert!(empty.iter().all(|s| s.completed == 0 && s.p50.is_none()));
}

#[test]
fn stats_serialize_durations_as_strings() {
    let stats = PhaseStats {
        phase: Draining,
        completed: 3,
        in_progress: 1,
        p50: Some(mins(12)),
        p95: Some(Duration::from_secs(90)),
        max: None,
        slow: 0,
        stuck: 0,
    };
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "phase": "Draining", "completed": 3, "inProgress": 1,
            "p50": "12m", "p95": "1m30s", "max": null, "slow": 0, "stuck": 0
        })
    );
    assert_eq!(serde_json::from_value::<PhaseStats>(json).unwrap(), stats);
}

#[test]
fn timelines_round_trip_and_deserializing_restores_the_invariants() {
    let mut t = timeline(&[(Provisioning, 0), (Operating, 10), (Terminating, 30)]);
    assert!(t.finish(at(31)));
    let json = serde_json::to_string(&t).unwrap();
    assert_eq!(serde_json::from_str::<NodeTimeline>(&json).unwrap(), t);

    // A backwards phase and an earlier transition in a stored document are dropped.
    let doc = serde_json::json!({
        "node": "node-b",
        "pool": null,
        "transitions": [
            ["Joining", "2025-01-01T00:10:00Z"],
            ["Provisioning", "2025-01-01T00:20:00Z"],
            ["Operating", "2025-01-01T00:05:00Z"],
            ["Operating", "2025-01-01T00:30:00Z"]
        ]
    });
    let t: NodeTimeline = serde_json::from_value(doc).unwrap();
    assert_eq!(t.node, "node-b");
    assert_eq!(
        t.transitions().iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        vec![Joining, Operating]
    );
    assert_eq!(t.finished(), None);
}
