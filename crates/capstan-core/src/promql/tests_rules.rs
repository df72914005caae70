#![allow(clippy::unwrap_used)]
//! Every default health rule parses and, over a small hand-built store, gives the expected
//! value for a healthy and an unhealthy cluster; its alert expression fires only for the
//! unhealthy one.

use std::collections::BTreeSet;

use super::tests::{self, check, store};
use super::*;
use crate::health::default_rules;

/// Evaluation time: one hour of data, so the 1h windows are covered.
const T: i64 = 3600;

type SeriesData = Vec<(String, Vec<(i64, f64)>)>;

/// A counter growing `per_second`, scraped every 30s for the hour.
fn counter(per_second: f64) -> Vec<(i64, f64)> {
    (0..=T / 30)
        .map(|i| (i * 30, per_second * (i * 30) as f64))
        .collect()
}

/// A gauge at `value`, scraped every 30s for the hour.
fn gauge(value: f64) -> Vec<(i64, f64)> {
    (0..=T / 30).map(|i| (i * 30, value)).collect()
}

/// A gauge at `before` until `at_s`, then `after`.
fn step(before: f64, at_s: i64, after: f64) -> Vec<(i64, f64)> {
    (0..=T / 30)
        .map(|i| (i * 30, if i * 30 < at_s { before } else { after }))
        .collect()
}

fn series(items: &[(&str, Vec<(i64, f64)>)]) -> SeriesData {
    items
        .iter()
        .map(|(s, points)| (s.to_string(), points.clone()))
        .collect()
}

/// Classic histogram buckets `name{labels,le=...}` as counters with the given per-second
/// cumulative rates.
fn buckets(name: &str, labels: &str, rates: &[(&str, f64)]) -> SeriesData {
    rates
        .iter()
        .map(|(le, rate)| (format!("{name}{{{labels},le=\"{le}\"}}"), counter(*rate)))
        .collect()
}

