#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The twin's metrics endpoints, scraped as the agent and Prometheus scrape them: through the
//! cluster's API server with its token, parsed as text exposition (and checked by
//! `promtool check metrics` when it is installed), and moved by the metric faults.

mod common;
#[path = "common/exposition.rs"]
mod exposition;

use std::time::Duration;

use capstan_sim::TwinConfig;
use common::{FLEET, FLEET_NODES, TestTwin, eventually};
use exposition::{Exposition, check_histograms, promtool_check};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

const SCALE: f64 = 60.0;
const DEADLINE: Duration = Duration::from_secs(30);

const APISERVER: &str = "/metrics";
const ETCD: &str = "/api/v1/namespaces/kube-system/services/etcd:2381/proxy/metrics";
const KSM: &str = "/api/v1/namespaces/kube-system/services/kube-state-metrics:8080/proxy/metrics";

fn node_exporter(node: &str) -> String {
    format!("/api/v1/nodes/{node}:9100/proxy/metrics")
}

fn cadvisor(node: &str) -> String {
    format!("/api/v1/nodes/{node}/proxy/metrics/cadvisor")
}

fn probe(query: &str) -> String {
    format!("/api/v1/namespaces/monitoring/services/blackbox-exporter:9115/proxy/probe?{query}")
}

/// GET a path of the cluster's API server: (status, content type, body).
async fn get(client: &kube::Client, path: &str) -> (u16, String, String) {
    let req = http::Request::builder()
        .method("GET")
        .uri(path)
        .body(kube::client::Body::empty())
        .unwrap();
    let res = client.send(req).await.unwrap();
    let status = res.status().as_u16();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = res.into_body().collect_bytes().await.unwrap();
    (status, ctype, String::from_utf8(body.to_vec()).unwrap())
}

