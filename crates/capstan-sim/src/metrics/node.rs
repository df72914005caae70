//! node-exporter for one node (`GET /api/v1/nodes/{node}:9100/proxy/metrics`): CPU seconds
//! by mode, memory, filesystems, disk busy time and network packets and drops, with
//! node-exporter's names and labels.
//!
//! Load follows the node's pods: CPU busy share is about 0.55 x (CPU requests / allocatable)
//! plus the system's own share, a seeded per-node offset and a slow wobble; memory likewise
//! from memory requests. A default fleet (nodes filled to 55-70% of allocatable) reads
//! 25-55% CPU and memory, 20-50% disk, disk IO busy under 20%, drops well under 0.01%.
//! `faults/node-pressure` sets floors under CPU, memory, disk and disk IO busy shares;
//! `faults/network` sets the dropped share of packets.
//!
//! A scrape touches only its node's counters, so scraping every node of a large cluster is
//! one short lock and a few hundred lines each.

use super::expo::{Expo, Kind};
use super::{MetricsState, unit, wobble};
use crate::cluster::{ClusterData, keys};
use crate::error::{ApiError, ApiResult};
use crate::store::ObjKey;

/// node-exporter's CPU modes on Linux (collector/cpu_linux.go), in its order.
const MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];
const IDLE: usize = 0;
const IOWAIT: usize = 1;
const IRQ: usize = 2;
const NICE: usize = 3;
const SOFTIRQ: usize = 4;
const STEAL: usize = 5;
const SYSTEM: usize = 6;
const USER: usize = 7;

/// How a CPU's boot-time head start splits over the modes (constant, so counters only grow).
const BOOT_MODE_SHARE: [f64; 8] = [0.8, 0.02, 0.005, 0.005, 0.02, 0.0, 0.05, 0.1];

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What a node's counters grow by per real second.
#[derive(Debug, Clone, Copy, Default)]
struct NodeRates {
    /// Share of each CPU's time per mode (sums to 1).
    modes: [f64; 8],
    disk_busy: f64,
    rx_pps: f64,
    tx_pps: f64,
    rx_drops: f64,
    tx_drops: f64,
    lo_pps: f64,
}

/// One node's counters.
#[derive(Debug, Clone)]
pub struct NodeCounters {
    last: f64,
    rates: NodeRates,
    /// Seconds per CPU by mode.
    cpu: [f64; 8],
    disk_io: f64,
    rx: f64,
    tx: f64,
    rx_drop: f64,
    tx_drop: f64,
    lo: f64,
}

impl NodeCounters {
    fn advance(&mut self, now: f64) {
        let dt = (now - self.last).max(0.0);
        self.add(&self.rates.clone(), dt);
        self.last = now;
    }

    fn add(&mut self, r: &NodeRates, dt: f64) {
        for (c, share) in self.cpu.iter_mut().zip(r.modes) {
            *c += share * dt;
        }
        self.disk_io += r.disk_busy * dt;
        self.rx += r.rx_pps * dt;
        self.tx += r.tx_pps * dt;
        self.rx_drop += r.rx_drops * dt;
        self.tx_drop += r.tx_drops * dt;
        self.lo += r.lo_pps * dt;
    }
}

/// The gauges and rates of a node now, from the cluster's state.
#[derive(Debug, Clone, Copy)]
struct NodeLoad {
    cpus: u32,
    mem_total: f64,
    mem_used: f64,
    fs_size: f64,
    fs_used: f64,
    rates: NodeRates,
}

