//! Right-sizing behaviour: the VPA container state and estimators, KRR simple, pricing.

#![allow(clippy::unwrap_used)]

use jiff::{SignedDuration, Timestamp};

use super::histogram::HistogramOptions;
use super::state::{CPU_OPTIONS, MEMORY_OPTIONS};
use super::*;

const MIB_U: f64 = 1024.0 * 1024.0;

fn t0() -> Timestamp {
    "2026-03-01T00:00:00Z".parse().unwrap()
}

fn at_minutes(m: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(m)
}

fn at_hours(h: i64) -> Timestamp {
    t0() + SignedDuration::from_hours(h)
}

/// The end of the bucket holding `v` (what a percentile landing in that bucket returns).
fn mem_bucket_end(v: f64) -> f64 {
    MEMORY_OPTIONS.bucket_start(MEMORY_OPTIONS.find_bucket(v) + 1)
}

/// A state with one CPU and one memory sample a minute, minutes `0..=minutes`.
fn steady(minutes: i64, cores: f64, bytes: f64) -> ContainerUsageState {
    let mut s = ContainerUsageState::new();
    for m in 0..=minutes {
        s.add_cpu_sample(at_minutes(m), cores);
        s.add_memory_sample(at_minutes(m), bytes);
    }
    s
}

fn vpa(state: &ContainerUsageState, containers: usize) -> ResourceRecommendation {
    recommend(
        Strategy::Vpa,
        state,
        &RightsizingConfig::default(),
        containers,
        at_hours(12),
    )
    .unwrap()
}

#[test]
fn memory_peak_is_replaced_within_the_interval_and_a_new_interval_starts_after_it() {
    let mut s = ContainerUsageState::new();
    s.add_memory_sample(at_hours(0), 500e6);
    s.add_memory_sample(at_hours(1), 800e6); // replaces the 500 MB peak
    s.add_memory_sample(at_hours(2), 600e6); // below the peak: ignored
    assert_eq!(s.current_memory_peak(), 800e6);
    let h = s.memory_peaks.histogram();
    assert_eq!(h.stored_buckets(), 1, "one peak in the first interval");
    assert_eq!(
        s.memory_peaks.percentile(&MEMORY_OPTIONS, 0.1),
        mem_bucket_end(800e6)
    );
    let first_weight = h.total_weight();

    // Past the interval's end (t0 + 24h): a new interval, its peak stamped at t0 + 48h,
    // weighing twice the first one (one half-life later).
    s.add_memory_sample(at_hours(25), 300e6);
    assert_eq!(s.current_memory_peak(), 300e6);
    let h = s.memory_peaks.histogram();
    assert_eq!(h.stored_buckets(), 2);
    assert!((h.total_weight() - 3.0 * first_weight).abs() < 1e-9);
    // 2/3 of the weight at 300 MB.
    assert_eq!(
        s.memory_peaks.percentile(&MEMORY_OPTIONS, 0.66),
        mem_bucket_end(300e6)
    );
    assert_eq!(
        s.memory_peaks.percentile(&MEMORY_OPTIONS, 0.67),
        mem_bucket_end(800e6)
    );
    // An older sample than the last one is dropped.
    assert!(!s.add_memory_sample_with(&VpaConfig::DEFAULT, at_hours(24), 900e6));
}

#[test]
fn a_sample_several_intervals_later_lands_in_the_interval_holding_it() {
    let mut s = ContainerUsageState::new();
    s.add_memory_sample(at_hours(0), 500e6); // window end t0 + 24h
    // (74h − 24h) truncated to 48h, + 24h: window end t0 + 96h.
    s.add_memory_sample(at_hours(74), 500e6);
    let h = s.memory_peaks.histogram();
    // Same bucket: the peaks stamped at t0 + 24h and t0 + 96h weigh 1 and 2^3 = 8 × that.
    assert_eq!(h.stored_buckets(), 1);
    let mut one = ContainerUsageState::new();
    one.add_memory_sample(at_hours(0), 500e6);
    let w = one.memory_peaks.histogram().total_weight();
    assert!(
        (h.total_weight() - 9.0 * w).abs() < 1e-9,
        "{} vs 9 × {w}",
        h.total_weight()
    );
}