/// Scrape a metrics path: must answer 200 with the exposition content type.
async fn scrape(client: &kube::Client, path: &str) -> Exposition {
    let (status, ctype, body) = get(client, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8", "{path}");
    let e = Exposition::parse(&body);
    check_histograms(&e);
    e
}

async fn node_names(client: &kube::Client) -> Vec<String> {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect()
}

/// Busy share of a node's CPUs between two scrapes, as NodeCPUHigh's expression reads it.
fn cpu_busy(a: &Exposition, b: &Exposition) -> (f64, f64) {
    let total = |e: &Exposition| e.sum("node_cpu_seconds_total", &[]);
    let not_busy = |e: &Exposition| {
        ["idle", "iowait", "steal"]
            .iter()
            .map(|m| e.sum("node_cpu_seconds_total", &[("mode", m)]))
            .sum::<f64>()
    };
    let dt = total(b) - total(a);
    (1.0 - (not_busy(b) - not_busy(a)) / dt, dt)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_serves_valid_exposition_with_upstream_labels() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    let nodes = node_names(&client).await;
    assert_eq!(nodes.len(), FLEET_NODES);
    let node = &nodes[0];

    let paths = [
        APISERVER.to_string(),
        ETCD.to_string(),
        node_exporter(node),
        cadvisor(node),
        KSM.to_string(),
        probe(&format!("module=icmp&target={node}")),
    ];
    let mut bodies = Vec::new();
    for path in &paths {
        let (status, _, body) = get(&client, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        promtool_check(path, &body);
        bodies.push(scrape(&client, path).await);
    }
    let [api, etcd, ne, cadv, ksm, bb] = &bodies[..] else {
        unreachable!()
    };

    // kube-apiserver: our own requests are counted, with upstream's labels.
    assert_eq!(
        api.label_names("apiserver_request_total"),
        [
            "code",
            "component",
            "group",
            "resource",
            "scope",
            "subresource",
            "verb",
            "version"
        ]
    );
    assert!(
        !api.has(
            "apiserver_request_total",
            &[("verb", "LIST"), ("resource", "nodes"), ("code", "200")]
        )
        .is_empty(),
        "the test's LIST of nodes is counted"
    );
    assert!(api.sum("apiserver_request_total", &[("code", "500")]) == 0.0);
    let les: Vec<String> = api
        .has(
            "apiserver_request_sli_duration_seconds_bucket",
            &[
                ("verb", "GET"),
                ("resource", "nodes"),
                ("scope", "resource"),
            ],
        )
        .iter()
        .map(|s| s.labels["le"].clone())
        .collect();
    assert_eq!(les.len(), 22, "{les:?}");
    assert_eq!(les[0], "0.05");
    assert_eq!(les[21], "+Inf");

    // etcd: baseline fsync well under 10 ms (nearly all at or below 4 ms).
    let count = etcd.sum("etcd_disk_wal_fsync_duration_seconds_count", &[]);
    let le4ms = etcd.sum(
        "etcd_disk_wal_fsync_duration_seconds_bucket",
        &[("le", "0.004")],
    );
    assert!(count > 1000.0 && le4ms / count > 0.99, "{le4ms}/{count}");
    assert_eq!(
        etcd.has("etcd_disk_backend_commit_duration_seconds_bucket", &[])
            .len(),
        15
    );

    // node-exporter: every CPU in every mode, healthy gauges.
    let cpus = ne.series("node_cpu_seconds_total").len();
    assert_eq!(cpus, 8 * 8, "8 CPUs x 8 modes");
    let mem = 1.0
        - ne.sum("node_memory_MemAvailable_bytes", &[]) / ne.sum("node_memory_MemTotal_bytes", &[]);
    assert!((0.05..0.7).contains(&mem), "memory used {mem}");
    let root = [("mountpoint", "/"), ("fstype", "ext4")];
    let fs = 1.0
        - ne.sum("node_filesystem_avail_bytes", &root)
            / ne.sum("node_filesystem_size_bytes", &root);
    assert!((0.1..0.65).contains(&fs), "filesystem used {fs}");
    assert_eq!(
        ne.has("node_filesystem_size_bytes", &[("fstype", "tmpfs")])
            .len(),
        1
    );
    assert_eq!(
        ne.label_names("node_filesystem_readonly"),
        ["device", "fstype", "mountpoint"]
    );
    assert_eq!(
        ne.has("node_disk_io_time_seconds_total", &[("device", "nvme0n1")])
            .len(),
        1
    );
    for family in [
        "node_network_receive_packets_total",
        "node_network_transmit_packets_total",
        "node_network_receive_drop_total",
        "node_network_transmit_drop_total",
    ] {
        assert_eq!(ne.has(family, &[("device", "eth0")]).len(), 1, "{family}");
        assert_eq!(ne.has(family, &[("device", "lo")]).len(), 1, "{family}");
    }

    // Every node of the default fleet is healthy by the default rules' gauges.
    for n in &nodes {
        let e = scrape(&client, &node_exporter(n)).await;
        let mem = 1.0
            - e.sum("node_memory_MemAvailable_bytes", &[])
                / e.sum("node_memory_MemTotal_bytes", &[]);
        let fs = 1.0
            - e.sum("node_filesystem_avail_bytes", &root)
                / e.sum("node_filesystem_size_bytes", &root);
        assert!((0.15..0.65).contains(&mem), "{n}: memory used {mem}");
        assert!((0.15..0.65).contains(&fs), "{n}: filesystem used {fs}");
        let p = scrape(&client, &probe(&format!("module=icmp&target={n}"))).await;
        let rtt = p.sum("probe_icmp_duration_seconds", &[("phase", "rtt")]);
        assert!(
            p.sum("probe_success", &[]) == 1.0 && rtt < 0.003,
            "{n}: rtt {rtt}"
        );
    }

    // cAdvisor: the node's pods' containers.
    let c = cadv.series("container_cpu_usage_seconds_total");
    assert!(!c.is_empty(), "the node runs pods");
    assert_eq!(
        cadv.label_names("container_cpu_usage_seconds_total"),
        [
            "container",
            "cpu",
            "id",
            "image",
            "name",
            "namespace",
            "pod"
        ]
    );
    assert_eq!(c[0].labels["cpu"], "total");
    assert_eq!(
        cadv.series("container_memory_working_set_bytes").len(),
        c.len()
    );
    assert_eq!(cadv.sum("container_oom_events_total", &[]), 0.0);

    // kube-state-metrics: from the objects.
    assert_eq!(
        ksm.label_names("kube_pod_container_status_restarts_total"),
        ["container", "namespace", "pod", "uid"]
    );
    assert_eq!(
        ksm.label_names("kube_pod_container_resource_requests"),
        [
            "container",
            "namespace",
            "node",
            "pod",
            "resource",
            "uid",
            "unit"
        ]
    );
    assert!(
        !ksm.has(
            "kube_pod_container_resource_requests",
            &[("resource", "cpu"), ("unit", "core")]
        )
        .is_empty()
    );
    let ready = ksm.has(
        "kube_node_status_condition",
        &[("node", node), ("condition", "Ready")],
    );
    assert_eq!(ready.len(), 3, "true, false and unknown");
    let actual: Vec<&str> = ready
        .iter()
        .filter(|s| s.value == 1.0)
        .map(|s| s.labels["status"].as_str())
        .collect();
    assert_eq!(actual, ["true"]);
    assert_eq!(
        ksm.sum(
            "kube_node_status_allocatable",
            &[("node", node), ("resource", "cpu"), ("unit", "core")]
        )
        .ceil(),
        8.0
    );

    // blackbox: a healthy sub-3 ms probe.
    assert_eq!(bb.sum("probe_success", &[]), 1.0);
    let rtt = bb.sum("probe_icmp_duration_seconds", &[("phase", "rtt")]);
    assert!(rtt > 0.0 && rtt < 0.003, "rtt {rtt}");
    assert_eq!(bb.series("probe_icmp_duration_seconds").len(), 3);

    // Errors: unknown node, bad probe parameters.
    for (path, code) in [
        (node_exporter("no-such-node"), 404),
        (cadvisor("no-such-node"), 404),
        (probe("module=icmp"), 400),
        (probe(&format!("module=http_2xx&target={node}")), 400),
    ] {
        let (status, _, body) = get(&client, &path).await;
        assert_eq!(status, code, "{path}: {body}");
    }
    let bad = scrape(&client, &probe("module=icmp&target=no-such-node")).await;
    assert_eq!(bad.sum("probe_success", &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_grow_and_node_pressure_raises_cpu_busy() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    let nodes = node_names(&client).await;
    let node = nodes[1].clone();
    let path = node_exporter(&node);

    // Counters never go down between scrapes.
    let a = scrape(&client, &path).await;
    let api_a = scrape(&client, APISERVER).await;
    let b = eventually("a second of CPU time per CPU", DEADLINE, || {
        let client = client.clone();
        let (path, a) = (path.clone(), &a);
        async move {
            let b = scrape(&client, &path).await;
            (cpu_busy(a, &b).1 >= 8.0 * 2.0).then_some(b)
        }
    })
    .await;
    let api_b = scrape(&client, APISERVER).await;
    for (x, y) in [(&a, &b), (&api_a, &api_b)] {
        for s in x.samples.iter().filter(|s| {
            s.name.ends_with("_total") || s.name.ends_with("_count") || s.name.ends_with("_bucket")
        }) {
            let later = y
                .samples
                .iter()
                .find(|o| o.name == s.name && o.labels == s.labels)
                .unwrap_or_else(|| panic!("{} {:?} still there", s.name, s.labels));
            assert!(
                later.value >= s.value,
                "{} {:?} went down",
                s.name,
                s.labels
            );
        }
    }
    let (baseline, _) = cpu_busy(&a, &b);
    assert!(
        (0.1..0.7).contains(&baseline),
        "a default node is moderately busy: {baseline}"
    );
    let drops = |e: &Exposition| {
        e.sum("node_network_receive_drop_total", &[("device", "eth0")])
            + e.sum("node_network_transmit_drop_total", &[("device", "eth0")])
    };
    let packets = |e: &Exposition| {
        e.sum("node_network_receive_packets_total", &[("device", "eth0")])
            + e.sum("node_network_transmit_packets_total", &[("device", "eth0")])
    };
    assert!(
        drops(&b) / packets(&b) < 1e-4,
        "a default node drops < 0.01%"
    );

    // CPU floor at 95% on this node: from now on its counters read it.
    let (code, body) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/node-pressure",
            json!({"node": node, "cpu": 0.95, "diskIoBusy": 0.9}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["nodePressure"][0]["cpu"], 0.95);
    let c = scrape(&client, &path).await;
    let d = eventually(
        "a second of CPU time per CPU under pressure",
        DEADLINE,
        || {
            let client = client.clone();
            let (path, c) = (path.clone(), &c);
            async move {
                let d = scrape(&client, &path).await;
                (cpu_busy(c, &d).1 >= 8.0 * 2.0).then_some(d)
            }
        },
    )
    .await;
    let (busy, dt) = cpu_busy(&c, &d);
    assert!((0.93..=0.97).contains(&busy), "busy {busy}");
    let io = |e: &Exposition| e.sum("node_disk_io_time_seconds_total", &[]);
    let io_busy = (io(&d) - io(&c)) / (dt / 8.0);
    assert!(io_busy > 0.8, "disk io busy {io_busy}");

    // Another node keeps its baseline.
    let other = node_exporter(&nodes[2]);
    let e = scrape(&client, &other).await;
    let f = eventually("a second of CPU time on another node", DEADLINE, || {
        let client = client.clone();
        let (other, e) = (other.clone(), &e);
        async move {
            let f = scrape(&client, &other).await;
            (cpu_busy(e, &f).1 >= 8.0 * 2.0).then_some(f)
        }
    })
    .await;
    assert!(cpu_busy(&e, &f).0 < 0.7);

    // A bad body is refused naming the field, and changes nothing.
    for (body, field) in [
        (json!({"cpu": 1.5}), "cpu"),
        (json!({"memory": "lots"}), "memory"),
        (json!({"node": 3}), "node"),
    ] {
        let (code, message) = t
            .control("alpha", "POST", "sim/v1/faults/node-pressure", body)
            .await;
        assert_eq!(code, 422, "{message}");
        assert!(message.as_str().unwrap().contains(field), "{message}");
    }
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/node-pressure",
            json!({"node": "no-such-node", "cpu": 0.5}),
        )
        .await;
    assert_eq!(code, 404);
    let (code, message) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/etcd",
            json!({"fsyncMs": -1}),
        )
        .await;
    assert_eq!(code, 422);
    assert!(message.as_str().unwrap().contains("fsyncMs"), "{message}");
    let (_, faults) = t.control("alpha", "GET", "sim/v1/faults", json!({})).await;
    assert_eq!(
        faults["nodePressure"].as_array().unwrap().len(),
        1,
        "{faults}"
    );
    assert_eq!(faults["nodePressure"][0]["node"], json!(node));
    assert_eq!(faults["etcd"]["fsyncMs"], json!(null));

    // Lifting it: the floor goes.
    let (code, faults) = t
        .control(
            "alpha",
            "DELETE",
            &format!("sim/v1/faults/node-pressure/{node}"),
            json!({}),
        )
        .await;
    assert_eq!(code, 200);
    assert!(faults["nodePressure"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_etcd_and_network_faults_show_in_the_metrics() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    let nodes = node_names(&client).await;
    let node = nodes[0].clone();

    // API errors: half of the background load answers 500.
    let before = scrape(&client, APISERVER).await;
    assert_eq!(
        before.sum("apiserver_request_total", &[("code", "500")]),
        0.0
    );
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/api",
            json!({"errorRate": 0.5}),
        )
        .await;
    assert_eq!(code, 200);
    eventually("5xx in apiserver_request_total", DEADLINE, || {
        let client = client.clone();
        async move {
            let e = scrape(&client, APISERVER).await;
            (e.sum("apiserver_request_total", &[("code", "500")]) >= 3.0).then_some(())
        }
    })
    .await;
    let (code, _) = t
        .control("alpha", "DELETE", "sim/v1/faults/api", json!({}))
        .await;
    assert_eq!(code, 200);

    // etcd: fsync around 50 ms once the fault is set.
    let fsync = |e: &Exposition, le: &str| {
        (
            e.sum("etcd_disk_wal_fsync_duration_seconds_bucket", &[("le", le)]),
            e.sum("etcd_disk_wal_fsync_duration_seconds_count", &[]),
        )
    };
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/etcd",
            json!({"fsyncMs": 50}),
        )
        .await;
    assert_eq!(code, 200);
    let a = scrape(&client, ETCD).await;
    let b = eventually("fifty fsyncs", DEADLINE, || {
        let client = client.clone();
        let a = &a;
        async move {
            let b = scrape(&client, ETCD).await;
            (fsync(&b, "+Inf").1 - fsync(a, "+Inf").1 >= 50.0).then_some(b)
        }
    })
    .await;
    let (fast_a, n_a) = fsync(&a, "0.016");
    let (fast_b, n_b) = fsync(&b, "0.016");
    assert!(
        (fast_b - fast_a) / (n_b - n_a) < 0.1,
        "most fsyncs now take over 16 ms"
    );

    // Network: all probes lost, drops on the node's NIC.
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/network",
            json!({"node": node, "packetLoss": 1.0}),
        )
        .await;
    assert_eq!(code, 200);
    let p = scrape(&client, &probe(&format!("module=icmp&target={node}"))).await;
    assert_eq!(p.sum("probe_success", &[]), 0.0);
    assert_eq!(
        p.sum("probe_icmp_duration_seconds", &[("phase", "rtt")]),
        0.0
    );
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/network",
            json!({"node": node, "latencyMs": 20}),
        )
        .await;
    assert_eq!(code, 200);
    let p = scrape(&client, &probe(&format!("module=icmp&target={node}"))).await;
    assert_eq!(p.sum("probe_success", &[]), 1.0);
    assert!(p.sum("probe_icmp_duration_seconds", &[("phase", "rtt")]) >= 0.02);
    let (code, _) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/network",
            json!({"packetLoss": 0.3}),
        )
        .await;
    assert_eq!(code, 200);
    let path = node_exporter(&nodes[1]);
    let c = scrape(&client, &path).await;
    let d = eventually("packets under loss", DEADLINE, || {
        let client = client.clone();
        let (path, c) = (path.clone(), &c);
        async move {
            let d = scrape(&client, &path).await;
            let rx =
                |e: &Exposition| e.sum("node_network_receive_packets_total", &[("device", "eth0")]);
            (rx(&d) - rx(c) >= 1000.0).then_some(d)
        }
    })
    .await;
    let delta =
        |name: &str| d.sum(name, &[("device", "eth0")]) - c.sum(name, &[("device", "eth0")]);
    let loss =
        delta("node_network_receive_drop_total") / delta("node_network_receive_packets_total");
    assert!((0.25..0.35).contains(&loss), "loss {loss}");
    assert_eq!(
        d.sum("node_network_receive_drop_total", &[("device", "lo")]),
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_fault_kills_containers_with_oomkilled() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "hungry", "labels": {"app": "hungry"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let (code, body) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/oom",
            json!({"namespace": "default", "labelSelector": "app=hungry"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let labels = [
        ("namespace", "default"),
        ("pod", "hungry"),
        ("container", "c"),
    ];
    let ksm = eventually("two OOM restarts in kube-state-metrics", DEADLINE, || {
        let client = client.clone();
        async move {
            let e = scrape(&client, KSM).await;
            (e.sum("kube_pod_container_status_restarts_total", &labels) >= 2.0).then_some(e)
        }
    })
    .await;
    let mut reason = labels.to_vec();
    reason.push(("reason", "OOMKilled"));
    assert_eq!(
        ksm.sum("kube_pod_container_status_last_terminated_reason", &reason),
        1.0
    );
    let mut waiting = labels.to_vec();
    waiting.push(("reason", "CrashLoopBackOff"));
    assert_eq!(
        ksm.sum("kube_pod_container_status_waiting_reason", &waiting),
        1.0
    );
    let p = pods.get("hungry").await.unwrap();
    let status = p.status.unwrap();
    let last = status.container_statuses.unwrap()[0]
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(
        (last.reason.as_deref(), last.exit_code),
        (Some("OOMKilled"), 137)
    );
    let node = p.spec.unwrap().node_name.unwrap();
    let before = scrape(&client, &cadvisor(&node))
        .await
        .sum("container_oom_events_total", &[("pod", "hungry")]);
    assert!(before >= 1.0, "the OOM kills so far are counted: {before}");
    eventually("cAdvisor to count another OOM event", DEADLINE, || {
        let client = client.clone();
        let path = cadvisor(&node);
        async move {
            let e = scrape(&client, &path).await;
            (e.sum("container_oom_events_total", &[("pod", "hungry")]) >= before + 1.0)
                .then_some(())
        }
    })
    .await;

    // A bad selector is refused naming the field.
    let (code, message) = t
        .control(
            "alpha",
            "POST",
            "sim/v1/faults/oom",
            json!({"labelSelector": "app in (("}),
        )
        .await;
    assert_eq!(code, 422);
    assert!(
        message.as_str().unwrap().contains("labelSelector"),
        "{message}"
    );
    let (_, faults) = t.control("alpha", "GET", "sim/v1/faults", json!({})).await;
    assert_eq!(faults["ooms"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reads_the_metrics_paths() {
    let t = TestTwin::start(FLEET, SCALE, TwinConfig::default()).await;
    let client = t.client("alpha", false).await;
    let node = node_names(&client).await.remove(0);
    let (ok, out, err) = t.kubectl("alpha", &["get", "--raw", "/metrics"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("# TYPE apiserver_request_total counter"),
        "{out}"
    );
    let (ok, out, err) = t.kubectl("alpha", &["get", "--raw", &node_exporter(&node)]);
    assert!(ok, "{err}");
    let e = Exposition::parse(&out);
    assert!(!e.series("node_cpu_seconds_total").is_empty());
}
