//! A tiny parser and checker of the Prometheus text exposition format for the metrics tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

/// One sample of an exposition body.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed body: family types by name, and samples in order.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: BTreeMap<String, String>,
    pub helps: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// A tiny parser of the text format 0.0.4; panics on anything it does not expect.
    pub fn parse(body: &str) -> Self {
        let mut e = Exposition::default();
        for line in body.lines() {
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                assert!(
                    e.helps.insert(name.into(), help.into()).is_none(),
                    "HELP twice for {name}"
                );
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(
                    ["counter", "gauge", "histogram"].contains(&kind),
                    "type {kind}"
                );
                assert!(
                    e.types.insert(name.into(), kind.into()).is_none(),
                    "TYPE twice for {name}"
                );
                continue;
            }
            assert!(!line.starts_with('#'), "unexpected comment: {line}");
            let (name, rest) = match line.find('{') {
                Some(i) => (&line[..i], &line[i..]),
                None => line.split_at(line.find(' ').unwrap()),
            };
            let mut labels = BTreeMap::new();
            let mut rest = rest;
            if let Some(body) = rest.strip_prefix('{') {
                let mut chars = body.char_indices().peekable();
                let mut key = String::new();
                let mut end = 0;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '}' => {
                            end = i + 1;
                            break;
                        }
                        ',' => {}
                        '=' => {
                            assert_eq!(chars.next().map(|c| c.1), Some('"'), "{line}");
                            let mut value = String::new();
                            loop {
                                let (_, c) = chars.next().unwrap();
                                match c {
                                    '\\' => match chars.next().unwrap().1 {
                                        'n' => value.push('\n'),
                                        c => value.push(c),
                                    },
                                    '"' => break,
                                    c => value.push(c),
                                }
                            }
                            assert!(
                                labels.insert(std::mem::take(&mut key), value).is_none(),
                                "duplicate label in {line}"
                            );
                        }
                        c => key.push(c),
                    }
                }
                rest = &body[end..];
            }
            let value_text = rest.trim();
            assert!(
                !value_text.contains(' '),
                "timestamps are not allowed: {line}"
            );
            let value = match value_text {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| e.types.get(*f).map(String::as_str) == Some("histogram"))
                })
                .unwrap_or(name);
            assert!(
                e.types.contains_key(family) && e.helps.contains_key(family),
                "sample before its HELP/TYPE: {line}"
            );
            e.samples.push(Sample {
                name: name.into(),
                labels,
                value,
            });
        }
        for (name, kind) in &e.types {
            if kind == "counter" {
                assert!(
                    name.ends_with("_total"),
                    "counter {name} must end in _total"
                );
            }
        }
        for s in &e.samples {
            for forbidden in ["instance", "job", "cluster"] {
                assert!(
                    !s.labels.contains_key(forbidden),
                    "{forbidden} label on {}",
                    s.name
                );
            }
        }
        e
    }

    pub fn series(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }

    pub fn has(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.series(name)
            .into_iter()
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.has(name, labels).iter().map(|s| s.value).sum()
    }

    pub fn label_names(&self, name: &str) -> Vec<String> {
        let s = self
            .series(name)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {name}"));
        s.labels.keys().cloned().collect()
    }
}

/// Histograms are cumulative, end at +Inf = _count.
pub fn check_histograms(e: &Exposition) {
    for (family, _) in e.types.iter().filter(|(_, k)| *k == "histogram") {
        let buckets = e.series(&format!("{family}_bucket"));
        let mut by_series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for b in buckets {
            let mut key = b.labels.clone();
            let le = key.remove("le").expect("le label");
            let le: f64 = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            by_series
                .entry(format!("{key:?}"))
                .or_default()
                .push((le, b.value));
        }
        assert!(!by_series.is_empty(), "{family} has buckets");
        for (key, buckets) in by_series {
            assert!(
                buckets
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                "{family}{key} is cumulative"
            );
            assert_eq!(buckets.last().unwrap().0, f64::INFINITY);
            let count = e
                .series(&format!("{family}_count"))
                .into_iter()
                .find(|s| format!("{:?}", s.labels) == key)
                .unwrap()
                .value;
            assert_eq!(buckets.last().unwrap().1, count, "{family}{key}");
        }
    }
}

/// `promtool check metrics` on the body, when promtool is installed: no errors; lint
/// warnings are printed (upstream names trigger some).
pub fn promtool_check(what: &str, body: &str) {
    use std::io::Write;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("promtool not installed: {what} checked by the in-test parser only");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !report.to_lowercase().contains("error"),
        "promtool finds errors in {what}: {report}"
    );
    if !report.trim().is_empty() {
        eprintln!("promtool lint for {what}: {report}");
    }
}
