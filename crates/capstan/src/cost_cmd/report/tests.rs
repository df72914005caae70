#![allow(clippy::unwrap_used)]

use capstan_core::cost::{
    Breakdown, BreakdownRow, CostParts, CostWindow, GroupBy, Nanodollars, Resolution, shares,
};
use capstan_hub::api::{CostReport, ReportWindow, report_rows};
use jiff::Timestamp;

use super::{csv, csv_field, table};

fn parts(cpu: i64, storage: i64, network: i64, management: i64) -> CostParts {
    CostParts {
        cpu: Nanodollars(cpu),
        storage: Nanodollars(storage),
        network: Nanodollars(network),
        management: Nanodollars(management),
        ..CostParts::default()
    }
}

fn line(
    cluster: Option<&str>,
    namespace: Option<&str>,
    kind: &str,
    name: &str,
    p: CostParts,
) -> BreakdownRow {
    BreakdownRow {
        cluster: cluster.map(str::to_string),
        namespace: namespace.map(str::to_string),
        kind: kind.to_string(),
        name: name.to_string(),
        parts: p,
        total: p.total(),
        cpu_efficiency: 0.5,
        ram_efficiency: 0.25,
        cpu_request_core_hours: 2.0,
        cpu_usage_core_hours: 1.0,
        ram_request_gib_hours: 4.0,
        ram_usage_gib_hours: 1.0,
    }
}

/// A report as the hub builds it, over `lines`.
fn report(by: GroupBy, lines: Vec<BreakdownRow>) -> CostReport {
    let mut total = CostParts::default();
    for l in &lines {
        total += l.parts;
    }
    let breakdown = Breakdown {
        by,
        rows: lines,
        total,
    };
    let (rows, total) = report_rows(&breakdown);
    let t = |s: &str| s.parse::<Timestamp>().unwrap();
    CostReport {
        window: ReportWindow {
            start: t("2026-03-01T00:00:00Z"),
            end: t("2026-03-08T00:00:00Z"),
            resolution: Resolution::Daily,
            requested: Some(CostWindow {
                start: t("2026-03-01T05:00:00Z"),
                end: t("2026-03-07T13:00:00Z"),
            }),
        },
        by,
        currency: "USD".to_string(),
        shares: shares(&breakdown.total),
        total,
        rows,
        truncated: 0,
        clusters: 2,
        missing: vec!["quiet-1".to_string()],
        missing_count: 3,
        network_unmeasured: 0,
    }
}

/// `$1,234.56` → 123456 cents.
fn cents(cell: &str) -> i64 {
    let negative = cell.starts_with('-');
    let digits: String = cell.chars().filter(char::is_ascii_digit).collect();
    let value: i64 = digits.parse().unwrap();
    if negative { -value } else { value }
}

