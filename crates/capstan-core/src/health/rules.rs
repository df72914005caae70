//! The default rule set: the key-metric table (../shared/reference/observability-cost-security.md
//! section A.1), each expression in the style of the upstream mixins it cites.
//!
//! Severity: `critical` is kept for what users of the cluster feel now and what an upgrade
//! is most likely to break (the API server failing or slow, containers crash-looping); these
//! halt a canary rollout by default. Saturation and infrastructure precursors (node CPU,
//! memory, disk, disk IO, etcd fsync, network loss and latency, single OOM kills) are
//! `warning`.
//!
//! Selectors carry no `job` label: the job names differ between kube-prometheus and the
//! mixins' defaults, and the agent evaluates the same expressions over what it scraped
//! itself. Expressions keep the series' labels (`without`, or `by (cluster, ...)`), so one
//! alert names the node, pod or verb it is about.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Comparison, HealthRule, Severity};

const MINUTE: u64 = 60;

fn rule(
    name: &str,
    component: &str,
    expr: &str,
    threshold: f64,
    for_minutes: u64,
    severity: Severity,
    summary: &str,
) -> HealthRule {
    HealthRule {
        name: name.to_string(),
        expr: expr.to_string(),
        for_: Duration::from_secs(for_minutes * MINUTE),
        threshold,
        comparison: Comparison::Above,
        severity,
        summary: summary.to_string(),
        labels: BTreeMap::from([("component".to_string(), component.to_string())]),
    }
}

