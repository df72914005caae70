//! The kubelet's cAdvisor endpoint for one node (`GET /api/v1/nodes/{node}/proxy/metrics/cadvisor`):
//! per container of the pods bound there, `container_cpu_usage_seconds_total`,
//! `container_memory_working_set_bytes` and `container_oom_events_total`, labelled as the
//! kubelet labels them (container, pod, namespace, id, image, name).
//!
//! Per pod, the sandbox's `container_network_{transmit,receive}_bytes_total` on `eth0`, labelled
//! as the kubelet labels a containerd sandbox (container "", the pause image, the sandbox id).
//!
//! CPU and working set come from the usage model ([`super::usage`]) at the twin's simulated
//! now, so they agree with the Metrics API; a waiting (crash-looping) container uses none.
//! The CPU and network COUNTERS advance in real time at the rate of the last scrape (the time
//! rule: Prometheus stamps its own wall clock). OOM events count the restarts whose last termination the pod status
//! reports as `OOMKilled` (the `faults/oom` fault), kept per pod uid and container across
//! restarts so the counter only grows.

use serde_json::Value;

use jiff::Timestamp;

use super::expo::{Expo, Kind};
use super::usage::{Resources, UsageModel};
use super::{MetricsState, unit};
use crate::cluster::{ClusterData, keys};
use crate::error::{ApiError, ApiResult};
use crate::store::{ObjKey, PodPhase};

/// One container's counters.
#[derive(Debug, Clone)]
pub struct ContainerCounters {
    last: f64,
    cpu_cores: f64,
    cpu_seconds: f64,
    restarts_seen: i64,
    oom_events: f64,
}

/// One pod's network counters (its sandbox's `eth0`).
#[derive(Debug, Clone)]
pub struct PodNetCounters {
    last: f64,
    transmit_rate: f64,
    receive_rate: f64,
    transmit_bytes: f64,
    receive_bytes: f64,
}

/// The pause image the sandboxes run.
const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.10";

/// What the exporter reads off one container of the pod object.
struct Container<'a> {
    name: &'a str,
    image: &'a str,
    resources: Resources,
    id: &'a str,
    restarts: i64,
    waiting: bool,
    oom_killed: bool,
}

