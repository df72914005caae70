//! Robusta KRR's `simple` strategy (robusta-dev/krr `strategies/simple.py`) over the same
//! [`ContainerUsageState`] the VPA estimators read.
//!
//! KRR queries the raw series (`quantile_over_time` of the CPU rate per pod, then the max over
//! pods; `max_over_time` of the working set). An agent cannot keep raw series for 100,000
//! containers, so the CPU percentile comes from a non-decaying histogram with VPA's buckets
//! and is the END of the bucket holding the exact percentile: at most 5% (one bucket) above
//! KRR's value, and below it only by under a millicore (samples are whole millicores); it is
//! taken over all pods' samples together rather than per pod then maxed. The memory maximum
//! and the point counts are exact. KRR looks back
//! `history_duration` (2 weeks); this state has no window: it covers everything since the
//! agent created it (states expire after 8 days without samples, see
//! [`ContainerUsageState::is_expired`]).

use serde::{Deserialize, Serialize};

use super::state::{CPU_OPTIONS, ContainerUsageState};
use super::vpa::Resources;
use super::{MIB, round_up};

/// KRR simple's settings and defaults (`strategies/simple.py`, `core/models/config.py`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimpleConfig {
    /// `--cpu-percentile` (95).
    pub cpu_percentile: f64,
    /// `--memory-buffer-percentage` (15).
    pub memory_buffer_percentage: f64,
    /// `--use-oomkill-data` (false upstream). Capstan turns it on by default: an OOM kill is
    /// the strongest signal that memory is too low (robusta-dev/krr#110, #379).
    pub use_oomkill_data: bool,
    /// `--oom-memory-buffer-percentage` (25).
    pub oom_memory_buffer_percentage: f64,
    /// `--points-required` (100).
    pub points_required: u64,
    /// Minimum history, hours (`history_range_enough`: 3h).
    pub min_history_hours: f64,
    /// `cpu_min_value` (10 millicores).
    pub cpu_min_millicores: f64,
    /// `memory_min_value` (100, in MB; KRR's runner multiplies it by 1024², so MiB).
    pub memory_min_mb: f64,
}

impl Default for SimpleConfig {
    fn default() -> Self {
        Self {
            cpu_percentile: 95.0,
            memory_buffer_percentage: 15.0,
            use_oomkill_data: true,
            oom_memory_buffer_percentage: 25.0,
            points_required: 100,
            min_history_hours: 3.0,
            cpu_min_millicores: 10.0,
            memory_min_mb: 100.0,
        }
    }
}

/// KRR's "Not enough data": which rule refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "reason")]
pub enum NotEnoughData {
    #[error("no samples")]
    NoSamples,
    #[error("not enough data: {points} points, {required} required")]
    TooFewPoints { points: u64, required: u64 },
    #[error("not enough data: {hours:.1}h of history, {required_hours}h required")]
    HistoryTooShort { hours: f64, required_hours: f64 },
}

/// KRR simple for one container: CPU request = the percentile (no CPU limit), memory
/// request = limit = max working set × 1.15, and with OOM data at least the OOM-killed
/// limit × 1.25; values rounded up to 1m and 1 MiB and raised to the minimums (KRR's
/// runner `_round_value`).
pub fn recommend_simple(
    state: &ContainerUsageState,
    config: &SimpleConfig,
) -> Result<Resources, NotEnoughData> {
    if state.total_samples == 0 && state.memory_samples == 0 {
        return Err(NotEnoughData::NoSamples);
    }
    let points = state.total_samples.min(state.memory_samples);
    if points < config.points_required {
        return Err(NotEnoughData::TooFewPoints {
            points,
            required: config.points_required,
        });
    }
    let hours = state.history_days() * 24.0;
    if hours < config.min_history_hours {
        return Err(NotEnoughData::HistoryTooShort {
            hours,
            required_hours: config.min_history_hours,
        });
    }
    let cpu = state
        .cpu_all
        .percentile(&CPU_OPTIONS, config.cpu_percentile / 100.0);
    let mut memory = state.max_memory_bytes * (1.0 + config.memory_buffer_percentage / 100.0);
    if config.use_oomkill_data && state.oom_events > 0 {
        memory = memory
            .max(state.max_oom_limit_bytes * (1.0 + config.oom_memory_buffer_percentage / 100.0));
    }
    let rounded = round_up(Resources {
        cpu_cores: cpu,
        memory_bytes: memory,
    });
    Ok(Resources {
        cpu_cores: rounded.cpu_cores.max(config.cpu_min_millicores / 1000.0),
        memory_bytes: rounded.memory_bytes.max(config.memory_min_mb * MIB),
    })
}
