//! The Prometheus text exposition format 0.0.4
//! (prometheus/docs content/docs/instrumenting/exposition_formats.md, parsed upstream by
//! prometheus/prometheus model/textparse/promparse.go).

use super::{ExpositionError, METRIC_NAME_LABEL, Sample};
use crate::health::Labels;

const METRIC_TYPES: [&str; 5] = ["counter", "gauge", "histogram", "summary", "untyped"];

/// Parses a text exposition into samples; the metric name is the `__name__` label.
///
/// `# HELP` and `# TYPE` lines are checked for shape, other comments and blank lines are
/// skipped. Label values unescape `\\`, `\"` and `\n` (other escapes are kept as written, as
/// upstream does). Values accept `NaN`, `+Inf` and `-Inf`; the optional timestamp is integer
/// milliseconds.
pub fn parse_exposition(text: &str) -> Result<Vec<Sample>, ExpositionError> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let error = |reason: String| ExpositionError {
            line: index + 1,
            reason,
        };
        let trimmed = line.trim_matches([' ', '\t', '\r']);
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            parse_comment(comment).map_err(error)?;
            continue;
        }
        samples.push(parse_sample_line(trimmed).map_err(error)?);
    }
    Ok(samples)
}

fn parse_comment(comment: &str) -> Result<(), String> {
    let mut words = comment.split_ascii_whitespace();
    let Some(keyword @ ("HELP" | "TYPE")) = words.next() else {
        return Ok(());
    };
    let Some(name) = words.next() else {
        return Err(format!("# {keyword} without a metric name"));
    };
    if !is_metric_name(name) {
        return Err(format!("# {keyword} names an invalid metric name {name:?}"));
    }
    if keyword == "TYPE" {
        match words.next() {
            None => return Err(format!("# TYPE {name} without a type")),
            Some(kind) if !METRIC_TYPES.contains(&kind) => {
                return Err(format!(
                    "# TYPE {name} has unknown type {kind:?} (expected one of {})",
                    METRIC_TYPES.join(", ")
                ));
            }
            Some(_) => {}
        }
        if let Some(extra) = words.next() {
            return Err(format!(
                "# TYPE {name} has unexpected text {extra:?} after the type"
            ));
        }
    }
    Ok(())
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A cursor over one sample line.
struct Line<'a> {
    rest: &'a str,
}

impl<'a> Line<'a> {
    fn skip_blanks(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !keep(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn token(&mut self) -> &'a str {
        self.take_while(|c| c != ' ' && c != '\t')
    }
}

fn parse_sample_line(text: &str) -> Result<Sample, String> {
    let mut line = Line { rest: text };
    let name = line.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if !is_metric_name(name) {
        return Err(format!("expected a metric name, found {text:?}"));
    }
    let mut labels = Labels::new();
    labels.insert(METRIC_NAME_LABEL.to_string(), name.to_string());
    line.skip_blanks();
    if line.eat('{') {
        parse_labels(&mut line, name, &mut labels)?;
    }
    line.skip_blanks();
    let value_text = line.token();
    if value_text.is_empty() {
        return Err(format!("metric {name} has no value"));
    }
    let value = parse_value(value_text)
        .ok_or_else(|| format!("metric {name} has an invalid value {value_text:?}"))?;
    line.skip_blanks();
    let timestamp_ms = match line.token() {
        "" => None,
        ts => Some(
            ts.parse::<i64>()
                .map_err(|_| format!("metric {name} has an invalid timestamp {ts:?}"))?,
        ),
    };
    line.skip_blanks();
    if !line.rest.is_empty() {
        return Err(format!(
            "metric {name} has unexpected text {:?} after the timestamp",
            line.rest
        ));
    }
    Ok(Sample {
        labels,
        value,
        timestamp_ms,
    })
}

fn parse_labels(line: &mut Line<'_>, metric: &str, labels: &mut Labels) -> Result<(), String> {
    loop {
        line.skip_blanks();
        if line.eat('}') {
            return Ok(());
        }
        let label = line.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_label_name(label) {
            return Err(format!(
                "metric {metric}: expected a label name or '}}', found {:?}",
                line.rest
            ));
        }
        line.skip_blanks();
        if !line.eat('=') {
            return Err(format!(
                "metric {metric}: expected '=' after label name {label}"
            ));
        }
        line.skip_blanks();
        if !line.eat('"') {
            return Err(format!(
                "metric {metric}: expected '\"' to open the value of label {label}"
            ));
        }
        let value = parse_label_value(line)
            .ok_or_else(|| format!("metric {metric}: unterminated value of label {label}"))?;
        if label == METRIC_NAME_LABEL || labels.insert(label.to_string(), value).is_some() {
            return Err(format!("metric {metric}: duplicate label {label}"));
        }
        line.skip_blanks();
        if line.eat(',') {
            continue;
        }
        line.skip_blanks();
        if line.eat('}') {
            return Ok(());
        }
        return Err(format!(
            "metric {metric}: expected ',' or '}}' after label {label}, found {:?}",
            line.rest
        ));
    }
}

/// Reads a label value after its opening quote, through the closing quote.
fn parse_label_value(line: &mut Line<'_>) -> Option<String> {
    let mut value = String::new();
    let mut chars = line.rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                line.rest = &line.rest[at + 1..];
                return Some(value);
            }
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                '\\' => value.push('\\'),
                '"' => value.push('"'),
                other => {
                    value.push('\\');
                    value.push(other);
                }
            },
            c => value.push(c),
        }
    }
    None
}

/// Go's `strconv.ParseFloat` for what expositions contain: decimals, exponents, `NaN`,
/// `[+-]Inf`.
fn parse_value(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "+inf" | "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        lower if lower.contains("inf") || lower.contains("nan") => None,
        _ => text.parse::<f64>().ok(),
    }
}