#[test]
fn oom_bump_takes_the_larger_of_plus_100_mib_and_times_1_2() {
    struct Case {
        name: &'static str,
        usage_mib: Option<f64>,
        request_bytes: f64,
        want_bytes: f64,
    }
    let cases = [
        Case {
            // used = max(256 Mi request, 400 Mi peak) = 400 Mi: 500 Mi > 480 Mi.
            name: "small: +100 MiB",
            usage_mib: Some(400.0),
            request_bytes: 256.0 * MIB_U,
            want_bytes: 500.0 * MIB_U,
        },
        Case {
            // used = 1000 Mi: 1200 Mi > 1100 Mi.
            name: "large: x1.2",
            usage_mib: Some(1000.0),
            request_bytes: 256.0 * MIB_U,
            want_bytes: 1200.0 * MIB_U,
        },
        Case {
            // No usage: the request, 2 GiB; trunc(2147483648 × 1.2).
            name: "request when above the peak",
            usage_mib: None,
            request_bytes: 2.0 * 1024.0 * MIB_U,
            want_bytes: 2_576_980_377.0,
        },
    ];
    for c in cases {
        let mut s = ContainerUsageState::new();
        if let Some(mib) = c.usage_mib {
            s.add_memory_sample(at_hours(0), mib * MIB_U);
        }
        s.record_oom(at_hours(1), c.request_bytes).unwrap();
        assert_eq!(s.oom_events(), 1, "{}", c.name);
        // The OOM sample replaced the usage peak: the histogram holds one peak, the bumped one.
        let h = s.memory_peaks.histogram();
        assert_eq!(h.stored_buckets(), 1, "{}", c.name);
        assert_eq!(
            s.memory_peaks.percentile(&MEMORY_OPTIONS, 1.0),
            mem_bucket_end(c.want_bytes),
            "{}",
            c.name
        );
        assert!(
            MEMORY_OPTIONS.find_bucket(c.want_bytes)
                > MEMORY_OPTIONS.find_bucket(c.usage_mib.unwrap_or(0.0) * MIB_U),
            "{}: the bump moves the peak up a bucket at least",
            c.name
        );
    }
}

#[test]
fn an_oom_older_than_a_day_before_the_last_memory_sample_is_discarded() {
    let mut s = ContainerUsageState::new();
    s.add_memory_sample(at_hours(48), 400.0 * MIB_U);
    let err = s.record_oom(at_hours(23), 256.0 * MIB_U).unwrap_err();
    assert_eq!(
        err,
        OomError::TooOld {
            at: at_hours(23),
            cutoff: at_hours(24)
        }
    );
    assert_eq!(s.oom_events(), 0);
    assert!(
        s.record_oom(at_hours(24), 256.0 * MIB_U).is_ok(),
        "the cutoff itself is kept"
    );
    assert_eq!(s.oom_events(), 1);
}

#[test]
fn repeated_ooms_do_not_compound() {
    // memoryUsed leaves out the OOM peak: a second OOM in the interval bumps from the same base.
    let mut s = ContainerUsageState::new();
    s.add_memory_sample(at_hours(0), 1000.0 * MIB_U);
    s.record_oom(at_hours(1), 256.0 * MIB_U).unwrap();
    s.record_oom(at_hours(2), 256.0 * MIB_U).unwrap();
    assert_eq!(
        s.memory_peaks.percentile(&MEMORY_OPTIONS, 1.0),
        mem_bucket_end(1200.0 * MIB_U)
    );
    assert_eq!(s.memory_peaks.histogram().stored_buckets(), 1);
}

#[test]
fn estimators_apply_percentile_margin_confidence_and_minimum_in_order() {
    // 12h of 0.5 core and 600 MiB, a sample a minute: confidence = min(720/1440, 721/1440) = 0.5.
    let s = steady(720, 0.5, 600.0 * MIB_U);
    let r = vpa(&s, 1);
    // 0.5 core is in bucket 25, which ends at 0.01 × (1.05^26 − 1)/0.05 = 0.51113 → 511m;
    // + trunc(511 × 0.15) = 76 → 587m. Lower: trunc(587 × (1 + 0.001/0.5)^−2) = 584m;
    // upper: 587 × (1 + 1/0.5) = 1761m.
    assert_eq!(r.target.cpu_cores, 0.587);
    assert_eq!(r.lower_bound.cpu_cores, 0.584);
    assert_eq!(r.upper_bound.cpu_cores, 1.761);
    // 600 MiB is in memory bucket 29, ending at 664388475 bytes; + 15% (truncated) =
    // 764046746; lower 760999703; upper 2292140238.
    assert_eq!(r.target.memory_bytes, 764_046_746.0);
    assert_eq!(r.lower_bound.memory_bytes, 760_999_703.0);
    assert_eq!(r.upper_bound.memory_bytes, 2_292_140_238.0);
    assert_eq!(r.uncapped_target, r.target);
}

