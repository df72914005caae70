//! Running pods: binding a pod to its node and starting it, and the cheap path that copies
//! an owner's first running pod and restamps what differs between siblings.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::workloads::Ctx;
use super::{age, at};
use crate::objects as o;

/// Where and when one pod runs: what differs between sibling pods besides their identity.
pub(super) struct RunFacts {
    pub(super) node: String,
    pub(super) host_ip: String,
    pub(super) pod_ip: String,
    pub(super) bind_at: Timestamp,
    pub(super) run_at: Timestamp,
}

/// Move a running pod copied from a sibling to its own node, IPs and times: the fields
/// `bind_pod` and `set_pod_running` write that differ between siblings.
pub(super) fn restamp_running(pod: &mut Value, f: &RunFacts) {
    let bind_s = o::rfc3339(f.bind_at);
    let run_s = o::rfc3339(f.run_at);
    pod["spec"]["nodeName"] = json!(f.node);
    let ids: Vec<(String, String)> = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|list| {
            pod["status"]
                .get(*list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .map(|cs| {
            let name = cs["name"].as_str().unwrap_or("").to_string();
            let salt = if cs["state"].get("terminated").is_some() {
                "init"
            } else {
                run_s.as_str()
            };
            let id = o::container_id(pod, &name, salt);
            (name, id)
        })
        .collect();
    let Some(st) = pod.get_mut("status").and_then(Value::as_object_mut) else {
        return;
    };
    st.insert("hostIP".into(), json!(f.host_ip));
    st.insert("hostIPs".into(), json!([{"ip": f.host_ip}]));
    st.insert("podIP".into(), json!(f.pod_ip));
    st.insert("podIPs".into(), json!([{"ip": f.pod_ip}]));
    st.insert("startTime".into(), json!(run_s));
    if let Some(conds) = st.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conds.iter_mut() {
            let t = if c["type"] == "PodScheduled" {
                &bind_s
            } else {
                &run_s
            };
            c["lastTransitionTime"] = json!(t);
        }
    }
    let mut ids = ids.into_iter();
    for list in ["containerStatuses", "initContainerStatuses"] {
        let Some(statuses) = st.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for cs in statuses.iter_mut() {
            let Some((_, id)) = ids.next() else { return };
            if let Some(term) = cs
                .pointer_mut("/state/terminated")
                .and_then(Value::as_object_mut)
            {
                term.insert("containerID".into(), json!(id));
                term.insert("startedAt".into(), json!(run_s));
                term.insert("finishedAt".into(), json!(run_s));
            } else {
                cs["state"]["running"]["startedAt"] = json!(run_s);
            }
            cs["containerID"] = json!(id);
        }
    }
}

impl Ctx<'_, '_> {
    /// Where and when a pod on slot `idx` runs: bound a second after creation, running
    /// seconds later.
    fn run_facts(&mut self, idx: usize, created: i64, host_network: bool) -> RunFacts {
        let host_ip = self.placer.slots[idx].ip.clone();
        let pod_ip = if host_network {
            host_ip.clone()
        } else {
            self.placer.slots[idx].pod_ip(idx)
        };
        RunFacts {
            node: self.placer.slots[idx].name.clone(),
            host_ip,
            pod_ip,
            bind_at: at(created + 1, self.now),
            run_at: at(
                created + 2 + self.rng.range_inclusive(1, 25) as i64,
                self.now,
            )
            .min(self.now),
        }
    }

    /// Bind a Pending pod to slot `idx` and start it.
    pub(super) fn finish_pod(
        &mut self,
        pod: &mut Value,
        idx: usize,
        created: i64,
        host_network: bool,
    ) {
        let f = self.run_facts(idx, created, host_network);
        o::bind_pod(pod, &f.node, f.bind_at);
        o::set_pod_running(pod, &f.host_ip, &f.pod_ip, f.run_at);
    }

    /// The next running pod of an owner whose pods are all alike: built in full the first
    /// time, afterwards a copy of that first running pod with the per-pod fields restamped
    /// (what `pod_like`, `bind_pod` and `set_pod_running` would set), which is several times
    /// cheaper at a million pods.
    pub(super) fn sibling_pod(
        &mut self,
        proto: &Value,
        running: &mut Option<Value>,
        name: &str,
        idx: usize,
        created: i64,
        host_network: bool,
    ) -> Value {
        let created_at = at(created, self.now);
        match running {
            None => {
                let mut pod = o::pod_like(proto, name, created_at, &mut self.rng);
                self.finish_pod(&mut pod, idx, created, host_network);
                *running = Some(pod.clone());
                pod
            }
            Some(first) => {
                let mut pod = first.clone();
                o::renew_pod_identity(&mut pod, name, created_at, &mut self.rng);
                let f = self.run_facts(idx, created, host_network);
                restamp_running(&mut pod, &f);
                pod
            }
        }
    }

    /// When a pod on `idx` was created: after its owner and its node, minutes to days ago.
    pub(super) fn pod_created(&mut self, owner_created: i64, idx: usize) -> i64 {
        let now_s = self.now.as_second();
        let floor = owner_created.max(self.placer.slots[idx].created) + 30;
        let max_age = (now_s - 60 - floor).max(0);
        now_s - 60 - age(&mut self.rng, 300.min(max_age), max_age)
    }

    /// A `generateName` name, `<base>-xxxxx`, drawn again until `is_free` accepts it as the
    /// API server retries collisions.
    pub(super) fn generated_name(
        &mut self,
        base: &str,
        mut is_free: impl FnMut(&String) -> bool,
    ) -> String {
        loop {
            let name = format!("{base}-{}", self.rng.name_suffix(5));
            if is_free(&name) {
                return name;
            }
        }
    }
}
