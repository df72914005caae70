//! Right-sizing: per-container CPU and memory requests from observed usage, with the monthly
//! saving of moving to them.
//!
//! Two strategies read the same compact [`ContainerUsageState`]: the VPA recommender's
//! (`vpa`: decaying histograms, p90 target + 15% margin, p50/p95 bounds scaled by
//! confidence, per-pod minimums, OOM bump-up) and Robusta KRR's `simple` (`simple`: p95 CPU,
//! max memory + 15%). The agent feeds samples; [`rightsize`] turns a state and the
//! container's current requests and prices into a [`RightsizingRecommendation`].

pub mod checkpoint;
mod decaying;
pub mod histogram;
mod simple;
mod state;
mod vpa;

#[cfg(test)]
mod tests;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use checkpoint::{CheckpointError, UsageCheckpoint};
pub use decaying::DecayingHistogram;
pub use simple::{NotEnoughData, SimpleConfig, recommend_simple};
pub use state::{ContainerUsageState, OomError};
pub use vpa::{ResourceRecommendation, Resources, VpaConfig, confidence, confidence_days};

/// OpenCost's hours per month (`timeutil.HoursPerMonth = 730`).
pub const HOURS_PER_MONTH: f64 = 730.0;
pub(crate) const MIB: f64 = 1024.0 * 1024.0;

/// `--strategy vpa|simple`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    #[default]
    Vpa,
    Simple,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Vpa => "vpa",
            Strategy::Simple => "simple",
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "vpa" => Ok(Strategy::Vpa),
            "simple" => Ok(Strategy::Simple),
            other => Err(format!("unknown strategy {other:?} (want vpa or simple)")),
        }
    }
}

/// Both strategies' settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RightsizingConfig {
    pub vpa: VpaConfig,
    pub simple: SimpleConfig,
}

/// One entry point for both strategies. KRR simple sets a request only: its lower bound,
/// target and upper bound are the same value.
pub fn recommend(
    strategy: Strategy,
    state: &ContainerUsageState,
    config: &RightsizingConfig,
    containers_in_pod: usize,
    now: Timestamp,
) -> Result<ResourceRecommendation, NotEnoughData> {
    match strategy {
        Strategy::Vpa => vpa::recommend(state, &config.vpa, containers_in_pod, now)
            .ok_or(NotEnoughData::NoSamples),
        Strategy::Simple => {
            let r = recommend_simple(state, &config.simple)?;
            Ok(ResourceRecommendation {
                lower_bound: r,
                target: r,
                upper_bound: r,
                uncapped_target: r,
            })
        }
    }
}

/// What the agent knows about one container besides its usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RightsizingInput {
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    pub container: String,
    /// Average replica count over the window.
    pub replicas: f64,
    pub current_cpu_request_cores: f64,
    pub current_memory_request_bytes: f64,
    /// $/core-hour of the nodes it runs on.
    pub cpu_per_core_hour: f64,
    /// $/GiB-hour.
    pub ram_per_gib_hour: f64,
}

/// KRR's severity of a request's distance from the recommendation (`core/models/severity.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Good,
    Ok,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Good => "good",
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// CPU: |current − recommended| ≥ 0.5 core critical, ≥ 0.25 warning, ≥ 0.1 ok. An unset
    /// request (0) is a warning, as KRR rates a missing current value.
    pub fn of_cpu(current_cores: f64, recommended_cores: f64) -> Self {
        Self::grade(current_cores, recommended_cores, [0.5, 0.25, 0.1])
    }

    /// Memory: ≥ 500 MiB critical, ≥ 250 MiB warning, ≥ 100 MiB ok.
    pub fn of_memory(current_bytes: f64, recommended_bytes: f64) -> Self {
        Self::grade(
            current_bytes,
            recommended_bytes,
            [500.0 * MIB, 250.0 * MIB, 100.0 * MIB],
        )
    }

    fn grade(current: f64, recommended: f64, [critical, warning, ok]: [f64; 3]) -> Self {
        if current <= 0.0 {
            return Severity::Warning;
        }
        let diff = (current - recommended).abs();
        if diff >= critical {
            Severity::Critical
        } else if diff >= warning {
            Severity::Warning
        } else if diff >= ok {
            Severity::Ok
        } else {
            Severity::Good
        }
    }
}

