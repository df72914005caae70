//! A [`ContainerUsageState`] as a checkpoint that outlives the agent, in the shape of the VPA
//! recommender's `VerticalPodAutoscalerCheckpoint` status (`apis/.../types.go`,
//! `model/aggregate_container_state.go` `SaveToCheckpoint`/`LoadFromCheckpoint`,
//! `util/histogram.go`, `util/decaying_histogram.go`).
//!
//! Lossy by design, as upstream: a histogram's bucket weights are scaled so that the heaviest
//! is [`MAX_CHECKPOINT_WEIGHT`] (10000) and rounded to integers; buckets that round to 0 are
//! dropped. Loading spreads the saved total weight over the buckets in proportion to the
//! stored integers, so the total is exact and each bucket's share is off by at most
//! 0.5/10000 of the heaviest bucket's. A percentile therefore comes back in the same bucket
//! unless the cumulative weight up to that bucket sat within that rounding of the
//! percentile's threshold (a near tie); then it moves to the next non-empty bucket up or
//! down. Sample counts and first/last sample times are exact, so the VPA confidence is exact.
//! Saving a restored state gives the same checkpoint again: restarts do not drift.
//!
//! Beyond upstream's checkpoint (which holds only the two VPA histograms and the sample
//! bookkeeping), ours also keeps KRR simple's non-decaying CPU histogram, its exact memory
//! maximum and counts, and the current memory-peak window. Upstream loses the window on a
//! restart (its per-pod `ContainerState` is not checkpointed), so a restarted recommender adds
//! a second peak for the same day; keeping it avoids that.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::decaying::DecayingHistogram;
use super::histogram::{HistogramOptions, SparseHistogram};
use super::state::{CPU_OPTIONS, ContainerUsageState, MEMORY_OPTIONS};

/// Upstream `MaxCheckpointWeight`: the heaviest bucket's stored weight.
pub const MAX_CHECKPOINT_WEIGHT: u32 = 10_000;

/// The checkpoint format this build writes and reads (upstream's is `v3`; ours carries more).
pub const CHECKPOINT_VERSION: &str = "capstan.rightsizing/v1";

/// Upstream `HistogramCheckpoint`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistogramCheckpoint {
    /// The decaying histogram's reference: stored weights are relative to it. `None` for a
    /// histogram without decay, or one that never had a sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_timestamp: Option<Timestamp>,
    /// Bucket index → weight normalised so the largest is [`MAX_CHECKPOINT_WEIGHT`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bucket_weights: BTreeMap<u16, u32>,
    pub total_weight: f64,
}

/// `ContainerState`'s memory-peak window, which upstream does not checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryWindowCheckpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<Timestamp>,
    pub memory_peak: f64,
    pub oom_peak: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_memory_sample_start: Option<Timestamp>,
}

/// One container's usage state, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageCheckpoint {
    /// [`CHECKPOINT_VERSION`]; anything else is refused.
    pub version: String,
    /// VPA's `cpuHistogram` (decaying).
    pub cpu_histogram: HistogramCheckpoint,
    /// VPA's `memoryHistogram`: the daily peaks (decaying).
    pub memory_histogram: HistogramCheckpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sample_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sample_start: Option<Timestamp>,
    pub total_samples_count: u64,
    /// KRR simple's CPU histogram (every sample, weight 1, no decay).
    pub cpu_all_histogram: HistogramCheckpoint,
    pub memory_window: MemoryWindowCheckpoint,
    pub max_memory_bytes: f64,
    pub memory_samples: u64,
    pub max_oom_limit_bytes: f64,
    pub oom_events: u32,
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    #[error("unsupported checkpoint version {found:?} (this build reads {CHECKPOINT_VERSION:?})")]
    Version { found: String },
    #[error("{histogram}: bucket {bucket} is past the last bucket ({last})")]
    Bucket {
        histogram: &'static str,
        bucket: u16,
        last: u16,
    },
    #[error("{field}: {value} is not a finite non-negative number")]
    Number { field: &'static str, value: f64 },
    #[error("firstSampleStart {first} is after lastSampleStart {last}")]
    SampleTimes { first: Timestamp, last: Timestamp },
}

impl ContainerUsageState {
    /// The state as a checkpoint (lossy: see the module doc).
    pub fn to_checkpoint(&self) -> UsageCheckpoint {
        UsageCheckpoint {
            version: CHECKPOINT_VERSION.to_string(),
            cpu_histogram: save_decaying(&self.cpu, &CPU_OPTIONS),
            memory_histogram: save_decaying(&self.memory_peaks, &MEMORY_OPTIONS),
            first_sample_start: self.first_sample_start,
            last_sample_start: self.last_sample_start,
            total_samples_count: self.total_samples,
            cpu_all_histogram: save(&self.cpu_all, &CPU_OPTIONS, None),
            memory_window: MemoryWindowCheckpoint {
                window_end: self.window_end,
                memory_peak: self.memory_peak,
                oom_peak: self.oom_peak,
                last_memory_sample_start: self.last_memory_sample_start,
            },
            max_memory_bytes: self.max_memory_bytes,
            memory_samples: self.memory_samples,
            max_oom_limit_bytes: self.max_oom_limit_bytes,
            oom_events: self.oom_events,
        }
    }

