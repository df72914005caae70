#![allow(clippy::unwrap_used)]
//! The hub's HTTP API, in process (`tower::ServiceExt::oneshot`) over an in-memory store.

mod common;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use capstan_clock::{Clock, Stopwatch};
use capstan_hub::api::{self, ClusterView, RegisterResponse, Status, WorkItemView};
use capstan_hub::store::{ClusterHealth, NewWorkItem, SqliteStore, WorkStatus};
use common::{BOOTSTRAP, Hub, request};
use serde_json::{Value, json};

/// How long a silent cluster stays known here (the tests outlive it by advancing the clock).
const LEASE: Duration = Duration::from_secs(60);

async fn hub() -> Hub {
    Hub::with_lease(SqliteStore::memory().await.unwrap(), Hub::clock(), LEASE)
}

impl Hub {
    /// A JSON request, as (status, JSON body).
    async fn call_json(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        send(
            self.router(),
            method,
            uri,
            token,
            body.map(|b| b.to_string()),
        )
        .await
    }

    /// Registers `cluster` with `labels` over the API; returns its token.
    async fn register_labelled(&self, cluster: &str, labels: Value) -> String {
        let (code, body) = self
            .call_json(
                "POST",
                "/api/v1/agents/register",
                Some(BOOTSTRAP),
                Some(json!({"cluster": cluster, "labels": labels})),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let answer: RegisterResponse = serde_json::from_value(body).unwrap();
        assert_eq!(answer.cluster, cluster);
        answer.token
    }

    async fn enqueue(&self, id: &str, cluster: &str, generation: i64) {
        let item = NewWorkItem {
            id: id.to_string(),
            cluster: cluster.to_string(),
            generation,
            kind: "UpgradeCluster".to_string(),
            payload: json!({"version": "1.33"}),
        };
        assert!(
            self.state
                .store
                .enqueue_work(&item, self.clock.now())
                .await
                .unwrap()
        );
        self.state.notify_work(cluster);
    }
}

/// A JSON request through `router`, as (status, JSON body).
async fn send(
    router: Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value) {
    let content_type = body.as_ref().map(|_| "application/json");
    let answer = request(router, method, uri, token, content_type, body).await;
    (answer.code, answer.body)
}

fn status_of(body: Value) -> Status {
    let status: Status = serde_json::from_value(body).unwrap();
    assert_eq!(status.kind, "Status");
    status
}

fn report_body(health: &str) -> Value {
    json!({
        "labels": {"environment": "production", "region": "eu"},
        "versions": {"controlPlane": "v1.32.4", "kubelet": {"v1.32.4": 3}},
        "nodeCount": 3,
        "podCount": 42,
        "health": health,
        "summary": {"pdbBlockers": 0},
    })
}

#[tokio::test]
async fn register_report_and_list_shows_labels_and_health() {
    let hub = hub().await;
    let token = hub
        .register_labelled("eu-1", json!({"environment": "production"}))
        .await;
    assert!(!token.is_empty());
    hub.register_labelled("us-1", json!({"environment": "staging"}))
        .await;

    // Registered but not yet reported: listed with its labels, health Unknown.
    let (code, body) = hub
        .call_json("GET", "/api/v1/clusters/eu-1", None, None)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let view: ClusterView = serde_json::from_value(body).unwrap();
    assert_eq!(view.health, ClusterHealth::Unknown);
    assert_eq!(view.labels["environment"], "production");

    let (code, body) = hub
        .call_json(
            "POST",
            "/api/v1/agents/eu-1/report",
            Some(&token),
            Some(report_body("Healthy")),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT, "{body}");

    let (code, body) = hub
        .call_json(
            "GET",
            "/api/v1/clusters?labelSelector=environment%3Dproduction",
            None,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let clusters: Vec<ClusterView> = serde_json::from_value(body).unwrap();
    assert_eq!(clusters.len(), 1, "the selector keeps only eu-1");
    let eu = &clusters[0];
    assert_eq!(eu.name, "eu-1");
    assert_eq!(eu.labels["region"], "eu");
    assert_eq!(eu.health, ClusterHealth::Healthy);
    assert_eq!(eu.node_count, 3);
    assert_eq!(eu.pod_count, 42);
    assert_eq!(eu.versions.control_plane.as_deref(), Some("v1.32.4"));

    let (_, body) = hub.call_json("GET", "/api/v1/clusters", None, None).await;
    assert_eq!(body.as_array().unwrap().len(), 2);

    // Silent for longer than the lease: Unknown, while the reported health is kept.
    hub.clock.advance(LEASE * 2);
    let (_, body) = hub
        .call_json("GET", "/api/v1/clusters/eu-1", None, None)
        .await;
    let view: ClusterView = serde_json::from_value(body).unwrap();
    assert_eq!(view.health, ClusterHealth::Unknown);
    assert_eq!(view.reported_health, ClusterHealth::Healthy);
}

#[tokio::test]
async fn unknown_cluster_is_404_and_bad_selector_400() {
    let hub = hub().await;
    let (code, body) = hub
        .call_json("GET", "/api/v1/clusters/nope", None, None)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(status_of(body).reason, "NotFound");

    let (code, body) = hub
        .call_json(
            "GET",
            "/api/v1/clusters?labelSelector=a%20in%20(",
            None,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(status_of(body).field.as_deref(), Some("labelSelector"));
}

#[tokio::test]
async fn bad_bootstrap_token_is_401_and_bad_name_422() {
    let hub = hub().await;
    let register = json!({"cluster": "eu-1"});
    for token in [None, Some("wrong-token")] {
        let (code, body) = hub
            .call_json(
                "POST",
                "/api/v1/agents/register",
                token,
                Some(register.clone()),
            )
            .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
        let status = status_of(body.clone());
        assert_eq!(status.code, 401);
        assert_eq!(status.reason, "Unauthorized");
        if let Some(token) = token {
            assert!(!body.to_string().contains(token), "token echoed: {body}");
        }
    }
    assert!(hub.state.store.get_cluster("eu-1").await.unwrap().is_none());

    let (code, body) = hub
        .call_json(
            "POST",
            "/api/v1/agents/register",
            Some(BOOTSTRAP),
            Some(json!({"cluster": "EU_1"})),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let status = status_of(body);
    assert_eq!(status.field.as_deref(), Some("cluster"));
    assert_eq!(status.reason, "Invalid");
    assert!(hub.state.store.get_cluster("EU_1").await.unwrap().is_none());
}

#[tokio::test]
async fn agent_tokens_are_per_cluster() {
    let hub = hub().await;
    let eu = hub.register_labelled("eu-1", json!({})).await;
    let us = hub.register_labelled("us-1", json!({})).await;
    let report = Some(report_body("Healthy"));

    let (code, body) = hub
        .call_json(
            "POST",
            "/api/v1/agents/eu-1/report",
            Some(&us),
            report.clone(),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.to_string().contains(&us));

    for token in [None, Some("garbage"), Some("capstan.eu-1.0000")] {
        let (code, _) = hub
            .call_json("POST", "/api/v1/agents/eu-1/report", token, report.clone())
            .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "token {token:?}");
    }
    let (code, _) = hub
        .call_json("GET", "/api/v1/agents/eu-1/work", Some(&us), None)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    // Nothing was recorded by the refused reports.
    let record = hub.state.store.get_cluster("eu-1").await.unwrap().unwrap();
    assert_eq!(record.reported_health, ClusterHealth::Unknown);

    // Registering again rotates the token: the old one stops working.
    let eu2 = hub.register_labelled("eu-1", json!({})).await;
    assert_ne!(eu, eu2);
    let (code, _) = hub
        .call_json(
            "POST",
            "/api/v1/agents/eu-1/report",
            Some(&eu),
            report.clone(),
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = hub
        .call_json("POST", "/api/v1/agents/eu-1/report", Some(&eu2), report)
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn report_rejects_unknown_fields_by_path_and_large_bodies() {
    let hub = hub().await;
    let token = hub.register_labelled("eu-1", json!({})).await;

    let mut top = report_body("Healthy");
    top["nodeCuont"] = json!(3);
    let mut nested = report_body("Healthy");
    nested["versions"]["kubelets"] = json!({});
    let mut wrong_type = report_body("Healthy");
    wrong_type["health"] = json!("Great");
    for (body, field) in [
        (top, "nodeCuont"),
        (nested, "versions.kubelets"),
        (wrong_type, "health"),
    ] {
        let (code, answer) = hub
            .call_json(
                "POST",
                "/api/v1/agents/eu-1/report",
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let status = status_of(answer);
        assert_eq!(status.field.as_deref(), Some(field), "{status:?}");
    }

    let mut missing = report_body("Healthy");
    missing["versions"]
        .as_object_mut()
        .unwrap()
        .remove("kubelet");
    missing.as_object_mut().unwrap().remove("podCount");
    let (code, answer) = hub
        .call_json(
            "POST",
            "/api/v1/agents/eu-1/report",
            Some(&token),
            Some(missing),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of(answer).field.as_deref(), Some("podCount"));

    let (code, _) = send(
        hub.router(),
        "POST",
        "/api/v1/agents/eu-1/report",
        Some(&token),
        Some("{not json".to_string()),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);

    let mut huge = report_body("Healthy");
    huge["summary"] = json!("x".repeat(api::MAX_BODY_BYTES + 1));
    let (code, answer) = hub
        .call_json(
            "POST",
            "/api/v1/agents/eu-1/report",
            Some(&token),
            Some(huge),
        )
        .await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(status_of(answer).reason, "RequestEntityTooLarge");

    let record = hub.state.store.get_cluster("eu-1").await.unwrap().unwrap();
    assert_eq!(
        record.reported_health,
        ClusterHealth::Unknown,
        "nothing stored"
    );
}

#[tokio::test]
async fn work_long_poll_returns_existing_work_or_empty_after_wait() {
    let hub = hub().await;
    let token = hub.register_labelled("eu-1", json!({})).await;

    let (code, body) = hub
        .call_json(
            "GET",
            "/api/v1/agents/eu-1/work?wait=200ms",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body, json!([]));

    let (code, body) = hub
        .call_json(
            "GET",
            "/api/v1/agents/eu-1/work?wait=soon",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(status_of(body).field.as_deref(), Some("wait"));

    hub.enqueue("w1", "eu-1", 1).await;
    // Would block for the maximum wait if it did not answer at once.
    let (code, body) = hub
        .call_json(
            "GET",
            "/api/v1/agents/eu-1/work?wait=60s",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let items: Vec<WorkItemView> = serde_json::from_value(body).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].id, "w1");
    assert_eq!(items[0].status, WorkStatus::Pending);
    assert_eq!(items[0].payload, json!({"version": "1.33"}));
}

#[tokio::test]
async fn work_queued_during_the_wait_is_returned() {
    let hub = hub().await;
    let token = hub.register_labelled("eu-1", json!({})).await;

    let router = hub.router();
    let poll = tokio::spawn(async move {
        send(
            router,
            "GET",
            "/api/v1/agents/eu-1/work?wait=60s",
            Some(&token),
            None,
        )
        .await
    });
    let started = Stopwatch::start();
    while hub.state.work.waiting("eu-1") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the long-poll never started waiting"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hub.enqueue("w1", "eu-1", 1).await;

    let (code, body) = poll.await.unwrap();
    assert_eq!(code, StatusCode::OK);
    let items: Vec<WorkItemView> = serde_json::from_value(body).unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].id, "w1");
    assert_eq!(hub.state.work.waiting("eu-1"), 0);
}

#[tokio::test]
async fn work_status_is_idempotent_and_checks_generation() {
    let hub = hub().await;
    let token = hub.register_labelled("eu-1", json!({})).await;
    let other = hub.register_labelled("us-1", json!({})).await;
    hub.enqueue("w1", "eu-1", 2).await;
    let uri = "/api/v1/agents/eu-1/work/w1/status";

    let (code, body) = hub
        .call_json(
            "POST",
            uri,
            Some(&token),
            Some(json!({"generation": 1, "status": "Running"})),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert_eq!(status_of(body).reason, "Conflict");

    let (code, body) = hub
        .call_json(
            "POST",
            uri,
            Some(&token),
            Some(json!({"generation": 2, "status": "Pending"})),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of(body).field.as_deref(), Some("status"));

    let done = json!({"generation": 2, "status": "Succeeded", "message": "upgraded"});
    for _ in 0..2 {
        let (code, body) = hub
            .call_json("POST", uri, Some(&token), Some(done.clone()))
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let item: WorkItemView = serde_json::from_value(body).unwrap();
        assert_eq!(item.status, WorkStatus::Succeeded);
        assert_eq!(item.message.as_deref(), Some("upgraded"));
    }
    // A late Running (a retried older message) does not reopen a finished item.
    let (code, body) = hub
        .call_json(
            "POST",
            uri,
            Some(&token),
            Some(json!({"generation": 2, "status": "Running"})),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "Succeeded");
    assert!(
        hub.state
            .store
            .list_open_work("eu-1")
            .await
            .unwrap()
            .is_empty()
    );

    // Another cluster cannot see or touch eu-1's work, even through its own path.
    let (code, _) = hub
        .call_json(
            "POST",
            "/api/v1/agents/us-1/work/w1/status",
            Some(&other),
            Some(done),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_are_stored_hashed() {
    let hub = hub().await;
    let token = hub.register_labelled("eu-1", json!({})).await;
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT cluster, token_hash FROM agents")
        .fetch_all(hub.sqlite.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, api::hash_token(&token));
    assert!(!rows[0].1.contains(&token));
    // Nor anywhere in the inventory.
    let record = hub.state.store.get_cluster("eu-1").await.unwrap().unwrap();
    assert!(!format!("{record:?}").contains(&token));
}
