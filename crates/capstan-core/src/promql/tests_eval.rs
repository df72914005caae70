#![allow(clippy::unwrap_used)]
//! Functions, aggregations and operators, each against a value computed by hand with
//! Prometheus' formulas.

use super::tests::{check, store};
use super::*;

fn counter(start_s: i64, step_s: i64, values: &[f64]) -> Vec<(i64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (start_s + step_s * i as i64, *v))
        .collect()
}

#[track_caller]
fn eval_error(store: &SeriesStore, expr: &str) -> String {
    let query = Query::parse(expr).unwrap_or_else(|e| panic!("{e}"));
    evaluate(&query, store, 0).unwrap_err().to_string()
}

#[track_caller]
fn refused(expr: &str, construct: &str) {
    let err = Query::parse(expr).unwrap_err();
    assert!(
        matches!(err, PromqlError::Unsupported { .. }) && err.to_string().contains(construct),
        "{expr}: {err}"
    );
}

// ---- rate, increase, delta, irate ----

#[test]
fn rate_extrapolates_to_the_window_edges() {
    // A counter growing 1/s, sampled every 30s from 0 to 300s.
    let steady: Vec<(i64, f64)> = (0..=10).map(|i| (i * 30, (i * 30) as f64)).collect();
    // The same with a reset after 30: 10,20,30,5,15,...,65 at 30..300.
    let reset = counter(30, 30, &[10., 20., 30., 5., 15., 25., 35., 45., 55., 65.]);
    // Starts within the window: 4 samples from 210s.
    let late = counter(210, 30, &[100., 130., 160., 190.]);
    // Starts within the window close to zero: the start extrapolation stops at zero.
    let near_zero = counter(210, 30, &[5., 35., 65., 95.]);
    let s = store(&[
        ("c{s=\"steady\"}", &steady),
        ("c{s=\"reset\"}", &reset),
        ("c{s=\"late\"}", &late),
        ("c{s=\"zero\"}", &near_zero),
        ("c{s=\"single\"}", &[(300, 7.0)]),
    ]);
    // steady at 300s: (0, 300] holds 30..300 (the sample at 0 is outside, left-open), 270
    // over 270s, extrapolated 30s to the start (< 1.1 x 30s) and 0s to the end: 300.
    // reset: 65 - 10 + 30 = 85 over 270s, +30s at the start (zero point at 270*10/85 =
    // 31.8s is further): 85 * 300/270.
    // late: 90 over 90s; the start is 210s away (>= 33s) so only half an interval: 105.
    // zero: 90 over 90s; half an interval (15s) is capped by the zero point 90*5/90 = 5s: 95.
    check(
        &s,
        "increase(c[5m])",
        300,
        &[
            ("s=steady", 300.0),
            ("s=reset", 85.0 * 300.0 / 270.0),
            ("s=late", 105.0),
            ("s=zero", 95.0),
        ],
    );
    check(
        &s,
        "rate(c[5m])",
        300,
        &[
            ("s=steady", 1.0),
            ("s=reset", 85.0 / 270.0),
            ("s=late", 0.35),
            ("s=zero", 95.0 / 300.0),
        ],
    );
    // At 400s the window (100, 400] holds 120..300 of steady: 180 over 180s, 20s to the
    // start (extrapolated), 100s to the end (too far: half an interval, 15s): 215.
    check(
        &s,
        "increase(c{s=\"steady\"}[5m])",
        400,
        &[("s=steady", 215.0)],
    );
    // delta does not correct resets nor stop at zero: zero's 90 over 90s gets 15s: 105.
    check(&s, "delta(c{s=\"zero\"}[5m])", 300, &[("s=zero", 105.0)]);
    check(
        &s,
        "delta(c{s=\"reset\"}[5m])",
        300,
        &[("s=reset", 55.0 * 300.0 / 270.0)],
    );
    // irate: the last two samples; a drop counts the new value as the increase.
    check(
        &s,
        "irate(c{s=~\"steady|reset\"}[5m])",
        300,
        &[("s=steady", 1.0), ("s=reset", 10.0 / 30.0)],
    );
    check(
        &s,
        "irate(c{s=\"reset\"}[5m])",
        120,
        &[("s=reset", 5.0 / 30.0)],
    );
    // With an offset the window is (-100, 200]: 0..180 of steady (180 over 180s); the start
    // is 100s away (too far: half an interval), then capped by the zero point at the first
    // sample (value 0): 0s; the end is 20s away (extrapolated): 200.
    check(
        &s,
        "increase(c{s=\"steady\"}[5m] offset 100s)",
        300,
        &[("s=steady", 200.0)],
    );
}

