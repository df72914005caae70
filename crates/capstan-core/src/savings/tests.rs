//! Spot checklist, quota verdicts and KEDA idle detection.

#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};

use super::*;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

fn deployment(replicas: i64) -> WorkloadFacts {
    WorkloadFacts {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: "web".into(),
        replicas,
        has_local_storage: false,
        pdb_min_available_fraction: None,
        max_unavailable_fraction: None,
        spot_ready_annotation: false,
        on_demand_compute_cost_per_hour: 1.0,
        spot_compute_cost_per_hour_if_moved: 0.2,
    }
}

#[test]
fn spot_checklist() {
    struct Case {
        name: &'static str,
        facts: WorkloadFacts,
        ready: bool,
        failed: &'static [&'static str],
    }
    let with = |f: fn(&mut WorkloadFacts)| {
        let mut d = deployment(4);
        f(&mut d);
        d
    };
    let cases = [
        Case {
            // default 25% of 4 = 1 pod: min available 3/4 = 0.75
            name: "4-replica deployment",
            facts: deployment(4),
            ready: true,
            failed: &[],
        },
        Case {
            // 25% of 3 rounds down to 0: min available 3/3 = 1 > 0.9
            name: "3 replicas with the default rolling update",
            facts: deployment(3),
            ready: false,
            failed: &["rollingUpdate"],
        },
        Case {
            name: "one replica",
            facts: deployment(1),
            ready: false,
            failed: &["replicas", "rollingUpdate"],
        },
        Case {
            name: "explicit maxUnavailable 1 of 2",
            facts: with(|d| {
                d.replicas = 2;
                d.max_unavailable_fraction = Some(0.5);
            }),
            ready: true,
            failed: &[],
        },
        Case {
            name: "maxUnavailable 5%",
            facts: with(|d| d.max_unavailable_fraction = Some(0.05)),
            ready: false,
            failed: &["rollingUpdate"],
        },
        Case {
            name: "emptyDir",
            facts: with(|d| d.has_local_storage = true),
            ready: false,
            failed: &["localStorage"],
        },
        Case {
            name: "PDB at half",
            facts: with(|d| d.pdb_min_available_fraction = Some(0.5)),
            ready: true,
            failed: &[],
        },
        Case {
            name: "PDB at three quarters",
            facts: with(|d| d.pdb_min_available_fraction = Some(0.75)),
            ready: false,
            failed: &["podDisruptionBudget"],
        },
        Case {
            name: "StatefulSet",
            facts: with(|d| d.kind = "StatefulSet".into()),
            ready: false,
            failed: &["controllerKind"],
        },
        Case {
            name: "DaemonSet",
            facts: with(|d| d.kind = "DaemonSet".into()),
            ready: false,
            failed: &["controllerKind"],
        },
        Case {
            name: "Job",
            facts: with(|d| d.kind = "Job".into()),
            ready: false,
            failed: &["controllerKind"],
        },
        Case {
            name: "bare pod",
            facts: with(|d| {
                d.kind = "Pod".into();
                d.replicas = 1;
            }),
            ready: false,
            failed: &["controllerKind", "replicas"],
        },
        Case {
            name: "ReplicaSet has no rolling update to check",
            facts: with(|d| {
                d.kind = "ReplicaSet".into();
                d.replicas = 2;
            }),
            ready: true,
            failed: &[],
        },
        Case {
            name: "annotation overrides",
            facts: with(|d| {
                d.kind = "StatefulSet".into();
                d.spot_ready_annotation = true;
            }),
            ready: true,
            failed: &["controllerKind"],
        },
    ];
    for c in cases {
        let got = spot_candidate(&c.facts).unwrap();
        let failed: Vec<&str> = got
            .checks
            .iter()
            .filter(|k| !k.passed)
            .map(|k| k.name.as_str())
            .collect();
        assert_eq!(got.ready, c.ready, "{}", c.name);
        assert_eq!(failed, c.failed, "{}", c.name);
        assert_eq!(
            got.overridden,
            c.ready && !c.failed.is_empty(),
            "{}",
            c.name
        );
        assert_eq!(got.checks.len(), 5, "{}", c.name);
        // (1.0 − 0.2) $/h × 730 h
        assert!(
            (got.monthly_saving_dollars - 584.0).abs() < 1e-9,
            "{}",
            c.name
        );
    }
}

#[test]
fn only_on_demand_workloads_are_spot_candidates() {
    let mut on_spot = deployment(4);
    on_spot.on_demand_compute_cost_per_hour = 0.0;
    assert!(spot_candidate(&on_spot).is_none());
    let mut big = deployment(4);
    big.name = "big".into();
    big.on_demand_compute_cost_per_hour = 3.0;
    let not_ready = deployment(1);
    let list = spot_candidates(&[not_ready, on_spot, deployment(4), big]);
    let names: Vec<(&str, bool)> = list.iter().map(|c| (c.name.as_str(), c.ready)).collect();
    assert_eq!(names, [("big", true), ("web", true), ("web", false)]);
    let json = serde_json::to_value(&list[0]).unwrap();
    assert!(json.get("monthlySavingDollars").is_some());
}

