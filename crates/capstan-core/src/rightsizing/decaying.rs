//! The VPA recommender's decaying histogram (`util/decaying_histogram.go`): a sample's
//! weight is multiplied by `2^((t − reference)/halfLife)`, so a sample one half-life older
//! than another counts half as much. Rather than shrinking old weights as time passes,
//! new weights grow; the reference moves forward (and every stored weight is rescaled)
//! before the exponent passes 100, to stay far from f64 overflow.

use std::time::Duration;

use jiff::Timestamp;

use super::histogram::{HistogramOptions, SparseHistogram};

/// Upstream `maxDecayExponent`.
const MAX_DECAY_EXPONENT: f64 = 100.0;

#[derive(Debug, Clone, PartialEq)]
pub struct DecayingHistogram {
    histogram: SparseHistogram,
    /// `None` is upstream's zero `time.Time`: the first sample always shifts the reference.
    reference: Option<Timestamp>,
}

impl DecayingHistogram {
    pub fn new() -> Self {
        Self {
            histogram: SparseHistogram::new(),
            reference: None,
        }
    }

    /// A histogram restored from a checkpoint, with the reference its weights are relative to.
    pub(super) fn from_parts(histogram: SparseHistogram, reference: Option<Timestamp>) -> Self {
        Self {
            histogram,
            reference,
        }
    }

    pub fn reference(&self) -> Option<Timestamp> {
        self.reference
    }

    pub fn histogram(&self) -> &SparseHistogram {
        &self.histogram
    }

    pub fn add_sample(
        &mut self,
        options: &HistogramOptions,
        half_life: Duration,
        value: f64,
        weight: f64,
        t: Timestamp,
    ) {
        let factor = self.decay_factor(half_life, t);
        self.histogram.add(options, value, weight * factor);
    }

    pub fn subtract_sample(
        &mut self,
        options: &HistogramOptions,
        half_life: Duration,
        value: f64,
        weight: f64,
        t: Timestamp,
    ) {
        let factor = self.decay_factor(half_life, t);
        self.histogram.subtract(options, value, weight * factor);
    }

    pub fn percentile(&self, options: &HistogramOptions, percentile: f64) -> f64 {
        self.histogram.percentile(options, percentile)
    }

    pub fn is_empty(&self, options: &HistogramOptions) -> bool {
        self.histogram.is_empty(options)
    }

    /// Upstream `decayFactor`: shift the reference first when `t` is more than 100
    /// half-lives past it.
    fn decay_factor(&mut self, half_life: Duration, t: Timestamp) -> f64 {
        let half_life_nanos = half_life.as_nanos().max(1) as f64;
        let needs_shift = match self.reference {
            None => true,
            Some(reference) => {
                nanos_between(reference, t) as f64 > half_life_nanos * MAX_DECAY_EXPONENT
            }
        };
        if needs_shift {
            self.shift_reference(half_life, t);
        }
        let reference = self.reference.unwrap_or(t);
        (nanos_between(reference, t) as f64 / half_life_nanos).exp2()
    }

    /// Upstream `shiftReferenceTimestamp`: the new reference is `t` rounded to a multiple
    /// of the half-life (Go's `Time.Round`, halves up), and the stored weights are scaled by
    /// `2^round((old − new)/halfLife)`. Upstream rounds relative to Go's zero time (year 1);
    /// we round relative to the Unix epoch, which is the same instant grid whenever the
    /// half-life divides a day (the default 24h does).
    fn shift_reference(&mut self, half_life: Duration, t: Timestamp) {
        let half_life_nanos = half_life.as_nanos().max(1) as i128;
        let nanos = t.as_nanosecond();
        let rounded = round_half_up(nanos, half_life_nanos) * half_life_nanos;
        let new_reference = Timestamp::from_nanosecond(rounded).unwrap_or(t);
        if let Some(old) = self.reference {
            let exponent =
                (nanos_between(new_reference, old) as f64 / half_life_nanos as f64).round();
            self.histogram.scale(exponent.exp2());
        }
        // From the zero time upstream's exponent is about −1.4 million: 2^that is 0, so the
        // (empty) histogram stays empty either way.
        self.reference = Some(new_reference);
    }
}