// ---- *_over_time ----

#[test]
fn over_time_functions() {
    let s = store(&[
        ("g{a=\"1\"}", &counter(60, 60, &[3., 1., 4., 1., 5.])),
        ("g{a=\"nan\"}", &counter(60, 60, &[f64::NAN, 2., f64::NAN])),
    ]);
    let both = |one: f64, nan: f64| vec![("a=1", one), ("a=nan", nan)];
    check(&s, "avg_over_time(g[5m])", 300, &both(2.8, f64::NAN));
    check(&s, "sum_over_time(g[5m])", 300, &both(14.0, f64::NAN));
    check(&s, "min_over_time(g[5m])", 300, &both(1.0, 2.0));
    check(&s, "max_over_time(g[5m])", 300, &both(5.0, 2.0));
    check(&s, "count_over_time(g[5m])", 300, &both(5.0, 3.0));
    // last_over_time keeps the metric name.
    check(
        &s,
        "last_over_time(g[5m])",
        300,
        &[("__name__=g a=1", 5.0), ("__name__=g a=nan", f64::NAN)],
    );
    // (120, 300] holds the last three.
    check(
        &s,
        "avg_over_time(g{a=\"1\"}[3m])",
        300,
        &[("a=1", 10.0 / 3.0)],
    );
    // An empty window gives no series.
    check(&s, "count_over_time(g[1m])", 1000, &[]);
}

// ---- histogram_quantile ----

/// etcd's WAL fsync buckets: 0.001 * 2^n for n in 0..14, then +Inf.
fn etcd_buckets(counts: &[f64]) -> Vec<(String, f64)> {
    let mut bounds: Vec<String> = (0..14)
        .map(|n| format!("{}", 0.001 * f64::powi(2.0, n)))
        .collect();
    bounds.push("+Inf".to_string());
    bounds.into_iter().zip(counts.iter().copied()).collect()
}

#[test]
fn histogram_quantile_interpolates_within_the_bucket() {
    // 300 fsyncs: 296 within 8 ms, all within 16 ms. p99 rank 297 is 1/4 into the
    // (0.008, 0.016] bucket: 10 ms.
    let mut counts = vec![0., 10., 100., 296.];
    counts.extend([300.0; 11]);
    let buckets = etcd_buckets(&counts);
    let series: Vec<(String, Vec<(i64, f64)>)> = buckets
        .iter()
        .map(|(le, n)| {
            (
                format!(
                    "etcd_disk_wal_fsync_duration_seconds_bucket{{instance=\"e1\",le=\"{le}\"}}"
                ),
                vec![(10, 0.0), (300, *n)],
            )
        })
        .collect();
    let refs: Vec<(&str, &[(i64, f64)])> = series
        .iter()
        .map(|(s, p)| (s.as_str(), p.as_slice()))
        .collect();
    let s = store(&refs);
    check(
        &s,
        "histogram_quantile(0.99, etcd_disk_wal_fsync_duration_seconds_bucket)",
        300,
        &[("instance=e1", 0.010)],
    );
    // Through rate, as the rule does: the same shape scaled.
    check(
        &s,
        "histogram_quantile(0.99, sum by (instance, le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket[5m])))",
        300,
        &[("instance=e1", 0.010)],
    );
    // p50: rank 150 in (0.004, 0.008]: 0.004 + 0.004 * 50/196.
    check(
        &s,
        "histogram_quantile(0.5, etcd_disk_wal_fsync_duration_seconds_bucket)",
        300,
        &[("instance=e1", 0.004 + 0.004 * 50.0 / 196.0)],
    );
    // rank 0.003 * 300 = 0.9 is past the empty (0, 0.001] bucket: 0.9 of 10 into
    // (0.001, 0.002].
    check(
        &s,
        "histogram_quantile(0.003, etcd_disk_wal_fsync_duration_seconds_bucket)",
        300,
        &[("instance=e1", 0.001 + 0.001 * 0.9 / 10.0)],
    );
    check(
        &s,
        "histogram_quantile(-1, etcd_disk_wal_fsync_duration_seconds_bucket)",
        300,
        &[("instance=e1", f64::NEG_INFINITY)],
    );
    check(
        &s,
        "histogram_quantile(2, etcd_disk_wal_fsync_duration_seconds_bucket)",
        300,
        &[("instance=e1", f64::INFINITY)],
    );
}