#[test]
fn confidence_factors_match_the_reference_table() {
    // logic/recommender.go: upper × (1 + 1/confidence): 12h ×3, 24h ×2, 1 week ×1.14;
    // lower × (1 + 0.001/confidence)^−2: 5m ×0.6, 30m ×0.9, 60m ×0.95 (the reference rounds
    // to one or two digits, hence the tolerance).
    let cases: &[(i64, f64, f64)] = &[
        // (minutes of history at one sample a minute, factor, printed value)
        (5, -2.0, 0.6),
        (30, -2.0, 0.9),
        (60, -2.0, 0.95),
        (12 * 60, 1.0, 3.0),
        (24 * 60, 1.0, 2.0),
        (7 * 24 * 60, 1.0, 1.14),
    ];
    for &(minutes, exponent, printed) in cases {
        let s = steady(minutes, 0.5, 600.0 * MIB_U);
        let c = confidence(&s, std::time::Duration::from_secs(86_400));
        assert!(
            (c - minutes as f64 / 1440.0).abs() < 1e-12,
            "{minutes}m: lifespan rules"
        );
        let factor = if exponent < 0.0 {
            (1.0 + 0.001 / c).powf(exponent)
        } else {
            1.0 + 1.0 / c
        };
        assert!(
            (factor - printed).abs() < 0.015,
            "{minutes}m: {factor} vs {printed}"
        );
        // And the recommendation applies exactly that factor to the margin-ed estimate.
        let r = vpa(&s, 1);
        let (bound, target) = if exponent < 0.0 {
            (r.lower_bound.cpu_cores, 0.587)
        } else {
            // upper p95 of a constant is the same bucket end as the target's p90
            (r.upper_bound.cpu_cores, 0.587)
        };
        let want = (587.0 * factor).trunc() / 1000.0;
        assert_eq!(bound, want, "{minutes}m");
        assert_eq!(r.target.cpu_cores, target);
    }
}

#[test]
fn confidence_is_limited_by_the_sample_count() {
    // One sample an hour for 2 days: lifespan 2 days but 49/1440 "days" of samples.
    let mut s = ContainerUsageState::new();
    for h in 0..=48 {
        s.add_cpu_sample(at_hours(h), 0.2);
    }
    let c = confidence(&s, std::time::Duration::from_secs(86_400));
    assert!((c - 49.0 / 1440.0).abs() < 1e-12);
}

#[test]
fn a_single_sample_has_no_confidence_so_bounds_open_up() {
    let mut s = ContainerUsageState::new();
    s.add_cpu_sample(at_hours(0), 0.5);
    s.add_memory_sample(at_hours(0), 600.0 * MIB_U);
    let r = vpa(&s, 1);
    // Upstream: ×∞ clamps to MaxResourceAmount (1e14), ×0 drops to the pod minimum.
    assert_eq!(r.upper_bound.cpu_cores, 1e11);
    assert_eq!(r.upper_bound.memory_bytes, 1e14);
    assert_eq!(r.lower_bound.cpu_cores, 0.025);
    assert_eq!(r.lower_bound.memory_bytes, 250.0 * MIB_U);
    assert_eq!(r.target.cpu_cores, 0.587);
}

#[test]
fn pod_minimum_is_split_among_containers() {
    let s = steady(60, 0.001, 1.0 * MIB_U);
    // The usage estimate: bucket 0 ends at 10m, + 15% = 11m target; the lower bound is
    // trunc(11 × (1 + 0.001/(60/1440))^−2) = trunc(10.49) = 10m. Minimums: 25m and 250 MiB
    // (262144000 bytes) per pod, truncated per container; a third of 25m (8m) is below the
    // estimate, so the estimate stands.
    let cases: &[(usize, f64, f64, f64)] = &[
        (1, 0.025, 0.025, 262_144_000.0),
        (2, 0.012, 0.012, 131_072_000.0),
        (3, 0.011, 0.010, 87_381_333.0),
    ];
    for &(containers, cpu, lower_cpu, memory) in cases {
        let r = vpa(&s, containers);
        assert_eq!(r.target.cpu_cores, cpu, "{containers} containers");
        assert_eq!(
            r.lower_bound.cpu_cores, lower_cpu,
            "{containers} containers"
        );
        assert_eq!(r.target.memory_bytes, memory, "{containers} containers");
    }
}

