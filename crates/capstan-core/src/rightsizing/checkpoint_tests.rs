//! Checkpoint round trips: a restored state recommends what the original did (within the
//! normalisation's quantisation), keeps its decay reference, and a second round trip is exact.

#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::rightsizing::{
    RightsizingConfig, Strategy, VpaConfig, confidence, confidence_days, recommend,
};

fn t0() -> Timestamp {
    "2026-03-01T00:00:00Z".parse().unwrap()
}

fn at_minutes(m: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(m)
}

/// One way a state is built. None of them has a percentile threshold within the rounding of
/// a cumulative bucket weight, so recommendations come back exactly (the tie case is
/// `a_percentile_at_a_tie_may_move_to_the_next_non_empty_bucket`).
struct Case {
    name: &'static str,
    build: fn() -> ContainerUsageState,
}

fn steady_week() -> ContainerUsageState {
    let mut s = ContainerUsageState::new();
    for m in 0..7 * 1440 {
        s.add_cpu_sample(at_minutes(m), 0.25);
        s.add_memory_sample(at_minutes(m), 300e6);
    }
    s
}

/// Busy two hours in eight: CPU and memory in two bands, a week.
fn two_bands() -> ContainerUsageState {
    let mut s = ContainerUsageState::new();
    for m in (0..7 * 1440).step_by(5) {
        let busy = (m / 60) % 8 < 2;
        s.add_cpu_sample(at_minutes(m), if busy { 1.7 } else { 0.12 });
        s.add_memory_sample(
            at_minutes(m),
            if busy { 900e6 } else { 400e6 } + (m % 7) as f64 * 1e6,
        );
    }
    s
}

/// Three days with an OOM kill in the middle, and several pods' samples per minute.
fn with_oom() -> ContainerUsageState {
    let mut s = ContainerUsageState::new();
    for m in (0..3 * 1440).step_by(2) {
        for pod in 0..3 {
            s.add_cpu_sample(at_minutes(m), 0.05 + f64::from(pod) * 0.02);
        }
        s.add_memory_sample(at_minutes(m), 200e6 + (m % 11) as f64 * 3e6);
        if m == 1800 {
            s.record_oom(at_minutes(m), 256.0 * 1024.0 * 1024.0)
                .unwrap();
        }
    }
    s
}

/// Hourly samples over 150 days: past 100 half-lives the decay reference has moved.
fn long_history() -> ContainerUsageState {
    let mut s = ContainerUsageState::new();
    for h in 0..150 * 24 {
        let t = t0() + SignedDuration::from_hours(h);
        s.add_cpu_sample(t, 0.3 + (h % 5) as f64 * 0.1);
        s.add_memory_sample(t, 1e9 + (h % 3) as f64 * 2e8);
    }
    assert!(s.cpu.reference().unwrap() > t0(), "the reference moved");
    s
}

fn memory_only() -> ContainerUsageState {
    let mut s = ContainerUsageState::new();
    for m in (0..1440).step_by(10) {
        s.add_memory_sample(at_minutes(m), 64e6);
    }
    s
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "empty",
            build: ContainerUsageState::new,
        },
        Case {
            name: "steady week",
            build: steady_week,
        },
        Case {
            name: "two bands",
            build: two_bands,
        },
        Case {
            name: "OOM and three pods",
            build: with_oom,
        },
        Case {
            name: "150 days, reference shifted",
            build: long_history,
        },
        Case {
            name: "memory only",
            build: memory_only,
        },
    ]
}