/// The default health rules, in the order of the key-metric table.
pub fn default_rules() -> Vec<HealthRule> {
    use Severity::{Critical, Warning};
    vec![
        // node-mixin record `instance:node_cpu_utilisation:rate5m`
        // (node_exporter docs/node-mixin/rules/rules.libsonnet). It counts steal as not
        // busy, unlike the `NodeCPUHighUsage` alert (> 90%, for 15m); we follow the
        // recording rule so that a noisy neighbour does not read as our own load.
        rule(
            "NodeCPUHigh",
            "node",
            r#"1 - avg without (cpu) (sum without (mode) (rate(node_cpu_seconds_total{mode=~"idle|iowait|steal"}[5m])))"#,
            0.80,
            15,
            Warning,
            "Node CPU utilisation is above 80%.",
        ),
        // node-mixin alert `NodeMemoryHighUtilization` (> 90%, for 15m), as a ratio.
        rule(
            "NodeMemoryHigh",
            "node",
            "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
            0.80,
            15,
            Warning,
            "Node memory utilisation is above 80%.",
        ),
        // node-mixin `NodeFilesystemAlmostOutOfSpace` (for 30m; read-only filesystems
        // excluded), as used space. The kubelet's image GC starts at 85% by default, so
        // 80% warns before it has to.
        rule(
            "NodeFilesystemHigh",
            "node",
            concat!(
                r#"1 - node_filesystem_avail_bytes{fstype!="",fstype!~"tmpfs|overlay|squashfs",mountpoint!=""}"#,
                r#" / node_filesystem_size_bytes{fstype!="",fstype!~"tmpfs|overlay|squashfs",mountpoint!=""}"#,
                r#" and node_filesystem_readonly{fstype!="",fstype!~"tmpfs|overlay|squashfs",mountpoint!=""} == 0"#,
            ),
            0.80,
            30,
            Warning,
            "Node filesystem usage is above 80%.",
        ),
        // The KSM counter behind kubernetes-mixin's pre-2021 `KubePodCrashLooping`
        // (`increase(kube_pod_container_status_restarts_total[10m]) > 0`), over an hour.
        // The 1h window already smooths, so it fires at once.
        rule(
            "ContainerRestartsHigh",
            "workload",
            "increase(kube_pod_container_status_restarts_total[1h])",
            5.0,
            0,
            Critical,
            "A container restarted more than 5 times in the last hour.",
        ),
        // samber/awesome-prometheus-alerts `KubernetesContainerOomKiller` (for 0m): a restart
        // in the last 10 minutes whose last termination was OOMKilled. kubernetes-mixin has
        // no OOM alert; cAdvisor's `container_oom_events_total` can stay at zero when its
        // OOM watcher is not wired, so it is not used here.
        rule(
            "ContainerOOMKilled",
            "workload",
            concat!(
                "(kube_pod_container_status_restarts_total - kube_pod_container_status_restarts_total offset 10m)",
                r#" and ignoring (reason) min_over_time(kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}[10m]) == 1"#,
            ),
            0.0,
            0,
            Warning,
            "A container was OOMKilled in the last 10 minutes.",
        ),
        // kubernetes-mixin record
        // `cluster_quantile:apiserver_request_sli_duration_seconds:histogram_quantile`
        // (rules/kube_apiserver-histogram.libsonnet), per verb rather than read/write, over
        // the non-streaming requests. The threshold-style `KubeAPILatencyHigh` it replaces
        // (for 5m) was removed upstream in favour of SLO burn rates.
        rule(
            "APIServerLatencyHigh",
            "apiserver",
            concat!(
                "histogram_quantile(0.99, sum by (cluster, verb, le) (rate(apiserver_request_sli_duration_seconds_bucket",
                r#"{verb!~"WATCH|CONNECT",subresource!~"proxy|attach|log|exec|portforward"}[5m])))"#,
            ),
            0.5,
            10,
            Critical,
            "API server p99 request latency is above 500 ms.",
        ),
        // The 5xx share of kubernetes-mixin's `apiserver_request:burnrate*` records; the
        // historic `KubeAPIErrorsHigh` alerted at 5% for 10m.
        rule(
            "APIServerErrorsHigh",
            "apiserver",
            concat!(
                r#"sum by (cluster) (rate(apiserver_request_total{code=~"5.."}[5m]))"#,
                " / sum by (cluster) (rate(apiserver_request_total[5m]))",
            ),
            0.01,
            10,
            Critical,
            "More than 1% of API server requests fail with 5xx.",
        ),
        // etcd-mixin `etcdHighFsyncDurations` (contrib/mixin, > 0.5 s warning, for 10m) at
        // the 10 ms p99 that etcd's disk guidance asks for. The WAL fsync buckets are powers
        // of two from 1 ms, so 10 ms is interpolated between le=0.008 and le=0.016.
        rule(
            "EtcdWALFsyncSlow",
            "etcd",
            "histogram_quantile(0.99, sum by (cluster, instance, le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket[5m])))",
            0.010,
            10,
            Warning,
            "etcd WAL fsync p99 is above 10 ms.",
        ),
        // node-mixin record `instance_device:node_disk_io_time_seconds:rate5m` with
        // kubernetes-mixin's `diskDeviceSelector`; the rate of busy seconds is the busy share.
        rule(
            "NodeDiskIOBusy",
            "node",
            r#"rate(node_disk_io_time_seconds_total{device=~"(/dev.+)|mmcblk.p.+|nvme.+|rbd.+|sd.+|vd.+|xvd.+|dm-.+|dasd.+"}[5m])"#,
            0.70,
            10,
            Warning,
            "A node disk is busy more than 70% of the time.",
        ),
        // node-mixin `NodeNetworkReceiveErrs` (errs / packets > 1%, for 1h) for drops, over
        // physical interfaces as in `instance:node_network_receive_drop_excluding_lo:rate5m`.
        rule(
            "NodePacketLoss",
            "network",
            concat!(
                r#"(rate(node_network_receive_drop_total{device!~"lo|veth.+"}[5m]) + rate(node_network_transmit_drop_total{device!~"lo|veth.+"}[5m]))"#,
                r#" / (rate(node_network_receive_packets_total{device!~"lo|veth.+"}[5m]) + rate(node_network_transmit_packets_total{device!~"lo|veth.+"}[5m]))"#,
            ),
            0.001,
            15,
            Warning,
            "More than 0.1% of a node's packets are dropped.",
        ),
        // blackbox_exporter's ICMP prober (prober/icmp.go) `probe_icmp_duration_seconds`,
        // only where the probe succeeded: a failed probe leaves rtt at 0.
        rule(
            "ProbeRTTHigh",
            "network",
            concat!(
                r#"avg_over_time(probe_icmp_duration_seconds{phase="rtt"}[5m])"#,
                " and ignoring (phase) probe_success == 1",
            ),
            0.010,
            10,
            Warning,
            "Probe round-trip time is above 10 ms.",
        ),
    ]
}
