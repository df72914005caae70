//! The twin's resource usage model: what each container uses, as a pure function of the
//! cluster's seed, the pod's workload, the container and the SIMULATED time. The Metrics API
//! ([`super::resource_api`]) and cAdvisor ([`super::cadvisor`]) both read it, so
//! `kubectl top`, the Metrics API and Prometheus agree.
//!
//! Replicas of one workload (a pod's controller; a ReplicaSet's pods belong to its
//! Deployment) share a profile, levels and the shape of their curves; each pod adds a small
//! jitter from its uid. Profiles, by share of workloads (drawn from the seed and the
//! workload's identity):
//!
//! | profile | share | CPU (of request) | memory working set (of request) |
//! |---|---|---|---|
//! | over-provisioned | 55% | 5-25% | 20-50% |
//! | well-sized | 25% | 40-80% | 50-80% |
//! | under-provisioned | 8% | 90-150% | 95-115% (OOM risk) |
//! | bursty (idle batch) | 12% | ~0 for hours, 30-100% while busy | 10-20% idle, 40-70% busy |
//!
//! The CPU share is the daily mean; over it a diurnal cycle (UTC, peak at 15:00, amplitude
//! 15-45% per workload; not for bursty workloads, which follow their own schedule) and
//! smooth seeded noise (±20%, knots every 5 simulated minutes). A bursty workload is busy for
//! 8-25% of a period of 6-24 hours, all its replicas at once. Memory is steady: its level,
//! a slow drift (±5% over three days) and ±2% noise. A resource without a request uses a
//! small absolute amount (2-20 millicores, 16-128 MiB). CPU never exceeds a CPU limit and
//! memory stays under a memory limit (the kernel would kill the container first). Egress
//! is per pod: 1-50 KB/s for most workloads, 1-20 MB/s for the 5% that are egress-heavy,
//! following the same diurnal cycle (and near zero while a bursty workload idles); receive
//! is a per-workload multiple (0.3-3x) of it.
//!
//! Evaluation is a few hashes and floating-point operations, without allocation: the
//! Metrics API evaluates it for every container of a million-pod cluster per list.

use std::f64::consts::TAU;

use jiff::Timestamp;

/// A usage profile: how a workload's use relates to what it requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Uses a small part of its requests: right-sizing saves here.
    OverProvisioned,
    WellSized,
    /// Uses about all its memory request and more than its CPU request.
    UnderProvisioned,
    /// Near zero for hours, then busy: a candidate for event-driven scaling to zero.
    Bursty,
}

/// Share of workloads per profile (sums to 1).
pub const PROFILE_SHARES: [(Profile, f64); 4] = [
    (Profile::OverProvisioned, 0.55),
    (Profile::WellSized, 0.25),
    (Profile::UnderProvisioned, 0.08),
    (Profile::Bursty, 0.12),
];

/// Share of workloads whose pods send a lot over the network.
pub const EGRESS_HEAVY_SHARE: f64 = 0.05;

/// Simulated seconds between noise knots.
const NOISE_KNOT_SECS: f64 = 300.0;
const DAY_SECS: f64 = 86_400.0;
/// Hour of the day (UTC) at which the diurnal cycle peaks.
const PEAK_HOUR: f64 = 15.0;
const MIB: f64 = 1024.0 * 1024.0;

/// The workload a pod belongs to: its controller, with a ReplicaSet's pods counted under
/// their Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload<'a> {
    pub namespace: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
}

impl<'a> Workload<'a> {
    /// The workload of a pod from its controller (kind, name) and its `pod-template-hash`
    /// label: a ReplicaSet named `<deployment>-<hash>` stands for the Deployment. A pod
    /// without a controller is its own workload.
    pub fn of_pod(
        namespace: &'a str,
        pod_name: &'a str,
        controller: Option<(&'a str, &'a str)>,
        pod_template_hash: Option<&str>,
    ) -> Self {
        let (kind, name) = match controller {
            Some(("ReplicaSet", rs)) => match pod_template_hash
                .and_then(|h| rs.strip_suffix(h))
                .and_then(|d| d.strip_suffix('-'))
            {
                Some(deployment) => ("Deployment", deployment),
                None => ("ReplicaSet", rs),
            },
            Some((kind, name)) => (kind, name),
            None => ("Pod", pod_name),
        };
        Self {
            namespace,
            kind,
            name,
        }
    }
}

/// A container's requests and limits (0 when not set).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Resources {
    pub cpu_request_cores: f64,
    pub memory_request_bytes: f64,
    pub cpu_limit_cores: f64,
    pub memory_limit_bytes: f64,
}

/// What a container uses at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ContainerUsage {
    pub cpu_cores: f64,
    /// Working set, whole 4 KiB pages.
    pub memory_bytes: f64,
}

