#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The fake cloud behind each cluster and the fault endpoints, driven over HTTP as later
//! components (the agent's `sim` provider) drive them, and observed through the Kubernetes API.

mod common;

use std::time::Duration;

use capstan_sim::TwinConfig;
use common::{FLEET, TestTwin, eventually};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

/// Ten simulated minutes per real second: a machine provisions and joins in about two seconds.
const SCALE: f64 = 600.0;
const DEADLINE: Duration = Duration::from_secs(30);

fn ready(node: &Node) -> Option<&str> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

fn kubelet_version(node: &Node) -> String {
    node.status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .map(|i| i.kubelet_version.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machines_provision_join_and_terminate() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let nodes: Api<Node> = Api::all(t.client("alpha", false).await);
    let before = nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .len();

    let (code, body) = t
        .control(
            "alpha",
            "POST",
            "cloud/v1/node-pools/general/nodes",
            json!({"count": 1, "version": "1.31"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let machine = body["machines"][0]
        .as_str()
        .expect("a machine name")
        .to_string();

    // Provisioning: no Node yet. Then the kubelet registers (NotReady) and turns Ready.
    let node = eventually("the new node to be Ready", DEADLINE, || {
        let nodes = nodes.clone();
        let machine = machine.clone();
        async move {
            let n = nodes.get_opt(&machine).await.ok().flatten()?;
            (ready(&n) == Some("True")).then_some(n)
        }
    })
    .await;
    assert!(
        kubelet_version(&node).starts_with("v1.31."),
        "{}",
        kubelet_version(&node)
    );
    let (_, cloud) = t.control("alpha", "GET", "cloud/v1", json!({})).await;
    let phases: Vec<&str> = cloud["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == machine.as_str())
        .expect("the machine is listed")["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["phase"].as_str())
        .collect();
    assert_eq!(phases, ["Provisioning", "Joining", "Running"]);
    assert_eq!(
        nodes
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        before + 1
    );

    let (code, body) = t
        .control(
            "alpha",
            "DELETE",
            &format!("cloud/v1/nodes/{machine}"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["phase"], "Terminating");
    eventually("the node to be gone", DEADLINE, || {
        let nodes = nodes.clone();
        let machine = machine.clone();
        async move { nodes.get_opt(&machine).await.ok()?.is_none().then_some(()) }
    })
    .await;
}

async fn upgrade(t: &TestTwin, body: serde_json::Value) -> (u16, serde_json::Value) {
    t.control("alpha", "POST", "cloud/v1/control-plane/upgrade", body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_upgrades_one_minor_at_a_time_and_can_fail() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    assert_eq!(client.apiserver_version().await.unwrap().minor, "32");

    // Two minors at once and downgrades are refused, and change nothing.
    let (code, body) = upgrade(&t, json!({"version": "1.34"})).await;
    assert_eq!(code, 422, "{body}");
    let (code, _) = upgrade(&t, json!({"version": "1.31"})).await;
    assert_eq!(code, 422);
    let (code, body) = upgrade(&t, json!({})).await;
    assert_eq!(code, 422);
    assert!(body.as_str().unwrap_or("").contains("version"), "{body}");

    let (code, body) = upgrade(&t, json!({"version": "1.33"})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["controlPlane"]["upgrading"]["to"]
            .as_str()
            .map(|v| v.starts_with("1.33.")),
        Some(true)
    );
    // A second upgrade while one runs is a conflict.
    let (code, _) = upgrade(&t, json!({"version": "1.33"})).await;
    assert_eq!(code, 409);
    eventually("/version to report 1.33", DEADLINE, || {
        let client = client.clone();
        async move { (client.apiserver_version().await.ok()?.minor == "33").then_some(()) }
    })
    .await;

    // The next upgrade is set to fail: it finishes, reports why, and the version stays.
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/fail-next-upgrade",
            json!({}),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = upgrade(&t, json!({"version": "1.34"})).await;
    assert_eq!(code, 200);
    let last = eventually("the failed upgrade to be reported", DEADLINE, || {
        let t = &t;
        async move {
            let (_, cloud) = t.control("alpha", "GET", "cloud/v1", json!({})).await;
            let last = cloud["controlPlane"]["lastUpgrade"].clone();
            (last["to"].as_str().is_some_and(|v| v.starts_with("1.34."))).then_some(last)
        }
    })
    .await;
    assert_eq!(last["result"], "Failed", "{last}");
    assert_eq!(client.apiserver_version().await.unwrap().minor, "33");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_not_ready_and_crash_loops() {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let name = nodes.list(&ListParams::default()).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/node-not-ready",
            json!({"node": name}),
        )
        .await;
    assert_eq!(code, 200);
    let node = nodes.get(&name).await.unwrap();
    assert_eq!(ready(&node), Some("Unknown"));
    let taints: Vec<String> = node
        .spec
        .unwrap()
        .taints
        .unwrap_or_default()
        .into_iter()
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect();
    assert!(
        taints.contains(&"node.kubernetes.io/unreachable:NoExecute".to_string()),
        "{taints:?}"
    );
    let (code, _) = t
        .control(
            "alpha",
            "DELETE",
            &format!("sim/v1/faults/node-not-ready/{name}"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(ready(&nodes.get(&name).await.unwrap()), Some("True"));

    // Pods matching a crash-loop fault restart with back-off and are not Ready. The first
    // container crashes; its sidecar, whose status the kubelet lists first (statuses are
    // sorted by name), keeps running, and the count keeps climbing past one.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "flaky", "labels": {"app": "flaky"}},
        "spec": {"containers": [
            {"name": "c", "image": "nginx:1.27"},
            {"name": "a-sidecar", "image": "envoyproxy/envoy:v1.31"}
        ]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/crashloop",
            json!({"namespace": "default", "labelSelector": "app=flaky"}),
        )
        .await;
    assert_eq!(code, 200);
    let (status, sidecar) = eventually("the pod to crash-loop three times", DEADLINE, || {
        let pods = pods.clone();
        async move {
            let p = pods.get("flaky").await.ok()?;
            let statuses = p.status?.container_statuses?;
            let s = statuses.iter().find(|s| s.name == "c")?.clone();
            let sidecar = statuses.iter().find(|s| s.name == "a-sidecar")?.clone();
            let waiting = s.state.as_ref()?.waiting.as_ref()?.reason.clone();
            (s.restart_count >= 3 && waiting.as_deref() == Some("CrashLoopBackOff"))
                .then_some((s, sidecar))
        }
    })
    .await;
    assert!(!status.ready);
    assert_eq!(sidecar.restart_count, 0, "the sidecar does not crash");
    let (code, body) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/api",
            json!({"errorRate": 2.0}),
        )
        .await;
    assert_eq!(code, 422, "an error rate above 1 is refused: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_status_and_changes_nothing() {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let names = |list: Vec<ConfigMap>| -> Vec<String> {
        list.into_iter().filter_map(|c| c.metadata.name).collect()
    };
    let before = names(cms.list(&ListParams::default()).await.unwrap().items);

    let send = |method: &str, path: &str, content_type: &str, body: &str| {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(body.as_bytes().to_vec())
            .unwrap();
        let client = client.clone();
        async move {
            match client.request_text(req).await {
                Ok(text) => (200u16, text, String::new()),
                Err(kube::Error::Api(s)) => (s.code, s.message.clone(), s.reason.clone()),
                Err(e) => panic!("transport error: {e}"),
            }
        }
    };
    let cases: &[(&str, &str, &str, &str, u16, &str)] = &[
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            "{not json",
            400,
            "BadRequest",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/yaml",
            "a: [unclosed",
            400,
            "BadRequest",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "text/plain",
            "hello",
            415,
            "UnsupportedMediaType",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#,
            400,
            "BadRequest",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/kube-root-ca.crt",
            "text/plain",
            "{}",
            415,
            "UnsupportedMediaType",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/kube-root-ca.crt",
            "application/merge-patch+json",
            "[1,",
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/widgets",
            "application/json",
            "",
            404,
            "NotFound",
        ),
        (
            "GET",
            "/apis/example.com/v1/widgets",
            "application/json",
            "",
            404,
            "NotFound",
        ),
        (
            "PUT",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            "{}",
            405,
            "MethodNotAllowed",
        ),
        (
            "GET",
            "/api/v1/pods?labelSelector=app%20in%20(",
            "application/json",
            "",
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/pods?fieldSelector=spec.foo%3Dx",
            "application/json",
            "",
            400,
            "BadRequest",
        ),
        (
            "GET",
            "/api/v1/pods?limit=abc",
            "application/json",
            "",
            400,
            "BadRequest",
        ),
    ];
    for (method, path, ct, body, code, reason) in cases {
        let (got, message, got_reason) = send(method, path, ct, body).await;
        assert_eq!(
            (got, got_reason.as_str()),
            (*code, *reason),
            "{method} {path}: {message}"
        );
        assert!(
            !message.is_empty(),
            "{method} {path}: a Status names the problem"
        );
    }
    // The twin keeps serving, and nothing changed.
    let after = names(cms.list(&ListParams::default()).await.unwrap().items);
    assert_eq!(before, after);
    let cm = cms.get("kube-root-ca.crt").await.unwrap();
    assert!(cm.data.is_some_and(|d| d.contains_key("ca.crt")));
}
