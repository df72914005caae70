//! The kubelet's cAdvisor endpoint for one node (`GET /api/v1/nodes/{node}/proxy/metrics/cadvisor`):
//! per container of the pods bound there, `container_cpu_usage_seconds_total`,
//! `container_memory_working_set_bytes` and `container_oom_events_total`, labelled as the
//! kubelet labels them (container, pod, namespace, id, image, name).
//!
//! CPU use is a seeded share (30-80%) of the container's CPU request; a waiting (crash-looping)
//! container uses none. OOM events count the restarts whose last termination the pod status
//! reports as `OOMKilled` (the `faults/oom` fault), kept per pod uid and container across
//! restarts so the counter only grows.

use serde_json::Value;

use super::expo::{Expo, Kind};
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

/// What the exporter reads off one container of the pod object.
struct Container<'a> {
    name: &'a str,
    image: &'a str,
    cpu_request_cores: f64,
    memory_request_bytes: f64,
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
                    let req = |r: &str| {
                        c.pointer(&format!("/resources/requests/{r}"))
                            .and_then(Value::as_str)
                    };
                    let status = statuses.and_then(|s| {
                        s.iter()
                            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
                    });
                    let st = |p: &str| status.and_then(|s| s.pointer(p));
                    Container {
                        name,
                        image: c.get("image").and_then(Value::as_str).unwrap_or(""),
                        cpu_request_cores: req("cpu")
                            .and_then(crate::objects::cpu_millis)
                            .unwrap_or(0) as f64
                            / 1000.0,
                        memory_request_bytes: req("memory")
                            .and_then(crate::objects::memory_bytes)
                            .unwrap_or(0) as f64,
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

/// The cAdvisor body of `node`.
pub fn scrape(m: &mut MetricsState, data: &ClusterData, node: &str) -> ApiResult<String> {
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
    for pod in pods {
        let v = pod.value();
        let uid = &*pod.uid;
        for c in containers(&v) {
            let key: (Box<str>, Box<str>) = (uid.into(), c.name.into());
            let share = 0.3 + 0.5 * unit(m.seed, &[uid, c.name, "cpu"]);
            let cores = if c.waiting {
                0.0
            } else if c.cpu_request_cores > 0.0 {
                c.cpu_request_cores * share
            } else {
                0.005
            };
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
            let working_set = if c.memory_request_bytes > 0.0 {
                c.memory_request_bytes * (0.5 + 0.3 * unit(m.seed, &[uid, c.name, "mem"]))
            } else {
                (32.0 + 64.0 * unit(m.seed, &[uid, c.name, "mem"])) * 1024.0 * 1024.0
            };
            mem.sample(
                "container_memory_working_set_bytes",
                &labels,
                (working_set / 4096.0).floor() * 4096.0,
            );
            oom.sample("container_oom_events_total", &labels, counters.oom_events);
        }
    }
    let mut body = cpu.finish();
    body.push_str(&mem.finish());
    body.push_str(&oom.finish());
    Ok(body)
}