/// Target values as Kubernetes quantities, ready for a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantityPair {
    pub cpu: String,
    pub memory: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RightsizingRecommendation {
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    pub container: String,
    pub replicas: f64,
    pub current: Resources,
    /// Rounded up to whole millicores and whole MiB.
    pub lower: Resources,
    pub target: Resources,
    pub upper: Resources,
    /// `target` as quantities (`250m`, `512Mi`).
    pub target_quantities: QuantityPair,
    /// (current − target) × rate × 730 h × replicas, per resource; an estimate.
    pub cpu_monthly_saving_dollars: f64,
    pub memory_monthly_saving_dollars: f64,
    /// CPU + memory; negative means the container needs more than it requests.
    pub monthly_saving_dollars: f64,
    /// Some resource is under-requested (its target exceeds the current request).
    pub under_provisioned: bool,
    pub cpu_severity: Severity,
    pub memory_severity: Severity,
    /// The worse of the two.
    pub severity: Severity,
    pub strategy: Strategy,
    /// Days of history behind the VPA confidence factor (`min(lifespan, samples/1440)`).
    pub confidence_days: f64,
    pub oom_events: u32,
}

/// The recommendation for one container, priced. `containers_in_pod` splits VPA's per-pod
/// minimums.
pub fn rightsize(
    input: &RightsizingInput,
    state: &ContainerUsageState,
    strategy: Strategy,
    config: &RightsizingConfig,
    containers_in_pod: usize,
    now: Timestamp,
) -> Result<RightsizingRecommendation, NotEnoughData> {
    let r = recommend(strategy, state, config, containers_in_pod, now)?;
    let target = round_up(r.target);
    let current = Resources {
        cpu_cores: input.current_cpu_request_cores,
        memory_bytes: input.current_memory_request_bytes,
    };
    let hours = HOURS_PER_MONTH * input.replicas;
    let cpu_saving = (current.cpu_cores - target.cpu_cores) * input.cpu_per_core_hour * hours;
    let memory_saving = (current.memory_bytes - target.memory_bytes) / (1024.0 * MIB)
        * input.ram_per_gib_hour
        * hours;
    let cpu_severity = Severity::of_cpu(current.cpu_cores, target.cpu_cores);
    let memory_severity = Severity::of_memory(current.memory_bytes, target.memory_bytes);
    Ok(RightsizingRecommendation {
        namespace: input.namespace.clone(),
        kind: input.kind.clone(),
        workload: input.workload.clone(),
        container: input.container.clone(),
        replicas: input.replicas,
        current,
        lower: round_up(r.lower_bound),
        target,
        upper: round_up(r.upper_bound),
        target_quantities: QuantityPair {
            cpu: format_cpu(target.cpu_cores),
            memory: format_memory(target.memory_bytes),
        },
        cpu_monthly_saving_dollars: cpu_saving,
        memory_monthly_saving_dollars: memory_saving,
        monthly_saving_dollars: cpu_saving + memory_saving,
        under_provisioned: target.cpu_cores > current.cpu_cores
            || target.memory_bytes > current.memory_bytes,
        cpu_severity,
        memory_severity,
        severity: cpu_severity.max(memory_severity),
        strategy,
        confidence_days: confidence_days(state),
        oom_events: state.oom_events(),
    })
}

/// Rounds up to whole millicores and whole MiB. A hair of float noise (a bucket end of
/// 0.10500000000000001 cores) does not push the value to the next unit.
pub fn round_up(r: Resources) -> Resources {
    Resources {
        cpu_cores: ceil_units(r.cpu_cores, 1e-3),
        memory_bytes: ceil_units(r.memory_bytes, MIB),
    }
}

fn ceil_units(value: f64, unit: f64) -> f64 {
    let units = value / unit;
    let rounded = units.round();
    if (units - rounded).abs() <= 1e-9 * units.abs().max(1.0) {
        rounded * unit
    } else {
        units.ceil() * unit
    }
}

/// CPU as a Kubernetes quantity: whole cores as `2`, otherwise millicores (`250m`), rounded
/// up to a millicore.
pub fn format_cpu(cores: f64) -> String {
    let millis = ceil_units(cores.max(0.0), 1e-3) * 1000.0;
    let millis = millis.round() as i64;
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// Memory as a Kubernetes quantity rounded up to a MiB: `512Mi`, `2Gi`.
pub fn format_memory(bytes: f64) -> String {
    let mib = (ceil_units(bytes.max(0.0), MIB) / MIB).round() as i64;
    crate::quantity::format_bytes_binary(mib.saturating_mul(1 << 20))
}

/// The `limit` biggest savings (or shortfalls) first, by |monthly saving|; ties by
/// (namespace, kind, workload, container), so the order is deterministic.
pub fn top_recommendations(
    mut recommendations: Vec<RightsizingRecommendation>,
    limit: usize,
) -> Vec<RightsizingRecommendation> {
    recommendations.sort_by(|a, b| {
        b.monthly_saving_dollars
            .abs()
            .total_cmp(&a.monthly_saving_dollars.abs())
            .then_with(|| key(a).cmp(&key(b)))
    });
    recommendations.truncate(limit);
    recommendations
}

fn key(r: &RightsizingRecommendation) -> (&str, &str, &str, &str) {
    (&r.namespace, &r.kind, &r.workload, &r.container)
}
