//! What the scheduler and the kubelet write on a pod as it runs: binding, Running with
//! container statuses, CrashLoopBackOff, failing readiness.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::images::{container_id, image_id, image_id_of_full, normalize_image};
use super::time::{go_duration, rfc3339, seconds_before};
use super::{conditions_mut, set_condition, str_at};

/// The scheduler's binding: `spec.nodeName` and condition PodScheduled=True.
pub fn bind_pod(pod: &mut Value, node_name: &str, now: Timestamp) {
    pod["spec"]["nodeName"] = json!(node_name);
    let now = rfc3339(now);
    set_condition(
        conditions_mut(pod, "conditions"),
        "PodScheduled",
        "True",
        None,
        None,
        &now,
    );
}

fn container_names(pod: &Value, list: &str) -> Vec<(String, String)> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        str_at(c, "/name").to_string(),
                        str_at(c, "/image").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Container statuses sorted by name, as the kubelet reports them.
fn running_statuses(pod: &Value, started_at: &str, ready: bool) -> Vec<Value> {
    let mut names = container_names(pod, "containers");
    names.sort();
    names
        .iter()
        .map(|(name, image)| {
            let full = normalize_image(image);
            json!({
                "containerID": container_id(pod, name, started_at),
                "imageID": image_id_of_full(&full),
                "image": full,
                "lastState": {},
                "name": name,
                "ready": ready,
                "restartCount": 0,
                "started": true,
                "state": {"running": {"startedAt": started_at}},
            })
        })
        .collect()
}

/// The kubelet started every container and they passed readiness: phase Running, IPs,
/// startTime, all five conditions True, container statuses running.
pub fn set_pod_running(pod: &mut Value, host_ip: &str, pod_ip: &str, now: Timestamp) {
    let now_s = rfc3339(now);
    let statuses = running_statuses(pod, &now_s, true);
    let inits: Vec<Value> = container_names(pod, "initContainers")
        .iter()
        .map(|(name, image)| {
            json!({
                "containerID": container_id(pod, name, "init"),
                "image": normalize_image(image),
                "imageID": image_id(image),
                "lastState": {},
                "name": name,
                "ready": true,
                "restartCount": 0,
                "started": false,
                "state": {"terminated": {
                    "containerID": container_id(pod, name, "init"),
                    "exitCode": 0, "reason": "Completed", "startedAt": now_s, "finishedAt": now_s,
                }},
            })
        })
        .collect();
    {
        let st = &mut pod["status"];
        st["phase"] = json!("Running");
        st["hostIP"] = json!(host_ip);
        st["hostIPs"] = json!([{"ip": host_ip}]);
        st["podIP"] = json!(pod_ip);
        st["podIPs"] = json!([{"ip": pod_ip}]);
        st["startTime"] = json!(now_s);
        st["containerStatuses"] = Value::Array(statuses);
        if !inits.is_empty() {
            st["initContainerStatuses"] = Value::Array(inits);
        }
    }
    let conds = conditions_mut(pod, "conditions");
    for t in [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ] {
        set_condition(conds, t, "True", None, None, &now_s);
    }
    // The kubelet's order, which kubectl describe prints.
    let order = |c: &Value| match str_at(c, "/type") {
        "PodReadyToStartContainers" => 0,
        "Initialized" => 1,
        "Ready" => 2,
        "ContainersReady" => 3,
        "PodScheduled" => 4,
        _ => 5,
    };
    conds.sort_by_key(order);
}

fn set_unready_conditions(pod: &mut Value, unready: &[String], now: &str) {
    let msg = format!("containers with unready status: [{}]", unready.join(" "));
    let conds = conditions_mut(pod, "conditions");
    set_condition(
        conds,
        "Ready",
        "False",
        Some("ContainersNotReady"),
        Some(&msg),
        now,
    );
    set_condition(
        conds,
        "ContainersReady",
        "False",
        Some("ContainersNotReady"),
        Some(&msg),
        now,
    );
}

/// The first container keeps failing: waiting in CrashLoopBackOff with the last run
/// terminated in Error, `restartCount = restarts`, and the pod not Ready. Phase stays Running.
pub fn set_pod_crashlooping(pod: &mut Value, restarts: u32, now: Timestamp) {
    set_pod_crashlooping_as(pod, restarts, now, "Error", 1);
}

/// As [`set_pod_crashlooping`], the last run terminated with `reason` and `exit_code`
/// (the kubelet reports an OOM kill as `OOMKilled`, exit code 137 = 128 + SIGKILL).
pub fn set_pod_crashlooping_as(
    pod: &mut Value,
    restarts: u32,
    now: Timestamp,
    reason: &str,
    exit_code: i32,
) {
    let now_s = rfc3339(now);
    let Some(first) = pod
        .pointer("/spec/containers/0/name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    if !pod["status"]["containerStatuses"].is_array() {
        let statuses = running_statuses(pod, &now_s, false);
        pod["status"]["containerStatuses"] = Value::Array(statuses);
        pod["status"]["phase"] = json!("Running");
        pod["status"]["startTime"] = json!(now_s);
    }
    let backoff = 10u64
        .saturating_mul(1u64 << restarts.saturating_sub(1).min(10))
        .min(300);
    let message = format!(
        "back-off {} restarting failed container={first} pod={}_{}({})",
        go_duration(backoff),
        str_at(pod, "/metadata/name"),
        str_at(pod, "/metadata/namespace"),
        str_at(pod, "/metadata/uid"),
    );
    let last_id = container_id(pod, &first, &format!("run-{restarts}"));
    let started = rfc3339(seconds_before(now, 12));
    let finished = rfc3339(seconds_before(now, 2));
    if let Some(statuses) = pod["status"]["containerStatuses"].as_array_mut() {
        for cs in statuses.iter_mut().filter(|c| str_at(c, "/name") == first) {
            cs["ready"] = json!(false);
            cs["started"] = json!(false);
            cs["restartCount"] = json!(restarts);
            cs["state"] = json!({"waiting": {"reason": "CrashLoopBackOff", "message": message}});
            cs["lastState"] = json!({"terminated": {
                "containerID": last_id, "exitCode": exit_code, "reason": reason,
                "startedAt": started, "finishedAt": finished,
            }});
            cs["containerID"] = json!(last_id);
        }
    }
    let unready: Vec<String> = unready_names(pod);
    set_unready_conditions(pod, &unready, &now_s);
}

fn unready_names(pod: &Value) -> Vec<String> {
    let mut names: Vec<String> = pod["status"]["containerStatuses"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) != Some(true))
                .map(|c| str_at(c, "/name").to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Readiness probes failing: containers stay running and started but not ready; Ready and
/// ContainersReady become False (`ContainersNotReady`).
pub fn set_pod_not_ready(pod: &mut Value, now: Timestamp) {
    let now_s = rfc3339(now);
    // `get_mut`, not indexing: indexing a missing key would insert a null.
    if let Some(statuses) = pod
        .pointer_mut("/status/containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for cs in statuses.iter_mut() {
            cs["ready"] = json!(false);
        }
    }
    let unready = unready_names(pod);
    set_unready_conditions(pod, &unready, &now_s);
}
