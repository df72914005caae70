//! KEDA hints: workloads idle for long stretches, which a `ScaledObject` with
//! `minReplicaCount: 0` could scale to zero between bursts of work.
//!
//! Which workloads: Deployments only by default. DaemonSets follow nodes and Jobs/CronJobs
//! already run to completion; StatefulSets are left out (KEDA can scale them, but an idle
//! database or broker still holds state, connections and quorum, and its CPU says little about
//! whether it is needed) unless [`KedaConfig::include_stateful_sets`] is set. One replica is
//! no reason to skip a Deployment: a single idle replica is exactly what scale-to-zero removes.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::HOURS_PER_MONTH;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KedaConfig {
    /// Idle below this many cores per replica (0.005).
    pub idle_cores_per_replica: f64,
    /// ... or below this fraction of the CPU request, whichever is higher (0.02).
    pub idle_request_fraction: f64,
    /// A stretch counts when it lasts at least this long (1h).
    #[serde(with = "crate::duration::serde_duration")]
    pub min_idle_run: Duration,
    /// Hint when long stretches cover at least this fraction of observed time (0.5).
    pub min_idle_fraction: f64,
    /// ... over at least this much observed time (6h).
    #[serde(with = "crate::duration::serde_duration")]
    pub min_observed: Duration,
    /// A gap between observations longer than this is not observed time and breaks a
    /// stretch (the agent was away; 1h).
    #[serde(with = "crate::duration::serde_duration")]
    pub max_gap: Duration,
    pub include_stateful_sets: bool,
}

impl Default for KedaConfig {
    fn default() -> Self {
        Self {
            idle_cores_per_replica: 0.005,
            idle_request_fraction: 0.02,
            min_idle_run: Duration::from_secs(3600),
            min_idle_fraction: 0.5,
            min_observed: Duration::from_secs(6 * 3600),
            max_gap: Duration::from_secs(3600),
            include_stateful_sets: false,
        }
    }
}

/// Idle stretches of one workload, fed one observation per sampling round (always with the
/// same [`KedaConfig`]: stretches are closed against its `min_idle_run`). Each observation
/// at `t` stands for the interval since the previous one; the first only starts the clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdleTracker {
    last: Option<Timestamp>,
    observed_nanos: i128,
    idle_nanos: i128,
    /// Idle time inside stretches of at least `min_idle_run`, closed ones.
    long_idle_nanos: i128,
    current_run_nanos: i128,
    longest_run_nanos: i128,
    /// Σ replicas × interval, for the average replica count.
    replica_nanos: f64,
}

/// The workload a tracker belongs to, and its compute cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KedaWorkload {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    /// Compute cost, $/hour, at its current replica count.
    pub compute_cost_per_hour: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KedaHint {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    /// Share of observed time spent in idle stretches of at least `min_idle_run`.
    pub idle_fraction: f64,
    /// Share of observed time idle at all (short dips included).
    pub any_idle_fraction: f64,
    pub longest_idle_hours: f64,
    pub observed_hours: f64,
    /// Average replicas over the observed time.
    pub replicas: f64,
    /// Compute cost × idle fraction × 730 h.
    pub monthly_saving_dollars: f64,
    pub suggestion: String,
    pub detail: String,
}

impl IdleTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Idle means usage below `max(0.005 cores × replicas, 2% of the request)`.
    pub fn is_idle(
        config: &KedaConfig,
        total_cpu_usage_cores: f64,
        replicas: f64,
        total_cpu_request_cores: f64,
    ) -> bool {
        let threshold = (config.idle_cores_per_replica * replicas)
            .max(config.idle_request_fraction * total_cpu_request_cores);
        total_cpu_usage_cores < threshold
    }

    /// One observation. Out-of-order observations are ignored; intervals with zero replicas
    /// (already scaled to zero) and gaps over `max_gap` are not observed time and end a stretch.
    pub fn observe(
        &mut self,
        config: &KedaConfig,
        t: Timestamp,
        total_cpu_usage_cores: f64,
        replicas: f64,
        total_cpu_request_cores: f64,
    ) {
        let Some(last) = self.last else {
            self.last = Some(t);
            return;
        };
        if t <= last {
            return;
        }
        self.last = Some(t);
        let dt = t.as_nanosecond() - last.as_nanosecond();
        if dt > config.max_gap.as_nanos() as i128 || replicas <= 0.0 {
            self.close_run(config);
            return;
        }
        self.observed_nanos += dt;
        self.replica_nanos += replicas * dt as f64;
        if Self::is_idle(
            config,
            total_cpu_usage_cores,
            replicas,
            total_cpu_request_cores,
        ) {
            self.idle_nanos += dt;
            self.current_run_nanos += dt;
            self.longest_run_nanos = self.longest_run_nanos.max(self.current_run_nanos);
        } else {
            self.close_run(config);
        }
    }

    fn close_run(&mut self, config: &KedaConfig) {
        if self.current_run_nanos >= config.min_idle_run.as_nanos() as i128 {
            self.long_idle_nanos += self.current_run_nanos;
        }
        self.current_run_nanos = 0;
    }

    /// Idle time in stretches of at least `min_idle_run`, the running one included.
    fn long_idle_nanos(&self, config: &KedaConfig) -> i128 {
        let running = if self.current_run_nanos >= config.min_idle_run.as_nanos() as i128 {
            self.current_run_nanos
        } else {
            0
        };
        self.long_idle_nanos + running
    }

    pub fn observed_hours(&self) -> f64 {
        self.observed_nanos as f64 / 3600e9
    }

    /// The hint, when the workload's kind qualifies and long idle stretches cover enough of
    /// enough observed time.
    pub fn hint(&self, config: &KedaConfig, workload: &KedaWorkload) -> Option<KedaHint> {
        let kind_ok = match workload.kind.as_str() {
            "Deployment" => true,
            "StatefulSet" => config.include_stateful_sets,
            _ => false,
        };
        if !kind_ok || self.observed_nanos < config.min_observed.as_nanos() as i128 {
            return None;
        }
        let observed = self.observed_nanos as f64;
        let idle_fraction = self.long_idle_nanos(config) as f64 / observed;
        if idle_fraction < config.min_idle_fraction {
            return None;
        }
        let stateful_note = if workload.kind == "StatefulSet" {
            " It is a StatefulSet: check that its state survives scaling to zero."
        } else {
            ""
        };
        Some(KedaHint {
            namespace: workload.namespace.clone(),
            kind: workload.kind.clone(),
            name: workload.name.clone(),
            idle_fraction,
            any_idle_fraction: self.idle_nanos as f64 / observed,
            longest_idle_hours: self.longest_run_nanos as f64 / 3600e9,
            observed_hours: self.observed_hours(),
            replicas: self.replica_nanos / observed,
            monthly_saving_dollars: workload.compute_cost_per_hour.max(0.0)
                * idle_fraction
                * HOURS_PER_MONTH,
            suggestion: format!(
                "ScaledObject (keda.sh/v1alpha1) targeting {}/{} with minReplicaCount: 0 and a trigger on its event source (queue length, cron, HTTP add-on)",
                workload.kind, workload.name
            ),
            detail: format!(
                "idle in stretches of at least {} for {:.0}% of {:.1}h observed. Scaling to zero needs a trigger other than cpu/memory (those scalers cannot activate from zero), and KEDA drives an HPA: do not also let VPA set CPU/memory on it.{stateful_note}",
                crate::duration::format_duration(config.min_idle_run),
                idle_fraction * 100.0,
                self.observed_hours()
            ),
        })
    }
}