fn quota_input(existing: Option<ExistingQuota>) -> QuotaInput {
    QuotaInput {
        namespace: "shop".into(),
        recommended_cpu_cores: 3.3,
        recommended_memory_bytes: 5.0 * GIB,
        current_requests_cpu: 3.0,
        current_requests_memory: 4.0 * GIB,
        existing,
    }
}

fn quota(cpu: Option<f64>, memory_gib: Option<f64>) -> ExistingQuota {
    ExistingQuota {
        name: "compute".into(),
        requests_cpu: cpu,
        requests_memory: memory_gib.map(|g| g * GIB),
        limits_cpu: None,
        limits_memory: None,
    }
}

#[test]
fn quota_verdicts() {
    let cases: &[(&str, Option<ExistingQuota>, QuotaVerdict, &str)] = &[
        ("none", None, QuotaVerdict::Missing, "no ResourceQuota"),
        (
            "limits only",
            Some(ExistingQuota {
                limits_cpu: Some(8.0),
                ..quota(None, None)
            }),
            QuotaVerdict::Missing,
            "neither requests.cpu nor requests.memory",
        ),
        (
            "cpu cap under use",
            Some(quota(Some(2.0), Some(8.0))),
            QuotaVerdict::TooTight,
            "requests.cpu 2 is below the 3 already requested",
        ),
        (
            "tight beats loose",
            Some(quota(Some(100.0), Some(2.0))),
            QuotaVerdict::TooTight,
            "requests.memory 2Gi is below the 4Gi",
        ),
        (
            // suggestion 4 cores: 10 > 8
            "cpu cap over twice the suggestion",
            Some(quota(Some(10.0), Some(8.0))),
            QuotaVerdict::Loose,
            "requests.cpu 10 is over 2x the suggested 4",
        ),
        (
            "memory uncapped",
            Some(quota(Some(5.0), None)),
            QuotaVerdict::Loose,
            "requests.memory is not capped",
        ),
        (
            // 8 cores = 2 × 4 is not over twice
            "fits",
            Some(quota(Some(8.0), Some(8.0))),
            QuotaVerdict::Fits,
            "within 2x",
        ),
    ];
    for (name, existing, verdict, detail) in cases {
        let s = suggest_quota(&quota_input(existing.clone()), DEFAULT_HEADROOM);
        // 3.3 × 1.2 = 3.96 → 4 cores; 5 GiB × 1.2 = 6 GiB.
        assert!((s.suggested_requests_cpu - 4.0).abs() < 1e-9, "{name}");
        assert_eq!(s.suggested_requests_memory, 6.0 * GIB, "{name}");
        assert_eq!(s.suggested_quantities.cpu, "4", "{name}");
        assert_eq!(s.suggested_quantities.memory, "6Gi", "{name}");
        assert_eq!(s.verdict, *verdict, "{name}: {}", s.detail);
        assert!(s.detail.contains(detail), "{name}: {}", s.detail);
    }
}

#[test]
fn quota_suggestions_round_to_nice_quantities() {
    let cases: &[(f64, f64, &str, &str)] = &[
        (0.01, 100.0 * MIB, "100m", "128Mi"),
        (0.25, 300.0 * MIB, "300m", "384Mi"),
        (9.35, 3.5 * GIB, "12", "5Gi"),
        (8.0, 1.0 * GIB, "9600m", "1280Mi"),
        (0.0, 0.0, "100m", "128Mi"),
    ];
    for &(cpu, memory, want_cpu, want_memory) in cases {
        let input = QuotaInput {
            recommended_cpu_cores: cpu,
            recommended_memory_bytes: memory,
            ..quota_input(None)
        };
        let s = suggest_quota(&input, DEFAULT_HEADROOM);
        assert_eq!(s.suggested_quantities.cpu, want_cpu, "{cpu}");
        assert_eq!(s.suggested_quantities.memory, want_memory, "{memory}");
    }
}

#[test]
fn quota_suggestions_are_ordered_by_verdict_then_namespace() {
    let mut a = quota_input(Some(quota(Some(8.0), Some(8.0))));
    a.namespace = "a".into();
    let mut b = quota_input(None);
    b.namespace = "b".into();
    let mut c = quota_input(None);
    c.namespace = "c".into();
    let out = suggest_quotas(&[c, a, b], DEFAULT_HEADROOM);
    let names: Vec<&str> = out.iter().map(|s| s.namespace.as_str()).collect();
    assert_eq!(names, ["b", "c", "a"]);
}