struct Case {
    rule: &'static str,
    healthy: SeriesData,
    healthy_want: Vec<(&'static str, f64)>,
    unhealthy: SeriesData,
    unhealthy_want: Vec<(&'static str, f64)>,
}

fn cases() -> Vec<Case> {
    let cpu = |idle: f64, iowait: f64, steal: f64| {
        let mut s = SeriesData::new();
        for cpu in ["0", "1"] {
            for (mode, rate) in [
                ("idle", idle),
                ("iowait", iowait),
                ("steal", steal),
                ("user", 0.5),
            ] {
                s.push((
                    format!(
                        "node_cpu_seconds_total{{instance=\"n1\",cpu=\"{cpu}\",mode=\"{mode}\"}}"
                    ),
                    counter(rate),
                ));
            }
        }
        s
    };
    let fs = |avail: f64| {
        series(&[
            (
                "node_filesystem_avail_bytes{instance=\"n1\",device=\"sda1\",fstype=\"ext4\",mountpoint=\"/\"}",
                gauge(avail),
            ),
            (
                "node_filesystem_size_bytes{instance=\"n1\",device=\"sda1\",fstype=\"ext4\",mountpoint=\"/\"}",
                gauge(100.0),
            ),
            (
                "node_filesystem_readonly{instance=\"n1\",device=\"sda1\",fstype=\"ext4\",mountpoint=\"/\"}",
                gauge(0.0),
            ),
            // Excluded: a full tmpfs, and a full read-only filesystem.
            (
                "node_filesystem_avail_bytes{instance=\"n1\",device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/run\"}",
                gauge(0.0),
            ),
            (
                "node_filesystem_size_bytes{instance=\"n1\",device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/run\"}",
                gauge(100.0),
            ),
            (
                "node_filesystem_readonly{instance=\"n1\",device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/run\"}",
                gauge(0.0),
            ),
            (
                "node_filesystem_avail_bytes{instance=\"n1\",device=\"sr0\",fstype=\"iso9660\",mountpoint=\"/cd\"}",
                gauge(0.0),
            ),
            (
                "node_filesystem_size_bytes{instance=\"n1\",device=\"sr0\",fstype=\"iso9660\",mountpoint=\"/cd\"}",
                gauge(100.0),
            ),
            (
                "node_filesystem_readonly{instance=\"n1\",device=\"sr0\",fstype=\"iso9660\",mountpoint=\"/cd\"}",
                gauge(1.0),
            ),
        ])
    };
    const POD: &str = "namespace=\"default\",pod=\"web-1\",container=\"web\"";
    let restarts = |points: Vec<(i64, f64)>| -> SeriesData {
        vec![(
            format!("kube_pod_container_status_restarts_total{{{POD}}}"),
            points,
        )]
    };
    let oom = |restart_points: Vec<(i64, f64)>, reason_points: Vec<(i64, f64)>| {
        let mut s = restarts(restart_points);
        s.push((
            format!(
                "kube_pod_container_status_last_terminated_reason{{{POD},reason=\"OOMKilled\"}}"
            ),
            reason_points,
        ));
        s
    };
    let apiserver_latency = |rates: &[(&str, f64)]| {
        let name = "apiserver_request_sli_duration_seconds_bucket";
        let mut s = SeriesData::new();
        for instance in ["a1", "a2"] {
            let labels = format!(
                "cluster=\"c1\",instance=\"{instance}\",verb=\"GET\",resource=\"pods\",subresource=\"\""
            );
            s.extend(buckets(name, &labels, rates));
        }
        // Excluded: watches and log streaming, always slow.
        let slow = [("0.05", 0.0), ("1", 0.0), ("+Inf", 10.0)];
        s.extend(buckets(
            name,
            "cluster=\"c1\",instance=\"a1\",verb=\"WATCH\",resource=\"pods\"",
            &slow,
        ));
        s.extend(buckets(
            name,
            "cluster=\"c1\",instance=\"a1\",verb=\"GET\",resource=\"pods\",subresource=\"log\"",
            &slow,
        ));
        s
    };
    let apiserver_errors = |ok: f64, failed: f64| {
        series(&[
            (
                "apiserver_request_total{cluster=\"c1\",instance=\"a1\",verb=\"GET\",code=\"200\"}",
                counter(ok),
            ),
            (
                "apiserver_request_total{cluster=\"c1\",instance=\"a1\",verb=\"GET\",code=\"503\"}",
                counter(failed),
            ),
            (
                "apiserver_request_total{cluster=\"c1\",instance=\"a1\",verb=\"GET\",code=\"404\"}",
                counter(3.0),
            ),
        ])
    };
    let etcd = |rates: &[(&str, f64)]| {
        buckets(
            "etcd_disk_wal_fsync_duration_seconds_bucket",
            "cluster=\"c1\",instance=\"e1\"",
            rates,
        )
    };
    let disk = |busy: f64| {
        series(&[
            (
                "node_disk_io_time_seconds_total{instance=\"n1\",device=\"nvme0n1\"}",
                counter(busy),
            ),
            // Excluded: loop devices.
            (
                "node_disk_io_time_seconds_total{instance=\"n1\",device=\"loop0\"}",
                counter(1.0),
            ),
        ])
    };
    let network = |drops: f64| {
        series(&[
            (
                "node_network_receive_drop_total{instance=\"n1\",device=\"eth0\"}",
                counter(drops),
            ),
            (
                "node_network_transmit_drop_total{instance=\"n1\",device=\"eth0\"}",
                counter(drops),
            ),
            (
                "node_network_receive_packets_total{instance=\"n1\",device=\"eth0\"}",
                counter(1000.0),
            ),
            (
                "node_network_transmit_packets_total{instance=\"n1\",device=\"eth0\"}",
                counter(1000.0),
            ),
            // Excluded: loopback, dropping everything.
            (
                "node_network_receive_drop_total{instance=\"n1\",device=\"lo\"}",
                counter(10.0),
            ),
            (
                "node_network_transmit_drop_total{instance=\"n1\",device=\"lo\"}",
                counter(10.0),
            ),
            (
                "node_network_receive_packets_total{instance=\"n1\",device=\"lo\"}",
                counter(10.0),
            ),
            (
                "node_network_transmit_packets_total{instance=\"n1\",device=\"lo\"}",
                counter(10.0),
            ),
        ])
    };
    let probe = |rtt: f64| {
        series(&[
            (
                "probe_icmp_duration_seconds{instance=\"n2\",phase=\"rtt\"}",
                gauge(rtt),
            ),
            (
                "probe_icmp_duration_seconds{instance=\"n2\",phase=\"resolve\"}",
                gauge(0.5),
            ),
            ("probe_success{instance=\"n2\"}", gauge(1.0)),
            // Excluded: a failed probe (rtt left at 0).
            (
                "probe_icmp_duration_seconds{instance=\"n3\",phase=\"rtt\"}",
                gauge(0.0),
            ),
            ("probe_success{instance=\"n3\"}", gauge(0.0)),
        ])
    };
    let fs_labels = "instance=n1 device=sda1 fstype=ext4 mountpoint=/";
    let container = "namespace=default pod=web-1 container=web";
    vec![
        Case {
            rule: "NodeCPUHigh",
            // Not busy: 0.7 + 0.05 + 0.05 per CPU (user time does not count).
            healthy: cpu(0.7, 0.05, 0.05),
            healthy_want: vec![("instance=n1", 0.2)],
            unhealthy: cpu(0.1, 0.0, 0.0),
            unhealthy_want: vec![("instance=n1", 0.9)],
        },
        Case {
            rule: "NodeMemoryHigh",
            healthy: series(&[
                (
                    "node_memory_MemAvailable_bytes{instance=\"n1\"}",
                    gauge(4e9),
                ),
                ("node_memory_MemTotal_bytes{instance=\"n1\"}", gauge(8e9)),
            ]),
            healthy_want: vec![("instance=n1", 0.5)],
            unhealthy: series(&[
                (
                    "node_memory_MemAvailable_bytes{instance=\"n1\"}",
                    gauge(0.8e9),
                ),
                ("node_memory_MemTotal_bytes{instance=\"n1\"}", gauge(8e9)),
            ]),
            unhealthy_want: vec![("instance=n1", 0.9)],
        },
        Case {
            rule: "NodeFilesystemHigh",
            healthy: fs(70.0),
            healthy_want: vec![(fs_labels, 0.3)],
            unhealthy: fs(10.0),
            unhealthy_want: vec![(fs_labels, 0.9)],
        },
        Case {
            rule: "ContainerRestartsHigh",
            // The counter starts at 0, so the hour's increase is exact (no extrapolation
            // below zero).
            healthy: restarts(step(0.0, 1800, 1.0)),
            healthy_want: vec![(container, 1.0)],
            unhealthy: restarts(step(0.0, 1800, 6.0)),
            unhealthy_want: vec![(container, 6.0)],
        },
        Case {
            rule: "ContainerOOMKilled",
            // OOMKilled long ago, no restart in the last 10 minutes.
            healthy: oom(gauge(1.0), gauge(1.0)),
            healthy_want: vec![(container, 0.0)],
            // Restarted at 3060s after an OOM kill; kube-state-metrics exposes the reason
            // series from then on.
            unhealthy: oom(
                step(0.0, 3060, 1.0),
                gauge(1.0).into_iter().filter(|(t, _)| *t >= 3060).collect(),
            ),
            unhealthy_want: vec![(container, 1.0)],
        },
        Case {
            rule: "APIServerLatencyHigh",
            // p99 (rank 99 of 100/s) within (0.05, 0.1]: 0.05 + 0.05 * 9/9.5.
            healthy: apiserver_latency(&[
                ("0.05", 90.0),
                ("0.1", 99.5),
                ("0.2", 100.0),
                ("1", 100.0),
                ("+Inf", 100.0),
            ]),
            healthy_want: vec![("cluster=c1 verb=GET", 0.05 + 0.05 * 9.0 / 9.5)],
            // Within (0.8, 1]: 0.8 + 0.2 * 4/4.5.
            unhealthy: apiserver_latency(&[
                ("0.05", 50.0),
                ("0.4", 80.0),
                ("0.8", 95.0),
                ("1", 99.5),
                ("+Inf", 100.0),
            ]),
            unhealthy_want: vec![("cluster=c1 verb=GET", 0.8 + 0.2 * 4.0 / 4.5)],
        },
        Case {
            rule: "APIServerErrorsHigh",
            // 404s count as requests, not as errors.
            healthy: apiserver_errors(96.5, 0.5),
            healthy_want: vec![("cluster=c1", 0.005)],
            unhealthy: apiserver_errors(92.0, 5.0),
            unhealthy_want: vec![("cluster=c1", 0.05)],
        },
        Case {
            rule: "EtcdWALFsyncSlow",
            // Rank 99 of 100 in (0.004, 0.008]: 0.004 + 0.004 * 9/10.
            healthy: etcd(&[
                ("0.001", 0.0),
                ("0.002", 50.0),
                ("0.004", 90.0),
                ("0.008", 100.0),
                ("0.016", 100.0),
                ("+Inf", 100.0),
            ]),
            healthy_want: vec![("cluster=c1 instance=e1", 0.0076)],
            // Rank 297 of 300 in (0.008, 0.016]: 0.008 + 0.008 * 17/20.
            unhealthy: etcd(&[
                ("0.001", 0.0),
                ("0.004", 100.0),
                ("0.008", 280.0),
                ("0.016", 300.0),
                ("+Inf", 300.0),
            ]),
            unhealthy_want: vec![("cluster=c1 instance=e1", 0.008 + 0.008 * 17.0 / 20.0)],
        },
        Case {
            rule: "NodeDiskIOBusy",
            healthy: disk(0.2),
            healthy_want: vec![("instance=n1 device=nvme0n1", 0.2)],
            unhealthy: disk(0.9),
            unhealthy_want: vec![("instance=n1 device=nvme0n1", 0.9)],
        },
        Case {
            rule: "NodePacketLoss",
            healthy: network(0.05),
            healthy_want: vec![("instance=n1 device=eth0", 0.00005)],
            unhealthy: network(5.0),
            unhealthy_want: vec![("instance=n1 device=eth0", 0.005)],
        },
        Case {
            rule: "ProbeRTTHigh",
            healthy: probe(0.002),
            healthy_want: vec![("instance=n2 phase=rtt", 0.002)],
            unhealthy: probe(0.02),
            unhealthy_want: vec![("instance=n2 phase=rtt", 0.02)],
        },
    ]
}

fn build(data: &SeriesData) -> SeriesStore {
    let refs: Vec<(&str, &[(i64, f64)])> = data
        .iter()
        .map(|(s, p)| (s.as_str(), p.as_slice()))
        .collect();
    store(&refs)
}

#[test]
fn every_default_rule_parses_and_names_its_metrics() {
    for rule in default_rules() {
        for expr in [rule.expr.clone(), rule.alert_expr()] {
            let query = Query::parse(&expr).unwrap_or_else(|e| panic!("{}: {e}", rule.name));
            assert!(!query.metric_names().is_empty(), "{}", rule.name);
            assert!(query.lookback().as_secs() >= 300, "{}", rule.name);
        }
    }
}

#[test]
fn every_default_rule_tells_healthy_from_unhealthy() {
    let rules = default_rules();
    let covered: BTreeSet<&str> = cases().iter().map(|c| c.rule).collect();
    let all: BTreeSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(covered, all, "every default rule has a case");
    for case in cases() {
        let rule = rules.iter().find(|r| r.name == case.rule).unwrap();
        let alert = Query::parse(&rule.alert_expr()).unwrap();
        for (data, want, firing) in [
            (&case.healthy, &case.healthy_want, false),
            (&case.unhealthy, &case.unhealthy_want, true),
        ] {
            let store = build(data);
            check(&store, &rule.expr, T, want);
            let fired = evaluate(&alert, &store, T * 1000).unwrap();
            assert_eq!(!fired.is_empty(), firing, "{}: {fired:?}", rule.name);
            for (_, value) in &fired {
                assert!(rule.holds(*value), "{}: {value}", rule.name);
            }
        }
    }
}

/// One node's scrape at `t_s`: about 100 series (node exporter, kube-state-metrics and
/// blackbox shaped), counters growing with time.
fn node_exposition(node: usize, t_s: i64) -> String {
    let t = t_s as f64;
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    for cpu in 0..4 {
        for (i, mode) in [
            "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
        ]
        .iter()
        .enumerate()
        {
            let v = t * (i + 1) as f64 / 36.0;
            line(format!(
                "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} {v}"
            ));
        }
    }
    line(format!(
        "node_memory_MemAvailable_bytes {}",
        4e9 + node as f64
    ));
    line("node_memory_MemTotal_bytes 8e9".to_string());
    for (device, fstype, mountpoint) in [
        ("sda1", "ext4", "/"),
        ("sda2", "ext4", "/var"),
        ("tmpfs", "tmpfs", "/run"),
    ] {
        let labels = format!("device=\"{device}\",fstype=\"{fstype}\",mountpoint=\"{mountpoint}\"");
        line(format!("node_filesystem_avail_bytes{{{labels}}} 5e10"));
        line(format!("node_filesystem_size_bytes{{{labels}}} 1e11"));
        line(format!("node_filesystem_readonly{{{labels}}} 0"));
    }
    for device in ["sda", "nvme0n1", "loop0"] {
        line(format!(
            "node_disk_io_time_seconds_total{{device=\"{device}\"}} {}",
            t * 0.1
        ));
    }
    for device in ["eth0", "lo", "veth1234", "cni0"] {
        for m in [
            "receive_drop",
            "transmit_drop",
            "receive_packets",
            "transmit_packets",
        ] {
            line(format!(
                "node_network_{m}_total{{device=\"{device}\"}} {}",
                t * 10.0
            ));
        }
    }
    for pod in 0..18 {
        let labels = format!(
            "namespace=\"ns{}\",pod=\"p{node}-{pod}\",container=\"c\"",
            pod % 3
        );
        line(format!(
            "kube_pod_container_status_restarts_total{{{labels}}} {}",
            pod % 2
        ));
        line(format!(
            "kube_pod_container_status_last_terminated_reason{{{labels},reason=\"OOMKilled\"}} 1"
        ));
    }
    line("probe_icmp_duration_seconds{phase=\"rtt\"} 0.001".to_string());
    line("probe_icmp_duration_seconds{phase=\"resolve\"} 0.0001".to_string());
    line("probe_success 1".to_string());
    text
}

/// Fleet scale (run with `--ignored`, ideally `--release`): 1,000 nodes of ~100 series
/// scraped every 30s for 5 minutes, then every default rule evaluated.
#[test]
#[ignore = "fleet-scale smoke run; slow in debug builds"]
fn fleet_scale_scrapes_and_rules() {
    const NODES: usize = 1000;
    let mut store = SeriesStore::new(std::time::Duration::from_secs(3900));
    let mut samples_per_scrape = 0;
    for scrape in 0..=10 {
        let t_s = 100_000 + scrape * 30;
        samples_per_scrape = 0;
        for node in 0..NODES {
            let samples = parse_exposition(&node_exposition(node, t_s)).unwrap();
            samples_per_scrape += samples.len();
            let target = tests::ls(&format!("job=node instance=n{node} cluster=c1"));
            store.ingest_scrape(&format!("n{node}"), &target, samples, t_s * 1000);
        }
        store.prune(t_s * 1000);
    }
    assert!(samples_per_scrape >= 100_000, "{samples_per_scrape}");
    assert_eq!(store.series_count(), samples_per_scrape);
    let at_ms = (100_000 + 300) * 1000;
    for rule in default_rules() {
        let query = Query::parse(&rule.alert_expr()).unwrap();
        let fired = evaluate(&query, &store, at_ms).unwrap();
        let values = evaluate(&Query::parse(&rule.expr).unwrap(), &store, at_ms).unwrap();
        assert!(fired.len() <= values.len(), "{}", rule.name);
    }
    let cpu = Query::parse(&default_rules()[0].expr).unwrap();
    assert_eq!(evaluate(&cpu, &store, at_ms).unwrap().len(), NODES);
}