impl Default for DecayingHistogram {
    fn default() -> Self {
        Self::new()
    }
}

/// `to − from` in nanoseconds.
fn nanos_between(from: Timestamp, to: Timestamp) -> i128 {
    to.as_nanosecond() - from.as_nanosecond()
}

/// `n / d` rounded to the nearest integer, halves away from zero (Go's `Duration.Round`).
fn round_half_up(n: i128, d: i128) -> i128 {
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    if r * 2 >= d { q + 1 } else { q }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_day_old_sample_weighs_half_of_a_new_one() {
        let o = HistogramOptions::cpu();
        let mut h = DecayingHistogram::new();
        // Weight 1 at value 1 core yesterday, weight 1 at 2 cores today: the old one counts
        // 1/3 of the total, so p(0.3) is in the 1-core bucket and p(0.34) in the 2-core one.
        h.add_sample(&o, DAY, 1.0, 1.0, ts("2026-01-01T06:00:00Z"));
        h.add_sample(&o, DAY, 2.0, 1.0, ts("2026-01-02T06:00:00Z"));
        let total = h.histogram().total_weight();
        let ref_time = h.reference().unwrap();
        assert_eq!(ref_time, ts("2026-01-01T00:00:00Z"));
        // 2^(6/24) + 2^(30/24)
        let want = (0.25f64).exp2() + (1.25f64).exp2();
        assert!((total - want).abs() < 1e-12);
        let one = o.bucket_start(o.find_bucket(1.0) + 1);
        let two = o.bucket_start(o.find_bucket(2.0) + 1);
        assert_eq!(h.percentile(&o, 0.33), one);
        assert_eq!(h.percentile(&o, 0.34), two);
    }

    #[test]
    fn reference_rounds_half_up_to_the_half_life() {
        let o = HistogramOptions::cpu();
        let mut h = DecayingHistogram::new();
        h.add_sample(&o, DAY, 1.0, 1.0, ts("2026-01-01T12:00:00Z"));
        assert_eq!(h.reference(), Some(ts("2026-01-02T00:00:00Z")));
        let mut h = DecayingHistogram::new();
        h.add_sample(&o, DAY, 1.0, 1.0, ts("2026-01-01T11:59:59Z"));
        assert_eq!(h.reference(), Some(ts("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn reference_shift_keeps_percentiles_and_relative_weights() {
        let o = HistogramOptions::cpu();
        let start = ts("2026-01-01T00:00:00Z");
        let mut shifted = DecayingHistogram::new();
        let mut samples = Vec::new();
        // Samples spread over 120 days: past 100 half-lives the reference must move.
        for day in 0..120i64 {
            let t = start + jiff::SignedDuration::from_hours(24 * day);
            let value = 0.1 + (day % 7) as f64 * 0.3;
            samples.push((value, t));
            shifted.add_sample(&o, DAY, value, 0.1, t);
        }
        assert!(shifted.reference().unwrap() > start, "reference moved");
        // Percentiles from the weights computed directly against the last day (all finite).
        let last = samples.last().unwrap().1;
        let mut direct = SparseHistogram::new();
        for &(value, t) in &samples {
            let exponent = nanos_between(last, t) as f64 / DAY.as_nanos() as f64;
            direct.add(&o, value, 0.1 * exponent.exp2());
        }
        for p in [0.1, 0.5, 0.9, 0.95, 0.99] {
            assert_eq!(shifted.percentile(&o, p), direct.percentile(&o, p), "p{p}");
        }
        // The newest sample weighs 2^k for k = days past the reference, at most 2^100.
        assert!(shifted.histogram().total_weight() < 0.1 * 2f64.powi(101));
    }
}
