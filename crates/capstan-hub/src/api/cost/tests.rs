#![allow(clippy::unwrap_used)]

use capstan_core::cost::{CostRow, OTHER};
use serde_json::json;

use super::*;
use crate::api::openapi_document;

fn line(cluster: &str, parts: CostParts) -> BreakdownRow {
    BreakdownRow {
        cluster: Some(cluster.to_string()),
        namespace: None,
        kind: String::new(),
        name: String::new(),
        parts,
        total: parts.total(),
        cpu_efficiency: 0.5,
        ram_efficiency: 0.25,
        cpu_request_core_hours: 2.0,
        cpu_usage_core_hours: 1.0,
        ram_request_gib_hours: 4.0,
        ram_usage_gib_hours: 1.0,
    }
}

fn parts(cpu: i64, storage: i64, network: i64, management: i64) -> CostParts {
    CostParts {
        cpu: Nanodollars(cpu),
        storage: Nanodollars(storage),
        network: Nanodollars(network),
        management: Nanodollars(management),
        ..CostParts::default()
    }
}

/// Rows of `parts`; expects the total line's cents, and every column's rows to sum to them.
fn check(name: &str, rows: &[CostParts], expected_total_cents: i64) {
    let mut total = CostParts::default();
    for p in rows {
        total += *p;
    }
    let lines: Vec<BreakdownRow> = rows
        .iter()
        .enumerate()
        .map(|(i, p)| line(&format!("c{i}"), *p))
        .collect();
    let breakdown = Breakdown {
        by: GroupBy::Cluster,
        rows: lines,
        total,
    };
    let (rows, total) = report_rows(&breakdown);
    assert_eq!(total.total_cents, expected_total_cents, "{name}");
    let sum = |f: fn(&ReportRow) -> i64| rows.iter().map(f).sum::<i64>();
    assert_eq!(sum(|r| r.total_cents), total.total_cents, "{name}: total");
    assert_eq!(
        sum(|r| r.parts_cents.compute),
        total.parts_cents.compute,
        "{name}: compute"
    );
    assert_eq!(
        sum(|r| r.parts_cents.storage),
        total.parts_cents.storage,
        "{name}: storage"
    );
    assert_eq!(
        sum(|r| r.parts_cents.network),
        total.parts_cents.network,
        "{name}: network"
    );
    assert_eq!(
        sum(|r| r.parts_cents.management),
        total.parts_cents.management,
        "{name}: management"
    );
    let c = &total.parts_cents;
    assert_eq!(
        c.compute + c.storage + c.network + c.management,
        total.total_cents,
        "{name}: the TOTAL line across"
    );
    // Every row's cents are its amount rounded down or up.
    for row in &rows {
        let exact = row.line.total.0 as f64 / 1e7;
        assert!(
            (row.total_cents as f64 - exact).abs() < 1.0,
            "{name}: {exact}"
        );
    }
}

#[test]
fn printed_rows_sum_to_the_printed_total() {
    const HALF_CENT: i64 = 5_000_000;
    // Three rows of $0.004: each rounds to $0.00 alone, their sum to $0.01.
    check("thirds", &[parts(4_000_000, 0, 0, 0); 3], 1);
    check(
        "halves",
        &[parts(HALF_CENT, HALF_CENT, HALF_CENT, HALF_CENT); 5],
        10,
    );
    check(
        "mixed",
        &[
            parts(1_234_567_891, 333_333_333, 10_000_001, 33_333_333),
            parts(987_654_321, 2_000_000_003, 5, 16_666_667),
            parts(3_000_000_000, 0, 0, 50_000_000),
        ],
        767, // $7.665555554
    );
    check(
        "negative idle",
        &[parts(10_006_000_000, 0, 0, 0), parts(-4_000_000, 0, 0, 0)],
        1_000,
    );
    check("empty", &[], 0);
}

#[test]
fn efficiency_of_the_total_is_usage_over_requests() {
    let breakdown = Breakdown {
        by: GroupBy::Cluster,
        rows: vec![line("a", parts(1, 0, 0, 0)), line("b", parts(2, 0, 0, 0))],
        total: parts(3, 0, 0, 0),
    };
    let (_, total) = report_rows(&breakdown);
    assert_eq!(total.cpu_efficiency, 0.5);
    assert_eq!(total.ram_efficiency, 0.25);
}

/// The keys of `value` are documented in `schema` (resolving `$ref`), required keys present.
fn conforms(schema: &Value, value: &Value, path: &str) {
    let doc = openapi_document();
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    if let Some(fields) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            assert!(
                fields.contains_key(required.as_str().unwrap()),
                "{path}: {required} missing"
            );
        }
        if let Some(properties) = schema["properties"].as_object() {
            for (key, field) in fields {
                let at = format!("{path}.{key}");
                let sub = properties.get(key);
                assert!(
                    sub.is_some() || schema["additionalProperties"] != json!(false),
                    "{at} is not documented"
                );
                if let Some(sub) = sub {
                    conforms(sub, field, &at);
                }
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            conforms(&schema["items"], item, &format!("{path}[{i}]"));
        }
    }
}

#[test]
fn a_report_and_a_recommendation_list_match_their_schemas() {
    let mut row = CostRow::new("shop", "Deployment", "web");
    row.parts = parts(5, 6, 7, 8);
    let period_total = row.parts;
    let mut lines = Breakdown {
        by: GroupBy::Workload,
        rows: vec![line("a", period_total), line("b", period_total)],
        total: parts(10, 12, 14, 16),
    };
    lines.rows[1].namespace = Some(OTHER.to_string());
    let (rows, total) = report_rows(&lines);
    let report = CostReport {
        window: ReportWindow {
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::UNIX_EPOCH,
            resolution: Resolution::Daily,
            requested: Some(CostWindow {
                start: Timestamp::UNIX_EPOCH,
                end: Timestamp::UNIX_EPOCH,
            }),
        },
        by: GroupBy::Workload,
        currency: "USD".to_string(),
        total,
        shares: shares(&lines.total),
        rows,
        truncated: 0,
        clusters: 2,
        missing: vec!["c".to_string()],
        missing_count: 1,
        network_unmeasured: 1,
    };
    let doc = openapi_document();
    conforms(
        &doc["components"]["schemas"]["CostReport"],
        &serde_json::to_value(&report).unwrap(),
        "CostReport",
    );
    let list = RecommendationList {
        items: vec![RecommendationItem {
            cluster: "a".to_string(),
            kind: "spot".to_string(),
            generated_at: Timestamp::UNIX_EPOCH,
            monthly_saving_dollars: Some(1.0),
            item: json!({"namespace": "shop"}),
        }],
        total: 1,
        monthly_saving_dollars: 1.0,
        clusters: 1,
    };
    conforms(
        &doc["components"]["schemas"]["RecommendationList"],
        &serde_json::to_value(&list).unwrap(),
        "RecommendationList",
    );
    let upload = CostUpload {
        hours: vec![],
        recommendations: None,
    };
    conforms(
        &doc["components"]["schemas"]["CostUpload"],
        &serde_json::to_value(&upload).unwrap(),
        "CostUpload",
    );
}
