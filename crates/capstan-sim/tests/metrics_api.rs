#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The resource Metrics API (`metrics.k8s.io/v1beta1`) as metrics-server serves it: discovery,
//! shapes, selectors, paging, what is left out, the numbers against the usage model, and real
//! `kubectl top` (1.33 and 1.27) reading it.
//!
//! The twin's clock runs a million times slower than real time here, so that a list, a
//! kubectl call and the model all read the same simulated second.

mod common;
#[path = "common/exposition.rs"]
mod exposition;

use std::collections::{BTreeMap, HashMap};

use capstan_core::quantity::Quantity;
use capstan_sim::TwinConfig;
use capstan_sim::metrics::usage::{Resources, UsageModel, Workload};
use common::{FLEET, FLEET_NODES, TestTwin};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};

const CTX: &str = "alpha";
/// `seed` of the cluster in [`FLEET`].
const SEED: u64 = 7;
const SCALE: f64 = 1e-6;
const PODS: &str = "/apis/metrics.k8s.io/v1beta1/pods";
const NODES: &str = "/apis/metrics.k8s.io/v1beta1/nodes";

async fn start() -> TestTwin {
    TestTwin::start(FLEET, SCALE, TwinConfig::default()).await
}

/// GET a path: (status, JSON body).
async fn get(client: &kube::Client, path: &str) -> (u16, Value) {
    request(client, "GET", path).await
}

async fn request(client: &kube::Client, method: &str, path: &str) -> (u16, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .body(kube::client::Body::empty())
        .unwrap();
    let res = client.send(req).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect_bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn nanos(q: &Value) -> i128 {
    Quantity::parse(q.as_str().unwrap()).unwrap().as_nanos()
}

fn bytes(q: &Value) -> i64 {
    Quantity::parse(q.as_str().unwrap()).unwrap().value()
}

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().unwrap()
}

fn key(item: &Value) -> (String, String) {
    let m = &item["metadata"];
    (
        m["namespace"].as_str().unwrap_or("").to_string(),
        m["name"].as_str().unwrap().to_string(),
    )
}

