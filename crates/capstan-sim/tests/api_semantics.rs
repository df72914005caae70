#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Registry semantics through kube-rs: conflicts, generateName, finalizers, the patch types,
//! custom resources defined at run time, and server-side tables.

mod common;

use std::time::Duration;

use capstan_sim::TwinConfig;
use common::{FLEET, TestTwin, eventually};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(30);

async fn twin() -> (TestTwin, kube::Client) {
    let t = TestTwin::start(FLEET, 60.0, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    (t, client)
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

fn api_error(e: kube::Error) -> (u16, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_generate_name_and_finalizers() {
    let (_t, client) = twin().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let first = cms
        .create(&PostParams::default(), &cm("one"))
        .await
        .unwrap();
    let e = cms
        .create(&PostParams::default(), &cm("one"))
        .await
        .unwrap_err();
    assert_eq!(api_error(e), (409, "AlreadyExists".into()));

    // An update from a stale read loses.
    let mut a = first.clone();
    a.data = Some([("k".to_string(), "a".to_string())].into());
    cms.replace("one", &PostParams::default(), &a)
        .await
        .unwrap();
    let mut stale = first.clone();
    stale.data = Some([("k".to_string(), "b".to_string())].into());
    let e = cms
        .replace("one", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(api_error(e), (409, "Conflict".into()));
    assert_eq!(cms.get("one").await.unwrap().data.unwrap()["k"], "a");

    let generated: ConfigMap =
        serde_json::from_value(json!({"metadata": {"generateName": "gen-"}})).unwrap();
    let made = cms
        .create(&PostParams::default(), &generated)
        .await
        .unwrap();
    let name = made.metadata.name.unwrap();
    assert!(
        name.starts_with("gen-") && name.len() == "gen-".len() + 5,
        "{name}"
    );

    // A finalizer holds a deleted object until it is removed.
    let held: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &held).await.unwrap();
    cms.delete("held", &DeleteParams::default()).await.unwrap();
    let still = cms.get("held").await.unwrap();
    assert!(still.metadata.deletion_timestamp.is_some());
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("held").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_json_and_strategic_patches() {
    let (_t, client) = twin().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "nginx:1.26"}, {"name": "sidecar", "image": "envoy:1.30"}]}}}
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &d)
        .await
        .unwrap();

    // Strategic merge: containers merge by name, so the sidecar stays.
    let patched = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1.27"}]}}}})),
        )
        .await
        .unwrap();
    let containers = patched.spec.unwrap().template.spec.unwrap().containers;
    let images: Vec<(String, String)> = containers
        .into_iter()
        .map(|c| (c.name, c.image.unwrap_or_default()))
        .collect();
    assert_eq!(
        images,
        [
            ("web".into(), "nginx:1.27".into()),
            ("sidecar".into(), "envoy:1.30".into())
        ]
    );
    assert_eq!(
        patched.metadata.generation,
        Some(2),
        "a spec change bumps the generation"
    );

    // Merge patch replaces lists wholesale.
    let merged = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.spec.unwrap().replicas, Some(3));

    // JSON patch, with a failing test op that changes nothing.
    let send = |body: Value| {
        let req = http::Request::patch("/apis/apps/v1/namespaces/default/deployments/web")
            .header("content-type", "application/json-patch+json")
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap();
        let client = client.clone();
        async move { client.request_text(req).await }
    };
    send(json!([{"op": "replace", "path": "/spec/replicas", "value": 2}]))
        .await
        .unwrap();
    let e = send(json!([{"op": "test", "path": "/spec/replicas", "value": 9},
                        {"op": "replace", "path": "/spec/replicas", "value": 5}]))
    .await
    .unwrap_err();
    assert_eq!(api_error(e).0, 422);
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(2)
    );
}

fn crd(plural: &str, kind: &str, scope: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.example.com")},
        "spec": {"group": "example.com", "scope": scope,
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]}]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_are_served_as_defined() {
    let (_t, client) = twin().await;
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    for (plural, kind, scope) in [
        ("widgets", "Widget", "Namespaced"),
        ("gadgets", "Gadget", "Cluster"),
    ] {
        let obj: DynamicObject = serde_json::from_value(crd(plural, kind, scope)).unwrap();
        crds.create(&PostParams::default(), &obj).await.unwrap();
    }
    let widget_ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &widget_ar);
    let w: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1"}, "spec": {"size": 3}, "status": {"phase": "ignored"}
    }))
    .unwrap();
    let made = widgets.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(made.data["spec"]["size"], 3);

    // With a status subresource the main endpoint ignores status, and /status changes only it.
    widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}, "spec": {"size": 99}})),
        )
        .await
        .unwrap();
    let got = widgets.get("w1").await.unwrap();
    assert_eq!(
        (
            got.data["status"]["phase"].clone(),
            got.data["spec"]["size"].clone()
        ),
        (json!("Ready"), json!(3))
    );
    widgets
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Lost"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        widgets.get("w1").await.unwrap().data["status"]["phase"],
        "Ready"
    );
    // Strategic merge patch is not for custom resources.
    let e = widgets
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 4}})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(e).0, 415);

    let gadget_ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Gadget"),
        "gadgets",
    );
    let gadgets: Api<DynamicObject> = Api::all_with(client.clone(), &gadget_ar);
    let g: DynamicObject = serde_json::from_value(
        json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"}}),
    )
    .unwrap();
    let made = gadgets.create(&PostParams::default(), &g).await.unwrap();
    assert!(
        made.metadata.namespace.is_none(),
        "cluster-scoped objects have no namespace"
    );

    // The printer columns of the CRD make the table.
    let req = http::Request::get("/apis/example.com/v1/namespaces/default/widgets")
        .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .body(Vec::new())
        .unwrap();
    let table: Value = serde_json::from_str(&client.request_text(req).await.unwrap()).unwrap();
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(columns.contains(&"Size"), "{columns:?}");
    assert_eq!(table["rows"][0]["cells"][0], "w1");

    // Deleting the definition stops serving its resources.
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    eventually("widgets to stop being served", DEADLINE, || {
        let widgets = widgets.clone();
        async move {
            match widgets.list(&ListParams::default()).await {
                Err(kube::Error::Api(s)) if s.code == 404 => Some(()),
                _ => None,
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_for_nodes_and_pods_have_kubectl_columns() {
    let (_t, client) = twin().await;
    let get = |path: &'static str| {
        let req = http::Request::get(path)
            .header(
                "accept",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            )
            .body(Vec::new())
            .unwrap();
        let client = client.clone();
        async move { serde_json::from_str::<Value>(&client.request_text(req).await.unwrap()).unwrap() }
    };
    let names = |t: &Value| -> Vec<String> {
        t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["priority"] == 0)
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    };
    let nodes = get("/api/v1/nodes").await;
    assert_eq!(nodes["kind"], "Table");
    assert_eq!(names(&nodes), ["Name", "Status", "Roles", "Age", "Version"]);
    assert_eq!(nodes["rows"][0]["cells"][1], "Ready");
    assert_eq!(nodes["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let pods = get("/api/v1/pods?limit=5").await;
    assert_eq!(names(&pods), ["Name", "Ready", "Status", "Restarts", "Age"]);
    assert_eq!(pods["rows"].as_array().unwrap().len(), 5);
    assert!(pods["metadata"]["continue"].is_string());
}