#[test]
fn histogram_quantile_edge_cases() {
    let h = |name: &str, buckets: &[(&str, f64)]| -> Vec<(String, Vec<(i64, f64)>)> {
        buckets
            .iter()
            .map(|(le, n)| (format!("{name}{{le=\"{le}\"}}"), vec![(0, *n)]))
            .collect()
    };
    let mut all = Vec::new();
    // Rank in the +Inf bucket: the highest finite bound.
    all.extend(h("inf_rank", &[("1", 1.0), ("2", 2.0), ("+Inf", 10.0)]));
    // No +Inf bucket: NaN.
    all.extend(h("no_inf", &[("1", 1.0), ("2", 2.0)]));
    // No observations: NaN.
    all.extend(h("empty", &[("1", 0.0), ("+Inf", 0.0)]));
    // Non-monotonic counts are forced monotonic: le=2's 3 reads as 5.
    all.extend(h(
        "nonmono",
        &[("1", 5.0), ("2", 3.0), ("4", 10.0), ("+Inf", 10.0)],
    ));
    // A lowest bucket with a non-positive bound returns that bound.
    all.extend(h("neg", &[("-1", 5.0), ("0", 8.0), ("+Inf", 10.0)]));
    // Lowest bucket from 0: rank 2 of 4 in (0, 10].
    all.extend(h("low", &[("10", 4.0), ("+Inf", 4.0)]));
    // A series without le is ignored.
    all.push(("low".to_string(), vec![(0, 100.0)]));
    let refs: Vec<(&str, &[(i64, f64)])> = all
        .iter()
        .map(|(s, p)| (s.as_str(), p.as_slice()))
        .collect();
    let s = store(&refs);
    check(&s, "histogram_quantile(0.9, inf_rank)", 0, &[("", 2.0)]);
    check(&s, "histogram_quantile(0.5, no_inf)", 0, &[("", f64::NAN)]);
    check(&s, "histogram_quantile(0.5, empty)", 0, &[("", f64::NAN)]);
    // rank 7.5: (2, 4] holds 10-5 = 5 from 5: 2 + 2 * 2.5/5.
    check(&s, "histogram_quantile(0.75, nonmono)", 0, &[("", 3.0)]);
    check(&s, "histogram_quantile(0.2, neg)", 0, &[("", -1.0)]);
    check(&s, "histogram_quantile(0.5, low)", 0, &[("", 5.0)]);
    check(&s, "histogram_quantile(0.5, low offset 1s)", 0, &[]);
    check(
        &s,
        "histogram_quantile(scalar(vector(0/0)), low)",
        0,
        &[("", f64::NAN)],
    );
}

// ---- simple functions, aggregations ----

#[test]
fn vector_functions_and_scalars() {
    let s = store(&[
        ("m{a=\"1\"}", &[(0, -2.0)]),
        ("m{a=\"2\"}", &[(0, 5.0)]),
        ("m{a=\"3\"}", &[(0, f64::NAN)]),
        ("one", &[(0, 7.0)]),
    ]);
    check(
        &s,
        "abs(m)",
        0,
        &[("a=1", 2.0), ("a=2", 5.0), ("a=3", f64::NAN)],
    );
    // clamp follows Go's math.Max/Min: NaN stays NaN.
    check(
        &s,
        "clamp_min(m, 0)",
        0,
        &[("a=1", 0.0), ("a=2", 5.0), ("a=3", f64::NAN)],
    );
    check(
        &s,
        "clamp_max(m, 0)",
        0,
        &[("a=1", -2.0), ("a=2", 0.0), ("a=3", f64::NAN)],
    );
    check(&s, "time()", 90, &[("", 90.0)]);
    check(&s, "vector(time() * 2)", 90, &[("", 180.0)]);
    check(&s, "scalar(one) + 1", 0, &[("", 8.0)]);
    check(&s, "scalar(m)", 0, &[("", f64::NAN)]);
    check(&s, "scalar(absent_one_metric)", 0, &[("", f64::NAN)]);
    check(&s, "1 + 2 * 3 - 4 / 2", 0, &[("", 5.0)]);
    check(&s, "2 ^ 3 ^ 2", 0, &[("", 512.0)]);
    check(&s, "-7 % 3", 0, &[("", -1.0)]);
    check(&s, "1 == bool 1", 0, &[("", 1.0)]);
    check(&s, "-(1 + 1)", 0, &[("", -2.0)]);
    check(&s, "-one", 0, &[("", -7.0)]);
}

