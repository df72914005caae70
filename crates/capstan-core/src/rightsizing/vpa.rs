//! The VPA recommender's estimators (`logic/recommender.go`, `logic/estimator.go`) over a
//! [`ContainerUsageState`], with the flags' defaults in [`VpaConfig`].
//!
//! Upstream computes in `ResourceAmount`s, integers (millicores, bytes) clamped to
//! `[0, 1e14]`, truncating after every step (`ScaleResource`); this does the same, so a
//! recommendation matches upstream's to the millicore and byte, and "no history"
//! (confidence 0) gives an upper bound of 1e14 instead of infinity.

use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::state::{CPU_OPTIONS, ContainerUsageState, MEMORY_OPTIONS};

const HOUR: Duration = Duration::from_secs(3600);

/// The recommender's flags that shape a recommendation, defaults from upstream
/// `config/config.go` `DefaultRecommenderConfig` and `model/aggregations_config.go`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VpaConfig {
    /// `--recommendation-margin-fraction`
    pub recommendation_margin_fraction: f64,
    /// `--target-cpu-percentile`
    pub target_cpu_percentile: f64,
    /// `--recommendation-lower-bound-cpu-percentile`
    pub lower_bound_cpu_percentile: f64,
    /// `--recommendation-upper-bound-cpu-percentile`
    pub upper_bound_cpu_percentile: f64,
    /// `--target-memory-percentile`
    pub target_memory_percentile: f64,
    /// `--recommendation-lower-bound-memory-percentile`
    pub lower_bound_memory_percentile: f64,
    /// `--recommendation-upper-bound-memory-percentile`
    pub upper_bound_memory_percentile: f64,
    /// `--confidence-interval-cpu`
    #[serde(with = "crate::duration::serde_duration")]
    pub confidence_interval_cpu: Duration,
    /// `--confidence-interval-memory`
    #[serde(with = "crate::duration::serde_duration")]
    pub confidence_interval_memory: Duration,
    /// `--pod-recommendation-min-cpu-millicores`, per pod, split evenly among containers.
    pub pod_min_cpu_millicores: f64,
    /// `--pod-recommendation-min-memory-mb` (MiB: upstream multiplies by 1024 × 1024).
    pub pod_min_memory_mb: f64,
    /// `--cpu-histogram-decay-half-life`
    #[serde(with = "crate::duration::serde_duration")]
    pub cpu_histogram_decay_half_life: Duration,
    /// `--memory-histogram-decay-half-life`
    #[serde(with = "crate::duration::serde_duration")]
    pub memory_histogram_decay_half_life: Duration,
    /// `--memory-aggregation-interval`
    #[serde(with = "crate::duration::serde_duration")]
    pub memory_aggregation_interval: Duration,
    /// `--memory-aggregation-interval-count` (the aggregate expires after interval × count
    /// without samples).
    pub memory_aggregation_interval_count: u32,
    /// `--oom-bump-up-ratio`
    pub oom_bump_up_ratio: f64,
    /// `--oom-min-bump-up-bytes`
    pub oom_min_bump_up_bytes: f64,
}

impl VpaConfig {
    pub const DEFAULT: VpaConfig = VpaConfig {
        recommendation_margin_fraction: 0.15,
        target_cpu_percentile: 0.9,
        lower_bound_cpu_percentile: 0.5,
        upper_bound_cpu_percentile: 0.95,
        target_memory_percentile: 0.9,
        lower_bound_memory_percentile: 0.5,
        upper_bound_memory_percentile: 0.95,
        confidence_interval_cpu: Duration::from_secs(24 * 3600),
        confidence_interval_memory: Duration::from_secs(24 * 3600),
        pod_min_cpu_millicores: 25.0,
        pod_min_memory_mb: 250.0,
        cpu_histogram_decay_half_life: Duration::from_secs(24 * 3600),
        memory_histogram_decay_half_life: Duration::from_secs(24 * 3600),
        memory_aggregation_interval: Duration::from_secs(24 * 3600),
        memory_aggregation_interval_count: 8,
        oom_bump_up_ratio: 1.2,
        oom_min_bump_up_bytes: 104_857_600.0,
    };
}

impl Default for VpaConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// CPU in cores and memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    pub cpu_cores: f64,
    pub memory_bytes: f64,
}

/// One container's recommendation, as in a VPA's
/// `status.recommendation.containerRecommendations[]`.
/// There is no VPA object and so no `minAllowed`/`maxAllowed`/LimitRange capping:
/// `uncapped_target` equals `target`; it is kept so the wire type reads like upstream's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRecommendation {
    pub lower_bound: Resources,
    pub target: Resources,
    pub upper_bound: Resources,
    pub uncapped_target: Resources,
}