/// A pod's network rates at one moment (its `eth0`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PodNetwork {
    pub transmit_bytes_per_sec: f64,
    pub receive_bytes_per_sec: f64,
}

/// Everything drawn once per workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkloadTraits {
    hash: u64,
    pub profile: Profile,
    pub egress_heavy: bool,
    /// Mean CPU use as a share of the request (while busy, for bursty workloads).
    cpu_level: f64,
    /// Memory working set as a share of the request (while busy, for bursty workloads).
    memory_level: f64,
    /// Bursty workloads' memory while idle, as a share of the request.
    idle_memory_level: f64,
    diurnal_amplitude: f64,
    /// Bursty schedule: period, busy share of it, offset (seconds).
    period_secs: f64,
    busy_share: f64,
    offset_secs: f64,
    egress_bytes_per_sec: f64,
    receive_ratio: f64,
}

/// The usage model of one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageModel {
    seed: u64,
}

impl UsageModel {
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// Draw a workload's traits (a few string hashes: call once per pod or per workload).
    pub fn workload(&self, w: &Workload<'_>) -> WorkloadTraits {
        let mut h = mix(self.seed ^ 0x243f_6a88_85a3_08d3);
        for part in [w.namespace, w.kind, w.name] {
            h = mix(h ^ capstan_core::rng::fnv1a(part.as_bytes()));
        }
        let u = |salt: u64| unit(mix(h ^ salt));
        let profile = pick_profile(u(1));
        let (lo, hi, mlo, mhi) = match profile {
            Profile::OverProvisioned => (0.05, 0.25, 0.20, 0.50),
            Profile::WellSized => (0.40, 0.80, 0.50, 0.80),
            Profile::UnderProvisioned => (0.90, 1.50, 0.95, 1.15),
            Profile::Bursty => (0.30, 1.00, 0.40, 0.70),
        };
        let egress_heavy = u(2) < EGRESS_HEAVY_SHARE;
        let egress_bytes_per_sec = if egress_heavy {
            log_uniform(u(3), 1e6, 20e6)
        } else {
            log_uniform(u(3), 1e3, 50e3)
        };
        WorkloadTraits {
            hash: h,
            profile,
            egress_heavy,
            cpu_level: lo + (hi - lo) * u(4),
            memory_level: mlo + (mhi - mlo) * u(5),
            idle_memory_level: 0.10 + 0.10 * u(6),
            diurnal_amplitude: if profile == Profile::Bursty {
                0.0
            } else {
                0.15 + 0.30 * u(7)
            },
            period_secs: 3600.0 * (6.0 + (19.0 * u(8)).floor()),
            busy_share: 0.08 + 0.17 * u(9),
            offset_secs: DAY_SECS * u(10),
            egress_bytes_per_sec,
            receive_ratio: log_uniform(u(11), 0.3, 3.0),
        }
    }

    /// Whether a bursty workload is busy at `t` (other profiles always are).
    pub fn busy(&self, w: &WorkloadTraits, t: Timestamp) -> bool {
        w.busy_at(secs(t))
    }

    /// What container `container` of pod `pod_uid` uses at simulated time `t`. A container
    /// that is not running (waiting, crash-looping) uses nothing: callers pass `running`.
    pub fn container(
        &self,
        w: &WorkloadTraits,
        pod_uid: &str,
        container: &str,
        res: &Resources,
        running: bool,
        t: Timestamp,
    ) -> ContainerUsage {
        if !running {
            return ContainerUsage::default();
        }
        let s = secs(t);
        // Containers of one pod template are alike across replicas: hash the name into the
        // workload's stream, and the pod only into the jitter.
        let ch = mix(w.hash ^ capstan_core::rng::fnv1a(container.as_bytes()));
        let ph = mix(ch ^ capstan_core::rng::fnv1a(pod_uid.as_bytes()));
        let busy = w.busy_at(s);

        let cpu_jitter = 0.9 + 0.2 * unit(mix(ph ^ 1));
        let cpu_noise = 1.0 + 0.2 * smooth_noise(mix(ch ^ 2), s);
        let diurnal = 1.0 + w.diurnal_amplitude * diurnal_cos(s);
        let cpu_base = if res.cpu_request_cores > 0.0 {
            if busy {
                res.cpu_request_cores * w.cpu_level
            } else {
                // Idle: a millicore or so of housekeeping.
                0.001 * (0.5 + unit(mix(ch ^ 3)))
            }
        } else {
            0.002 + 0.018 * unit(mix(ch ^ 4))
        };
        let mut cpu = (cpu_base * diurnal * cpu_noise * cpu_jitter).max(0.0);
        if res.cpu_limit_cores > 0.0 {
            cpu = cpu.min(res.cpu_limit_cores);
        }

        let mem_jitter = 0.95 + 0.1 * unit(mix(ph ^ 5));
        let drift = 1.0 + 0.05 * (s / (3.0 * DAY_SECS) * TAU + TAU * unit(mix(ch ^ 6))).sin();
        let mem_noise = 1.0 + 0.02 * smooth_noise(mix(ph ^ 7), s);
        let mem_base = if res.memory_request_bytes > 0.0 {
            let level = if busy {
                w.memory_level
            } else {
                w.idle_memory_level
            };
            res.memory_request_bytes * level
        } else {
            (16.0 + 112.0 * unit(mix(ch ^ 8))) * MIB
        };
        let mut memory = mem_base * drift * mem_noise * mem_jitter;
        if res.memory_limit_bytes > 0.0 {
            memory = memory.min(res.memory_limit_bytes * 0.99);
        }
        ContainerUsage {
            cpu_cores: cpu,
            memory_bytes: pages(memory),
        }
    }