#[test]
fn config_changes_the_recommendation() {
    let s = steady(720, 0.5, 600.0 * MIB_U);
    let mut config = RightsizingConfig::default();
    config.vpa.recommendation_margin_fraction = 0.0;
    let r = recommend(Strategy::Vpa, &s, &config, 1, at_hours(12)).unwrap();
    assert_eq!(r.target.cpu_cores, 0.511);
}

#[test]
fn no_samples_means_no_recommendation() {
    let s = ContainerUsageState::new();
    for strategy in [Strategy::Vpa, Strategy::Simple] {
        assert_eq!(
            recommend(strategy, &s, &RightsizingConfig::default(), 1, t0()),
            Err(NotEnoughData::NoSamples)
        );
    }
}

#[test]
fn cpu_samples_from_many_pods_at_one_time_all_count() {
    let mut s = ContainerUsageState::new();
    for _pod in 0..3 {
        s.add_cpu_sample(at_hours(0), 0.2);
    }
    assert_eq!(s.total_samples(), 3);
}

#[test]
fn expiry_after_eight_days_without_samples() {
    let mut s = ContainerUsageState::new();
    assert!(s.is_expired(&VpaConfig::DEFAULT, t0()));
    s.add_cpu_sample(at_hours(0), 0.2);
    assert!(!s.is_expired(&VpaConfig::DEFAULT, at_hours(8 * 24 - 1)));
    assert!(s.is_expired(&VpaConfig::DEFAULT, at_hours(8 * 24)));
}

#[test]
fn state_stays_sparse() {
    // A week of varied usage still touches only the buckets it visits.
    let mut s = ContainerUsageState::new();
    for m in 0..(7 * 24 * 60) {
        let cores = 0.2 + 0.1 * ((m % 60) as f64 / 60.0);
        s.add_cpu_sample(at_minutes(m), cores);
        s.add_memory_sample(at_minutes(m), 300e6 + (m % 1000) as f64 * 1e5);
    }
    // cores in [0.2, 0.3): buckets 15..=21; memory peaks: one per day in one bucket.
    assert!(s.stored_buckets() <= 20, "{}", s.stored_buckets());
}

/// KRR simple over 200 samples two minutes apart (6h38m): 190 at 0.1 core, 10 at 1 core;
/// memory peaking at 300 MiB.
fn krr_state(points: i64, step_minutes: i64) -> ContainerUsageState {
    let mut s = ContainerUsageState::new();
    for i in 0..points {
        let t = at_minutes(i * step_minutes);
        s.add_cpu_sample(t, if i % 20 == 0 { 1.0 } else { 0.1 });
        s.add_memory_sample(
            t,
            if i == points / 2 {
                300.0 * MIB_U
            } else {
                200.0 * MIB_U
            },
        );
    }
    s
}

#[test]
fn krr_simple_takes_p95_cpu_and_max_memory_plus_15_percent() {
    let s = krr_state(200, 2);
    let r = recommend_simple(&s, &SimpleConfig::default()).unwrap();
    // p95: 190 of 200 samples sit in 0.1 core's bucket 8, which ends at 0.110266 → 111m.
    assert_eq!(r.cpu_cores, 0.111);
    // 300 MiB × 1.15 = 345 MiB.
    assert_eq!(r.memory_bytes, 345.0 * MIB_U);
}

#[test]
fn krr_simple_respects_the_oom_limit() {
    let mut s = krr_state(200, 2);
    s.record_oom_with(
        &VpaConfig::DEFAULT,
        at_minutes(399),
        256.0 * MIB_U,
        512.0 * MIB_U,
    )
    .unwrap();
    let r = recommend_simple(&s, &SimpleConfig::default()).unwrap();
    // max(345 MiB, 512 MiB × 1.25 = 640 MiB)
    assert_eq!(r.memory_bytes, 640.0 * MIB_U);
    let upstream_default = SimpleConfig {
        use_oomkill_data: false,
        ..SimpleConfig::default()
    };
    assert_eq!(
        recommend_simple(&s, &upstream_default)
            .unwrap()
            .memory_bytes,
        345.0 * MIB_U
    );
}