async fn pods(client: &kube::Client) -> Vec<Pod> {
    Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

/// A pod's containers' requests and limits as the model takes them.
fn resources(c: &k8s_openapi::api::core::v1::Container) -> Resources {
    let r = c.resources.clone().unwrap_or_default();
    let get =
        |m: &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| {
            m.as_ref()
                .and_then(|m| m.get(k))
                .map(|q| Quantity::parse(&q.0).unwrap())
        };
    let cores = |q: Option<Quantity>| q.map(|q| q.millis() as f64 / 1000.0).unwrap_or(0.0);
    let bytes = |q: Option<Quantity>| q.map(|q| q.value() as f64).unwrap_or(0.0);
    Resources {
        cpu_request_cores: cores(get(&r.requests, "cpu")),
        memory_request_bytes: bytes(get(&r.requests, "memory")),
        cpu_limit_cores: cores(get(&r.limits, "cpu")),
        memory_limit_bytes: bytes(get(&r.limits, "memory")),
    }
}

/// What the model says each running container of `pod` uses at `t`: (name, cores, bytes).
fn model_usage(pod: &Pod, t: jiff::Timestamp) -> Vec<(String, f64, f64)> {
    let m = UsageModel::new(SEED);
    let meta = &pod.metadata;
    let controller = meta.owner_references.as_ref().and_then(|refs| {
        refs.iter()
            .find(|r| r.controller == Some(true))
            .map(|r| (r.kind.as_str(), r.name.as_str()))
    });
    let hash = meta
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-hash"))
        .map(String::as_str);
    let w = m.workload(&Workload::of_pod(
        meta.namespace.as_deref().unwrap(),
        meta.name.as_deref().unwrap(),
        controller,
        hash,
    ));
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    let uid = meta.uid.as_deref().unwrap();
    pod.spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .filter(|c| {
            statuses.iter().any(|s| {
                s.name == c.name && s.state.as_ref().and_then(|s| s.running.as_ref()).is_some()
            })
        })
        .map(|c| {
            let u = m.container(&w, uid, &c.name, &resources(c), true, t);
            (c.name.clone(), u.cpu_cores, u.memory_bytes)
        })
        .collect()
}

fn running(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
}

#[tokio::test]
async fn discovery_names_the_metrics_group_with_get_and_list_only() {
    let t = start().await;
    let client = t.client(CTX, false).await;
    let (status, groups) = get(&client, "/apis").await;
    assert_eq!(status, 200);
    let group = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "metrics.k8s.io")
        .expect("metrics.k8s.io in /apis");
    assert_eq!(
        group["preferredVersion"],
        json!({"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"})
    );
    let (status, list) = get(&client, "/apis/metrics.k8s.io/v1beta1").await;
    assert_eq!(status, 200);
    assert_eq!(list["groupVersion"], "metrics.k8s.io/v1beta1");
    let mut resources: Vec<(String, bool, String, Value)> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["namespaced"].as_bool().unwrap(),
                r["kind"].as_str().unwrap().to_string(),
                r["verbs"].clone(),
            )
        })
        .collect();
    resources.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        resources,
        vec![
            (
                "nodes".into(),
                false,
                "NodeMetrics".into(),
                json!(["get", "list"])
            ),
            (
                "pods".into(),
                true,
                "PodMetrics".into(),
                json!(["get", "list"])
            ),
        ]
    );
    // Read-only, no watch.
    let (status, _) = request(&client, "DELETE", "/apis/metrics.k8s.io/v1beta1/nodes/x").await;
    assert_eq!(status, 405);
    let (status, _) = get(&client, &format!("{PODS}?watch=true")).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn pod_metrics_have_metrics_server_shapes_and_the_model_numbers() {
    let t = start().await;
    let client = t.client(CTX, false).await;
    let (status, list) = get(&client, PODS).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["kind"], "PodMetricsList");
    assert_eq!(list["apiVersion"], "metrics.k8s.io/v1beta1");
    let all = pods(&client).await;
    let by_key: HashMap<(String, String), &Pod> = all
        .iter()
        .map(|p| {
            (
                (
                    p.metadata.namespace.clone().unwrap(),
                    p.metadata.name.clone().unwrap(),
                ),
                p,
            )
        })
        .collect();
    // Every Running pod with a running container, in namespace/name order, nothing else.
    let mut want: Vec<(String, String)> = all
        .iter()
        .filter(|p| running(p) && !model_usage(p, jiff::Timestamp::UNIX_EPOCH).is_empty())
        .map(|p| {
            (
                p.metadata.namespace.clone().unwrap(),
                p.metadata.name.clone().unwrap(),
            )
        })
        .collect();
    want.sort();
    let got: Vec<_> = items(&list).iter().map(key).collect();
    assert_eq!(got, want);
    assert!(got.len() > 20, "{}", got.len());

    for item in items(&list) {
        let pod = by_key[&key(item)];
        let meta = &item["metadata"];
        assert_eq!(
            meta["labels"],
            serde_json::to_value(pod.metadata.labels.clone().unwrap_or_default()).unwrap()
        );
        assert!(meta["creationTimestamp"].is_string());
        assert_eq!(item["window"], "30s");
        let at: jiff::Timestamp = item["timestamp"].as_str().unwrap().parse().unwrap();
        assert_eq!(at.subsec_nanosecond(), 0);
        let model = model_usage(pod, at);
        let containers = item["containers"].as_array().unwrap();
        assert_eq!(containers.len(), model.len());
        for (c, (name, cores, mem)) in containers.iter().zip(&model) {
            assert_eq!(c["name"], name.as_str());
            assert_eq!(nanos(&c["usage"]["cpu"]), (cores * 1e9).round() as i128);
            assert_eq!(bytes(&c["usage"]["memory"]), *mem as i64);
            // metrics-server's forms: nanocores canonical, memory in binary units.
            let mem_s = c["usage"]["memory"].as_str().unwrap();
            assert!(mem_s.ends_with("Ki") || mem_s.ends_with("Mi"), "{mem_s}");
        }
    }

    // One pod by name, with kind and apiVersion.
    let (ns, name) = key(&items(&list)[0]);
    let (status, one) = get(
        &client,
        &format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods/{name}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["kind"], "PodMetrics");
    assert_eq!(one["apiVersion"], "metrics.k8s.io/v1beta1");
    assert_eq!(one["metadata"]["name"], name.as_str());
    let (status, missing) = get(
        &client,
        &format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods/no-such-pod"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(missing["message"], "pods \"no-such-pod\" not found");
}

