#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::*;

/// Labels from `"a=x b=y"` (no spaces or `=` in values).
pub(super) fn ls(pairs: &str) -> Labels {
    pairs
        .split_whitespace()
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A store holding `series` (exposition-style selectors such as `foo{a="b"}`) with samples
/// `(seconds, value)`, ingested with explicit timestamps (so no staleness tracking).
pub(super) fn store(series: &[(&str, &[(i64, f64)])]) -> SeriesStore {
    let mut text = String::new();
    for (selector, points) in series {
        for (t, v) in *points {
            text.push_str(&format!("{selector} {v} {}\n", t * 1000));
        }
    }
    let mut store = SeriesStore::new(Duration::from_secs(3 * 3600));
    store.ingest_scrape("test", &Labels::new(), parse_exposition(&text).unwrap(), 0);
    store
}

pub(super) fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Evaluates `expr` at `at_s` seconds and compares with `want` (labels as for [`ls`]).
#[track_caller]
pub(super) fn check(store: &SeriesStore, expr: &str, at_s: i64, want: &[(&str, f64)]) {
    let query = Query::parse(expr).unwrap_or_else(|e| panic!("{e}"));
    let got = evaluate(&query, store, at_s * 1000).unwrap_or_else(|e| panic!("{e}"));
    let mut want: Vec<(Labels, f64)> = want.iter().map(|(l, v)| (ls(l), *v)).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let ok = got.len() == want.len()
        && got
            .iter()
            .zip(&want)
            .all(|(g, w)| g.0 == w.0 && same(g.1, w.1));
    assert!(ok, "{expr} at {at_s}s:\n got  {got:?}\n want {want:?}");
}

// ---- exposition ----

#[test]
fn exposition_parses_the_text_format() {
    let text = concat!(
        "# HELP http_requests_total The total number of HTTP requests.\n",
        "# TYPE http_requests_total counter\n",
        "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n",
        "http_requests_total{method=\"post\",code=\"400\",}    3\n",
        "\n",
        "# a free comment\n",
        "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n",
        "metric_without_labels 12.47\n",
        "nan_metric NaN\n",
        "pos_inf{le=\"+Inf\"} +Inf\n",
        "neg_inf -Inf\n",
        "spaced { a = \"b\" } 1\n",
    );
    let samples = parse_exposition(text).unwrap();
    assert_eq!(samples.len(), 8);
    assert_eq!(
        samples[0].labels,
        ls("__name__=http_requests_total method=post code=200")
    );
    assert_eq!(samples[0].value, 1027.0);
    assert_eq!(samples[0].timestamp_ms, Some(1_395_066_363_000));
    assert_eq!(samples[1].timestamp_ms, None);
    assert_eq!(samples[2].labels["path"], "C:\\DIR\\FILE.TXT");
    assert_eq!(
        samples[2].labels["error"],
        "Cannot find file:\n\"FILE.TXT\""
    );
    assert_eq!(samples[2].value, 1.458255915e9);
    assert_eq!(samples[3].labels, ls("__name__=metric_without_labels"));
    assert!(samples[4].value.is_nan());
    assert_eq!(samples[5].value, f64::INFINITY);
    assert_eq!(samples[5].labels["le"], "+Inf");
    assert_eq!(samples[6].value, f64::NEG_INFINITY);
    assert_eq!(samples[7].labels, ls("__name__=spaced a=b"));
}

#[test]
fn exposition_errors_name_the_line_and_the_problem() {
    let cases = [
        ("ok 1\nno_value\n", 2, "no value"),
        ("ok 1\n\nbad{a=\"b\" 1\n", 3, "expected ',' or '}'"),
        ("bad{a=\"b} 1\n", 1, "unterminated value of label a"),
        ("bad{a=b} 1\n", 1, "expected '\"'"),
        ("bad{a=\"1\",a=\"2\"} 1\n", 1, "duplicate label a"),
        ("bad{1a=\"1\"} 1\n", 1, "expected a label name"),
        ("bad 1x\n", 1, "invalid value \"1x\""),
        ("bad 1 12.5\n", 1, "invalid timestamp"),
        ("bad 1 12 extra\n", 1, "unexpected text"),
        ("# TYPE bad countr\n", 1, "unknown type \"countr\""),
        ("# HELP\n", 1, "without a metric name"),
        ("{a=\"b\"} 1\n", 1, "expected a metric name"),
    ];
    for (text, line, reason) in cases {
        let err = parse_exposition(text).unwrap_err();
        assert_eq!(err.line, line, "{text:?}: {err}");
        assert!(err.reason.contains(reason), "{text:?}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("exposition line {line}:"))
        );
    }
}

// ---- store ----

fn scrape(text: &str) -> Vec<Sample> {
    parse_exposition(text).unwrap()
}

#[test]
fn series_missing_from_a_scrape_or_of_a_gone_target_go_stale() {
    let target = ls("job=node instance=n1");
    let mut store = SeriesStore::new(Duration::from_secs(3600));
    store.ingest_scrape("n1", &target, scrape("a 1\nb 2\n"), 0);
    store.ingest_scrape("n1", &target, scrape("a 3\n"), 30_000);
    // b is stale from 30s on; before, its last sample is still within the lookback.
    check(&store, "b", 20, &[("__name__=b job=node instance=n1", 2.0)]);
    check(&store, "b", 40, &[]);
    check(&store, "a", 40, &[("__name__=a job=node instance=n1", 3.0)]);
    assert_eq!((store.series_count(), store.sample_count()), (2, 4));
    // A range skips the marker; b comes back when exposed again.
    check(
        &store,
        "count_over_time(b[5m])",
        40,
        &[("job=node instance=n1", 1.0)],
    );
    store.ingest_scrape("n1", &target, scrape("a 4\nb 5\n"), 60_000);
    check(&store, "b", 60, &[("__name__=b job=node instance=n1", 5.0)]);
    store.target_gone("n1", 90_000);
    check(&store, "a", 89, &[("__name__=a job=node instance=n1", 4.0)]);
    check(&store, "a or b", 90, &[]);
    // Gone twice is harmless; no second marker.
    store.target_gone("n1", 100_000);
    assert_eq!(store.sample_count(), 8);
}

#[test]
fn samples_with_their_own_timestamps_win_and_are_not_tracked_for_staleness() {
    let mut store = SeriesStore::new(Duration::from_secs(3600));
    store.ingest_scrape("t", &Labels::new(), scrape("a 1 10000\nb 2\n"), 20_000);
    store.ingest_scrape("t", &Labels::new(), scrape("c 1\n"), 30_000);
    check(&store, "a", 30, &[("__name__=a", 1.0)]);
    check(&store, "b", 30, &[]);
    check(&store, "last_over_time(b[1m])", 25, &[("__name__=b", 2.0)]);
    // Older or equal timestamps are out of order and dropped.
    store.ingest_scrape("t", &Labels::new(), scrape("a 7 10000\na 8 5000\n"), 40_000);
    check(&store, "a", 40, &[("__name__=a", 1.0)]);
}

#[test]
fn target_labels_override_exposed_ones_which_are_kept_as_exported() {
    let target = ls("job=node instance=n1 cluster=c1");
    let mut store = SeriesStore::new(Duration::from_secs(3600));
    let exposed = "up{job=\"app\",exported_job=\"older\",instance=\"\",x=\"1\"} 1\n";
    store.ingest_scrape("n1", &target, scrape(exposed), 1000);
    check(
        &store,
        "up",
        1,
        &[(
            "__name__=up job=node instance=n1 cluster=c1 exported_job=older exported_exported_job=app x=1",
            1.0,
        )],
    );
}

#[test]
fn prune_drops_samples_past_retention_and_empty_series() {
    let mut store = SeriesStore::new(Duration::from_secs(600));
    let target = Labels::new();
    store.ingest_scrape("t", &target, scrape("a 1\nb 1\n"), 0);
    for i in 1..=20 {
        store.ingest_scrape("t", &target, scrape("a 1\n"), i * 60_000);
    }
    // a: 21 samples; b: one sample and its staleness marker at 60s.
    assert_eq!((store.series_count(), store.sample_count()), (2, 23));
    store.prune(20 * 60_000);
    // Kept: samples at or after 10m, i.e. a at 10..=20 minutes; b is gone.
    assert_eq!((store.series_count(), store.sample_count()), (1, 11));
    check(&store, "count_over_time(a[1h])", 1200, &[("", 11.0)]);
    check(&store, "b", 61, &[]);
    // A pruned series comes back as new when scraped again.
    store.ingest_scrape("t", &target, scrape("a 1\nb 3\n"), 21 * 60_000);
    check(&store, "b", 1260, &[("__name__=b", 3.0)]);
}

#[test]
fn instant_selectors_use_a_left_open_five_minute_lookback_and_offset() {
    let s = store(&[
        ("m{a=\"1\"}", &[(0, 1.0), (100, 2.0)]),
        ("m{a=\"2\"}", &[(50, 5.0)]),
        ("other", &[(100, 9.0)]),
    ]);
    check(
        &s,
        "m",
        100,
        &[("__name__=m a=1", 2.0), ("__name__=m a=2", 5.0)],
    );
    check(
        &s,
        "m",
        349,
        &[("__name__=m a=1", 2.0), ("__name__=m a=2", 5.0)],
    );
    // Exactly 5m old is out of the window (left-open since Prometheus 3).
    check(&s, "m", 350, &[("__name__=m a=1", 2.0)]);
    check(&s, "m", 401, &[]);
    check(
        &s,
        "m offset 100s",
        150,
        &[("__name__=m a=1", 1.0), ("__name__=m a=2", 5.0)],
    );
    check(
        &s,
        "m offset -50s",
        50,
        &[("__name__=m a=1", 2.0), ("__name__=m a=2", 5.0)],
    );
    check(&s, "m", -1, &[]);
}

#[test]
fn matchers_are_anchored_regexes_and_absent_labels_match_empty() {
    let s = store(&[
        ("m{dev=\"sda\"}", &[(0, 1.0)]),
        ("m{dev=\"sda1\"}", &[(0, 2.0)]),
        ("m{dev=\"xsda\"}", &[(0, 3.0)]),
        ("m", &[(0, 4.0)]),
    ]);
    check(&s, "m{dev=~\"sd.\"}", 0, &[("__name__=m dev=sda", 1.0)]);
    check(
        &s,
        "m{dev!~\"sd.+\"}",
        0,
        &[("__name__=m dev=xsda", 3.0), ("__name__=m", 4.0)],
    );
    check(&s, "m{dev=\"\"}", 0, &[("__name__=m", 4.0)]);
    check(
        &s,
        "m{dev!=\"\",dev!=\"sda1\"}",
        0,
        &[("__name__=m dev=sda", 1.0), ("__name__=m dev=xsda", 3.0)],
    );
    check(
        &s,
        "{__name__=\"m\",dev=\"sda\"}",
        0,
        &[("__name__=m dev=sda", 1.0)],
    );
}