fn containers(pod: &Value) -> Vec<Container<'_>> {
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                    let q = |p: &str| c.pointer(p).and_then(Value::as_str);
                    let cores = |p: &str| {
                        q(p).and_then(crate::objects::cpu_millis).unwrap_or(0) as f64 / 1000.0
                    };
                    let bytes =
                        |p: &str| q(p).and_then(crate::objects::memory_bytes).unwrap_or(0) as f64;
                    let status = statuses.and_then(|s| {
                        s.iter()
                            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
                    });
                    let st = |p: &str| status.and_then(|s| s.pointer(p));
                    Container {
                        name,
                        image: c.get("image").and_then(Value::as_str).unwrap_or(""),
                        resources: Resources {
                            cpu_request_cores: cores("/resources/requests/cpu"),
                            memory_request_bytes: bytes("/resources/requests/memory"),
                            cpu_limit_cores: cores("/resources/limits/cpu"),
                            memory_limit_bytes: bytes("/resources/limits/memory"),
                        },
                        id: st("/containerID").and_then(Value::as_str).unwrap_or(""),
                        restarts: st("/restartCount").and_then(Value::as_i64).unwrap_or(0),
                        waiting: st("/state/waiting").is_some(),
                        oom_killed: st("/lastState/terminated/reason").and_then(Value::as_str)
                            == Some("OOMKilled"),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The cAdvisor body of `node`, with usage at the simulated time `sim_now`.
pub fn scrape(
    m: &mut MetricsState,
    data: &ClusterData,
    node: &str,
    sim_now: Timestamp,
) -> ApiResult<String> {
    if data.get(&keys::NODES, &ObjKey::cluster(node)).is_none() {
        return Err(ApiError::not_found("", "nodes", node));
    }
    let now = m.real_secs();
    let pods: Vec<_> = data
        .index
        .pods_by_node
        .get(node)
        .map(|keys| {
            keys.iter()
                .filter_map(|k| data.get(&keys::PODS, k))
                .filter(|p| p.pod().is_some_and(|f| f.phase == PodPhase::Running))
                .collect()
        })
        .unwrap_or_default();

    let mut cpu = Expo::with_capacity(pods.len() * 1024);
    let mut mem = Expo::with_capacity(pods.len() * 512);
    let mut oom = Expo::with_capacity(pods.len() * 512);
    let mut tx = Expo::with_capacity(pods.len() * 384);
    let mut rx = Expo::with_capacity(pods.len() * 384);
    let model = UsageModel::new(m.seed);
    cpu.family(
        "container_cpu_usage_seconds_total",
        "Cumulative cpu time consumed in seconds.",
        Kind::Counter,
    );
    mem.family(
        "container_memory_working_set_bytes",
        "Current working set in bytes.",
        Kind::Gauge,
    );
    oom.family(
        "container_oom_events_total",
        "Count of out of memory events observed for the container",
        Kind::Counter,
    );
    tx.family(
        "container_network_transmit_bytes_total",
        "Cumulative count of bytes transmitted",
        Kind::Counter,
    );
    rx.family(
        "container_network_receive_bytes_total",
        "Cumulative count of bytes received",
        Kind::Counter,
    );
    for pod in pods {
        let v = pod.value();
        let uid = &*pod.uid;
        let workload = model.workload(&super::resource_api::pod_workload(&pod));
        for c in containers(&v) {
            let key: (Box<str>, Box<str>) = (uid.into(), c.name.into());
            let usage = model.container(&workload, uid, c.name, &c.resources, !c.waiting, sim_now);
            let cores = usage.cpu_cores;
            let counters = m
                .containers
                .entry(key)
                .or_insert_with(|| ContainerCounters {
                    last: now,
                    cpu_cores: cores,
                    // Running for a while already: up to an hour of use.
                    cpu_seconds: cores * 3600.0 * unit(m.seed, &[uid, c.name, "age"]),
                    restarts_seen: c.restarts,
                    oom_events: if c.oom_killed { c.restarts as f64 } else { 0.0 },
                });
            counters.cpu_seconds += counters.cpu_cores * (now - counters.last).max(0.0);
            counters.last = now;
            counters.cpu_cores = cores;
            if c.restarts > counters.restarts_seen {
                if c.oom_killed {
                    counters.oom_events += (c.restarts - counters.restarts_seen) as f64;
                }
                counters.restarts_seen = c.restarts;
            }
            let cid = c.id.rsplit("://").next().unwrap_or(c.id);
            let id = format!(
                "/kubepods.slice/kubepods-pod{}.slice/cri-containerd-{cid}.scope",
                uid.replace('-', "_")
            );
            let name = cid.get(..12).unwrap_or(cid);
            let ns = &*pod.key.namespace;
            let podname = &*pod.key.name;
            let labels = [
                ("container", c.name),
                ("id", id.as_str()),
                ("image", c.image),
                ("name", name),
                ("namespace", ns),
                ("pod", podname),
            ];
            let mut with_cpu: Vec<(&str, &str)> = Vec::with_capacity(7);
            with_cpu.push(labels[0]);
            with_cpu.push(("cpu", "total"));
            with_cpu.extend_from_slice(&labels[1..]);
            cpu.sample(
                "container_cpu_usage_seconds_total",
                &with_cpu,
                (counters.cpu_seconds * 1000.0).floor() / 1000.0,
            );
            mem.sample(
                "container_memory_working_set_bytes",
                &labels,
                usage.memory_bytes,
            );
            oom.sample("container_oom_events_total", &labels, counters.oom_events);
        }
        let net = model.network(&workload, uid, sim_now);
        let counters = m.pod_network.entry(uid.into()).or_insert_with(|| {
            // Running for a while already: up to an hour of traffic.
            let age = 3600.0 * unit(m.seed, &[uid, "net-age"]);
            PodNetCounters {
                last: now,
                transmit_rate: net.transmit_bytes_per_sec,
                receive_rate: net.receive_bytes_per_sec,
                transmit_bytes: net.transmit_bytes_per_sec * age,
                receive_bytes: net.receive_bytes_per_sec * age,
            }
        });
        let dt = (now - counters.last).max(0.0);
        counters.transmit_bytes += counters.transmit_rate * dt;
        counters.receive_bytes += counters.receive_rate * dt;
        counters.last = now;
        counters.transmit_rate = net.transmit_bytes_per_sec;
        counters.receive_rate = net.receive_bytes_per_sec;
        let sandbox = sandbox_id(uid);
        let id = format!(
            "/kubepods.slice/kubepods-pod{}.slice/cri-containerd-{sandbox}.scope",
            uid.replace('-', "_")
        );
        let labels = [
            ("container", ""),
            ("id", id.as_str()),
            ("image", PAUSE_IMAGE),
            ("interface", "eth0"),
            ("name", sandbox.as_str()),
            ("namespace", &*pod.key.namespace),
            ("pod", &*pod.key.name),
        ];
        tx.sample(
            "container_network_transmit_bytes_total",
            &labels,
            counters.transmit_bytes.floor(),
        );
        rx.sample(
            "container_network_receive_bytes_total",
            &labels,
            counters.receive_bytes.floor(),
        );
    }
    let mut body = cpu.finish();
    body.push_str(&mem.finish());
    body.push_str(&oom.finish());
    body.push_str(&rx.finish());
    body.push_str(&tx.finish());
    Ok(body)
}

/// A pod sandbox's container id: 64 hex digits drawn from the pod uid.
fn sandbox_id(uid: &str) -> String {
    let mut h = capstan_core::rng::fnv1a(uid.as_bytes());
    let mut out = String::with_capacity(64);
    for _ in 0..4 {
        h = h.rotate_left(29).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995;
        out.push_str(&format!("{h:016x}"));
    }
    out
}