fn check(case: &Case) {
    let name = case.name;
    let original = (case.build)();
    let checkpoint = original.to_checkpoint();
    // Through JSON, as stored.
    let text = serde_json::to_string(&checkpoint).unwrap();
    let decoded: UsageCheckpoint = serde_json::from_str(&text).unwrap();
    assert_eq!(decoded, checkpoint, "{name}: JSON round trip");
    let restored = ContainerUsageState::from_checkpoint(&decoded).unwrap();

    // Exact parts.
    assert_eq!(restored.total_samples(), original.total_samples(), "{name}");
    assert_eq!(restored.first_sample_start, original.first_sample_start);
    assert_eq!(restored.last_sample_start, original.last_sample_start);
    assert_eq!(restored.oom_events(), original.oom_events(), "{name}");
    assert_eq!(restored.max_memory_bytes, original.max_memory_bytes);
    assert_eq!(restored.memory_samples, original.memory_samples);
    assert_eq!(restored.cpu.reference(), original.cpu.reference(), "{name}");
    assert_eq!(
        restored.memory_peaks.reference(),
        original.memory_peaks.reference()
    );
    assert_eq!(confidence_days(&restored), confidence_days(&original));
    for (label, a, b) in [
        ("cpu", &restored.cpu, &original.cpu),
        ("memory", &restored.memory_peaks, &original.memory_peaks),
    ] {
        let (ta, tb) = (a.histogram().total_weight(), b.histogram().total_weight());
        assert!(
            (ta - tb).abs() <= 1e-12 * tb.abs(),
            "{name}: {label} total weight {ta} vs {tb}"
        );
    }

    for p in [0.5, 0.9, 0.95] {
        for (label, options, a, b) in [
            ("cpu", &CPU_OPTIONS, &restored.cpu, &original.cpu),
            (
                "memory",
                &MEMORY_OPTIONS,
                &restored.memory_peaks,
                &original.memory_peaks,
            ),
        ] {
            let (x, y) = (a.percentile(options, p), b.percentile(options, p));
            assert_eq!(x, y, "{name}: {label} p{p}");
        }
    }
    let config = RightsizingConfig::default();
    for strategy in [Strategy::Vpa, Strategy::Simple] {
        let a = recommend(strategy, &restored, &config, 1, at_minutes(0));
        let b = recommend(strategy, &original, &config, 1, at_minutes(0));
        assert_eq!(a, b, "{name}: {strategy:?} recommendation");
    }

    // A second round trip changes nothing: restarts do not drift.
    assert_eq!(restored.to_checkpoint(), checkpoint, "{name}: second trip");

    // Both go on the same way: new samples a day later, a new memory interval.
    let mut a = restored;
    let mut b = original;
    let later = at_minutes(200 * 1440);
    for state in [&mut a, &mut b] {
        state.add_cpu_sample(later, 0.4);
        state.add_memory_sample(later, 500e6);
    }
    assert_eq!(
        a.cpu.reference(),
        b.cpu.reference(),
        "{name}: reference after"
    );
    let vpa = VpaConfig::default();
    assert_eq!(
        confidence(&a, vpa.confidence_interval_cpu),
        confidence(&b, vpa.confidence_interval_cpu)
    );
    assert_eq!(
        recommend(Strategy::Vpa, &a, &config, 2, later),
        recommend(Strategy::Vpa, &b, &config, 2, later),
        "{name}: after more samples"
    );
}

#[test]
fn restored_states_recommend_what_the_originals_did() {
    for case in cases() {
        check(&case);
    }
}

#[test]
fn an_empty_state_is_an_empty_checkpoint() {
    let c = ContainerUsageState::new().to_checkpoint();
    assert!(c.cpu_histogram.bucket_weights.is_empty());
    assert_eq!(c.cpu_histogram.reference_timestamp, None);
    assert_eq!(c.total_samples_count, 0);
    assert_eq!(
        ContainerUsageState::from_checkpoint(&c).unwrap(),
        ContainerUsageState::new()
    );
}

#[test]
fn weights_are_normalised_to_10000_as_upstream() {
    let o = CPU_OPTIONS;
    let mut h = SparseHistogram::new();
    h.add(&o, 0.015, 3.0); // bucket 1
    h.add(&o, 0.025, 1.0); // bucket 2
    h.add(&o, 0.035, 0.0002); // bucket 3: 0.67 of a unit, rounds to 1
    h.add(&o, 0.05, 0.00012); // bucket 4: 0.4, rounds to 0 and is dropped
    let c = save(&h, &o, None);
    let stored: Vec<(u16, u32)> = c.bucket_weights.iter().map(|(&b, &w)| (b, w)).collect();
    // 1/3 × 10000 = 3333.33 → 3333; 0.0002/3 × 10000 = 0.667 → 1.
    assert_eq!(stored, vec![(1, 10_000), (2, 3333), (3, 1)]);
    assert_eq!(c.total_weight, h.total_weight());
    // Loading spreads the exact total over 13334 units.
    let back = load(&c, &o, "cpu").unwrap();
    let unit = h.total_weight() / 13_334.0;
    let want = [(1u16, 10_000.0 * unit), (2, 3333.0 * unit), (3, unit)];
    for (&(b, w), (wb, ww)) in back.buckets().iter().zip(want) {
        assert_eq!(b, wb);
        assert!((w - ww).abs() < 1e-15, "bucket {b}: {w} vs {ww}");
    }
    assert_eq!(back.total_weight(), h.total_weight());
}

