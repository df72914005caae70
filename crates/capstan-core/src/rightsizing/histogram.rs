//! The VPA recommender's exponential-bucket histogram (`util/histogram_options.go`,
//! `util/histogram.go`), stored sparsely.
//!
//! Upstream keeps a dense `[]float64` of every bucket (176 for the default CPU and memory
//! options, 1.4 KB per histogram). With up to ~100,000 aggregated containers per cluster, each
//! holding three histograms, that is hundreds of MB, and almost all buckets are empty: a
//! container's usage sits in a narrow band. So buckets live in a `Vec<(u16, f64)>` sorted by
//! bucket index (16 bytes per non-empty bucket, typically a few dozen), and lookups are a
//! binary search. The arithmetic is upstream's, bucket for bucket.

/// Exponential bucket layout: bucket 0 is `[0, first)`, bucket `n ≥ 1` starts at
/// `first × (ratio^n − 1)/(ratio − 1)`; the last bucket is unbounded above.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramOptions {
    first_bucket_size: f64,
    ratio: f64,
    num_buckets: u16,
    epsilon: f64,
}

/// Upstream `minSampleWeight`: the weight of one CPU sample, and the scale of `epsilon`.
pub const MIN_SAMPLE_WEIGHT: f64 = 0.1;
/// Upstream `epsilon = 0.001 × minSampleWeight`: a bucket lighter than this counts as empty.
pub const EPSILON: f64 = 0.001 * MIN_SAMPLE_WEIGHT;
/// Each bucket is 5% wider than the previous one (`histogramBucketSizeGrowth = 0.05`).
pub const BUCKET_RATIO: f64 = 1.05;
/// `ceil(ln(max × 0.05/first + 1)/ln 1.05) + 1` for both default layouts (max/first = 1e5).
const DEFAULT_NUM_BUCKETS: u16 = 176;

impl HistogramOptions {
    /// Upstream `NewExponentialHistogramOptions`:
    /// `numBuckets = ceil(log_ratio(max × (ratio − 1)/first + 1)) + 1`.
    ///
    /// The count is capped at `u16::MAX` buckets (the default layouts have 176).
    pub fn exponential(max_value: f64, first_bucket_size: f64, ratio: f64, epsilon: f64) -> Self {
        let buckets =
            ((max_value * (ratio - 1.0) / first_bucket_size + 1.0).ln() / ratio.ln()).ceil() + 1.0;
        let num_buckets = if buckets.is_finite() && buckets >= 1.0 {
            buckets.min(f64::from(u16::MAX)) as u16
        } else {
            1
        };
        Self {
            first_bucket_size,
            ratio,
            num_buckets,
            epsilon,
        }
    }

    /// CPU in cores: first bucket 0.01 core, up to 1000 cores
    /// (`model/aggregations_config.go` `CPUHistogramOptions`). The bucket count is
    /// `exponential(1000.0, 0.01, ..)`'s, spelled out so that this is a constant (a test
    /// checks they agree).
    pub const fn cpu() -> Self {
        Self {
            first_bucket_size: 0.01,
            ratio: BUCKET_RATIO,
            num_buckets: DEFAULT_NUM_BUCKETS,
            epsilon: EPSILON,
        }
    }

    /// Memory in bytes: first bucket 1e7 bytes, up to 1e12 (`MemoryHistogramOptions`).
    pub const fn memory() -> Self {
        Self {
            first_bucket_size: 1e7,
            ratio: BUCKET_RATIO,
            num_buckets: DEFAULT_NUM_BUCKETS,
            epsilon: EPSILON,
        }
    }

    pub fn num_buckets(&self) -> u16 {
        self.num_buckets
    }

    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Upstream `FindBucket`: `floor(log_ratio(v × (ratio − 1)/first + 1))`, values below
    /// the first bucket's size in bucket 0, clamped to the last bucket.
    pub fn find_bucket(&self, value: f64) -> u16 {
        if value < self.first_bucket_size || value.is_nan() {
            return 0;
        }
        let bucket = ((value * (self.ratio - 1.0) / self.first_bucket_size + 1.0).ln()
            / self.ratio.ln())
        .floor();
        let last = self.num_buckets - 1;
        if bucket >= f64::from(last) {
            last
        } else {
            bucket as u16
        }
    }

    /// Upstream `GetBucketStart`; indices past the end are clamped to the last bucket
    /// (upstream panics).
    pub fn bucket_start(&self, bucket: u16) -> f64 {
        let bucket = bucket.min(self.num_buckets - 1);
        if bucket == 0 {
            return 0.0;
        }
        self.first_bucket_size * (self.ratio.powi(i32::from(bucket)) - 1.0) / (self.ratio - 1.0)
    }
}

