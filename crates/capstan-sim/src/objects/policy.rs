//! Policies on pods: PodDisruptionBudgets and the disruption controller's status,
//! NetworkPolicies, PriorityClasses.

use capstan_core::rng::SimRng;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::{labels_value, meta, with};

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
