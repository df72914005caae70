//! ResourceQuotas: what the pods of each namespace request, summed while they stream past,
//! and a quota in some application namespaces: none in most (60%), a loose one (3-5x what is
//! used: 25%) or a tight one (5-25% above use: 15%). `status.used` is what the quota
//! controller would compute from the namespace's pods (non-terminal pods; a pod's effective
//! request is the larger of its containers' sum and its largest init container, as
//! upstream's `PodRequests`), `status.hard` equals `spec.hard`. A namespace where some pod
//! has no limits gets no `limits.*` entries: admission would reject those pods otherwise.

use std::collections::HashMap;

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::namespaces::NsPlan;
use super::{Emitter, at};
use crate::objects as o;

/// Share of application namespaces without a quota, and with a loose one (the rest: tight).
const NO_QUOTA: f64 = 0.60;
const LOOSE: f64 = 0.25;

/// What the non-terminal pods of one namespace request and limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NsUsage {
    pub requests_cpu_millis: i64,
    pub requests_memory_bytes: i64,
    pub limits_cpu_millis: i64,
    pub limits_memory_bytes: i64,
    pub pods: i64,
    /// Pods with a container that sets no CPU or memory limit.
    pub pods_without_limits: i64,
}

impl NsUsage {
    /// Count one pod object.
    pub fn add_pod(&mut self, pod: &Value) {
        let phase = pod.pointer("/status/phase").and_then(Value::as_str);
        if matches!(phase, Some("Succeeded" | "Failed")) {
            return;
        }
        let sum = |list: &str, kind: &str, res: &str, parse: fn(&str) -> Option<i64>| {
            let (mut total, mut biggest, mut missing) = (0i64, 0i64, false);
            for c in pod
                .pointer(&format!("/spec/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match c
                    .pointer(&format!("/resources/{kind}/{res}"))
                    .and_then(Value::as_str)
                    .and_then(parse)
                {
                    Some(v) => {
                        total += v;
                        biggest = biggest.max(v);
                    }
                    None => missing = true,
                }
            }
            (total, biggest, missing)
        };
        // Effective request: max(sum of containers, largest init container).
        let effective = |kind: &str, res: &str, parse: fn(&str) -> Option<i64>| {
            let (total, _, missing) = sum("containers", kind, res, parse);
            let (_, init, _) = sum("initContainers", kind, res, parse);
            (total.max(init), missing)
        };
        let (rc, _) = effective("requests", "cpu", o::cpu_millis);
        let (rm, _) = effective("requests", "memory", o::memory_bytes);
        let (lc, no_lc) = effective("limits", "cpu", o::cpu_millis);
        let (lm, no_lm) = effective("limits", "memory", o::memory_bytes);
        self.requests_cpu_millis += rc;
        self.requests_memory_bytes += rm;
        self.limits_cpu_millis += lc;
        self.limits_memory_bytes += lm;
        self.pods += 1;
        if no_lc || no_lm {
            self.pods_without_limits += 1;
        }
    }
}

/// Per namespace usage, fed by the emitter with every pod.
pub(super) type UsageByNamespace = HashMap<String, NsUsage>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Loose(f64),
    Tight(f64),
}

/// The quotas of the application namespaces in `plan`.
pub(super) fn emit_resource_quotas(
    plan: &[NsPlan],
    usage: &UsageByNamespace,
    now: Timestamp,
    e: &mut Emitter<'_>,
    rng: &mut SimRng,
) {
    for ns in plan {
        let u = rng.next_f64();
        let factor = rng.next_f64();
        let kind = if u < NO_QUOTA {
            continue;
        } else if u < NO_QUOTA + LOOSE {
            Kind::Loose(3.0 + 2.0 * factor)
        } else {
            Kind::Tight(1.05 + 0.20 * factor)
        };
        let used = usage.get(&ns.name).copied().unwrap_or_default();
        let created = at(ns.created + 60, now);
        let quota = resource_quota(&ns.name, kind, &used, rng, created);
        e.emit("", "resourcequotas", quota);
    }
}

fn resource_quota(
    namespace: &str,
    kind: Kind,
    used: &NsUsage,
    rng: &mut SimRng,
    created: Timestamp,
) -> Value {
    let (factor, name) = match kind {
        Kind::Loose(f) => (f, "compute-resources"),
        Kind::Tight(f) => (f, "compute-quota"),
    };
    // Round up to steps people write: half cores, whole GiB, tens of pods; never below use.
    let cpu = |m: i64| round_up(((m as f64) * factor) as i64, 500).max(500);
    let mem = |b: i64| round_up(((b as f64) * factor) as i64, 1 << 30).max(1 << 30);
    let pods = round_up(((used.pods as f64) * factor).ceil() as i64, 10).max(10);
    let with_limits = used.pods_without_limits == 0;
    let mut hard = Map::new();
    let mut status_used = Map::new();
    if with_limits {
        hard.insert(
            "limits.cpu".into(),
            json!(o::format_cpu(cpu(used.limits_cpu_millis))),
        );
        hard.insert(
            "limits.memory".into(),
            json!(o::format_memory(mem(used.limits_memory_bytes))),
        );
        status_used.insert(
            "limits.cpu".into(),
            json!(o::format_cpu(used.limits_cpu_millis)),
        );
        status_used.insert(
            "limits.memory".into(),
            json!(o::format_memory(used.limits_memory_bytes)),
        );
    }
    hard.insert("pods".into(), json!(pods.to_string()));
    hard.insert(
        "requests.cpu".into(),
        json!(o::format_cpu(cpu(used.requests_cpu_millis))),
    );
    hard.insert(
        "requests.memory".into(),
        json!(o::format_memory(mem(used.requests_memory_bytes))),
    );
    status_used.insert("pods".into(), json!(used.pods.to_string()));
    status_used.insert(
        "requests.cpu".into(),
        json!(o::format_cpu(used.requests_cpu_millis)),
    );
    status_used.insert(
        "requests.memory".into(),
        json!(o::format_memory(used.requests_memory_bytes)),
    );
    json!({
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": rng.uuid(),
            "creationTimestamp": o::rfc3339(created),
        },
        "spec": {"hard": hard.clone()},
        "status": {"hard": hard, "used": status_used},
    })
}

fn round_up(v: i64, step: i64) -> i64 {
    (v + step - 1).div_euclid(step) * step
}
