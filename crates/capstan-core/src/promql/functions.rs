//! The numeric cores of the functions, after prometheus/prometheus `promql/functions.go`
//! and `promql/quantile.go` (float samples only; native histograms are not scraped here).

use super::query::RangeFunc;

/// One range of a series: the window `(start_ms, end_ms]` and its float samples in time
/// order (staleness markers already removed).
pub(crate) struct Window<'a> {
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
    pub(crate) range_ms: i64,
    pub(crate) points: &'a [(i64, f64)],
}

/// A range function's value over one window, `None` where upstream drops the series.
pub(crate) fn range_function(func: RangeFunc, w: &Window<'_>) -> Option<f64> {
    let values = || w.points.iter().map(|(_, v)| *v);
    let first = w.points.first()?.1;
    match func {
        RangeFunc::Rate => extrapolated_rate(w, true, true),
        RangeFunc::Increase => extrapolated_rate(w, true, false),
        RangeFunc::Delta => extrapolated_rate(w, false, false),
        RangeFunc::Irate => irate(w.points),
        RangeFunc::AvgOverTime => Some(avg_over_time(w.points)),
        RangeFunc::SumOverTime => {
            let (sum, c) = values().fold((0.0, 0.0), |(s, c), v| kahan_sum_inc(v, s, c));
            Some(sum + c)
        }
        // `min < v || NaN(min)`: a NaN sample only wins when all are NaN.
        RangeFunc::MinOverTime => {
            Some(values().fold(first, |m, v| if v < m || m.is_nan() { v } else { m }))
        }
        RangeFunc::MaxOverTime => {
            Some(values().fold(first, |m, v| if v > m || m.is_nan() { v } else { m }))
        }
        RangeFunc::CountOverTime => Some(w.points.len() as f64),
        RangeFunc::LastOverTime => w.points.last().map(|(_, v)| *v),
    }
}

/// `extrapolatedRate`: the increase between the first and last sample (plus the value
/// before each counter reset), extrapolated towards the window's edges: all the way when a
/// sample sits within 1.1x the average interval of the edge, else by half an interval; for
/// counters never below zero at the start.
fn extrapolated_rate(w: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let points = w.points;
    if points.len() < 2 {
        return None;
    }
    let (first_t, first_v) = points[0];
    let (last_t, last_v) = points[points.len() - 1];
    let mut result = last_v - first_v;
    if is_counter {
        for pair in points.windows(2) {
            if pair[1].1 < pair[0].1 {
                result += pair[0].1;
            }
        }
    }
    let mut duration_to_start = (first_t - w.start_ms) as f64 / 1000.0;
    let mut duration_to_end = (w.end_ms - last_t) as f64 / 1000.0;
    let sampled_interval = (last_t - first_t) as f64 / 1000.0;
    let average_interval = sampled_interval / (points.len() - 1) as f64;
    let threshold = average_interval * 1.1;
    if duration_to_start >= threshold {
        duration_to_start = average_interval / 2.0;
    }
    if is_counter && result > 0.0 && first_v >= 0.0 {
        let duration_to_zero = sampled_interval * (first_v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average_interval / 2.0;
    }
    let mut factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
    if is_rate {
        factor /= w.range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `instantValue` for irate: the last two samples, a drop read as a counter reset.
fn irate(points: &[(i64, f64)]) -> Option<f64> {
    let [.., (prev_t, prev_v), (last_t, last_v)] = points else {
        return None;
    };
    let increase = if last_v < prev_v {
        *last_v
    } else {
        last_v - prev_v
    };
    let interval_ms = last_t - prev_t;
    if interval_ms == 0 {
        return None;
    }
    Some(increase / (interval_ms as f64 / 1000.0))
}

/// `avg_over_time`: a compensated sum, switching to an incremental mean if the sum would
/// overflow.
fn avg_over_time(points: &[(i64, f64)]) -> f64 {
    let mut sum = points[0].1;
    let mut count = 1.0;
    let mut mean = 0.0;
    let mut c = 0.0;
    let mut incremental = false;
    for (i, (_, v)) in points.iter().enumerate().skip(1) {
        count = (i + 1) as f64;
        if !incremental {
            let (new_sum, new_c) = kahan_sum_inc(*v, sum, c);
            if !new_sum.is_infinite() {
                sum = new_sum;
                c = new_c;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_sum_inc(v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

/// Kahan-Neumaier summation step (prometheus util/kahansum): returns the new sum and
/// compensation.
pub(crate) fn kahan_sum_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Go's `math.Max`/`math.Min` propagate NaN, unlike `f64::max`/`f64::min`.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// `BucketQuantile` over classic buckets `(upper_bound, cumulative_count)`: sorted by upper
/// bound, the `+Inf` bucket required, equal bounds merged, counts forced monotonic, then
/// linear interpolation within the bucket holding the rank (the lowest bucket starting at 0
/// when its bound is positive; the highest finite bound when the rank falls in `+Inf`).
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if !buckets
        .last()
        .is_some_and(|(upper, _)| *upper == f64::INFINITY)
    {
        return f64::NAN;
    }
    buckets.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 += later.1;
            true
        } else {
            false
        }
    });
    ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    // sort.Search over all but the +Inf bucket: the first bucket whose count reaches rank.
    let b = buckets[..buckets.len() - 1].partition_point(|(_, count)| *count < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let bucket_end = buckets[b].0;
    let mut count = buckets[b].1;
    let mut bucket_start = 0.0;
    if b > 0 {
        bucket_start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// `ensureMonotonicAndIgnoreSmallDeltas` with upstream's 1e-12 relative tolerance.
fn ensure_monotonic(buckets: &mut [(f64, f64)]) {
    const TOLERANCE: f64 = 1e-12;
    let Some(first) = buckets.first() else {
        return;
    };
    let mut prev = first.1;
    for bucket in buckets.iter_mut().skip(1) {
        let curr = bucket.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, TOLERANCE) || curr < prev {
            bucket.1 = prev;
            continue;
        }
        prev = curr;
    }
}

/// prometheus util/almost `Equal`.
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}
