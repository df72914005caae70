#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use super::*;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

/// Midnight UTC of some day.
const DAY0: i64 = 1_790_000_000 - 1_790_000_000 % 86_400;

fn requests(cpu: f64, mem: f64) -> Resources {
    Resources {
        cpu_request_cores: cpu,
        memory_request_bytes: mem,
        ..Resources::default()
    }
}

fn workload_named(i: usize) -> (String, String) {
    (format!("team-{}", i % 7), format!("app-{i}"))
}

#[test]
fn workload_of_a_pod_is_its_controller_with_replica_sets_as_deployments() {
    fn check(controller: Option<(&str, &str)>, hash: Option<&str>, want: (&str, &str)) {
        let w = Workload::of_pod("shop", "pod-x", controller, hash);
        assert_eq!((w.kind, w.name), want, "{controller:?} {hash:?}");
        assert_eq!(w.namespace, "shop");
    }
    check(
        Some(("ReplicaSet", "web-5d8f9c7b6")),
        Some("5d8f9c7b6"),
        ("Deployment", "web"),
    );
    // A ReplicaSet of its own (no matching hash) stays a ReplicaSet.
    check(
        Some(("ReplicaSet", "web-abc")),
        Some("5d8f9c7b6"),
        ("ReplicaSet", "web-abc"),
    );
    check(
        Some(("ReplicaSet", "web-abc")),
        None,
        ("ReplicaSet", "web-abc"),
    );
    check(Some(("StatefulSet", "db")), None, ("StatefulSet", "db"));
    check(Some(("DaemonSet", "agent")), None, ("DaemonSet", "agent"));
    check(Some(("Job", "backup-1")), None, ("Job", "backup-1"));
    check(None, None, ("Pod", "pod-x"));
}

#[test]
fn same_seed_workload_and_time_give_the_same_usage() {
    let res = requests(0.5, GIB);
    let w = Workload {
        namespace: "shop",
        kind: "Deployment",
        name: "web",
    };
    let at = ts(DAY0 + 12_345);
    let a = UsageModel::new(7);
    let ta = a.workload(&w);
    let first = a.container(&ta, "uid-1", "app", &res, true, at);
    let again = UsageModel::new(7);
    let tb = again.workload(&w);
    assert_eq!(ta, tb);
    assert_eq!(first, again.container(&tb, "uid-1", "app", &res, true, at));
    assert_eq!(a.network(&ta, "uid-1", at), again.network(&tb, "uid-1", at));
    // Another seed draws another workload.
    let other: Vec<_> = (0..20)
        .map(|s| {
            let m = UsageModel::new(s);
            m.container(&m.workload(&w), "uid-1", "app", &res, true, at)
        })
        .collect();
    assert!(other.windows(2).any(|p| p[0] != p[1]));
    assert_eq!(first.memory_bytes % 4096.0, 0.0);
}

#[test]
fn replicas_of_a_workload_stay_within_the_pod_jitter_of_each_other() {
    let m = UsageModel::new(3);
    let res = requests(1.0, 2.0 * GIB);
    for i in 0..200 {
        let (ns, name) = workload_named(i);
        let w = m.workload(&Workload {
            namespace: &ns,
            kind: "Deployment",
            name: &name,
        });
        let at = ts(DAY0 + 3600 * (i as i64 % 24));
        let a = m.container(&w, "pod-a", "app", &res, true, at);
        let b = m.container(&w, "pod-b", "app", &res, true, at);
        // CPU jitter 0.9-1.1 and memory 0.95-1.05 per pod (plus 2% memory noise).
        let cpu_ratio = a.cpu_cores / b.cpu_cores;
        assert!((0.9 / 1.1..=1.1 / 0.9).contains(&cpu_ratio), "{cpu_ratio}");
        let mem_ratio = a.memory_bytes / b.memory_bytes;
        assert!((0.88..=1.14).contains(&mem_ratio), "{mem_ratio}");
    }
}