    /// The state a checkpoint holds. Refuses another version, a bucket past the layout's
    /// last, negative or non-finite weights and peaks, and a first sample after the last.
    pub fn from_checkpoint(c: &UsageCheckpoint) -> Result<Self, CheckpointError> {
        if c.version != CHECKPOINT_VERSION {
            return Err(CheckpointError::Version {
                found: c.version.clone(),
            });
        }
        if let (Some(first), Some(last)) = (c.first_sample_start, c.last_sample_start)
            && first > last
        {
            return Err(CheckpointError::SampleTimes { first, last });
        }
        let w = &c.memory_window;
        for (field, value) in [
            ("memoryWindow.memoryPeak", w.memory_peak),
            ("memoryWindow.oomPeak", w.oom_peak),
            ("maxMemoryBytes", c.max_memory_bytes),
            ("maxOomLimitBytes", c.max_oom_limit_bytes),
        ] {
            non_negative(field, value)?;
        }
        Ok(Self {
            cpu: DecayingHistogram::from_parts(
                load(&c.cpu_histogram, &CPU_OPTIONS, "cpuHistogram")?,
                c.cpu_histogram.reference_timestamp,
            ),
            memory_peaks: DecayingHistogram::from_parts(
                load(&c.memory_histogram, &MEMORY_OPTIONS, "memoryHistogram")?,
                c.memory_histogram.reference_timestamp,
            ),
            cpu_all: load(&c.cpu_all_histogram, &CPU_OPTIONS, "cpuAllHistogram")?,
            first_sample_start: c.first_sample_start,
            last_sample_start: c.last_sample_start,
            total_samples: c.total_samples_count,
            window_end: w.window_end,
            memory_peak: w.memory_peak,
            oom_peak: w.oom_peak,
            last_memory_sample_start: w.last_memory_sample_start,
            max_memory_bytes: c.max_memory_bytes,
            memory_samples: c.memory_samples,
            max_oom_limit_bytes: c.max_oom_limit_bytes,
            oom_events: c.oom_events,
        })
    }
}

fn non_negative(field: &'static str, value: f64) -> Result<(), CheckpointError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(CheckpointError::Number { field, value })
    }
}

/// Upstream `decayingHistogram.SaveToChekpoint`: the histogram's, plus its reference.
fn save_decaying(h: &DecayingHistogram, options: &HistogramOptions) -> HistogramCheckpoint {
    save(h.histogram(), options, h.reference())
}

/// Upstream `histogram.SaveToChekpoint`: buckets from the lowest to the highest non-empty one
/// (weight ≥ epsilon), scaled so the heaviest is 10000, rounded half up (upstream
/// `round(x) = floor(x + 0.5)`), zeros dropped; the total as it is.
fn save(
    h: &SparseHistogram,
    options: &HistogramOptions,
    reference: Option<Timestamp>,
) -> HistogramCheckpoint {
    let mut bucket_weights = BTreeMap::new();
    if let Some((min, max)) = h.min_max_bucket(options) {
        let range = &h.buckets()[min..=max];
        let heaviest = range.iter().map(|&(_, w)| w).fold(0.0, f64::max);
        let ratio = f64::from(MAX_CHECKPOINT_WEIGHT) / heaviest;
        for &(bucket, weight) in range {
            let stored = (weight * ratio + 0.5).floor();
            if stored >= 1.0 {
                bucket_weights.insert(bucket, stored.min(f64::from(u32::MAX)) as u32);
            }
        }
    }
    HistogramCheckpoint {
        reference_timestamp: reference,
        bucket_weights,
        total_weight: h.total_weight(),
    }
}

/// Upstream `histogram.LoadFromCheckpoint` into an empty histogram: each bucket gets
/// `stored × totalWeight / Σ stored`; no stored weight leaves it empty.
fn load(
    c: &HistogramCheckpoint,
    options: &HistogramOptions,
    histogram: &'static str,
) -> Result<SparseHistogram, CheckpointError> {
    if !c.total_weight.is_finite() || c.total_weight < 0.0 {
        return Err(CheckpointError::Number {
            field: histogram,
            value: c.total_weight,
        });
    }
    let last = options.num_buckets() - 1;
    if let Some((&bucket, _)) = c.bucket_weights.range(last + 1..).next() {
        return Err(CheckpointError::Bucket {
            histogram,
            bucket,
            last,
        });
    }
    let sum: u64 = c.bucket_weights.values().map(|&w| u64::from(w)).sum();
    if sum == 0 {
        return Ok(SparseHistogram::new());
    }
    let ratio = c.total_weight / sum as f64;
    let buckets = c
        .bucket_weights
        .iter()
        .filter(|&(_, &w)| w > 0)
        .map(|(&bucket, &w)| (bucket, f64::from(w) * ratio))
        .collect();
    Ok(SparseHistogram::from_parts(buckets, c.total_weight))
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