fn t(minutes: i64) -> Timestamp {
    "2026-03-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

fn workload(kind: &str) -> KedaWorkload {
    KedaWorkload {
        namespace: "jobs".into(),
        kind: kind.into(),
        name: "worker".into(),
        compute_cost_per_hour: 0.1,
    }
}

/// Feeds observations every 5 minutes for `minutes`, idle where `idle(minute)`.
fn track(minutes: i64, idle: impl Fn(i64) -> bool) -> IdleTracker {
    track_with(&KedaConfig::default(), minutes, idle)
}

fn track_with(config: &KedaConfig, minutes: i64, idle: impl Fn(i64) -> bool) -> IdleTracker {
    let mut tracker = IdleTracker::new();
    for m in (0..=minutes).step_by(5) {
        // 2 replicas requesting 1 core in total: idle below max(0.01, 0.02) = 0.02 cores.
        let usage = if idle(m) { 0.001 } else { 0.5 };
        tracker.observe(config, t(m), usage, 2.0, 1.0);
    }
    tracker
}

#[test]
fn idle_threshold_is_the_larger_of_per_replica_and_request_share() {
    let c = KedaConfig::default();
    // 4 replicas, 0.5 core requested: max(0.02, 0.01) = 0.02.
    assert!(IdleTracker::is_idle(&c, 0.0199, 4.0, 0.5));
    assert!(!IdleTracker::is_idle(&c, 0.02, 4.0, 0.5));
    // 1 replica, 2 cores requested: max(0.005, 0.04) = 0.04.
    assert!(IdleTracker::is_idle(&c, 0.039, 1.0, 2.0));
    assert!(!IdleTracker::is_idle(&c, 0.04, 1.0, 2.0));
}

#[test]
fn long_idle_stretches_give_a_hint() {
    // 2h busy then 8h idle (the stretch still running at the end counts).
    let tracker = track(600, |m| m > 120);
    let hint = tracker
        .hint(&KedaConfig::default(), &workload("Deployment"))
        .unwrap();
    assert!((hint.observed_hours - 10.0).abs() < 1e-9);
    assert!((hint.idle_fraction - 0.8).abs() < 1e-9);
    assert!((hint.longest_idle_hours - 8.0).abs() < 1e-9);
    assert!((hint.replicas - 2.0).abs() < 1e-9);
    // 0.1 $/h × 0.8 × 730
    assert!((hint.monthly_saving_dollars - 58.4).abs() < 1e-9);
    assert!(hint.suggestion.contains("minReplicaCount: 0"));
    assert!(hint.detail.contains("VPA"));
}

#[test]
fn short_dips_are_not_long_stretches() {
    // Alternating 30 minutes idle and busy for 12h: half idle, no stretch reaches 1h.
    let tracker = track(720, |m| (m - 1) / 30 % 2 == 0);
    assert!(
        tracker
            .hint(&KedaConfig::default(), &workload("Deployment"))
            .is_none()
    );
    let lenient = KedaConfig {
        min_idle_run: std::time::Duration::from_secs(1800),
        ..KedaConfig::default()
    };
    // Stretches are measured against the config the tracker is fed with.
    let tracker = track_with(&lenient, 720, |m| (m - 1) / 30 % 2 == 0);
    let hint = tracker.hint(&lenient, &workload("Deployment")).unwrap();
    assert!((hint.idle_fraction - 0.5).abs() < 1e-9);
    assert!((hint.longest_idle_hours - 0.5).abs() < 1e-9);
}

#[test]
fn keda_needs_six_observed_hours_and_a_scalable_kind() {
    let short = track(300, |_| true);
    assert!(
        short
            .hint(&KedaConfig::default(), &workload("Deployment"))
            .is_none()
    );
    let long = track(420, |_| true);
    assert!(
        long.hint(&KedaConfig::default(), &workload("Deployment"))
            .is_some()
    );
    for kind in ["DaemonSet", "Job", "CronJob", "Pod", "StatefulSet"] {
        assert!(
            long.hint(&KedaConfig::default(), &workload(kind)).is_none(),
            "{kind}"
        );
    }
    let with_sts = KedaConfig {
        include_stateful_sets: true,
        ..KedaConfig::default()
    };
    let hint = long.hint(&with_sts, &workload("StatefulSet")).unwrap();
    assert!(hint.detail.contains("StatefulSet"));
}

#[test]
fn gaps_and_zero_replicas_are_not_observed_and_break_stretches() {
    let config = KedaConfig::default();
    let mut tracker = IdleTracker::new();
    // 4h idle, a 2h gap, 4h idle: 8h observed, two 4h stretches.
    for m in (0..=240).step_by(5) {
        tracker.observe(&config, t(m), 0.0, 1.0, 1.0);
    }
    for m in (360..=600).step_by(5) {
        tracker.observe(&config, t(m), 0.0, 1.0, 1.0);
    }
    // Already at zero replicas for an hour: not observed.
    for m in (605..=660).step_by(5) {
        tracker.observe(&config, t(m), 0.0, 0.0, 0.0);
    }
    let hint = tracker.hint(&config, &workload("Deployment")).unwrap();
    assert!(
        (hint.observed_hours - 8.0).abs() < 1e-9,
        "{}",
        hint.observed_hours
    );
    assert!((hint.longest_idle_hours - 4.0).abs() < 1e-9);
    assert!((hint.idle_fraction - 1.0).abs() < 1e-9);
}