/// Bucket weights, only the non-zero ones, sorted by bucket index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseHistogram {
    buckets: Vec<(u16, f64)>,
    total_weight: f64,
}

impl SparseHistogram {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Number of buckets holding weight (what the memory footprint scales with).
    pub fn stored_buckets(&self) -> usize {
        self.buckets.len()
    }

    /// The stored `(bucket, weight)` pairs, by bucket.
    pub(super) fn buckets(&self) -> &[(u16, f64)] {
        &self.buckets
    }

    /// A histogram of these buckets (sorted by bucket, each once) and total: a checkpoint's.
    pub(super) fn from_parts(buckets: Vec<(u16, f64)>, total_weight: f64) -> Self {
        Self {
            buckets,
            total_weight,
        }
    }

    /// Upstream `AddSample`; negative weights are ignored (upstream panics).
    pub fn add(&mut self, options: &HistogramOptions, value: f64, weight: f64) {
        if weight.is_nan() || weight <= 0.0 {
            return;
        }
        let bucket = options.find_bucket(value);
        match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(i) => self.buckets[i].1 += weight,
            Err(i) => self.buckets.insert(i, (bucket, weight)),
        }
        self.total_weight += weight;
    }

    /// Upstream `SubtractSample`: both the bucket and the total go through `safeSubtract`
    /// (a result below epsilon becomes 0).
    pub fn subtract(&mut self, options: &HistogramOptions, value: f64, weight: f64) {
        if weight.is_nan() || weight < 0.0 {
            return;
        }
        let epsilon = options.epsilon;
        self.total_weight = safe_subtract(self.total_weight, weight, epsilon);
        let bucket = options.find_bucket(value);
        if let Ok(i) = self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
            let left = safe_subtract(self.buckets[i].1, weight, epsilon);
            if left == 0.0 {
                self.buckets.remove(i);
            } else {
                self.buckets[i].1 = left;
            }
        }
    }

    /// Upstream `scale`: every weight and the total multiplied by `factor`. Buckets that
    /// fall under epsilon stay (upstream keeps them too, outside its min/max range).
    pub fn scale(&mut self, factor: f64) {
        if factor.is_nan() || factor < 0.0 {
            return;
        }
        for (_, weight) in &mut self.buckets {
            *weight *= factor;
        }
        self.buckets.retain(|&(_, w)| w > 0.0);
        self.total_weight *= factor;
    }

    /// Upstream `IsEmpty`: no bucket reaches epsilon.
    pub fn is_empty(&self, options: &HistogramOptions) -> bool {
        self.min_max_bucket(options).is_none()
    }

    /// Upstream's `minBucket`/`maxBucket`: the first and last bucket weighing at least
    /// epsilon, as positions in `buckets`.
    pub(super) fn min_max_bucket(&self, options: &HistogramOptions) -> Option<(usize, usize)> {
        let heavy = |&(_, w): &(u16, f64)| w >= options.epsilon;
        let min = self.buckets.iter().position(heavy)?;
        let max = self.buckets.iter().rposition(heavy)?;
        Some((min, max))
    }

    /// Upstream `Percentile`: walk from the lowest non-empty bucket accumulating weight until
    /// it reaches `percentile × totalWeight`, and return the END of that bucket (the start of
    /// the next one), or the start of the last bucket, which has no end. Empty → 0.
    pub fn percentile(&self, options: &HistogramOptions, percentile: f64) -> f64 {
        let Some((min, max)) = self.min_max_bucket(options) else {
            return 0.0;
        };
        let threshold = percentile * self.total_weight;
        let mut partial_sum = 0.0;
        // Like upstream's `for ; bucket < maxBucket; bucket++`, the walk stops at maxBucket
        // whether or not the threshold was reached (weights under epsilon outside
        // [min, max] count in the total but are never walked).
        let mut chosen = self.buckets[max].0;
        for &(bucket, weight) in &self.buckets[min..max] {
            partial_sum += weight;
            if partial_sum >= threshold {
                chosen = bucket;
                break;
            }
        }
        if chosen < options.num_buckets - 1 {
            options.bucket_start(chosen + 1)
        } else {
            options.bucket_start(chosen)
        }
    }
}