#[test]
fn profile_shares_follow_the_documented_mixture() {
    let m = UsageModel::new(11);
    let n = 20_000;
    let mut counts = std::collections::HashMap::new();
    let mut heavy = 0;
    for i in 0..n {
        let (ns, name) = workload_named(i);
        let w = m.workload(&Workload {
            namespace: &ns,
            kind: "Deployment",
            name: &name,
        });
        *counts.entry(w.profile).or_insert(0usize) += 1;
        heavy += usize::from(w.egress_heavy);
    }
    for (profile, share) in PROFILE_SHARES {
        let got = counts.get(&profile).copied().unwrap_or(0) as f64 / n as f64;
        assert!((got - share).abs() < 0.015, "{profile:?}: {got} vs {share}");
    }
    let heavy = heavy as f64 / n as f64;
    assert!((heavy - EGRESS_HEAVY_SHARE).abs() < 0.01, "{heavy}");
}

/// Mean CPU and memory as shares of the requests over one day, 5-minute samples.
fn daily_means(m: &UsageModel, w: &WorkloadTraits, res: &Resources) -> (f64, f64) {
    let (mut cpu, mut mem) = (0.0, 0.0);
    let samples = 288;
    for k in 0..samples {
        let u = m.container(w, "uid", "app", res, true, ts(DAY0 + 300 * k));
        cpu += u.cpu_cores / res.cpu_request_cores;
        mem += u.memory_bytes / res.memory_request_bytes;
    }
    (cpu / samples as f64, mem / samples as f64)
}

#[test]
fn each_profile_uses_its_documented_share_of_the_requests() {
    let m = UsageModel::new(5);
    let res = requests(2.0, 4.0 * GIB);
    let mut seen = std::collections::HashSet::new();
    for i in 0..400 {
        let (ns, name) = workload_named(i);
        let w = m.workload(&Workload {
            namespace: &ns,
            kind: "StatefulSet",
            name: &name,
        });
        if w.profile == Profile::Bursty {
            continue; // its own test
        }
        seen.insert(w.profile);
        let (cpu, mem) = daily_means(&m, &w, &res);
        // Documented ranges, with room for the jitter, noise and a day's drift.
        let (clo, chi, mlo, mhi) = match w.profile {
            Profile::OverProvisioned => (0.05, 0.25, 0.20, 0.50),
            Profile::WellSized => (0.40, 0.80, 0.50, 0.80),
            Profile::UnderProvisioned => (0.90, 1.50, 0.95, 1.15),
            Profile::Bursty => unreachable!(),
        };
        assert!(
            (clo * 0.8..=chi * 1.2).contains(&cpu),
            "{:?} cpu {cpu}",
            w.profile
        );
        assert!(
            (mlo * 0.88..=mhi * 1.12).contains(&mem),
            "{:?} mem {mem}",
            w.profile
        );
    }
    assert_eq!(seen.len(), 3);
}

#[test]
fn bursty_workloads_idle_for_hours_between_busy_periods() {
    let m = UsageModel::new(9);
    let res = requests(1.0, 2.0 * GIB);
    let mut checked = 0;
    for i in 0..300 {
        let (ns, name) = workload_named(i);
        let w = m.workload(&Workload {
            namespace: &ns,
            kind: "Job",
            name: &name,
        });
        if w.profile != Profile::Bursty {
            continue;
        }
        checked += 1;
        // Three days in 5-minute steps: the longest near-zero stretch and the busy peak.
        let (mut run, mut longest, mut peak) = (0i64, 0i64, 0.0f64);
        for k in 0..(3 * 288) {
            let u = m.container(&w, "uid", "app", &res, true, ts(DAY0 + 300 * k));
            peak = peak.max(u.cpu_cores);
            if u.cpu_cores < 0.002 {
                run += 300;
                longest = longest.max(run);
            } else {
                run = 0;
            }
        }
        // Busy at most 25% of a period of at least 6 h: idle at least 4.5 h at a stretch.
        assert!(longest >= 4 * 3600, "{name}: longest idle {longest}s");
        assert!(peak > 0.2, "{name}: never busy ({peak})");
    }
    assert!(checked > 10, "{checked}");
}