#[test]
fn aggregations_group_by_and_without() {
    let s = store(&[
        ("cpu{node=\"n1\",cpu=\"0\",mode=\"idle\"}", &[(0, 1.0)]),
        ("cpu{node=\"n1\",cpu=\"1\",mode=\"idle\"}", &[(0, 3.0)]),
        ("cpu{node=\"n1\",cpu=\"0\",mode=\"user\"}", &[(0, 2.0)]),
        ("cpu{node=\"n2\",cpu=\"0\",mode=\"idle\"}", &[(0, 10.0)]),
        ("cpu{node=\"n2\",cpu=\"1\",mode=\"idle\"}", &[(0, f64::NAN)]),
    ]);
    check(&s, "sum(cpu)", 0, &[("", f64::NAN)]);
    check(
        &s,
        "sum by (node) (cpu{node=\"n1\"})",
        0,
        &[("node=n1", 6.0)],
    );
    check(
        &s,
        "sum without (cpu) (cpu)",
        0,
        &[
            ("node=n1 mode=idle", 4.0),
            ("node=n1 mode=user", 2.0),
            ("node=n2 mode=idle", f64::NAN),
        ],
    );
    check(
        &s,
        "avg by (node) (cpu{node=\"n1\"})",
        0,
        &[("node=n1", 2.0)],
    );
    // min/max skip NaN unless all are NaN.
    check(
        &s,
        "min by (node) (cpu)",
        0,
        &[("node=n1", 1.0), ("node=n2", 10.0)],
    );
    check(
        &s,
        "max by (node) (cpu)",
        0,
        &[("node=n1", 3.0), ("node=n2", 10.0)],
    );
    check(
        &s,
        "count by (mode) (cpu)",
        0,
        &[("mode=idle", 4.0), ("mode=user", 1.0)],
    );
    check(
        &s,
        "group by (node) (cpu)",
        0,
        &[("node=n1", 1.0), ("node=n2", 1.0)],
    );
    // by (__name__) keeps the name; a missing by-label groups as absent.
    check(
        &s,
        "count by (__name__, zone) (cpu)",
        0,
        &[("__name__=cpu", 5.0)],
    );
    check(&s, "sum(nothing)", 0, &[]);
}

// ---- binary operators ----