fn safe_subtract(value: f64, sub: f64, epsilon: f64) -> f64 {
    let left = value - sub;
    if left < epsilon { 0.0 } else { left }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn default_layouts_have_176_buckets() {
        // ceil(ln(1000 × 0.05 / 0.01 + 1) / ln 1.05) + 1 = ceil(174.57) + 1 = 176; memory has
        // the same max/first ratio.
        assert_eq!(HistogramOptions::cpu().num_buckets(), 176);
        assert_eq!(HistogramOptions::memory().num_buckets(), 176);
        assert_eq!(
            HistogramOptions::exponential(1000.0, 0.01, BUCKET_RATIO, EPSILON),
            HistogramOptions::cpu()
        );
        assert_eq!(
            HistogramOptions::exponential(1e12, 1e7, BUCKET_RATIO, EPSILON),
            HistogramOptions::memory()
        );
        assert!(close(HistogramOptions::cpu().epsilon(), 0.0001));
    }

    #[test]
    fn bucket_starts_follow_the_geometric_series() {
        let o = HistogramOptions::cpu();
        assert_eq!(o.bucket_start(0), 0.0);
        assert!(close(o.bucket_start(1), 0.01));
        assert!(close(o.bucket_start(2), 0.01 + 0.0105));
        assert!(close(o.bucket_start(3), 0.01 + 0.0105 + 0.011025));
        // Bucket 175 starts at 0.01 × (1.05^175 − 1)/0.05 ≈ 1015.5 cores, just past max.
        assert!(close(
            o.bucket_start(175),
            0.01 * (1.05f64.powi(175) - 1.0) / 0.05
        ));
        assert!(o.bucket_start(175) > 1000.0 && o.bucket_start(174) < 1000.0);
    }

    #[test]
    fn find_bucket_at_edges() {
        let o = HistogramOptions::cpu();
        let cases: &[(f64, u16)] = &[
            (0.0, 0),
            (0.009_999, 0),
            (0.01, 1),
            (0.0206, 2),
            (0.020_49, 1),
            (0.0315, 2),
            (1000.0, 174),
            (1e9, 175),
            (-1.0, 0),
        ];
        for &(value, want) in cases {
            assert_eq!(o.find_bucket(value), want, "value {value}");
        }
        // Every bucket's start maps back to that bucket (within float rounding one below).
        for b in 1..o.num_buckets() {
            let start = o.bucket_start(b);
            let found = o.find_bucket(start * (1.0 + 1e-12));
            assert_eq!(found, b, "start of bucket {b}");
        }
    }

    #[test]
    fn percentile_returns_the_end_of_the_bucket() {
        let o = HistogramOptions::cpu();
        let mut h = SparseHistogram::new();
        assert_eq!(h.percentile(&o, 0.5), 0.0, "empty");
        // Ten samples in bucket 1 ([0.01, 0.0205)), ten in bucket 2.
        for _ in 0..10 {
            h.add(&o, 0.015, 1.0);
            h.add(&o, 0.025, 1.0);
        }
        let end1 = o.bucket_start(2);
        let end2 = o.bucket_start(3);
        assert!(
            close(h.percentile(&o, 0.0), end1),
            "p0 is the end of the lowest bucket"
        );
        assert!(
            close(h.percentile(&o, 0.5), end1),
            "exactly half reached in bucket 1"
        );
        assert!(close(h.percentile(&o, 0.5001), end2));
        assert!(close(h.percentile(&o, 1.0), end2));
    }

    #[test]
    fn last_bucket_percentile_is_its_start() {
        let o = HistogramOptions::cpu();
        let mut h = SparseHistogram::new();
        h.add(&o, 5000.0, 1.0);
        assert!(close(h.percentile(&o, 0.9), o.bucket_start(175)));
    }

    #[test]
    fn subtract_removes_and_keeps_sparse() {
        let o = HistogramOptions::memory();
        let mut h = SparseHistogram::new();
        h.add(&o, 5e8, 1.0);
        h.add(&o, 9e8, 1.0);
        assert_eq!(h.stored_buckets(), 2);
        h.subtract(&o, 9e8, 1.0);
        assert_eq!(h.stored_buckets(), 1);
        assert!(close(h.total_weight(), 1.0));
        assert!(close(
            h.percentile(&o, 1.0),
            o.bucket_start(o.find_bucket(5e8) + 1)
        ));
        h.subtract(&o, 5e8, 1.0);
        assert!(h.is_empty(&o));
        assert_eq!(h.total_weight(), 0.0);
    }

    #[test]
    fn weights_below_epsilon_do_not_make_it_non_empty() {
        let o = HistogramOptions::cpu();
        let mut h = SparseHistogram::new();
        h.add(&o, 1.0, EPSILON / 2.0);
        assert!(h.is_empty(&o));
        assert_eq!(h.percentile(&o, 0.5), 0.0);
    }
}
