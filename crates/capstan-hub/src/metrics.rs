//! The hub's own metrics and the Prometheus text exposition format (version 0.0.4) they are
//! served in at `GET /metrics` (see `api::metrics`).
//!
//! **Hand-written, not `prometheus-client`.** Every gauge the hub exposes (clusters by health,
//! upgrades by phase, step progress) is a function of the store at scrape time, not a value the
//! hub keeps up to date; with `prometheus-client` each would be a custom `Collector` re-encoding
//! what the store returns, which is more code than writing the lines. The one value the hub
//! accumulates, the report ingest latency, is a fixed-bucket histogram of atomics
//! ([`Histogram`]). What is left, the format itself, is small and specified
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>): [`Exposition`] writes it
//! and its tests pin the escaping and the histogram lines.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the report ingest histogram's buckets: an ingest is a token check
/// and one SQLite upsert, so sub-millisecond to the 100 ms p99 target of issue 4, and beyond.
pub const REPORT_INGEST_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// What the hub measures itself, shared by every clone of the API state.
#[derive(Clone)]
pub struct HubMetrics {
    /// Time from receiving an agent report to its store write done.
    pub report_ingest: Arc<Histogram>,
    /// Posture reports stored (`capstan_posture_reports_total`).
    pub posture_reports: Arc<Counter>,
}

impl Default for HubMetrics {
    fn default() -> Self {
        Self {
            report_ingest: Arc::new(Histogram::new(&REPORT_INGEST_BUCKETS)),
            posture_reports: Arc::default(),
        }
    }
}

/// A Prometheus counter: one relaxed atomic add.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A Prometheus histogram over fixed buckets: one relaxed atomic add per observation on the
/// bucket it falls in plus one on the sum, no lock, so that 1,000 reports/s cost nothing
/// measurable. Buckets are counted individually and made cumulative when rendered, and the
/// count is the total of the buckets, so a scrape racing an observation still shows
/// `+Inf == _count` and monotone buckets (the sum may be one observation ahead or behind).
#[derive(Debug)]
pub struct Histogram {
    /// Upper bounds, strictly increasing.
    bounds: Vec<f64>,
    /// One per bound, plus the overflow (`+Inf`) bucket last.
    counts: Vec<AtomicU64>,
    sum_nanos: AtomicU64,
}

/// A consistent-enough copy of a [`Histogram`] for rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// (upper bound, cumulative count), `+Inf` last.
    pub buckets: Vec<(f64, u64)>,
    pub sum_seconds: f64,
    pub count: u64,
}

impl Histogram {
    /// `bounds` must be finite and strictly increasing (the `+Inf` bucket is implied); other
    /// values are dropped.
    pub fn new(bounds: &[f64]) -> Self {
        let mut kept: Vec<f64> = Vec::with_capacity(bounds.len());
        for &b in bounds {
            if b.is_finite() && kept.last().is_none_or(|&last| b > last) {
                kept.push(b);
            }
        }
        let counts = (0..=kept.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            bounds: kept,
            counts,
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        // `le` is inclusive: an observation equal to a bound falls in that bucket.
        let index = self.bounds.partition_point(|&bound| bound < seconds);
        if let Some(bucket) = self.counts.get(index) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0u64;
        let bounds = self.bounds.iter().copied().chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = bounds
            .zip(&self.counts)
            .map(|(bound, count)| {
                cumulative += count.load(Ordering::Relaxed);
                (bound, cumulative)
            })
            .collect();
        HistogramSnapshot {
            buckets,
            sum_seconds: Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)).as_secs_f64(),
            count: cumulative,
        }
    }
}

/// The metric types this hub writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Counter,
    Histogram,
}

impl MetricType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Counter => "counter",
            Self::Histogram => "histogram",
        }
    }
}

/// A text exposition being written: a `# HELP` and `# TYPE` line per family, then its samples.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a metric family; its samples follow with [`Self::sample`].
    pub fn family(&mut self, name: &str, help: &str, kind: MetricType) {
        // In HELP text only backslash and newline are escaped (the format's rule).
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample line: `name{label="value",...} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, label_value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(label);
                self.text.push_str("=\"");
                push_escaped_label_value(&mut self.text, label_value);
                self.text.push('"');
            }
            self.text.push('}');
        }
        self.text.push(' ');
        self.text.push_str(&format_value(value));
        self.text.push('\n');
    }

    /// A whole histogram family: cumulative `_bucket{le}` lines ending in `+Inf`, `_sum`,
    /// `_count`.
    pub fn histogram(&mut self, name: &str, help: &str, snapshot: &HistogramSnapshot) {
        self.family(name, help, MetricType::Histogram);
        let bucket = format!("{name}_bucket");
        for &(bound, count) in &snapshot.buckets {
            self.sample(&bucket, &[("le", &format_value(bound))], count as f64);
        }
        self.sample(&format!("{name}_sum"), &[], snapshot.sum_seconds);
        self.sample(&format!("{name}_count"), &[], snapshot.count as f64);
    }

    pub fn finish(self) -> String {
        self.text
    }
}

/// Label values escape backslash, double quote and newline.
fn push_escaped_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
}

/// A sample value as Go's `ParseFloat` reads it: `+Inf`, `-Inf`, `NaN`, else Rust's shortest
/// round-trip decimal (never an exponent, which the format would also accept).
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value == f64::INFINITY {
        "+Inf".to_string()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut out = Exposition::new();
        out.family("m", "a \\ b\nc \"q\"", MetricType::Gauge);
        out.sample("m", &[("a", "x\\y\"z\nw"), ("b", "plain")], 1.0);
        assert_eq!(
            out.finish(),
            "# HELP m a \\\\ b\\nc \"q\"\n# TYPE m gauge\nm{a=\"x\\\\y\\\"z\\nw\",b=\"plain\"} 1\n"
        );
    }

    #[test]
    fn values_use_prometheus_spellings() {
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(0.0005), "0.0005");
        assert_eq!(format_value(3.0), "3");
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_inclusive() {
        let h = Histogram::new(&[0.001, 0.01, 0.1]);
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(1)); // on the bound: counted in le="0.001"
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_secs(2));
        let snap = h.snapshot();
        assert_eq!(
            snap.buckets,
            vec![(0.001, 2), (0.01, 2), (0.1, 3), (f64::INFINITY, 4)]
        );
        assert_eq!(snap.count, 4);
        assert!((snap.sum_seconds - 2.0515).abs() < 1e-9);

        let mut out = Exposition::new();
        out.histogram("lat_seconds", "Latency.", &snap);
        let text = out.finish();
        assert!(
            text.contains("lat_seconds_bucket{le=\"0.001\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("lat_seconds_bucket{le=\"+Inf\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("lat_seconds_count 4\n"), "{text}");
        assert!(text.contains("# TYPE lat_seconds histogram\n"), "{text}");
    }

    #[test]
    fn histogram_drops_unsorted_and_infinite_bounds() {
        let h = Histogram::new(&[0.1, 0.05, f64::INFINITY, 1.0]);
        let bounds: Vec<f64> = h.snapshot().buckets.iter().map(|b| b.0).collect();
        assert_eq!(bounds, vec![0.1, 1.0, f64::INFINITY]);
    }
}
