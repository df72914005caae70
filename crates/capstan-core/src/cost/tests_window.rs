#![allow(clippy::unwrap_used)]
//! Windows, resolution, and the fleet breakdown.

use super::*;

fn ts(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

/// Thursday, 26 November 2026.
fn now() -> jiff::Timestamp {
    ts("2026-11-26T10:25:00Z")
}

#[test]
fn windows_as_opencost_writes_them_aligned_to_hours() {
    #[track_caller]
    fn check(text: &str, start: &str, end: &str) {
        let w = parse_window(text, now()).unwrap();
        assert_eq!((w.start, w.end), (ts(start), ts(end)), "{text}");
    }
    check("today", "2026-11-26T00:00:00Z", "2026-11-26T11:00:00Z");
    check("yesterday", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z");
    // OpenCost's week starts on Sunday 00:00 (window.go: `start.Weekday()` days back).
    check("week", "2026-11-22T00:00:00Z", "2026-11-26T11:00:00Z");
    check("lastweek", "2026-11-15T00:00:00Z", "2026-11-22T00:00:00Z");
    check("month", "2026-11-01T00:00:00Z", "2026-11-26T11:00:00Z");
    check("lastmonth", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z");
    check("30m", "2026-11-26T09:00:00Z", "2026-11-26T11:00:00Z");
    check("12h", "2026-11-25T22:00:00Z", "2026-11-26T11:00:00Z");
    check("7d", "2026-11-19T10:00:00Z", "2026-11-26T11:00:00Z");
    check("2w", "2026-11-12T10:00:00Z", "2026-11-26T11:00:00Z");
    check(
        "2026-11-01T00:00:00Z,2026-11-08T00:00:00Z",
        "2026-11-01T00:00:00Z",
        "2026-11-08T00:00:00Z",
    );
    check(
        "2026-11-01T00:30:00Z, 2026-11-01T05:10:00+00:00",
        "2026-11-01T00:00:00Z",
        "2026-11-01T06:00:00Z",
    );
    check(
        "1793491200,1793588400",
        "2026-11-01T00:00:00Z",
        "2026-11-02T03:00:00Z",
    );
    // Exactly on the hour: nothing to round.
    let on_hour = parse_window("1h", ts("2026-11-26T10:00:00Z")).unwrap();
    assert_eq!(on_hour.hours(), 1);
    assert!(on_hour.contains(ts("2026-11-26T09:00:00Z")));
    assert!(!on_hour.contains(ts("2026-11-26T10:00:00Z")));
    // On a Sunday the week is today.
    let sunday = parse_window("week", ts("2026-11-29T05:00:00Z")).unwrap();
    assert_eq!(sunday.start, ts("2026-11-29T00:00:00Z"));
    // January's last month is December of the year before.
    let january = parse_window("lastmonth", ts("2027-01-15T00:00:00Z")).unwrap();
    assert_eq!(january.start, ts("2026-12-01T00:00:00Z"));
}

#[test]
fn bad_windows_name_the_value_and_why() {
    #[track_caller]
    fn check(text: &str, reason: &str) {
        let err = parse_window(text, now()).unwrap_err();
        assert_eq!(err.input, text);
        assert!(err.reason.contains(reason), "{text}: {err}");
        assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
    }
    check("", "empty");
    check("fortnight", "unknown window");
    check("7x", "unknown unit \"x\"");
    check("7", "needs a unit");
    check("0d", "longer than zero");
    check("h", "unknown window");
    check("99999999999999999999d", "too large");
    check("9999999999999d", "earliest supported time");
    check("999999999999999999m", "too long");
    check(
        "2026-11-08T00:00:00Z,2026-11-01T00:00:00Z",
        "end must be after",
    );
    check("2026-11-08,2026-11-09", "neither an RFC 3339 time");
    check("a,b", "neither");
}

#[test]
fn hourly_within_49_hours_else_daily_widened_to_days() {
    let now = now(); // 10:25; the oldest hourly data is 49 h back: 2026-11-24T09:25.
    let w = |start: &str, end: &str| CostWindow {
        start: ts(start),
        end: ts(end),
    };
    let recent = w("2026-11-24T10:00:00Z", "2026-11-26T11:00:00Z");
    assert_eq!(resolution(&recent, now), Resolution::Hourly);
    assert_eq!(resolve(recent, now).window, recent);
    assert_eq!(resolve(recent, now).requested, None);

    let older = w("2026-11-24T09:00:00Z", "2026-11-26T11:00:00Z");
    assert_eq!(resolution(&older, now), Resolution::Daily);
    let r = resolve(older, now);
    assert_eq!(r.resolution, Resolution::Daily);
    assert_eq!(r.window, w("2026-11-24T00:00:00Z", "2026-11-27T00:00:00Z"));
    assert_eq!(r.requested, Some(older));

    let whole_days = w("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z");
    let r = resolve(whole_days, now);
    assert_eq!((r.window, r.requested), (whole_days, None));
    assert_eq!(HOURLY_RETENTION_HOURS, 49);
}

// ---- breakdown ----

fn period(namespace_costs: &[(&str, i64)], management: i64) -> CostPeriod {
    let mut p = CostPeriod::empty(ts("2026-11-26T00:00:00Z"), ts("2026-11-26T01:00:00Z"));
    assert_eq!(p.window_hours(), 1.0);
    for (ns, cpu) in namespace_costs {
        let mut row = CostRow::new(ns, "", "");
        row.parts.cpu = Nanodollars(*cpu);
        row.parts.management = Nanodollars(management);
        row.cpu_request_core_hours = 2.0;
        row.cpu_usage_core_hours = 1.0;
        let mut workload = row.clone();
        workload.kind = "Deployment".to_string();
        workload.name = format!("{ns}-app");
        p.total += row.parts;
        p.namespaces.push(row);
        p.workloads.push(workload);
    }
    p
}

#[test]
fn breakdown_groups_and_keeps_the_total() {
    let a = period(&[("shop", 3_000_000_000), ("ops", 1_000_000_000)], 0);
    let b = period(&[("shop", 2_000_000_000)], 500_000_000);
    let inputs = [("a", &a), ("b", &b)];

    let by_cluster = breakdown(inputs, GroupBy::Cluster);
    let clusters: Vec<(&str, i64)> = by_cluster
        .rows
        .iter()
        .map(|r| (r.cluster.as_deref().unwrap(), r.total.0))
        .collect();
    assert_eq!(clusters, [("a", 4_000_000_000), ("b", 2_500_000_000)]);
    assert_eq!(by_cluster.total.total(), Nanodollars(6_500_000_000));

    let by_ns = breakdown(inputs, GroupBy::Namespace);
    let rows: Vec<(&str, &str, i64)> = by_ns
        .rows
        .iter()
        .map(|r| {
            (
                r.cluster.as_deref().unwrap(),
                r.namespace.as_deref().unwrap(),
                r.total.0,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("a", "shop", 3_000_000_000),
            ("b", "shop", 2_500_000_000),
            ("a", "ops", 1_000_000_000)
        ]
    );
    assert_eq!(by_ns.rows[0].cpu_efficiency, 0.5);

    let by_workload = breakdown(inputs, GroupBy::Workload);
    assert_eq!(by_workload.rows.len(), 3);
    assert_eq!(by_workload.rows[0].name, "shop-app");
    assert_eq!(by_workload.rows[0].kind, "Deployment");
    for b in [&by_cluster, &by_ns, &by_workload] {
        let sum: Nanodollars = b.rows.iter().map(|r| r.total).sum();
        assert_eq!(sum, b.total.total());
        assert_eq!(b.row_cents().iter().sum::<i64>(), b.total_cents());
        let management = b.column_cents(|r| r.parts.management);
        assert_eq!(management.iter().sum::<i64>(), b.total.management.cents());
    }

    let mut truncated = by_ns.clone();
    truncated.truncate(1);
    assert_eq!(truncated.rows.len(), 2);
    assert_eq!(truncated.rows[1].name, OTHER);
    assert_eq!(truncated.rows[1].total, Nanodollars(3_500_000_000));
    assert_eq!(truncated.rows[1].cpu_efficiency, 0.5);
    let sum: Nanodollars = truncated.rows.iter().map(|r| r.total).sum();
    assert_eq!(sum, truncated.total.total());
}

#[test]
fn printed_cents_add_up_even_when_each_row_rounds_up() {
    // Three rows of 0.6 cent: each would print $0.01, the total prints $0.02.
    let p = period(&[("a", 6_000_000), ("b", 6_000_000), ("c", 6_000_000)], 0);
    let b = breakdown([("x", &p)], GroupBy::Namespace);
    assert_eq!(b.row_cents(), [1, 1, 0]);
    assert_eq!(b.total_cents(), 2);
}

#[test]
fn shares_beside_typical_ranges() {
    #[track_caller]
    fn check(parts: CostParts, want: [(CostCategory, f64, bool); 4]) {
        let lines = shares(&parts);
        let got: Vec<(CostCategory, f64, bool)> = lines
            .iter()
            .map(|l| (l.category, (l.share * 1000.0).round() / 1000.0, l.within))
            .collect();
        assert_eq!(got, want);
    }
    let d = |x: f64| Nanodollars::from_dollars(x);
    // 70 / 17 / 7 / 6 of $100: all within.
    check(
        CostParts {
            cpu: d(50.0),
            ram: d(15.0),
            gpu: d(5.0),
            storage: d(17.0),
            network: d(7.0),
            management: d(6.0),
        },
        [
            (CostCategory::Compute, 0.70, true),
            (CostCategory::Storage, 0.17, true),
            (CostCategory::Network, 0.07, true),
            (CostCategory::Management, 0.06, true),
        ],
    );
    // All compute: outside every range.
    check(
        CostParts {
            cpu: d(1.0),
            ..CostParts::default()
        },
        [
            (CostCategory::Compute, 1.0, false),
            (CostCategory::Storage, 0.0, false),
            (CostCategory::Network, 0.0, false),
            (CostCategory::Management, 0.0, false),
        ],
    );
    // Nothing: zero shares, not NaN.
    check(
        CostParts::default(),
        [
            (CostCategory::Compute, 0.0, false),
            (CostCategory::Storage, 0.0, false),
            (CostCategory::Network, 0.0, false),
            (CostCategory::Management, 0.0, false),
        ],
    );
    assert_eq!(TypicalShares::COMPUTE, (0.65, 0.75));
    assert_eq!(CostCategory::Management.as_str(), "management");
}