/// Upstream `MaxResourceAmount`.
const MAX_RESOURCE_AMOUNT: f64 = 1e14;

/// Upstream `resourceAmountFromFloat`: truncate to an integer, clamp to `[0, 1e14]`.
fn amount(value: f64) -> f64 {
    if value.is_nan() || value < 0.0 {
        0.0
    } else if value > MAX_RESOURCE_AMOUNT {
        MAX_RESOURCE_AMOUNT
    } else {
        value.trunc()
    }
}

/// Upstream `ScaleResource`.
fn scale(amount_value: f64, factor: f64) -> f64 {
    amount(amount_value * factor)
}

/// Upstream `getConfidence`: `min(lifespan, samples)` in units of the confidence interval;
/// for the default 24h, N days of one sample a minute give N.
pub fn confidence(state: &ContainerUsageState, interval: Duration) -> f64 {
    let interval_nanos = interval.as_nanos().max(1) as f64;
    let lifespan = match (state.first_sample_start, state.last_sample_start) {
        (Some(first), Some(last)) => {
            (last.as_nanosecond() - first.as_nanosecond()) as f64 / interval_nanos
        }
        _ => 0.0,
    };
    let interval_minutes = interval.as_secs_f64() / 60.0;
    let samples = state.total_samples as f64 / interval_minutes;
    lifespan.min(samples)
}

/// One resource's estimator chain: percentile → margin → confidence → minimum.
struct Chain {
    margin: f64,
    confidence: f64,
    minimum: f64,
}

impl Chain {
    /// `multiplier`/`exponent`: `None` for the target (no confidence step).
    fn estimate(&self, base: f64, confidence_step: Option<(f64, f64)>) -> f64 {
        // Margin: base + ScaleResource(base, margin).
        let mut value = base + scale(base, self.margin);
        if let Some((multiplier, exponent)) = confidence_step {
            // 1/0 = +Inf in Go too: ×∞ → 1e14 for the upper bound, ×0 for the lower.
            let factor = (1.0 + multiplier / self.confidence).powf(exponent);
            value = scale(value, factor);
        }
        value.max(self.minimum)
    }
}

/// The recommendation for one container of a pod with `containers_in_pod` containers.
/// `None` when the state holds no sample at all. `now` is not used by the arithmetic
/// (upstream's estimators read only the state) but is the moment the caller reports.
pub fn recommend(
    state: &ContainerUsageState,
    config: &VpaConfig,
    containers_in_pod: usize,
    _now: Timestamp,
) -> Option<ResourceRecommendation> {
    if !state.has_samples() {
        return None;
    }
    let fraction = 1.0 / containers_in_pod.max(1) as f64;
    let cpu = Chain {
        margin: config.recommendation_margin_fraction,
        confidence: confidence(state, config.confidence_interval_cpu),
        // CPUAmountFromCores(millicores × 0.001) scaled by the fraction, in millicores.
        minimum: scale(
            amount(config.pod_min_cpu_millicores * 0.001 * 1000.0),
            fraction,
        ),
    };
    let memory = Chain {
        margin: config.recommendation_margin_fraction,
        confidence: confidence(state, config.confidence_interval_memory),
        minimum: scale(amount(config.pod_min_memory_mb * 1024.0 * 1024.0), fraction),
    };
    let cpu_base = |p: f64| amount(state.cpu.percentile(&CPU_OPTIONS, p) * 1000.0);
    let memory_base = |p: f64| amount(state.memory_peaks.percentile(&MEMORY_OPTIONS, p));
    let resources = |millicores: f64, bytes: f64| Resources {
        cpu_cores: millicores / 1000.0,
        memory_bytes: bytes,
    };
    const UPPER: (f64, f64) = (1.0, 1.0);
    const LOWER: (f64, f64) = (0.001, -2.0);
    let target = resources(
        cpu.estimate(cpu_base(config.target_cpu_percentile), None),
        memory.estimate(memory_base(config.target_memory_percentile), None),
    );
    let lower_bound = resources(
        cpu.estimate(cpu_base(config.lower_bound_cpu_percentile), Some(LOWER)),
        memory.estimate(
            memory_base(config.lower_bound_memory_percentile),
            Some(LOWER),
        ),
    );
    let upper_bound = resources(
        cpu.estimate(cpu_base(config.upper_bound_cpu_percentile), Some(UPPER)),
        memory.estimate(
            memory_base(config.upper_bound_memory_percentile),
            Some(UPPER),
        ),
    );
    Some(ResourceRecommendation {
        lower_bound,
        target,
        upper_bound,
        uncapped_target: target,
    })
}

/// Confidence as history length for display: days of history the recommendation rests on.
pub fn confidence_days(state: &ContainerUsageState) -> f64 {
    confidence(state, HOUR * 24)
}