fn load(seed: u64, t: f64, data: &ClusterData, node: &str) -> Option<NodeLoad> {
    let obj = data.get(&keys::NODES, &ObjKey::cluster(node))?;
    let facts = obj.node()?;
    let usage = data.index.node_usage.get(node).copied().unwrap_or_default();
    let pressure = data.faults.pressure_on(node);
    let net = data.faults.network_on(node);
    let u = |what: &str| unit(seed, &[node, what]);
    let share = |used: i64, of: i64| {
        if of > 0 {
            (used as f64 / of as f64).clamp(0.0, 1.5)
        } else {
            0.0
        }
    };

    let busy = (0.06
        + 0.55 * share(usage.cpu_millis, facts.cpu_millis)
        + 0.08 * u("cpu")
        + 0.03 * wobble(t, u("cpu-phase")))
    .clamp(0.02, 0.97)
    .max(pressure.cpu)
    .min(1.0);
    let disk_busy = (0.02 + 0.08 * u("disk-io") + 0.05 * busy)
        .max(pressure.disk_io_busy)
        .min(1.0);
    let rest = 1.0 - busy;
    let iowait = rest * (0.01 + 0.05 * disk_busy);
    let steal = rest * 0.003;
    let mut modes = [0.0; 8];
    modes[USER] = busy * 0.72;
    modes[SYSTEM] = busy * 0.20;
    modes[NICE] = busy * 0.01;
    modes[IRQ] = busy * 0.01;
    modes[SOFTIRQ] = busy * 0.06;
    modes[IOWAIT] = iowait;
    modes[STEAL] = steal;
    modes[IDLE] = rest - iowait - steal;

    let mem_used = (0.08
        + 0.55 * share(usage.memory_bytes, facts.memory_bytes)
        + 0.08 * u("mem")
        + 0.02 * wobble(t, u("mem-phase")))
    .clamp(0.05, 0.97)
    .max(pressure.memory)
    .min(1.0);
    let fs_used = (0.2 + 0.25 * u("fs") + 0.003 * usage.pods as f64)
        .min(0.6)
        .max(pressure.disk)
        .min(1.0);

    let pods = usage.pods.max(0) as f64;
    let rx_pps = 150.0 + 40.0 * pods + 100.0 * u("rx");
    let tx_pps = rx_pps * 0.85;
    // A healthy NIC drops a few packets per million.
    let drop_share = (2e-6 * u("drops")).max(net.packet_loss);
    Some(NodeLoad {
        cpus: (facts.cpu_millis.max(1000) as f64 / 1000.0).ceil() as u32,
        // The kubelet reserves some memory: MemTotal is above allocatable.
        mem_total: (facts.memory_bytes.max(0) as f64 * 1.06 / 4096.0).round() * 4096.0,
        mem_used,
        fs_size: GIB * 100.0 * (1.0 + (u("fs-size") * 3.0).floor()),
        fs_used,
        rates: NodeRates {
            modes,
            disk_busy,
            rx_pps,
            tx_pps,
            rx_drops: rx_pps * drop_share,
            tx_drops: tx_pps * drop_share,
            lo_pps: 50.0 + 5.0 * pods,
        },
    })
}

/// Bring one node's counters to now; `None` (and its counters dropped) if the node is gone.
fn advance_node(m: &mut MetricsState, data: &ClusterData, node: &str) -> Option<NodeLoad> {
    let now = m.real_secs();
    let Some(load) = load(m.seed, now, data, node) else {
        m.nodes.remove(node);
        return None;
    };
    match m.nodes.get_mut(node) {
        Some(c) => {
            c.advance(now);
            c.rates = load.rates;
        }
        None => {
            // A node first seen has been up for a while: one to three weeks.
            let uptime = 86_400.0 * (7.0 + 14.0 * unit(m.seed, &[node, "uptime"]));
            let mut c = NodeCounters {
                last: now,
                rates: load.rates,
                cpu: [0.0; 8],
                disk_io: 0.0,
                rx: 0.0,
                tx: 0.0,
                rx_drop: 0.0,
                tx_drop: 0.0,
                lo: 0.0,
            };
            c.add(&load.rates, uptime);
            m.nodes.insert(node.into(), c);
        }
    }
    Some(load)
}

/// Bring every node seen so far to now (a fault changed: new rates apply from now).
pub fn advance_all(m: &mut MetricsState, data: &ClusterData) {
    let names: Vec<Box<str>> = m.nodes.keys().cloned().collect();
    for name in names {
        advance_node(m, data, &name);
    }
}