#[tokio::test]
async fn selectors_namespaces_and_pages_filter_as_upstream() {
    let t = start().await;
    let client = t.client(CTX, false).await;
    let (_, list) = get(&client, PODS).await;
    let all: Vec<_> = items(&list).iter().map(key).collect();

    // A namespace.
    let ns = &all.last().unwrap().0;
    let (status, in_ns) = get(
        &client,
        &format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
    )
    .await;
    assert_eq!(status, 200);
    let want: Vec<_> = all.iter().filter(|k| &k.0 == ns).cloned().collect();
    assert_eq!(items(&in_ns).iter().map(key).collect::<Vec<_>>(), want);

    // A label of some pod selects exactly the pods that carry it.
    let item = items(&list)
        .iter()
        .find(|i| i["metadata"]["labels"]["app.kubernetes.io/name"].is_string())
        .unwrap();
    let app = item["metadata"]["labels"]["app.kubernetes.io/name"]
        .as_str()
        .unwrap();
    let (status, by_label) = get(
        &client,
        &format!("{PODS}?labelSelector=app.kubernetes.io%2Fname%3D{app}"),
    )
    .await;
    assert_eq!(status, 200);
    let want: Vec<_> = items(&list)
        .iter()
        .filter(|i| i["metadata"]["labels"]["app.kubernetes.io/name"] == app)
        .map(key)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(items(&by_label).iter().map(key).collect::<Vec<_>>(), want);

    // Field selectors on the object meta.
    let (first_ns, first_name) = all[0].clone();
    let (_, by_name) = get(
        &client,
        &format!("{PODS}?fieldSelector=metadata.name%3D{first_name}"),
    )
    .await;
    assert_eq!(
        items(&by_name).iter().map(key).collect::<Vec<_>>(),
        vec![(first_ns.clone(), first_name.clone())]
    );
    let (_, not_ns) = get(
        &client,
        &format!("{PODS}?fieldSelector=metadata.namespace!%3D{first_ns}"),
    )
    .await;
    let want: Vec<_> = all.iter().filter(|k| k.0 != first_ns).cloned().collect();
    assert_eq!(items(&not_ns).iter().map(key).collect::<Vec<_>>(), want);
    let (status, _) = get(&client, &format!("{PODS}?labelSelector=app+in+(")).await;
    assert_eq!(status, 400);

    // Pages of 7 add up to the whole list.
    let mut paged = Vec::new();
    let mut cont = String::new();
    loop {
        let path = if cont.is_empty() {
            format!("{PODS}?limit=7")
        } else {
            format!("{PODS}?limit=7&continue={cont}")
        };
        let (status, page) = get(&client, &path).await;
        assert_eq!(status, 200, "{page}");
        assert!(items(&page).len() <= 7);
        paged.extend(items(&page).iter().map(key));
        match page["metadata"]["continue"].as_str() {
            Some(c) => cont = c.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, all);
}

#[tokio::test]
async fn pending_pods_have_no_metrics() {
    let t = start().await;
    let client = t.client(CTX, false).await;
    let pending: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "too-big", "namespace": "default", "labels": {"app": "too-big"}},
        "spec": {"containers": [{"name": "c", "image": "busybox",
            "resources": {"requests": {"cpu": "500", "memory": "1Gi"}}}]}
    }))
    .unwrap();
    Api::<Pod>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &pending)
        .await
        .unwrap();
    let (status, list) = get(&client, &format!("{PODS}?labelSelector=app%3Dtoo-big")).await;
    assert_eq!(status, 200);
    assert!(items(&list).is_empty(), "{list}");
    let (status, err) = get(
        &client,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/too-big",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        err["message"],
        "podmetrics.metrics.k8s.io \"default/too-big\" not found"
    );
}

