//! Builders for Kubernetes objects as `serde_json::Value`, shaped as kube-apiserver returns
//! them after defaulting and admission: what kubectl and kube-rs see.
//!
//! Shared by the fleet generator and the twin's simulated controllers, so the contract is:
//! - every builder sets `apiVersion`, `kind`, `metadata.uid`, `metadata.creationTimestamp`
//!   (RFC 3339, whole seconds, `Z`) and `metadata.generation` where upstream sets it;
//! - no builder sets `metadata.resourceVersion` (the store assigns it) or `managedFields`;
//! - time always comes from a `now: jiff::Timestamp` argument and randomness from a
//!   `&mut SimRng`, so the same inputs give the same object;
//! - the `set_*` functions mutate an object in place the way the owning controller or kubelet
//!   would, touching only the fields that component owns.
//!
//! One file per kind of object under `objects/`; everything public is re-exported here, so
//! callers use `crate::objects::X`. This file keeps the small pieces they all share
//! (metadata, owner references, conditions, JSON paths, hex ids). Quantities are parsed by
//! `capstan_core::quantity` (see [`cpu_millis`], [`memory_bytes`]).

use capstan_core::rng::{SimRng, fnv1a};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

mod app_templates;
mod core_v1;
mod crds;
mod images;
mod nodes;
mod pod_lifecycle;
mod pods;
mod policy;
mod quantity;
mod rbac;
mod storage;
mod time;
mod workloads;

pub use app_templates::{AppTemplateParams, app_pod_template};
pub use core_v1::{config_map, event, namespace, service, service_account};
pub use crds::{CrdDef, crd, custom_object, secret};
pub(crate) use images::{container_id, image_id, normalize_image};
pub use nodes::{
    NodeParams, node, node_lease, provider_kubelet_version, renew_lease, set_node_ready,
    set_node_unreachable,
};
pub use pod_lifecycle::{
    bind_pod, set_pod_crashlooping, set_pod_crashlooping_as, set_pod_not_ready, set_pod_running,
};
pub(crate) use pods::renew_pod_identity;
pub use pods::{default_pod_spec, pod_from_template, pod_like, pod_requests, qos_class};
pub use policy::{
    NetworkPolicyKind, PdbLimit, network_policy, pod_disruption_budget, priority_class,
};
pub use quantity::{cpu_millis, format_cpu, format_mebibytes, format_memory, memory_bytes};
pub use rbac::{cluster_role, cluster_role_binding, policy_rule, role, role_binding, subject};
pub use storage::{
    persistent_volume, pvc_for_statefulset, storage_class, storage_driver, volume_claim_template,
};
pub use time::{rfc3339, rfc3339_micros, seconds_before};
pub use workloads::{
    WorkloadCounts, controller_revision, daemon_set, daemon_set_pod, deployment, pod_template_hash,
    replica_set_for, replica_set_pod, set_workload_status, stateful_set, stateful_set_pod,
};

/// A reference to the controlling (or owning) object, as in `metadata.ownerReferences`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: bool,
}

impl OwnerRef {
    /// A controller reference to `obj` (read from its apiVersion, kind, name and uid).
    pub fn controller_of(obj: &Value) -> Option<OwnerRef> {
        Some(OwnerRef {
            api_version: obj.get("apiVersion")?.as_str()?.to_string(),
            kind: obj.get("kind")?.as_str()?.to_string(),
            name: obj.pointer("/metadata/name")?.as_str()?.to_string(),
            uid: obj.pointer("/metadata/uid")?.as_str()?.to_string(),
            controller: true,
        })
    }

    pub fn to_value(&self) -> Value {
        let mut v = json!({
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
        });
        if self.controller {
            // Controllers always also set blockOwnerDeletion on what they create.
            v["controller"] = json!(true);
            v["blockOwnerDeletion"] = json!(true);
        }
        v
    }
}

fn meta(
    name: &str,
    namespace: Option<&str>,
    now: Timestamp,
    rng: &mut SimRng,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        m.insert("namespace".into(), json!(ns));
    }
    m.insert("uid".into(), json!(rng.uuid()));
    m.insert("creationTimestamp".into(), json!(rfc3339(now)));
    m
}

fn labels_value(labels: &[(&str, &str)]) -> Value {
    Value::Object(
        labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect(),
    )
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    at_path(v, pointer).and_then(Value::as_str).unwrap_or("")
}

/// `Value::pointer` without its per-segment allocations (escapes `~0`/`~1` still honoured
/// through the slow path); the generator walks paths millions of times.
fn at_path<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.contains('~') {
        return v.pointer(pointer);
    }
    let mut cur = v;
    for seg in pointer.split('/').skip(1) {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Move `parts` into `v` under the given paths. `json!` re-serialises (deep-copies) any
/// `Value` interpolated into it; big pieces such as templates and specs go in through here.
fn with(mut v: Value, parts: Vec<(&[&str], Value)>) -> Value {
    for (path, part) in parts {
        let mut cur = &mut v;
        for seg in path {
            cur = &mut cur[*seg];
        }
        *cur = part;
    }
    v
}

/// Lower-case hex of `n` 64-bit draws: container and instance ids.
fn hex_from(mut seed: u64, chars: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(chars);
    while out.len() < chars {
        // SplitMix64 step: ids derived from a hash must still look uniformly random.
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        for i in (0..16).rev() {
            if out.len() == chars {
                break;
            }
            out.push(HEX[((z >> (i * 4)) & 15) as usize] as char);
        }
    }
    out
}

fn rng_hex(rng: &mut SimRng, chars: usize) -> String {
    hex_from(rng.next_u64(), chars)
}

/// Upsert a condition by `type`; `lastTransitionTime` moves only when the status changes.
fn set_condition(
    conditions: &mut Vec<Value>,
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
    now: &str,
) {
    let existing = conditions
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_));
    let c = match existing {
        Some(c) => c,
        None => {
            conditions.push(json!({"type": type_, "status": "", "lastProbeTime": null}));
            conditions.last_mut().expect("just pushed")
        }
    };
    if c.get("status").and_then(Value::as_str) != Some(status) {
        c["status"] = json!(status);
        c["lastTransitionTime"] = json!(now);
    }
    match reason {
        Some(r) => c["reason"] = json!(r),
        None => {
            if let Some(o) = c.as_object_mut() {
                o.remove("reason");
            }
        }
    }
    match message {
        Some(m) => c["message"] = json!(m),
        None => {
            if let Some(o) = c.as_object_mut() {
                o.remove("message");
            }
        }
    }
}

fn conditions_mut<'a>(obj: &'a mut Value, status_field: &str) -> &'a mut Vec<Value> {
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if !obj["status"][status_field].is_array() {
        obj["status"][status_field] = json!([]);
    }
    obj["status"][status_field]
        .as_array_mut()
        .expect("just made an array")
}

/// Stable per-cloud account identifiers derived from the region, so every node of a cluster
/// points at the same project or subscription.
fn cloud_account(provider: &str, region: &str) -> String {
    let h = fnv1a(format!("{provider}/{region}").as_bytes());
    match provider {
        "gcp" => format!(
            "acme-{}-{}",
            region.split('-').next().unwrap_or("prod"),
            h % 1_000_000
        ),
        _ => {
            let mut r = SimRng::new(h);
            r.uuid()
        }
    }
}

#[cfg(test)]
mod tests;