/// The node-exporter body of `node`.
pub fn scrape(m: &mut MetricsState, data: &ClusterData, node: &str) -> ApiResult<String> {
    let load = advance_node(m, data, node).ok_or_else(|| ApiError::not_found("", "nodes", node))?;
    let c = m
        .nodes
        .get(node)
        .ok_or_else(|| ApiError::not_found("", "nodes", node))?;
    let mut out = Expo::with_capacity(2048 + load.cpus as usize * 8 * 48);

    out.family(
        "node_cpu_seconds_total",
        "Seconds the CPUs spent in each mode.",
        Kind::Counter,
    );
    let mut cpu_label = String::new();
    for cpu in 0..load.cpus {
        cpu_label.clear();
        cpu_label.push_str(&cpu.to_string());
        // Each CPU booted with its own small history; the rates are the node's.
        let skew = unit(m.seed, &[node, &cpu_label]) * 30.0;
        for (i, mode) in MODES.iter().enumerate() {
            let v = c.cpu[i] + skew * BOOT_MODE_SHARE[i];
            out.sample(
                "node_cpu_seconds_total",
                &[("cpu", &cpu_label), ("mode", mode)],
                (v * 100.0).floor() / 100.0,
            );
        }
    }

    let mem_avail = ((load.mem_total * (1.0 - load.mem_used)) / 1024.0).floor() * 1024.0;
    out.family(
        "node_memory_MemAvailable_bytes",
        "Memory information field MemAvailable_bytes.",
        Kind::Gauge,
    );
    out.sample("node_memory_MemAvailable_bytes", &[], mem_avail);
    out.family(
        "node_memory_MemTotal_bytes",
        "Memory information field MemTotal_bytes.",
        Kind::Gauge,
    );
    out.sample("node_memory_MemTotal_bytes", &[], load.mem_total);

    let root: [(&str, &str); 3] = [
        ("device", "/dev/nvme0n1p1"),
        ("fstype", "ext4"),
        ("mountpoint", "/"),
    ];
    let run: [(&str, &str); 3] = [
        ("device", "tmpfs"),
        ("fstype", "tmpfs"),
        ("mountpoint", "/run"),
    ];
    let run_size = (load.mem_total * 0.1 / 4096.0).floor() * 4096.0;
    let root_avail = (load.fs_size * (1.0 - load.fs_used) / 4096.0).floor() * 4096.0;
    let run_avail = (run_size * 0.99 / 4096.0).floor() * 4096.0;
    out.family(
        "node_filesystem_avail_bytes",
        "Filesystem space available to non-root users in bytes.",
        Kind::Gauge,
    );
    out.sample("node_filesystem_avail_bytes", &root, root_avail);
    out.sample("node_filesystem_avail_bytes", &run, run_avail);
    out.family(
        "node_filesystem_readonly",
        "Filesystem read-only status.",
        Kind::Gauge,
    );
    out.sample("node_filesystem_readonly", &root, 0.0);
    out.sample("node_filesystem_readonly", &run, 0.0);
    out.family(
        "node_filesystem_size_bytes",
        "Filesystem size in bytes.",
        Kind::Gauge,
    );
    out.sample("node_filesystem_size_bytes", &root, load.fs_size);
    out.sample("node_filesystem_size_bytes", &run, run_size);

    out.family(
        "node_disk_io_time_seconds_total",
        "Total seconds spent doing I/Os.",
        Kind::Counter,
    );
    out.sample(
        "node_disk_io_time_seconds_total",
        &[("device", "nvme0n1")],
        (c.disk_io * 1000.0).floor() / 1000.0,
    );

    let net: [(&str, &str, f64, f64); 4] = [
        (
            "node_network_receive_drop_total",
            "Network device statistic receive_drop.",
            c.rx_drop,
            0.0,
        ),
        (
            "node_network_receive_packets_total",
            "Network device statistic receive_packets.",
            c.rx,
            c.lo,
        ),
        (
            "node_network_transmit_drop_total",
            "Network device statistic transmit_drop.",
            c.tx_drop,
            0.0,
        ),
        (
            "node_network_transmit_packets_total",
            "Network device statistic transmit_packets.",
            c.tx,
            c.lo,
        ),
    ];
    for (name, help, eth0, lo) in net {
        out.family(name, help, Kind::Counter);
        out.sample(name, &[("device", "eth0")], eth0.floor());
        out.sample(name, &[("device", "lo")], lo.floor());
    }
    Ok(out.finish())
}