#[tokio::test]
async fn node_metrics_sum_their_pods_plus_the_system() {
    let t = start().await;
    let client = t.client(CTX, false).await;
    let (status, list) = get(&client, NODES).await;
    assert_eq!(status, 200);
    assert_eq!(list["kind"], "NodeMetricsList");
    assert_eq!(items(&list).len(), FLEET_NODES);
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let all = pods(&client).await;
    let model = UsageModel::new(SEED);
    for item in items(&list) {
        let name = item["metadata"]["name"].as_str().unwrap();
        assert!(item["metadata"].get("namespace").is_none());
        let node = nodes
            .iter()
            .find(|n| n.metadata.name.as_deref() == Some(name))
            .unwrap();
        assert_eq!(
            item["metadata"]["labels"],
            serde_json::to_value(node.metadata.labels.clone().unwrap_or_default()).unwrap()
        );
        let at: jiff::Timestamp = item["timestamp"].as_str().unwrap().parse().unwrap();
        let system = model.node_overhead(name, at);
        let (mut cpu, mut mem) = (0.0, 0.0);
        for pod in all
            .iter()
            .filter(|p| running(p) && p.spec.as_ref().unwrap().node_name.as_deref() == Some(name))
        {
            for (_, c, m) in model_usage(pod, at) {
                cpu += c;
                mem += m;
            }
        }
        let got_cpu = nanos(&item["usage"]["cpu"]);
        let want_cpu = ((cpu + system.cpu_cores) * 1e9).round() as i128;
        // Summed in another order: within a few nanocores.
        assert!(
            (got_cpu - want_cpu).abs() <= 4,
            "{name}: {got_cpu} vs {want_cpu}"
        );
        assert_eq!(
            bytes(&item["usage"]["memory"]),
            (mem + system.memory_bytes) as i64
        );
        assert!(system.cpu_cores >= 0.06 && system.memory_bytes > 500.0 * 1024.0 * 1024.0);
    }
    let first = items(&list)[0]["metadata"]["name"].as_str().unwrap();
    let (status, one) = get(&client, &format!("{NODES}/{first}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["kind"], "NodeMetrics");
    let (_, by_name) = get(
        &client,
        &format!("{NODES}?fieldSelector=metadata.name%3D{first}"),
    )
    .await;
    assert_eq!(items(&by_name).len(), 1);
    let (status, err) = get(&client, &format!("{NODES}/no-such-node")).await;
    assert_eq!(status, 404);
    assert_eq!(err["message"], "nodes \"no-such-node\" not found");
}

/// Run one kubectl binary against the twin with its own discovery cache.
async fn kubectl(t: &TestTwin, bin: &std::path::Path, args: &[&str]) -> String {
    let cache = t.dir.path().join(format!(
        "cache-{}",
        bin.file_name().unwrap().to_string_lossy()
    ));
    // Async: the twin serves from this test's runtime.
    let out = tokio::process::Command::new(bin)
        .arg("--kubeconfig")
        .arg(&t.kubeconfig)
        .arg("--context")
        .arg(CTX)
        .arg("--cache-dir")
        .arg(&cache)
        .args(args)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{bin:?} {args:?}: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// kubectl top's table as rows of header -> cell.
fn table(out: &str) -> Vec<HashMap<String, String>> {
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split_whitespace().map(str::to_string))
                .collect()
        })
        .collect()
}

/// kubectl top's forms: millicores rounded up (`MilliValue`), whole MiB truncated.
fn top_cells(cpu_nanos: i128, mem_bytes: i64) -> (String, String) {
    let millis = (cpu_nanos + 999_999) / 1_000_000;
    (
        format!("{millis}m"),
        format!("{}Mi", mem_bytes / (1024 * 1024)),
    )
}