#[test]
fn cpu_peaks_in_the_afternoon() {
    let m = UsageModel::new(13);
    let res = requests(1.0, GIB);
    let (mut afternoon, mut night) = (0.0, 0.0);
    for i in 0..300 {
        let (ns, name) = workload_named(i);
        let w = m.workload(&Workload {
            namespace: &ns,
            kind: "Deployment",
            name: &name,
        });
        if w.profile == Profile::Bursty {
            continue;
        }
        afternoon += m
            .container(&w, "u", "app", &res, true, ts(DAY0 + 15 * 3600))
            .cpu_cores;
        night += m
            .container(&w, "u", "app", &res, true, ts(DAY0 + 3 * 3600))
            .cpu_cores;
    }
    // Amplitudes 15-45% (mean 30%): about (1.3 / 0.7) = 1.86 between peak and trough.
    let ratio = afternoon / night;
    assert!((1.5..2.3).contains(&ratio), "{ratio}");
}

#[test]
fn waiting_containers_use_nothing_and_limits_cap_use() {
    let m = UsageModel::new(1);
    let mut under = None;
    for i in 0..500 {
        let (ns, name) = workload_named(i);
        let w = m.workload(&Workload {
            namespace: &ns,
            kind: "Deployment",
            name: &name,
        });
        if w.profile == Profile::UnderProvisioned {
            under = Some(w);
            break;
        }
    }
    let w = under.unwrap();
    let at = ts(DAY0 + 15 * 3600);
    let res = Resources {
        cpu_request_cores: 0.5,
        memory_request_bytes: GIB,
        cpu_limit_cores: 0.5,
        memory_limit_bytes: GIB,
    };
    assert_eq!(
        m.container(&w, "u", "app", &res, false, at),
        ContainerUsage::default()
    );
    let u = m.container(&w, "u", "app", &res, true, at);
    assert!(u.cpu_cores <= 0.5 && u.cpu_cores > 0.4, "{}", u.cpu_cores);
    assert!(u.memory_bytes < GIB && u.memory_bytes > 0.85 * GIB);
}

#[test]
fn containers_without_requests_use_small_absolute_amounts() {
    let m = UsageModel::new(2);
    for i in 0..100 {
        let (ns, name) = workload_named(i);
        let w = m.workload(&Workload {
            namespace: &ns,
            kind: "DaemonSet",
            name: &name,
        });
        let u = m.container(
            &w,
            "u",
            "sidecar",
            &Resources::default(),
            true,
            ts(DAY0 + 600 * i as i64),
        );
        assert!(u.cpu_cores < 0.04, "{}", u.cpu_cores);
        assert!(u.memory_bytes > 12.0 * MIB && u.memory_bytes < 150.0 * MIB);
    }
}

#[test]
fn egress_is_small_for_most_pods_and_large_for_heavy_workloads() {
    let m = UsageModel::new(4);
    let at = ts(DAY0 + 15 * 3600);
    let mut small = 0;
    for i in 0..1000 {
        let (ns, name) = workload_named(i);
        let w = m.workload(&Workload {
            namespace: &ns,
            kind: "Deployment",
            name: &name,
        });
        let n = m.network(&w, "pod", at);
        if !m.busy(&w, at) {
            // 1% of the busy rate.
            let cap = if w.egress_heavy { 0.4e6 } else { 1e3 };
            assert!(n.transmit_bytes_per_sec < cap, "{n:?}");
            continue;
        }
        if w.egress_heavy {
            assert!(n.transmit_bytes_per_sec > 0.5e6, "{n:?}");
        } else {
            assert!(n.transmit_bytes_per_sec < 150e3, "{n:?}");
            small += 1;
        }
        let ratio = n.receive_bytes_per_sec / n.transmit_bytes_per_sec;
        assert!((0.29..3.01).contains(&ratio));
    }
    assert!(small > 800, "{small}");
}