/// The printed table's money columns: each column's rows sum to the TOTAL line, and the
/// CSV carries the same amounts.
fn check(name: &str, by: GroupBy, lines: Vec<BreakdownRow>, expected_total: &str) {
    let report = report(by, lines);
    let printed = table(&report, "7d");
    let keys = match by {
        GroupBy::Cluster => 1,
        GroupBy::Namespace => 2,
        GroupBy::Workload => 3,
    };
    let table_lines: Vec<&str> = printed.lines().take(report.rows.len() + 2).collect();
    let cells = |l: &str| -> Vec<String> {
        l.split("   ")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    assert_eq!(cells(table_lines[0]).len(), keys + 7, "{name}: the header");
    let total_line = cells(table_lines[report.rows.len() + 1]);
    assert_eq!(total_line[0], "TOTAL", "{name}: {printed}");
    let money_at = 1; // after "TOTAL" (empty key cells are dropped)
    assert_eq!(total_line[money_at + 4], expected_total, "{name}");
    let mut sums = [0i64; 5];
    for row in &table_lines[1..=report.rows.len()] {
        let c = cells(row);
        let money = &c[c.len() - 7..c.len() - 2];
        for (sum, cell) in sums.iter_mut().zip(money) {
            *sum += cents(cell);
        }
        assert!(c.len() > 7, "{name}: {row}");
    }
    for (i, sum) in sums.iter().enumerate() {
        assert_eq!(
            *sum,
            cents(&total_line[money_at + i]),
            "{name}: column {i}\n{printed}"
        );
    }
    // The CSV: a header and a row per report row, the same cents without `$`.
    let text = csv(&report);
    let records: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(records.len(), report.rows.len() + 1, "{name}");
    assert!(records[0].starts_with("cluster,namespace,kind,name,compute"));
    let csv_total: i64 = records[1..]
        .iter()
        .map(|r| cents(r.rsplit(',').nth(2).unwrap()))
        .sum();
    assert_eq!(csv_total, cents(expected_total), "{name}");
    assert!(!text.contains('$'));
}

#[test]
fn printed_rows_sum_to_the_printed_total() {
    let thirds = parts(4_000_000, 0, 0, 0);
    check(
        "three rows of 0.4 cents",
        GroupBy::Cluster,
        vec![
            line(Some("a"), None, "", "", thirds),
            line(Some("b"), None, "", "", thirds),
            line(Some("c"), None, "", "", thirds),
        ],
        "$0.01",
    );
    check(
        "namespaces with idle",
        GroupBy::Namespace,
        vec![
            line(
                Some("eu-1"),
                Some("shop"),
                "",
                "",
                parts(1_234_567_891, 333_333_333, 10_000_001, 33_333_333),
            ),
            line(
                Some("eu-1"),
                Some("__idle__"),
                "",
                "__idle__",
                parts(987_654_321, 0, 0, 16_666_667),
            ),
            line(
                Some("us-1"),
                Some("data"),
                "",
                "",
                parts(3_000_000_000, 2_000_000_003, 5, 50_000_000),
            ),
        ],
        "$7.67",
    );
    check(
        "workloads, a negative idle and thousands",
        GroupBy::Workload,
        vec![
            line(
                Some("eu-1"),
                Some("shop"),
                "Deployment",
                "web",
                parts(1_234_005_000_000, 5_000_000, 5_000_000, 5_000_000),
            ),
            line(
                Some("eu-1"),
                Some("__idle__"),
                "",
                "__idle__",
                parts(-2_005_000_000, 0, 0, 0),
            ),
            line(
                None,
                None,
                "",
                "__other__",
                parts(15_000_000, 5_000_000, 0, 0),
            ),
        ],
        "$1,232.04",
    );
}

#[test]
fn the_table_names_the_shares_window_and_missing_clusters() {
    let report = report(
        GroupBy::Workload,
        vec![
            line(
                Some("eu-1"),
                Some("shop"),
                "Deployment",
                "web",
                parts(700_000_000, 200_000_000, 50_000_000, 50_000_000),
            ),
            line(
                Some("eu-1"),
                Some("__idle__"),
                "",
                "__idle__",
                parts(0, 0, 0, 0),
            ),
        ],
    );
    let printed = table(&report, "7d");
    let expected_tail = "\
compute      70.0%   typical 65-75%   ok
storage      20.0%   typical 15-20%   ok
network       5.0%   typical 5-10%    ok
management    5.0%   typical 5-10%    ok

window 7d: 2026-03-01T00:00:00Z to 2026-03-08T00:00:00Z (daily; widened from 2026-03-01T05:00:00Z to 2026-03-07T13:00:00Z to whole UTC days), USD, 2 clusters
no cost data from 3 clusters (not in the total): quiet-1 and 2 more
";
    assert!(printed.ends_with(expected_tail), "{printed}");
    let mut unmeasured = report.clone();
    unmeasured.network_unmeasured = 1;
    assert!(
        table(&unmeasured, "7d").contains("network: not measured for 1 of 2 clusters"),
        "a cluster without an egress source is named as such"
    );
    let header = printed.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "CLUSTER",
            "NAMESPACE",
            "WORKLOAD",
            "COMPUTE",
            "STORAGE",
            "NETWORK",
            "MANAGEMENT",
            "TOTAL",
            "CPU-EFF",
            "RAM-EFF"
        ]
    );
    let web = printed.lines().nth(1).unwrap();
    assert_eq!(
        web.split_whitespace().collect::<Vec<_>>(),
        [
            "eu-1",
            "shop",
            "Deployment/web",
            "$0.70",
            "$0.20",
            "$0.05",
            "$0.05",
            "$1.00",
            "50.0%",
            "25.0%"
        ]
    );
    let idle = printed.lines().nth(2).unwrap();
    let last: Vec<&str> = idle.split_whitespace().rev().take(2).collect();
    assert_eq!(last, ["-", "-"], "idle capacity has no efficiency: {idle}");
}

#[test]
fn csv_quotes_as_rfc_4180() {
    for (field, quoted) in [
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""),
        ("", ""),
    ] {
        assert_eq!(csv_field(field), quoted);
    }
}