#[test]
fn krr_simple_minimums_and_not_enough_data() {
    let mut tiny = ContainerUsageState::new();
    for i in 0..200 {
        tiny.add_cpu_sample(at_minutes(i * 2), 0.001);
        tiny.add_memory_sample(at_minutes(i * 2), 10.0 * MIB_U);
    }
    let r = recommend_simple(&tiny, &SimpleConfig::default()).unwrap();
    assert_eq!(r.cpu_cores, 0.010);
    assert_eq!(r.memory_bytes, 100.0 * MIB_U);

    let cfg = SimpleConfig::default();
    assert_eq!(
        recommend_simple(&krr_state(99, 5), &cfg),
        Err(NotEnoughData::TooFewPoints {
            points: 99,
            required: 100
        })
    );
    // 200 points 30 s apart: enough points, 99.5 minutes of history.
    let mut short = ContainerUsageState::new();
    for i in 0..200 {
        let t = t0() + SignedDuration::from_secs(30 * i);
        short.add_cpu_sample(t, 0.1);
        short.add_memory_sample(t, 100e6);
    }
    assert!(matches!(
        recommend_simple(&short, &cfg),
        Err(NotEnoughData::HistoryTooShort { .. })
    ));
    // Exactly 3h is enough.
    let mut three = ContainerUsageState::new();
    for i in 0..=180 {
        three.add_cpu_sample(at_minutes(i), 0.1);
        three.add_memory_sample(at_minutes(i), 100e6);
    }
    assert!(recommend_simple(&three, &cfg).is_ok());
}

#[test]
fn krr_cpu_percentile_is_never_below_the_exact_one() {
    // The bucket end is within one bucket (5%) above the exact p95.
    let mut s = ContainerUsageState::new();
    let mut values = Vec::new();
    for i in 0..500 {
        let v = 0.05 + (i as f64 * 0.37).sin().abs() * 2.0;
        values.push(v);
        s.add_cpu_sample(at_minutes(i), v);
    }
    values.sort_by(f64::total_cmp);
    let exact = values[(0.95 * values.len() as f64).ceil() as usize - 1];
    let approx = s.cpu_all.percentile(&CPU_OPTIONS, 0.95);
    assert!(
        approx >= exact && approx <= exact * 1.05 + 0.01,
        "{approx} vs {exact}"
    );
}

fn input(cpu: f64, memory_mib: f64, replicas: f64) -> RightsizingInput {
    RightsizingInput {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        workload: "web".into(),
        container: "app".into(),
        replicas,
        current_cpu_request_cores: cpu,
        current_memory_request_bytes: memory_mib * MIB_U,
        cpu_per_core_hour: 0.031611,
        ram_per_gib_hour: 0.004237,
    }
}

#[test]
fn saving_is_current_minus_target_priced_over_730_hours() {
    let s = krr_state(200, 2);
    let cfg = RightsizingConfig::default();
    let r = rightsize(
        &input(1.0, 1024.0, 2.0),
        &s,
        Strategy::Simple,
        &cfg,
        1,
        at_hours(7),
    )
    .unwrap();
    // CPU (1 − 0.111) × 0.031611 × 730 × 2 = 41.02918; memory (1024 − 345)/1024 GiB ×
    // 0.004237 × 1460 = 4.10186.
    assert!((r.cpu_monthly_saving_dollars - 41.029_181_34).abs() < 1e-6);
    assert!((r.memory_monthly_saving_dollars - 4.101_862_87).abs() < 1e-6);
    assert!((r.monthly_saving_dollars - 45.131_044_21).abs() < 1e-6);
    assert!(!r.under_provisioned);
    assert_eq!(r.cpu_severity, Severity::Critical);
    assert_eq!(r.memory_severity, Severity::Critical);
    assert_eq!(r.target_quantities.cpu, "111m");
    assert_eq!(r.target_quantities.memory, "345Mi");
    assert_eq!(r.strategy, Strategy::Simple);

    // Under-requested: the saving is negative and flagged.
    let r = rightsize(
        &input(0.05, 200.0, 2.0),
        &s,
        Strategy::Simple,
        &cfg,
        1,
        at_hours(7),
    )
    .unwrap();
    assert!(r.monthly_saving_dollars < 0.0);
    assert!(r.under_provisioned);
    // |0.05 − 0.111| = 0.061 core: good; |200 − 345| = 145 MiB: ok.
    assert_eq!(r.cpu_severity, Severity::Good);
    assert_eq!(r.memory_severity, Severity::Ok);
    assert_eq!(r.severity, Severity::Ok);
}