#[tokio::test]
async fn kubectl_top_reads_pods_and_nodes() {
    let t = start().await;
    let client = t.client(CTX, false).await;
    let (_, pods) = get(&client, PODS).await;
    let (_, nodes) = get(&client, NODES).await;
    let want_pods: HashMap<(String, String), (String, String)> = items(&pods)
        .iter()
        .map(|i| {
            let cs = i["containers"].as_array().unwrap();
            let cpu = cs.iter().map(|c| nanos(&c["usage"]["cpu"])).sum();
            let mem = cs.iter().map(|c| bytes(&c["usage"]["memory"])).sum();
            (key(i), top_cells(cpu, mem))
        })
        .collect();
    let want_nodes: HashMap<String, (String, String)> = items(&nodes)
        .iter()
        .map(|i| {
            (
                key(i).1,
                top_cells(nanos(&i["usage"]["cpu"]), bytes(&i["usage"]["memory"])),
            )
        })
        .collect();
    let mut ran = 0;
    for version in ["1.33", "1.27"] {
        let bin =
            std::path::PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"));
        if !bin.exists() {
            eprintln!("skipping kubectl {version}: {bin:?} is not installed");
            continue;
        }
        ran += 1;
        let rows = table(&kubectl(&t, &bin, &["top", "pods", "-A"]).await);
        assert_eq!(rows.len(), want_pods.len(), "kubectl {version}");
        for r in &rows {
            let k = (r["NAMESPACE"].clone(), r["NAME"].clone());
            let cells = (r["CPU(cores)"].clone(), r["MEMORY(bytes)"].clone());
            assert_eq!(cells, want_pods[&k], "kubectl {version} {k:?}");
        }
        let ns = &key(&items(&pods)[0]).0;
        let rows = table(&kubectl(&t, &bin, &["top", "pod", "-n", ns]).await);
        let in_ns = want_pods.keys().filter(|k| &k.0 == ns).count();
        assert_eq!(rows.len(), in_ns, "kubectl {version}");
        for r in &rows {
            let k = (ns.clone(), r["NAME"].clone());
            assert_eq!(
                (r["CPU(cores)"].clone(), r["MEMORY(bytes)"].clone()),
                want_pods[&k]
            );
        }
        let rows = table(&kubectl(&t, &bin, &["top", "nodes"]).await);
        assert_eq!(rows.len(), want_nodes.len(), "kubectl {version}");
        for r in &rows {
            assert_eq!(
                (r["CPU(cores)"].clone(), r["MEMORY(bytes)"].clone()),
                want_nodes[&r["NAME"]],
                "kubectl {version}"
            );
            // Percentages of allocatable are computed by kubectl from the Node objects.
            let pct = r
                .iter()
                .find(|(h, _)| h.starts_with("CPU%") || h.as_str() == "CPU(%)");
            assert!(pct.is_some_and(|(_, v)| v.ends_with('%')), "{r:?}");
        }
    }
    assert!(ran > 0, "no kubectl 1.27 or 1.33 on this machine");
}

