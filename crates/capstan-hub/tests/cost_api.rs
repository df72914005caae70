#![allow(clippy::unwrap_used)]
//! The cost API in process over an in-memory store: uploads (auth, validation,
//! idempotence), the report by cluster, namespace and workload, windows and their
//! resolution, and the recommendations list.

mod common;
mod cost_fixture;

use axum::http::StatusCode;
use capstan_core::cost::{CostHour, CostParts, Nanodollars};
use capstan_hub::api::{CostReport, RecommendationList};
use common::{Answer, Hub};
use cost_fixture::{DAY_SECONDS, DAY0, HOUR_SECONDS, hour, sum, ts};
use serde_json::{Value, json};

/// The hub's time: day 3 of the fixture, 12:30.
const NOW: i64 = DAY0 + 3 * DAY_SECONDS + 12 * HOUR_SECONDS + 1800;

impl Hub {
    async fn upload(&self, cluster: &str, token: &str, body: &Value) -> Answer {
        self.send(
            "POST",
            &format!("/api/v1/agents/{cluster}/cost"),
            Some(token),
            Some(body.to_string()),
        )
        .await
    }

    async fn cost_report(&self, query: &str) -> CostReport {
        let answer = self
            .send("GET", &format!("/api/v1/cost?{query}"), None, None)
            .await;
        assert_eq!(answer.code, StatusCode::OK, "{query}: {}", answer.body);
        serde_json::from_value(answer.body).unwrap()
    }
}

fn upload_body(hours: &[CostHour]) -> Value {
    json!({"hours": hours})
}

/// The last `n` finished hours before NOW.
fn recent_hours(n: i64, k: i64) -> Vec<CostHour> {
    let last = NOW - NOW.rem_euclid(HOUR_SECONDS) - HOUR_SECONDS;
    (0..n)
        .map(|i| hour(last - i * HOUR_SECONDS, k + i))
        .collect()
}

/// Each column's row cents sum to the total's; the rows' nanodollars sum to the total.
fn check_sums(report: &CostReport) {
    let mut parts = CostParts::default();
    let (mut compute, mut storage, mut network, mut management, mut total) = (0, 0, 0, 0, 0);
    for row in &report.rows {
        parts += row.line.parts;
        compute += row.parts_cents.compute;
        storage += row.parts_cents.storage;
        network += row.parts_cents.network;
        management += row.parts_cents.management;
        total += row.total_cents;
    }
    assert_eq!(parts, report.total.parts);
    let t = &report.total;
    assert_eq!(compute, t.parts_cents.compute);
    assert_eq!(storage, t.parts_cents.storage);
    assert_eq!(network, t.parts_cents.network);
    assert_eq!(management, t.parts_cents.management);
    assert_eq!(total, t.total_cents);
    assert_eq!(t.total_cents, t.total.cents());
    let c = &t.parts_cents;
    assert_eq!(
        c.compute + c.storage + c.network + c.management,
        t.total_cents
    );
}

#[tokio::test]
async fn cluster_namespace_and_workload_views_agree_with_the_hours() {
    let hub = Hub::memory_at(ts(NOW)).await;
    let mut expected = CostParts::default();
    for (cluster, env, k) in [
        ("eu-1", "production", 1),
        ("us-1", "production", 5),
        ("dev-1", "dev", 9),
    ] {
        let token = hub.register_agent(cluster, env).await;
        let hours = recent_hours(30, k);
        let answer = hub.upload(cluster, &token, &upload_body(&hours)).await;
        assert_eq!(answer.code, StatusCode::NO_CONTENT, "{}", answer.body);
        // A retry changes nothing.
        assert_eq!(
            hub.upload(cluster, &token, &upload_body(&hours)).await.code,
            StatusCode::NO_CONTENT
        );
        expected += sum(&hours);
    }
    hub.register_agent("silent-1", "production").await;

    let mut totals = Vec::new();
    for by in ["cluster", "namespace", "workload"] {
        let report = hub
            .cost_report(&format!("window=30h&by={by}&top=1000"))
            .await;
        assert_eq!(
            report.window.resolution,
            capstan_core::cost::Resolution::Hourly
        );
        assert_eq!(
            report.window.end.as_second() - report.window.start.as_second(),
            31 * 3600,
            "30 h from 12:30, in whole hours"
        );
        assert_eq!(report.currency, "USD");
        assert_eq!(report.total.parts, expected, "{by}");
        assert_eq!(report.truncated, 0);
        assert_eq!(report.clusters, 3);
        assert_eq!(report.missing, vec!["silent-1".to_string()]);
        assert_eq!(report.missing_count, 1);
        let rows = report.rows.len();
        let want = match by {
            "cluster" => 3,
            "namespace" => 9, // shop, data, __idle__ per cluster
            _ => 12,
        };
        assert_eq!(rows, want, "{by}");
        assert!(
            report
                .rows
                .windows(2)
                .all(|w| w[0].line.total >= w[1].line.total)
        );
        check_sums(&report);
        let compute: f64 = report.shares[0].share;
        let amount = expected.compute().0 as f64 / expected.total().0 as f64;
        assert!((compute - amount).abs() < 1e-12);
        totals.push(report.total.clone());
    }
    assert!(totals.windows(2).all(|w| w[0] == w[1]));

    // Filtering: a label selector, and one cluster.
    let production = hub
        .cost_report("window=30h&labelSelector=environment%3Dproduction")
        .await;
    assert_eq!(production.clusters, 2);
    assert_eq!(production.missing, vec!["silent-1".to_string()]);
    let mut both = sum(&recent_hours(30, 1));
    both += sum(&recent_hours(30, 5));
    assert_eq!(production.total.parts, both);
    let one = hub
        .cost_report("window=30h&by=workload&cluster=dev-1")
        .await;
    assert_eq!(one.total.parts, sum(&recent_hours(30, 9)));
    assert!(
        one.rows
            .iter()
            .all(|r| r.line.cluster.as_deref() == Some("dev-1"))
    );

    // top folds the rest into one __other__ row, keeping the sums.
    let top = hub.cost_report("window=30h&by=workload&top=5").await;
    assert_eq!(top.rows.len(), 6);
    assert_eq!(top.truncated, 7);
    assert_eq!(top.rows[5].line.name, "__other__");
    assert_eq!(top.total.parts, expected);
    check_sums(&top);
}

