//! The scheduler and the kubelets: binding Pending pods to nodes with room, starting them after
//! a realistic delay, finishing graceful terminations, renewing node leases, and the crash
//! loops the fault API injects.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::cluster::{Action, ClusterData, keys};
use crate::controllers::LEASE_RENEW;
use crate::faults::CrashKind;
use crate::objects::rfc3339;
use crate::store::{ObjKey, PodPhase};

/// Pods the scheduler looks at per pass (the rest wait for the next pass).
const SCHEDULE_BATCH: usize = 256;

/// Carry out one timer.
pub fn perform(data: &mut ClusterData, action: Action, now: Timestamp) {
    match action {
        Action::PodStarted { key, uid } => start_pod(data, &key, &uid, now),
        Action::PodTerminated { key, uid } => finish_termination(data, &key, &uid),
        Action::Heartbeat => heartbeat(data, now),
        Action::PdbRecheck { key } => {
            data.index.pdbs.dirty.insert(key);
        }
        Action::CrashLoopRestart { key, uid } => crash_restart(data, &key, &uid, now),
        Action::MachineJoined { .. }
        | Action::NodeReady { .. }
        | Action::MachineTerminated { .. }
        | Action::ControlPlaneUpgraded => crate::cloud::perform(data, action, now),
    }
}

/// A stable pod IP from the pod's uid (the CNI's IPAM, simulated).
fn pod_ip(uid: &str) -> String {
    let h = capstan_core::rng::fnv1a(uid.as_bytes());
    format!(
        "10.{}.{}.{}",
        64 + (h >> 16) % 64,
        (h >> 8) % 256,
        h % 254 + 1
    )
}