#[test]
fn vector_matching_and_metric_name_dropping() {
    let s = store(&[
        ("avail{node=\"n1\",fs=\"/\"}", &[(0, 20.0)]),
        ("avail{node=\"n2\",fs=\"/\"}", &[(0, 90.0)]),
        ("size{node=\"n1\",fs=\"/\"}", &[(0, 100.0)]),
        ("size{node=\"n2\",fs=\"/\"}", &[(0, 100.0)]),
        ("size{node=\"n3\",fs=\"/\"}", &[(0, 100.0)]),
        ("ro{node=\"n1\",fs=\"/\"}", &[(0, 0.0)]),
        ("ro{node=\"n2\",fs=\"/\"}", &[(0, 1.0)]),
        ("up{node=\"n1\",job=\"a\"}", &[(0, 1.0)]),
        ("up{node=\"n1\",job=\"b\"}", &[(0, 0.0)]),
    ]);
    // Arithmetic drops the name; unmatched series (n3) vanish.
    check(
        &s,
        "1 - avail / size",
        0,
        &[("node=n1 fs=/", 0.8), ("node=n2 fs=/", 0.1)],
    );
    // A vector-scalar filter keeps the left value and the name, also with the scalar left.
    check(
        &s,
        "avail > 50",
        0,
        &[("__name__=avail node=n2 fs=/", 90.0)],
    );
    check(
        &s,
        "50 > avail",
        0,
        &[("__name__=avail node=n1 fs=/", 20.0)],
    );
    check(
        &s,
        "avail > bool 50",
        0,
        &[("node=n1 fs=/", 0.0), ("node=n2 fs=/", 1.0)],
    );
    // A vector-vector filter keeps the left side's value and labels.
    check(
        &s,
        "size > avail",
        0,
        &[
            ("__name__=size node=n1 fs=/", 100.0),
            ("__name__=size node=n2 fs=/", 100.0),
        ],
    );
    check(
        &s,
        "avail >= bool size",
        0,
        &[("node=n1 fs=/", 0.0), ("node=n2 fs=/", 0.0)],
    );
    // on(...) keeps only the matching labels; ignoring(...) drops the ignored ones.
    check(
        &s,
        "avail + on (node) size",
        0,
        &[("node=n1", 120.0), ("node=n2", 190.0)],
    );
    check(
        &s,
        "avail + ignoring (fs) size",
        0,
        &[("node=n1", 120.0), ("node=n2", 190.0)],
    );
    // Set operators keep the left side as it is.
    check(
        &s,
        "avail and ro == 0",
        0,
        &[("__name__=avail node=n1 fs=/", 20.0)],
    );
    check(
        &s,
        "size unless avail",
        0,
        &[("__name__=size node=n3 fs=/", 100.0)],
    );
    check(
        &s,
        "avail or size",
        0,
        &[
            ("__name__=avail node=n1 fs=/", 20.0),
            ("__name__=avail node=n2 fs=/", 90.0),
            ("__name__=size node=n3 fs=/", 100.0),
        ],
    );
    check(
        &s,
        "avail and on (node) up",
        0,
        &[("__name__=avail node=n1 fs=/", 20.0)],
    );
    check(
        &s,
        "avail and ignoring (fs, job) up",
        0,
        &[("__name__=avail node=n1 fs=/", 20.0)],
    );
    check(
        &s,
        "-avail",
        0,
        &[("node=n1 fs=/", -20.0), ("node=n2 fs=/", -90.0)],
    );
}

#[test]
fn group_left_and_group_right_copy_labels_from_the_one_side() {
    let s = store(&[
        ("req{node=\"n1\",code=\"200\"}", &[(0, 10.0)]),
        ("req{node=\"n1\",code=\"500\"}", &[(0, 2.0)]),
        ("req{node=\"n2\",code=\"200\"}", &[(0, 4.0)]),
        (
            "node_info{node=\"n1\",zone=\"a\",version=\"1\"}",
            &[(0, 1.0)],
        ),
        ("node_info{node=\"n2\",zone=\"b\"}", &[(0, 1.0)]),
        ("cap{node=\"n1\"}", &[(0, 5.0)]),
        ("cap{node=\"n2\"}", &[(0, 8.0)]),
        ("a{x=\"1\",node=\"n1\"}", &[(0, 1.0)]),
        ("b{x=\"1\",node=\"n1\"}", &[(0, 1.0)]),
    ]);
    check(
        &s,
        "req * on (node) group_left (zone) node_info",
        0,
        &[
            ("node=n1 code=200 zone=a", 10.0),
            ("node=n1 code=500 zone=a", 2.0),
            ("node=n2 code=200 zone=b", 4.0),
        ],
    );
    // group_right: the left is the "one" side; values keep their sides (2 / req).
    // n2's node_info has no version, so none is copied.
    check(
        &s,
        "(node_info * 2) / on (node) group_right (version) req",
        0,
        &[
            ("node=n1 code=200 version=1", 0.2),
            ("node=n1 code=500 version=1", 1.0),
            ("node=n2 code=200", 0.5),
        ],
    );
    check(
        &s,
        "req / ignoring (code) group_left cap",
        0,
        &[
            ("node=n1 code=200", 2.0),
            ("node=n1 code=500", 0.4),
            ("node=n2 code=200", 0.5),
        ],
    );
    // A filter keeps the many side's value and name.
    check(
        &s,
        "req > on (node) group_left cap",
        0,
        &[("__name__=req node=n1 code=200", 10.0)],
    );
    let err = eval_error(&s, "req + on (code) group_left node_info");
    assert!(
        err.contains("found duplicate series for the match group {} on the right hand-side"),
        "{err}"
    );
    let err = eval_error(&s, "node_info + on (code) group_right req");
    assert!(err.contains("on the left hand-side"), "{err}");
    let err = eval_error(&s, "(a or on (__name__) b) + on (node) group_left cap");
    assert!(
        err.contains("multiple matches for labels: grouping labels must ensure unique matches"),
        "{err}"
    );
}