#[test]
fn a_percentile_at_a_tie_may_move_to_the_next_non_empty_bucket() {
    // Weights 3, 6, 1: p90's threshold (9) is reached exactly at the second bucket. Stored
    // as 5000, 10000, 1667 (1666.67 rounds up), the first two hold 15000/16667 = 0.89998 of
    // the total: p90 moves to the third bucket. This is the quantisation the module doc
    // describes, and upstream's.
    let o = CPU_OPTIONS;
    let mut h = SparseHistogram::new();
    h.add(&o, 0.015, 3.0);
    h.add(&o, 0.025, 6.0);
    h.add(&o, 0.5, 1.0);
    let back = load(&save(&h, &o, None), &o, "cpu").unwrap();
    assert_eq!(h.percentile(&o, 0.9), o.bucket_start(3));
    assert_eq!(
        back.percentile(&o, 0.9),
        o.bucket_start(o.find_bucket(0.5) + 1)
    );
    // Away from the tie nothing moves.
    for p in [0.2, 0.5, 0.89, 0.95] {
        assert_eq!(back.percentile(&o, p), h.percentile(&o, p), "p{p}");
    }
}

#[test]
fn buckets_lighter_than_epsilon_outside_the_range_are_not_saved() {
    // Upstream saves minBucket..=maxBucket only: a sub-epsilon bucket past the heavy ones is
    // left out (its weight stays in the total).
    let o = CPU_OPTIONS;
    let mut h = SparseHistogram::new();
    h.add(&o, 0.015, 1.0);
    h.add(&o, 5.0, o.epsilon() / 2.0);
    let c = save(&h, &o, None);
    assert_eq!(c.bucket_weights.len(), 1);
    assert_eq!(c.total_weight, 1.0 + o.epsilon() / 2.0);
}

#[test]
fn bad_checkpoints_are_refused_with_what_is_wrong() {
    fn check_refused(name: &str, change: fn(&mut UsageCheckpoint), want: &str) {
        let mut c = steady_week().to_checkpoint();
        change(&mut c);
        let e = ContainerUsageState::from_checkpoint(&c).unwrap_err();
        assert!(e.to_string().contains(want), "{name}: {e}");
    }
    check_refused(
        "upstream version",
        |c| c.version = "v3".into(),
        "unsupported checkpoint version \"v3\"",
    );
    check_refused(
        "bucket past the end",
        |c| {
            c.memory_histogram.bucket_weights.insert(176, 5);
        },
        "memoryHistogram: bucket 176 is past the last bucket (175)",
    );
    check_refused(
        "negative total",
        |c| c.cpu_all_histogram.total_weight = -1.0,
        "cpuAllHistogram: -1 is not a finite non-negative number",
    );
    check_refused(
        "infinite total",
        |c| c.cpu_histogram.total_weight = f64::INFINITY,
        "cpuHistogram: inf",
    );
    check_refused(
        "negative peak",
        |c| c.memory_window.memory_peak = -5.0,
        "memoryWindow.memoryPeak: -5",
    );
    check_refused(
        "first after last",
        |c| std::mem::swap(&mut c.first_sample_start, &mut c.last_sample_start),
        "firstSampleStart 2026-03-07T23:59:00Z is after lastSampleStart 2026-03-01T00:00:00Z",
    );
}

#[test]
fn malformed_json_does_not_decode() {
    let good = serde_json::to_value(steady_week().to_checkpoint()).unwrap();
    let cases: &[(&str, serde_json::Value)] = &[
        ("not an object", serde_json::json!([1, 2])),
        ("bucket not a number", {
            let mut v = good.clone();
            v["cpuHistogram"]["bucketWeights"] = serde_json::json!({"x": 1});
            v
        }),
        ("negative bucket", {
            let mut v = good.clone();
            v["cpuHistogram"]["bucketWeights"] = serde_json::json!({"-1": 1});
            v
        }),
        ("weight too big for u32", {
            let mut v = good.clone();
            v["cpuHistogram"]["bucketWeights"] = serde_json::json!({"3": 5_000_000_000u64});
            v
        }),
        ("missing total", {
            let mut v = good.clone();
            v["memoryHistogram"]
                .as_object_mut()
                .unwrap()
                .remove("totalWeight");
            v
        }),
    ];
    for (name, value) in cases {
        assert!(
            serde_json::from_value::<UsageCheckpoint>(value.clone()).is_err(),
            "{name}"
        );
    }
    assert!(serde_json::from_value::<UsageCheckpoint>(good).is_ok());
}

#[test]
fn a_compact_entry_is_small() {
    // What one container costs in a ConfigMap (the agent shards on it): a week of two-band
    // usage, compact JSON.
    let text = serde_json::to_string(&two_bands().to_checkpoint()).unwrap();
    assert!(text.len() < 1500, "{} bytes: {text}", text.len());
}