    /// Pod `pod_uid`'s network rates at simulated time `t`.
    pub fn network(&self, w: &WorkloadTraits, pod_uid: &str, t: Timestamp) -> PodNetwork {
        let s = secs(t);
        let ph = mix(w.hash ^ capstan_core::rng::fnv1a(pod_uid.as_bytes()) ^ 0x006e_6574);
        let busy = if w.busy_at(s) { 1.0 } else { 0.01 };
        let diurnal = 1.0 + w.diurnal_amplitude * diurnal_cos(s);
        let noise = 1.0 + 0.3 * smooth_noise(mix(w.hash ^ 12), s);
        let jitter = 0.8 + 0.4 * unit(mix(ph ^ 13));
        let tx = (w.egress_bytes_per_sec * busy * diurnal * noise * jitter).max(0.0);
        PodNetwork {
            transmit_bytes_per_sec: tx,
            receive_bytes_per_sec: tx * w.receive_ratio,
        }
    }
}

impl UsageModel {
    /// What a node's own processes use (kubelet, container runtime, the OS and its page
    /// cache counted in the working set) at simulated time `t`: 80-200 millicores and
    /// 0.6-1.4 GiB per node, with the same noise as containers.
    pub fn node_overhead(&self, node: &str, t: Timestamp) -> ContainerUsage {
        let h = mix(self.seed ^ capstan_core::rng::fnv1a(node.as_bytes()) ^ 0x6e6f_6465);
        let s = secs(t);
        let cpu = (0.08 + 0.12 * unit(mix(h ^ 1))) * (1.0 + 0.2 * smooth_noise(mix(h ^ 2), s));
        let memory =
            (0.6 + 0.8 * unit(mix(h ^ 3))) * 1024.0 * MIB * (1.0 + 0.02 * smooth_noise(h, s));
        ContainerUsage {
            cpu_cores: cpu,
            memory_bytes: pages(memory),
        }
    }
}

impl WorkloadTraits {
    fn busy_at(&self, s: f64) -> bool {
        self.profile != Profile::Bursty
            || (s + self.offset_secs).rem_euclid(self.period_secs)
                < self.busy_share * self.period_secs
    }
}

fn pick_profile(u: f64) -> Profile {
    let mut acc = 0.0;
    for (p, share) in PROFILE_SHARES {
        acc += share;
        if u < acc {
            return p;
        }
    }
    Profile::Bursty
}

/// Simulated seconds since the epoch.
fn secs(t: Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// cos of the day's phase: 1 at [`PEAK_HOUR`] UTC, -1 twelve hours later.
fn diurnal_cos(s: f64) -> f64 {
    ((s.rem_euclid(DAY_SECS) / 3600.0 - PEAK_HOUR) / 24.0 * TAU).cos()
}

/// Value noise in [-1, 1]: seeded values at knots, smoothly interpolated between them.
fn smooth_noise(h: u64, s: f64) -> f64 {
    let x = s / NOISE_KNOT_SECS;
    let k = x.floor();
    let f = x - k;
    let k = k as i64 as u64;
    let a = unit(mix(h ^ k)) * 2.0 - 1.0;
    let b = unit(mix(h ^ k.wrapping_add(1))) * 2.0 - 1.0;
    let f = f * f * (3.0 - 2.0 * f);
    a + (b - a) * f
}

/// Round bytes down to whole 4 KiB pages, as a working set is counted.
fn pages(bytes: f64) -> f64 {
    (bytes.max(0.0) / 4096.0).floor() * 4096.0
}

fn log_uniform(u: f64, lo: f64, hi: f64) -> f64 {
    (lo.ln() + u * (hi.ln() - lo.ln())).exp()
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash as a number in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod tests;