#[tokio::test]
async fn cadvisor_agrees_with_the_metrics_api_and_counts_pod_traffic() {
    let t = start().await;
    let client = t.client(CTX, false).await;
    let (_, list) = get(&client, PODS).await;
    let all = pods(&client).await;
    let node = all
        .iter()
        .filter(|p| running(p))
        .find_map(|p| p.spec.as_ref().unwrap().node_name.clone())
        .unwrap();
    let path = format!("/api/v1/nodes/{node}/proxy/metrics/cadvisor");
    let scrape = |client: kube::Client, path: String| async move {
        let req = http::Request::builder()
            .uri(path.as_str())
            .body(Vec::new())
            .unwrap();
        let body = client.request_text(req).await.unwrap();
        exposition::promtool_check(&path, &body);
        exposition::Exposition::parse(&body)
    };
    let first = scrape(client.clone(), path.clone()).await;
    let on_node: Vec<&Pod> = all
        .iter()
        .filter(|p| running(p) && p.spec.as_ref().unwrap().node_name.as_deref() == Some(&node))
        .collect();
    assert!(!on_node.is_empty());
    for pod in &on_node {
        let (ns, name) = (
            pod.metadata.namespace.as_deref().unwrap(),
            pod.metadata.name.as_deref().unwrap(),
        );
        // The working set of each container is the Metrics API's memory.
        if let Some(item) = items(&list)
            .iter()
            .find(|i| key(i) == (ns.into(), name.into()))
        {
            for c in item["containers"].as_array().unwrap() {
                let ws = first.has(
                    "container_memory_working_set_bytes",
                    &[
                        ("namespace", ns),
                        ("pod", name),
                        ("container", c["name"].as_str().unwrap()),
                    ],
                );
                assert_eq!(ws.len(), 1);
                assert_eq!(ws[0].value as i64, bytes(&c["usage"]["memory"]), "{name}");
            }
        }
        // One sandbox series per pod and direction, on eth0, container "".
        for family in [
            "container_network_transmit_bytes_total",
            "container_network_receive_bytes_total",
        ] {
            let s = first.has(family, &[("namespace", ns), ("pod", name)]);
            assert_eq!(s.len(), 1, "{family} {name}");
            assert_eq!(s[0].labels["interface"], "eth0");
            assert_eq!(s[0].labels["container"], "");
            assert!(s[0].labels["image"].starts_with("registry.k8s.io/pause:"));
            assert!(s[0].value >= 0.0);
        }
    }
    assert_eq!(
        first.types["container_network_transmit_bytes_total"],
        "counter"
    );
    // Counters never go back.
    let second = scrape(client.clone(), path.clone()).await;
    for family in [
        "container_network_transmit_bytes_total",
        "container_network_receive_bytes_total",
        "container_cpu_usage_seconds_total",
    ] {
        for a in first.series(family) {
            let b = second
                .samples
                .iter()
                .find(|b| b.name == a.name && b.labels == a.labels)
                .unwrap();
            assert!(b.value >= a.value, "{family}: {} then {}", a.value, b.value);
        }
    }
}

/// A bigger cluster: a whole-cluster PodMetrics list timed beside a plain pod list of the same
/// cluster (run with `--ignored --nocapture`; figures depend on the build profile).
#[tokio::test]
#[ignore = "timing: run by hand"]
async fn pod_metrics_list_costs_about_a_pod_list() {
    const BIG: &str = r#"
clusters:
- name: big
  version: "1.32.4"
  provider: aws
  region: eu-west-1
  pods: 20000
  seed: 3
  nodePools:
  - name: general
    instanceType: m6i.4xlarge
    capacityType: on-demand
    nodes: 250
    cpu: "16"
    memory: 64Gi
    zones: [eu-west-1a, eu-west-1b]
"#;
    let t = TestTwin::start(BIG, SCALE, TwinConfig::default()).await;
    let client = t.client("big", false).await;
    let took = capstan_clock::Stopwatch::start();
    let (status, _) = get(&client, "/api/v1/pods").await;
    assert_eq!(status, 200);
    let first = took.elapsed();
    for (what, path) in [
        ("pods", "/api/v1/pods"),
        ("podmetrics, pods read", PODS),
        ("podmetrics, pods known", PODS),
        ("nodemetrics", NODES),
    ] {
        let took = capstan_clock::Stopwatch::start();
        let req = http::Request::builder()
            .uri(path)
            .body(kube::client::Body::empty())
            .unwrap();
        let res = client.send(req).await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let body = res.into_body().collect_bytes().await.unwrap();
        let served = took.elapsed();
        let items = items(&serde_json::from_slice(&body).unwrap()).len();
        eprintln!(
            "{what}: {items} items, {} bytes served in {served:?} (first pod list, materialising: {first:?})",
            body.len()
        );
    }
}