#[tokio::test]
async fn old_windows_are_answered_from_whole_days() {
    let hub = Hub::memory_at(ts(NOW)).await;
    let token = hub.register_agent("eu-1", "production").await;
    // Day 0 and day 1, whole; uploaded in one request each.
    let day0: Vec<_> = (0..24).map(|i| hour(DAY0 + i * HOUR_SECONDS, i)).collect();
    let day1: Vec<_> = (0..24)
        .map(|i| hour(DAY0 + DAY_SECONDS + i * HOUR_SECONDS, 100 + i))
        .collect();
    for hours in [&day0, &day1] {
        assert_eq!(
            hub.upload("eu-1", &token, &upload_body(hours)).await.code,
            StatusCode::NO_CONTENT
        );
    }
    // From day 0 06:00 to day 1 12:00, older than 49 h: days 0 and 1 whole.
    let start = DAY0 + 6 * HOUR_SECONDS;
    let end = DAY0 + DAY_SECONDS + 12 * HOUR_SECONDS;
    let report = hub
        .cost_report(&format!("window={start},{end}&by=namespace"))
        .await;
    assert_eq!(
        report.window.resolution,
        capstan_core::cost::Resolution::Daily
    );
    assert_eq!(report.window.start, ts(DAY0));
    assert_eq!(report.window.end, ts(DAY0 + 2 * DAY_SECONDS));
    let requested = report.window.requested.unwrap();
    assert_eq!((requested.start, requested.end), (ts(start), ts(end)));
    let mut expected = sum(&day0);
    expected += sum(&day1);
    assert_eq!(report.total.parts, expected);
    check_sums(&report);
    // 7d reaches back past 49 h too.
    let week = hub.cost_report("window=7d").await;
    assert_eq!(
        week.window.resolution,
        capstan_core::cost::Resolution::Daily
    );
    assert_eq!(week.total.parts, expected);
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_field() {
    let hub = Hub::memory_at(ts(NOW)).await;
    for (query, field) in [
        ("window=fortnight", "window"),
        ("window=", "window"),
        ("window=7200,3600", "window"),
        ("by=pod", "by"),
        ("labelSelector=a%20in%20(", "labelSelector"),
        ("top=0", "top"),
        ("top=x", "top"),
    ] {
        let answer = hub
            .send("GET", &format!("/api/v1/cost?{query}"), None, None)
            .await;
        assert_eq!(answer.code, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(answer.body["field"], field, "{query}: {}", answer.body);
    }
    for (query, field) in [("kind=cheap", "kind"), ("limit=0", "limit")] {
        let answer = hub
            .send(
                "GET",
                &format!("/api/v1/cost/recommendations?{query}"),
                None,
                None,
            )
            .await;
        assert_eq!(answer.code, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(answer.body["field"], field);
    }
}

#[tokio::test]
async fn uploads_need_the_clusters_token_and_consistent_hours() {
    let hub = Hub::memory_at(ts(NOW)).await;
    let token = hub.register_agent("eu-1", "production").await;
    let other = hub.register_agent("us-1", "production").await;
    let body = upload_body(&recent_hours(1, 0));
    let none = hub
        .send(
            "POST",
            "/api/v1/agents/eu-1/cost",
            None,
            Some(body.to_string()),
        )
        .await;
    assert_eq!(none.code, StatusCode::UNAUTHORIZED);
    assert_eq!(
        hub.upload("eu-1", "capstan.eu-1.bad", &body).await.code,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        hub.upload("eu-1", &other, &body).await.code,
        StatusCode::FORBIDDEN
    );

    let good = recent_hours(1, 0).remove(0);
    let mut unbalanced = good.clone();
    unbalanced.namespaces[0].parts.cpu += Nanodollars(1);
    let mut workloads = good.clone();
    workloads.workloads[1].parts.storage += Nanodollars(-1);
    let mut future = hour(NOW - NOW.rem_euclid(HOUR_SECONDS) + 2 * HOUR_SECONDS, 0);
    future.hours_sampled = 0.0;
    let mut unaligned = good.clone();
    unaligned.start = ts(good.start.as_second() + 60);
    unaligned.end = ts(good.end.as_second() + 60);
    let mut long = good.clone();
    long.end = ts(good.end.as_second() + HOUR_SECONDS);
    let many: Vec<_> = (0..201).map(|i| hour(DAY0 + i * HOUR_SECONDS, 0)).collect();
    for (name, body, field) in [
        (
            "namespaces off by 1",
            upload_body(&[good.clone(), unbalanced]),
            "hours[1].namespaces",
        ),
        (
            "workloads off by 1",
            upload_body(&[workloads]),
            "hours[0].workloads",
        ),
        ("two hours ahead", upload_body(&[future]), "hours[0].start"),
        (
            "not on the hour",
            upload_body(&[unaligned]),
            "hours[0].start",
        ),
        ("two hours long", upload_body(&[long]), "hours[0].end"),
        ("201 hours", upload_body(&many), "hours"),
    ] {
        let answer = hub.upload("eu-1", &token, &body).await;
        assert_eq!(
            answer.code,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            answer.body
        );
        assert_eq!(answer.body["field"], field, "{name}");
    }
    let unknown = hub
        .upload("eu-1", &token, &json!({"hours": [], "extra": 1}))
        .await;
    assert_eq!(unknown.code, StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing of the refused uploads was stored.
    let report = hub.cost_report("window=30h").await;
    assert!(report.rows.is_empty());
    assert_eq!(report.total.total_cents, 0);
    assert_eq!(report.missing, vec!["eu-1".to_string(), "us-1".to_string()]);
    // The hour now + 1h is accepted (an agent's clock a little ahead).
    let next = hour(NOW - NOW.rem_euclid(HOUR_SECONDS) + HOUR_SECONDS, 0);
    assert_eq!(
        hub.upload("eu-1", &token, &upload_body(&[next])).await.code,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn recommendations_are_flattened_fleet_wide_by_saving() {
    let hub = Hub::memory_at(ts(NOW)).await;
    let eu = hub.register_agent("eu-1", "production").await;
    let dev = hub.register_agent("dev-1", "dev").await;
    let bundle = |saving: f64| {
        json!({
            "generatedAt": "2026-03-13T12:00:00Z",
            "rightsizing": [
                {"namespace": "shop", "workload": "web", "container": "app", "monthlySavingDollars": saving},
                {"namespace": "shop", "workload": "api", "container": "app", "monthlySavingDollars": -3.0}
            ],
            "spot": [{"namespace": "shop", "name": "web", "monthlySavingDollars": saving * 2.0}],
            "quota": [{"namespace": "shop"}]
        })
    };
    for (cluster, token, saving) in [("eu-1", &eu, 10.0), ("dev-1", &dev, 4.0)] {
        let answer = hub
            .upload(
                cluster,
                token,
                &json!({"hours": [], "recommendations": bundle(saving)}),
            )
            .await;
        assert_eq!(answer.code, StatusCode::NO_CONTENT);
    }
    let get = |query: &'static str| {
        let hub = &hub;
        async move {
            let answer = hub
                .send(
                    "GET",
                    &format!("/api/v1/cost/recommendations?{query}"),
                    None,
                    None,
                )
                .await;
            assert_eq!(answer.code, StatusCode::OK, "{}", answer.body);
            serde_json::from_value::<RecommendationList>(answer.body).unwrap()
        }
    };
    let all = get("").await;
    let order: Vec<(String, String, Option<f64>)> = all
        .items
        .iter()
        .map(|i| (i.cluster.clone(), i.kind.clone(), i.monthly_saving_dollars))
        .collect();
    let item = |c: &str, k: &str, s: Option<f64>| (c.to_string(), k.to_string(), s);
    assert_eq!(
        order,
        vec![
            item("eu-1", "spot", Some(20.0)),
            item("eu-1", "rightsizing", Some(10.0)),
            item("dev-1", "spot", Some(8.0)),
            item("dev-1", "rightsizing", Some(4.0)),
            item("dev-1", "rightsizing", Some(-3.0)),
            item("eu-1", "rightsizing", Some(-3.0)),
            item("dev-1", "quota", None),
            item("eu-1", "quota", None),
        ]
    );
    assert_eq!(all.total, 8);
    assert_eq!(all.monthly_saving_dollars, 42.0);
    assert_eq!(all.clusters, 2);
    assert_eq!(all.items[0].generated_at, ts(1_773_403_200));

    let rightsizing = get("kind=rightsizing&limit=1").await;
    assert_eq!(rightsizing.total, 4);
    assert_eq!(rightsizing.items.len(), 1);
    assert_eq!(rightsizing.items[0].item["workload"], "web");
    assert_eq!(rightsizing.monthly_saving_dollars, 14.0);
    let production = get("labelSelector=environment%3Dproduction").await;
    assert!(production.items.iter().all(|i| i.cluster == "eu-1"));
    assert_eq!(production.total, 4);
}
