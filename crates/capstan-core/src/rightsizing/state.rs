//! One aggregated container's usage history: everything both strategies need, kept compact
//! because an agent holds one per (namespace, workload kind, workload, container name).
//!
//! This is VPA's `AggregateContainerState` (all pods of a target, per container name) plus
//! the memory-peak bookkeeping of its per-pod `ContainerState` (`model/container.go`).
//! Upstream keeps that bookkeeping per pod, so a target with N pods adds N peaks per day;
//! here it is kept per aggregate, so one peak per day (the highest across pods) is added.
//! With one pod the two agree; with many, our memory percentiles sit at the pods' daily
//! maximum rather than spread over the pods, which errs on the safe side.

use jiff::Timestamp;

use super::decaying::DecayingHistogram;
use super::histogram::{HistogramOptions, MIN_SAMPLE_WEIGHT, SparseHistogram};
use super::vpa::VpaConfig;

/// CPU usage cores → histogram bucket layout.
pub(crate) const CPU_OPTIONS: HistogramOptions = HistogramOptions::cpu();
/// Memory bytes → histogram bucket layout.
pub(crate) const MEMORY_OPTIONS: HistogramOptions = HistogramOptions::memory();

/// Why an OOM event was not recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OomError {
    /// Upstream "OOM event will be discarded - it is too old" (autoscaler#8548: older than
    /// the last memory sample minus one aggregation interval).
    #[error(
        "OOM event at {at} discarded: older than {cutoff} (last memory sample minus one aggregation interval)"
    )]
    TooOld { at: Timestamp, cutoff: Timestamp },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerUsageState {
    /// VPA's `AggregateCPUUsage`: cores, weight 0.1 × decay.
    pub(crate) cpu: DecayingHistogram,
    /// VPA's `AggregateMemoryPeaks`: bytes, one peak per aggregation interval, weight 1 × decay.
    pub(crate) memory_peaks: DecayingHistogram,
    /// KRR simple's CPU percentile: every sample with weight 1, no decay. KRR takes the
    /// percentile of the raw series; here it is the end of the bucket holding it, i.e. at
    /// most 5% above the exact value, and below it only by the sub-millicore part samples drop.
    pub(crate) cpu_all: SparseHistogram,
    pub(crate) first_sample_start: Option<Timestamp>,
    pub(crate) last_sample_start: Option<Timestamp>,
    pub(crate) total_samples: u64,
    // Memory peak window (`ContainerState`).
    pub(super) window_end: Option<Timestamp>,
    pub(super) memory_peak: f64,
    pub(super) oom_peak: f64,
    pub(super) last_memory_sample_start: Option<Timestamp>,
    // KRR simple: exact maximum working set and point count, and OOM-killed limits.
    pub(crate) max_memory_bytes: f64,
    pub(crate) memory_samples: u64,
    pub(crate) max_oom_limit_bytes: f64,
    pub(crate) oom_events: u32,
}

impl ContainerUsageState {
    pub fn new() -> Self {
        Self::default()
    }

    /// A CPU usage sample (cores) with the default configuration.
    pub fn add_cpu_sample(&mut self, t: Timestamp, cores: f64) {
        self.add_cpu_sample_with(&VpaConfig::DEFAULT, t, cores);
    }

    /// Upstream `addCPUSample`: weight `minSampleWeight` (0.1) × decay. Before
    /// kubernetes/autoscaler commit ca812b36 (Feb 2025) the weight was
    /// `max(request cores, 0.1)`; it no longer depends on the request.
    ///
    /// Samples may come in any order and several per timestamp (one per pod): the
    /// aggregate does not deduplicate (upstream deduplicates per pod, before aggregating).
    pub fn add_cpu_sample_with(&mut self, config: &VpaConfig, t: Timestamp, cores: f64) {
        if !cores.is_finite() || cores < 0.0 {
            return;
        }
        // Upstream samples are `ResourceAmount`s: whole millicores (truncated), turned back
        // into cores for the histogram.
        let cores = (cores * 1000.0).trunc() / 1000.0;
        self.cpu.add_sample(
            &CPU_OPTIONS,
            config.cpu_histogram_decay_half_life,
            cores,
            MIN_SAMPLE_WEIGHT,
            t,
        );
        self.cpu_all.add(&CPU_OPTIONS, cores, 1.0);
        if self.last_sample_start.is_none_or(|last| t > last) {
            self.last_sample_start = Some(t);
        }
        if self.first_sample_start.is_none_or(|first| t < first) {
            self.first_sample_start = Some(t);
        }
        self.total_samples += 1;
    }

    /// A memory working-set sample (bytes) with the default configuration.
    pub fn add_memory_sample(&mut self, t: Timestamp, bytes: f64) {
        self.add_memory_sample_with(&VpaConfig::DEFAULT, t, bytes);
    }

    /// Upstream `addMemorySample` (non-OOM): samples older than the last one are dropped;
    /// returns whether the sample was taken.
    pub fn add_memory_sample_with(&mut self, config: &VpaConfig, t: Timestamp, bytes: f64) -> bool {
        if !bytes.is_finite() || bytes < 0.0 {
            return false;
        }
        if !self.add_memory_peak(config, t, bytes.trunc(), false) {
            return false;
        }
        self.max_memory_bytes = self.max_memory_bytes.max(bytes);
        self.memory_samples += 1;
        true
    }

