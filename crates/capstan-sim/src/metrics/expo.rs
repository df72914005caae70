//! A small writer of the Prometheus text exposition format 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>): `# HELP` and `# TYPE` once
//! per family, then its samples; no timestamps (the scraper stamps them).

use std::fmt::Write as _;

/// The content type Prometheus and kubectl expect for the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One exposition body being written.
#[derive(Debug, Default)]
pub struct Expo {
    out: String,
}

impl Expo {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            out: String::with_capacity(bytes),
        }
    }

    /// Start a family: its help text and type.
    pub fn family(&mut self, name: &str, help: &str, kind: Kind) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample line.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        self.out.push(' ');
        write_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// A histogram's series: `cumulative[i]` observations at or below `bounds[i]`, then
    /// `+Inf` (= `count`), `_sum` and `_count`.
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        cumulative: &[f64],
        sum: f64,
        count: f64,
    ) {
        for (bound, n) in bounds.iter().zip(cumulative) {
            let _ = write!(self.out, "{name}_bucket");
            let le = format_value(*bound);
            write_labels(&mut self.out, labels, Some(&le));
            self.out.push(' ');
            write_value(&mut self.out, *n);
            self.out.push('\n');
        }
        let _ = write!(self.out, "{name}_bucket");
        write_labels(&mut self.out, labels, Some("+Inf"));
        self.out.push(' ');
        write_value(&mut self.out, count);
        self.out.push('\n');
        let _ = write!(self.out, "{name}_sum");
        write_labels(&mut self.out, labels, None);
        self.out.push(' ');
        write_value(&mut self.out, sum);
        self.out.push('\n');
        let _ = write!(self.out, "{name}_count");
        write_labels(&mut self.out, labels, None);
        self.out.push(' ');
        write_value(&mut self.out, count);
        self.out.push('\n');
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (k, v) in labels {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        escape_label_into(out, v);
        out.push('"');
    }
    if let Some(le) = le {
        if !first {
            out.push(',');
        }
        out.push_str("le=\"");
        out.push_str(le);
        out.push('"');
    }
    out.push('}');
}

fn escape_label_into(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` style as far as the parser cares: shortest
/// round-trip decimal, `+Inf`/`-Inf`/`NaN` spelled as the format requires.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn write_value(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str(&format_value(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_families_samples_and_histograms() {
        let mut e = Expo::default();
        e.family("x_total", "An x.", Kind::Counter);
        e.sample("x_total", &[("a", "q\"\\\n")], 3.0);
        e.family("h", "A histogram.", Kind::Histogram);
        e.histogram("h", &[("v", "GET")], &[0.5, 1.0], &[1.0, 2.0], 1.25, 3.0);
        let body = e.finish();
        assert!(body.contains("x_total{a=\"q\\\"\\\\\\n\"} 3\n"), "{body}");
        assert!(
            body.contains("h_bucket{v=\"GET\",le=\"0.5\"} 1\n"),
            "{body}"
        );
        assert!(body.contains("h_bucket{v=\"GET\",le=\"1\"} 2\n"), "{body}");
        assert!(
            body.contains("h_bucket{v=\"GET\",le=\"+Inf\"} 3\n"),
            "{body}"
        );
        assert!(body.contains("h_sum{v=\"GET\"} 1.25\nh_count{v=\"GET\"} 3\n"));
    }
}