fn node_internal_ip(data: &ClusterData, node: &str) -> String {
    data.get(&keys::NODES, &ObjKey::cluster(node))
        .map(|n| n.value())
        .and_then(|v| {
            v.pointer("/status/addresses")?
                .as_array()?
                .iter()
                .find(|a| a.get("type").and_then(Value::as_str) == Some("InternalIP"))
                .and_then(|a| a.get("address").and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| "10.0.0.1".into())
}

fn start_pod(data: &mut ClusterData, key: &ObjKey, uid: &str, now: Timestamp) {
    let Some(obj) = data.get(&keys::PODS, key) else {
        return;
    };
    let Some(facts) = obj.pod() else { return };
    if &*obj.uid != uid || obj.deleting || facts.phase != PodPhase::Pending {
        return;
    }
    let Some(node) = facts.node_name.as_deref().map(str::to_string) else {
        return;
    };
    let mut pod = obj.value();
    let host_ip = node_internal_ip(data, &node);
    crate::objects::set_pod_running(&mut pod, &host_ip, &pod_ip(uid), now);
    if let Some(kind) = data.faults.crash_kind(&obj) {
        set_crashlooping(&mut pod, 1, now, kind);
        let delay = SignedDuration::from_secs(10);
        data.schedule(
            now + delay,
            Action::CrashLoopRestart {
                key: key.clone(),
                uid: uid.into(),
            },
        );
    }
    data.put(&keys::PODS, key.clone(), pod);
}

fn crash_restart(data: &mut ClusterData, key: &ObjKey, uid: &str, now: Timestamp) {
    let Some(obj) = data.get(&keys::PODS, key) else {
        return;
    };
    if &*obj.uid != uid || obj.deleting {
        return;
    }
    let mut pod = obj.value();
    let Some(kind) = data.faults.crash_kind(&obj) else {
        // The fault was lifted: the next restart succeeds.
        let host_ip = pod
            .pointer("/status/hostIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let restarts = restart_count(&pod);
        crate::objects::set_pod_running(&mut pod, &host_ip, &pod_ip(uid), now);
        set_restart_count(&mut pod, restarts);
        data.put(&keys::PODS, key.clone(), pod);
        return;
    };
    let restarts = restart_count(&pod) + 1;
    set_crashlooping(&mut pod, restarts as u32, now, kind);
    data.put(&keys::PODS, key.clone(), pod);
    // The kubelet's back-off doubles from 10 s up to five minutes.
    let backoff = (10i64 << restarts.min(5)).min(300);
    data.schedule(
        now + SignedDuration::from_secs(backoff),
        Action::CrashLoopRestart {
            key: key.clone(),
            uid: uid.into(),
        },
    );
}

fn set_crashlooping(pod: &mut Value, restarts: u32, now: Timestamp, kind: CrashKind) {
    match kind {
        CrashKind::Error => crate::objects::set_pod_crashlooping(pod, restarts, now),
        CrashKind::OomKilled => {
            crate::objects::set_pod_crashlooping_as(pod, restarts, now, "OOMKilled", 137)
        }
    }
}

/// The crash-looping container: the pod's first, as the crash-loop faults break it. Its
/// status is found by name, since the kubelet lists container statuses sorted by name, not
/// in spec order.
fn crashing_status(pod: &Value) -> Option<&Value> {
    let first = pod.pointer("/spec/containers/0/name")?.as_str()?;
    pod.pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(first))
}

fn restart_count(pod: &Value) -> i64 {
    crashing_status(pod)
        .and_then(|s| s.get("restartCount"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn set_restart_count(pod: &mut Value, n: i64) {
    let Some(first) = pod
        .pointer("/spec/containers/0/name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    if let Some(statuses) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for s in statuses
            .iter_mut()
            .filter(|s| s.get("name").and_then(Value::as_str) == Some(first.as_str()))
        {
            s["restartCount"] = json!(n);
        }
    }
}

fn finish_termination(data: &mut ClusterData, key: &ObjKey, uid: &str) {
    let Some(obj) = data.get(&keys::PODS, key) else {
        return;
    };
    if &*obj.uid != uid || !obj.deleting {
        return;
    }
    let v = obj.value();
    let has_finalizers = v
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if has_finalizers {
        // The containers are gone; the object waits for its finalizers.
        let mut pod = v;
        pod["status"]["phase"] = json!("Succeeded");
        data.put(&keys::PODS, key.clone(), pod);
    } else {
        data.remove(&keys::PODS, key);
    }
}

/// Renew the lease of every node whose kubelet is up, and reschedule.
fn heartbeat(data: &mut ClusterData, now: Timestamp) {
    let nodes: Vec<String> = data
        .store
        .range(&keys::NODES, "")
        .map(|n| n.key.name.to_string())
        .collect();
    for node in nodes {
        if data.faults.node_down(&node) {
            continue;
        }
        let key = ObjKey::new("kube-node-lease", &node);
        if let Some(lease) = data.get(&keys::LEASES, &key) {
            let mut v = lease.value();
            crate::objects::renew_lease(&mut v, now);
            data.put(&keys::LEASES, key, v);
        }
    }
    // A clock running many times faster than real time would make renewal a write storm:
    // renew at most every two real seconds.
    let real_floor = SignedDuration::from_secs_f64(2.0 * data.time_scale.max(1.0));
    let every = if real_floor > LEASE_RENEW {
        real_floor
    } else {
        LEASE_RENEW
    };
    data.heartbeat_at = Some(now + every);
    data.schedule(now + every, Action::Heartbeat);
}

struct Candidate {
    name: String,
    free_cpu: i64,
    free_mem: i64,
    free_pods: i64,
    labels: Vec<(String, String)>,
    hard_taints: Vec<String>,
    cpu_total: i64,
}

/// Bind Pending pods to Ready, schedulable nodes with room for their requests (the default
/// scheduler's filters that matter here: readiness, cordon, taints, nodeSelector, resources;
/// scored by least allocated CPU). Also hands newly bound pods to their kubelet.
pub fn schedule_pending(data: &mut ClusterData, now: Timestamp) -> bool {
    let mut progressed = start_bound(data, now);
    if data.index.unscheduled.is_empty() {
        return progressed;
    }
    let retry_due = data.index.schedule_retry_at.is_none_or(|t| t <= now);
    if !data.index.capacity_changed && !retry_due {
        return progressed;
    }
    data.index.capacity_changed = false;
    let mut nodes: Vec<Candidate> = data
        .store
        .range(&keys::NODES, "")
        .filter_map(|n| {
            let f = n.node()?;
            if !f.ready || f.unschedulable || data.faults.node_down(&n.key.name) {
                return None;
            }
            let used = data
                .index
                .node_usage
                .get(&*n.key.name)
                .copied()
                .unwrap_or_default();
            Some(Candidate {
                name: n.key.name.to_string(),
                free_cpu: f.cpu_millis - used.cpu_millis,
                free_mem: f.memory_bytes - used.memory_bytes,
                free_pods: f.max_pods - used.pods,
                labels: n
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                hard_taints: f.hard_taints.iter().map(|t| t.to_string()).collect(),
                cpu_total: f.cpu_millis.max(1),
            })
        })
        .collect();
    let pending: Vec<ObjKey> = data
        .index
        .unscheduled
        .iter()
        .take(SCHEDULE_BATCH)
        .cloned()
        .collect();
    let mut unschedulable = 0usize;
    for key in pending {
        let Some(obj) = data.get(&keys::PODS, &key) else {
            continue;
        };
        let Some(facts) = obj.pod().cloned() else {
            continue;
        };
        let mut pod = obj.value();
        let selector: BTreeMap<String, String> = pod
            .pointer("/spec/nodeSelector")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let tolerated: Vec<String> = pod
            .pointer("/spec/tolerations")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .filter_map(|t| {
                        if t.get("operator").and_then(Value::as_str) == Some("Exists")
                            && t.get("key").is_none()
                        {
                            Some("*".to_string())
                        } else {
                            t.get("key").and_then(Value::as_str).map(str::to_string)
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let best = nodes
            .iter_mut()
            .filter(|n| {
                n.free_pods > 0
                    && n.free_cpu >= facts.cpu_millis
                    && n.free_mem >= facts.memory_bytes
                    && selector
                        .iter()
                        .all(|(k, v)| n.labels.iter().any(|(lk, lv)| lk == k && lv == v))
                    && n.hard_taints
                        .iter()
                        .all(|t| tolerated.iter().any(|x| x == "*" || x == t))
            })
            .max_by(|a, b| {
                let fa = a.free_cpu as f64 / a.cpu_total as f64;
                let fb = b.free_cpu as f64 / b.cpu_total as f64;
                fa.total_cmp(&fb).then_with(|| b.name.cmp(&a.name))
            });
        match best {
            Some(node) => {
                node.free_cpu -= facts.cpu_millis;
                node.free_mem -= facts.memory_bytes;
                node.free_pods -= 1;
                let name = node.name.clone();
                crate::objects::bind_pod(&mut pod, &name, now);
                data.put(&keys::PODS, key, pod);
                progressed = true;
            }
            None => {
                unschedulable += 1;
                let already = pod
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter().any(|c| {
                            c.get("reason").and_then(Value::as_str) == Some("Unschedulable")
                        })
                    });
                if !already {
                    let total = data.store.range(&keys::NODES, "").count();
                    let cond = json!({
                        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": format!("0/{total} nodes are available: {} nodes are unavailable or lack room for the pod's requests. preemption: not eligible due to no victims.", total),
                        "lastProbeTime": null, "lastTransitionTime": rfc3339(now),
                    });
                    pod["status"]["conditions"] = json!([cond]);
                    data.put(&keys::PODS, key, pod);
                }
            }
        }
    }
    data.index.schedule_retry_at = (unschedulable > 0).then(|| now + SignedDuration::from_secs(5));
    progressed
}

/// Give newly bound pods to their kubelet: containers start after image pull and probes.
fn start_bound(data: &mut ClusterData, now: Timestamp) -> bool {
    if data.index.to_start.is_empty() {
        return false;
    }
    let keys: Vec<ObjKey> = std::mem::take(&mut data.index.to_start)
        .into_iter()
        .collect();
    for key in keys {
        let Some(obj) = data.get(&keys::PODS, &key) else {
            continue;
        };
        let delay = SignedDuration::from_secs(data.rng.range_inclusive(2, 8) as i64);
        data.schedule(
            now + delay,
            Action::PodStarted {
                key,
                uid: obj.uid.to_string(),
            },
        );
    }
    true
}