#[test]
fn severity_thresholds() {
    let cpu: &[(f64, f64, Severity)] = &[
        (1.0, 0.5, Severity::Critical),
        (1.0, 0.51, Severity::Warning),
        (0.5, 0.25, Severity::Warning),
        (0.5, 0.26, Severity::Ok),
        (0.2, 0.1, Severity::Ok),
        (0.2, 0.11, Severity::Good),
        (0.1, 0.7, Severity::Critical),
        (0.0, 0.1, Severity::Warning),
    ];
    for &(current, recommended, want) in cpu {
        assert_eq!(
            Severity::of_cpu(current, recommended),
            want,
            "{current} → {recommended}"
        );
    }
    let memory: &[(f64, f64, Severity)] = &[
        (1000.0, 500.0, Severity::Critical),
        (1000.0, 501.0, Severity::Warning),
        (500.0, 250.0, Severity::Warning),
        (500.0, 400.0, Severity::Ok),
        (500.0, 401.0, Severity::Good),
    ];
    for &(current, recommended, want) in memory {
        assert_eq!(
            Severity::of_memory(current * MIB_U, recommended * MIB_U),
            want,
            "{current}Mi → {recommended}Mi"
        );
    }
}

#[test]
fn quantities_are_rounded_up() {
    let cpu: &[(f64, &str)] = &[
        (0.25, "250m"),
        (1.0, "1"),
        (0.0001, "1m"),
        (2.5, "2500m"),
        (0.587, "587m"),
        (0.110_265_643, "111m"),
        (0.0, "0"),
    ];
    for &(cores, want) in cpu {
        assert_eq!(format_cpu(cores), want, "{cores}");
    }
    let memory: &[(f64, &str)] = &[
        (512.0 * MIB_U, "512Mi"),
        (2048.0 * MIB_U, "2Gi"),
        (1.5 * MIB_U, "2Mi"),
        (764_046_746.0, "729Mi"),
        (0.0, "0"),
    ];
    for &(bytes, want) in memory {
        assert_eq!(format_memory(bytes), want, "{bytes}");
    }
}

#[test]
fn top_recommendations_sort_by_absolute_saving_then_key() {
    let s = krr_state(200, 2);
    let cfg = RightsizingConfig::default();
    let mut all = Vec::new();
    for (workload, cpu) in [("b", 1.0), ("a", 1.0), ("c", 0.01), ("d", 2.0)] {
        let mut i = input(cpu, 345.0, 1.0);
        i.workload = workload.into();
        all.push(rightsize(&i, &s, Strategy::Simple, &cfg, 1, at_hours(7)).unwrap());
    }
    let top = top_recommendations(all, 3);
    let names: Vec<&str> = top.iter().map(|r| r.workload.as_str()).collect();
    assert_eq!(names, ["d", "a", "b"]);
}

#[test]
fn wire_types_are_camel_case() {
    let s = krr_state(200, 2);
    let r = rightsize(
        &input(1.0, 1024.0, 2.0),
        &s,
        Strategy::Vpa,
        &RightsizingConfig::default(),
        1,
        at_hours(7),
    )
    .unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert!(json.get("monthlySavingDollars").is_some());
    assert_eq!(json["strategy"], "vpa");
    assert!(json["target"].get("cpuCores").is_some());
    let back: RightsizingRecommendation = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
    let cfg: VpaConfig = serde_json::from_str(r#"{"memoryAggregationInterval":"12h"}"#).unwrap();
    assert_eq!(
        cfg.memory_aggregation_interval,
        std::time::Duration::from_secs(43_200)
    );
    assert_eq!(cfg.recommendation_margin_fraction, 0.15);
    let _ = HistogramOptions::cpu();
}

#[test]
fn state_is_compact() {
    // 100,000 aggregated containers per cluster: the inline part stays small, the rest is
    // 16 bytes per non-empty bucket.
    let size = std::mem::size_of::<ContainerUsageState>();
    // 296 bytes today (three histograms' Vec + total, six optional timestamps, counters).
    assert!(size <= 300, "{size} bytes");
}