#[test]
fn evaluation_errors_use_prometheus_wording() {
    let s = store(&[
        ("a{x=\"1\"}", &[(0, 1.0)]),
        ("b{x=\"1\"}", &[(0, 2.0)]),
        ("up{node=\"n1\",job=\"a\"}", &[(0, 1.0)]),
        ("up{node=\"n1\",job=\"b\"}", &[(0, 0.0)]),
        ("n{node=\"n1\"}", &[(0, 1.0)]),
    ]);
    // Two series equal once their names are dropped.
    let err = eval_error(&s, "abs(a or on (__name__) b)");
    assert!(
        err.contains("vector cannot contain metrics with the same labelset {x=\"1\"}"),
        "{err}"
    );
    let err = eval_error(&s, "n + on (node) up");
    assert!(
        err.contains(
            "found duplicate series for the match group {node=\"n1\"} on the right hand-side"
        ),
        "{err}"
    );
    assert!(err.contains("many-to-many matching not allowed"), "{err}");
    let err = eval_error(&s, "up + on (node) n");
    assert!(err.contains("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"), "{err}");
}

// ---- parse-time refusals and metadata ----

#[test]
fn unsupported_constructs_are_refused_by_name() {
    refused("rate(a[5m:1m])", "subquery");
    refused("max_over_time(rate(a[5m])[10m:1m])", "subquery");
    refused("a @ 100", "@ modifier");
    refused("topk(3, a)", "aggregation topk");
    refused("quantile(0.9, a)", "aggregation quantile");
    refused("predict_linear(a[5m], 60)", "function predict_linear()");
    refused(
        "label_replace(a, \"b\", \"$1\", \"a\", \"(.*)\")",
        "function label_replace()",
    );
    refused("a[5m]", "range vector");
    refused("{job=\"x\"}", "without a metric name");
    refused("\"text\"", "string literal");
    let err = Query::parse("rate(a[5m]").unwrap_err();
    assert!(matches!(err, PromqlError::Parse { .. }), "{err}");
    let err = Query::parse("rate(a)").unwrap_err();
    assert!(matches!(err, PromqlError::Parse { .. }), "{err}");
}

#[test]
fn metric_names_and_lookback_cover_every_selector() {
    let q = Query::parse(
        "increase(a[1h]) + on (x) (b offset 10m) and last_over_time(c[5m] offset 1h) or {__name__=\"d\"}",
    )
    .unwrap();
    let names: Vec<String> = q.metric_names().into_iter().collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    // c: 5m + 1h offset, plus the 5m lookback.
    assert_eq!(q.lookback().as_secs(), 3600 + 300 + 300);
    assert_eq!(Query::parse("1").unwrap().lookback().as_secs(), 300);
    assert_eq!(
        q.source(),
        "increase(a[1h]) + on (x) (b offset 10m) and last_over_time(c[5m] offset 1h) or {__name__=\"d\"}"
    );
}

#[test]
fn queries_and_stores_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Query>();
    shareable::<SeriesStore>();
}

#[test]
fn more_syntax_is_accepted_or_refused_clearly() {
    let err = Query::parse("1 > 2").unwrap_err().to_string();
    assert!(
        err.contains("comparisons between scalars must use BOOL modifier"),
        "{err}"
    );
    refused("x{a=\"b\" or a=\"c\"}", "`or` inside a label matcher list");
    let s = store(&[("x{a=\"1\"}", &[(0, 3.0)]), ("y{a=\"1\"}", &[(0, 2.0)])]);
    check(&s, "sum(x) by (a)", 0, &[("a=1", 3.0)]);
    check(&s, "x > bool on (a) y", 0, &[("a=1", 1.0)]);
    check(&s, "+x", 0, &[("__name__=x a=1", 3.0)]);
}
