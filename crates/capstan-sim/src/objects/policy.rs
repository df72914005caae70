//! Policies on pods: PodDisruptionBudgets and the disruption controller's status,
//! NetworkPolicies, PriorityClasses.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::time::rfc3339;
use super::{conditions_mut, labels_value, meta, set_condition, with};

/// A PDB's limit; the value is an IntOrString (`json!(1)` or `json!("50%")`).
#[derive(Debug, Clone, PartialEq)]
pub enum PdbLimit {
    MinAvailable(Value),
    MaxUnavailable(Value),
}

/// policy/v1 PodDisruptionBudget over `matchLabels` selector labels.
pub fn pod_disruption_budget(
    namespace: &str,
    name: &str,
    selector_labels: &[(&str, &str)],
    limit: PdbLimit,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("generation".into(), json!(1));
    let mut spec = json!({"selector": {"matchLabels": labels_value(selector_labels)}});
    match limit {
        PdbLimit::MinAvailable(v) => spec["minAvailable"] = v,
        PdbLimit::MaxUnavailable(v) => spec["maxUnavailable"] = v,
    }
    with(
        json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "spec": spec,
        "status": {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0},
        }),
        vec![(&["metadata"], Value::Object(metadata))],
    )
}

/// An IntOrString scaled against `total` the way the disruption controller does (percentages
/// round up).
pub fn scaled_int_or_percent(v: &Value, total: u32) -> u32 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or(0).min(u64::from(u32::MAX)) as u32,
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<u64>().ok()) {
            Some(p) => (p * u64::from(total)).div_ceil(100) as u32,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// The disruption controller's status for `expected` matching pods of which `healthy` are
/// ready: desiredHealthy, disruptionsAllowed and the DisruptionAllowed condition.
pub fn set_pdb_status(pdb: &mut Value, expected: u32, healthy: u32, now: Timestamp) {
    let desired = if let Some(min) = pdb.pointer("/spec/minAvailable") {
        scaled_int_or_percent(min, expected)
    } else if let Some(max) = pdb.pointer("/spec/maxUnavailable") {
        expected.saturating_sub(scaled_int_or_percent(max, expected))
    } else {
        expected
    };
    let allowed = healthy.saturating_sub(desired);
    let generation = pdb
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let prev = pdb["status"]["conditions"].clone();
    pdb["status"] = json!({
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "disruptionsAllowed": allowed,
        "expectedPods": expected,
        "observedGeneration": generation,
        "conditions": if prev.is_array() { prev } else { json!([]) },
    });
    let (st, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let now_s = rfc3339(now);
    let conds = conditions_mut(pdb, "conditions");
    set_condition(
        conds,
        "DisruptionAllowed",
        st,
        Some(reason),
        Some(""),
        &now_s,
    );
    for c in conds.iter_mut() {
        c["observedGeneration"] = json!(generation);
        if let Some(o) = c.as_object_mut() {
            o.remove("lastProbeTime");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkPolicyKind {
    /// `default-deny-ingress`: selects every pod, allows no ingress.
    DefaultDeny,
    /// `allow-same-namespace`: every pod accepts traffic from pods of its namespace.
    AllowSameNamespace,
}

pub fn network_policy(
    namespace: &str,
    kind: NetworkPolicyKind,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    let (name, spec) = match kind {
        NetworkPolicyKind::DefaultDeny => (
            "default-deny-ingress",
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
        ),
        NetworkPolicyKind::AllowSameNamespace => (
            "allow-same-namespace",
            json!({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}], "policyTypes": ["Ingress"]}),
        ),
    };
    let mut metadata = meta(name, Some(namespace), now, rng);
    metadata.insert("generation".into(), json!(1));
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec})
}

/// scheduling.k8s.io/v1 PriorityClass.
pub fn priority_class(
    name: &str,
    value: i64,
    description: &str,
    rng: &mut SimRng,
    now: Timestamp,
) -> Value {
    json!({
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": meta(name, None, now, rng),
        "value": value,
        "description": description,
        "preemptionPolicy": "PreemptLowerPriority",
    })
}