    /// An OOM kill of a container whose memory request (and limit) was `request_bytes`,
    /// with the default configuration.
    pub fn record_oom(&mut self, t: Timestamp, request_bytes: f64) -> Result<(), OomError> {
        self.record_oom_with(&VpaConfig::DEFAULT, t, request_bytes, request_bytes)
    }

    /// Upstream `RecordOOM`: `memoryUsed = max(request, current usage peak)` (the OOM peak
    /// is left out on purpose, so that repeated OOMs do not compound), `memoryNeeded =
    /// max(used + 100 MiB, used × 1.2)`, added as a memory sample. KRR's OOM rule needs the
    /// killed container's limit: `limit_bytes`.
    pub fn record_oom_with(
        &mut self,
        config: &VpaConfig,
        t: Timestamp,
        request_bytes: f64,
        limit_bytes: f64,
    ) -> Result<(), OomError> {
        if let Some(last) = self.last_memory_sample_start {
            let interval = jiff::SignedDuration::try_from(config.memory_aggregation_interval)
                .unwrap_or(jiff::SignedDuration::MAX);
            let cutoff = last.checked_sub(interval).unwrap_or(Timestamp::MIN);
            if t < cutoff {
                return Err(OomError::TooOld { at: t, cutoff });
            }
        }
        let used = request_bytes.max(0.0).trunc().max(self.memory_peak);
        // ResourceAmount arithmetic: bytes are integers, ScaleResource truncates.
        let needed = (used + config.oom_min_bump_up_bytes.trunc())
            .max((used * config.oom_bump_up_ratio).trunc());
        self.add_memory_peak(config, t, needed, true);
        self.oom_events = self.oom_events.saturating_add(1);
        self.max_oom_limit_bytes = self.max_oom_limit_bytes.max(limit_bytes);
        Ok(())
    }

    /// Upstream `ContainerState.addMemorySample`: one peak per aggregation interval, stamped
    /// at the interval's end; a bigger sample inside the interval replaces the peak (old
    /// subtracted, new added); a sample at or past the end starts the interval holding it.
    fn add_memory_peak(
        &mut self,
        config: &VpaConfig,
        t: Timestamp,
        usage: f64,
        is_oom: bool,
    ) -> bool {
        if !is_oom && self.last_memory_sample_start.is_some_and(|last| t < last) {
            return false;
        }
        self.last_memory_sample_start = Some(t);
        let half_life = config.memory_histogram_decay_half_life;
        let window_end = *self.window_end.get_or_insert(t);
        let mut add_new_peak = false;
        if t < window_end {
            let old_max = self.memory_peak.max(self.oom_peak);
            if old_max != 0.0 && usage > old_max {
                self.memory_peaks.subtract_sample(
                    &MEMORY_OPTIONS,
                    half_life,
                    old_max,
                    1.0,
                    window_end,
                );
                add_new_peak = true;
            }
        } else {
            // shift = (t − windowEnd).Truncate(interval) + interval
            let interval = config.memory_aggregation_interval.as_nanos().max(1) as i128;
            let since = t.as_nanosecond() - window_end.as_nanosecond();
            let shift = since - since.rem_euclid(interval) + interval;
            let end = Timestamp::from_nanosecond(window_end.as_nanosecond() + shift)
                .unwrap_or(Timestamp::MAX);
            self.window_end = Some(end);
            self.memory_peak = 0.0;
            self.oom_peak = 0.0;
            add_new_peak = true;
        }
        if add_new_peak {
            let end = self.window_end.unwrap_or(t);
            self.memory_peaks
                .add_sample(&MEMORY_OPTIONS, half_life, usage, 1.0, end);
            if is_oom {
                self.oom_peak = usage;
            } else {
                self.memory_peak = usage;
            }
        }
        true
    }

    /// Upstream `isExpired`: no sample for `memoryAggregationInterval × count` (8 days).
    /// A state that never had a sample is expired (the caller creates states on first
    /// sample, so it has nothing worth keeping).
    pub fn is_expired(&self, config: &VpaConfig, now: Timestamp) -> bool {
        let window = config
            .memory_aggregation_interval
            .saturating_mul(config.memory_aggregation_interval_count);
        let Some(last) = self.last_sample_start.max(self.last_memory_sample_start) else {
            return true;
        };
        let since = now.as_nanosecond() - last.as_nanosecond();
        since >= window.as_nanos() as i128
    }

    /// Number of CPU samples taken (VPA's `TotalSamplesCount`).
    pub fn total_samples(&self) -> u64 {
        self.total_samples
    }

    /// OOM events recorded.
    pub fn oom_events(&self) -> u32 {
        self.oom_events
    }

    /// Days between the first and the last CPU sample.
    pub fn history_days(&self) -> f64 {
        match (self.first_sample_start, self.last_sample_start) {
            (Some(first), Some(last)) => {
                (last.as_nanosecond() - first.as_nanosecond()) as f64 / 86_400e9
            }
            _ => 0.0,
        }
    }

    /// Number of non-empty histogram buckets held (the heap part of the footprint).
    pub fn stored_buckets(&self) -> usize {
        self.cpu.histogram().stored_buckets()
            + self.memory_peaks.histogram().stored_buckets()
            + self.cpu_all.stored_buckets()
    }

    pub(crate) fn has_samples(&self) -> bool {
        self.total_samples > 0 || self.last_memory_sample_start.is_some()
    }

    /// The usage peak of the current memory interval (excluding OOM bumps).
    pub fn current_memory_peak(&self) -> f64 {
        self.memory_peak
    }
}
