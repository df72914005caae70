//! Documents Capstan writes and reads validate against the schemas it publishes: checked by a
//! small validator of the OpenAPI 3.0 subset the document uses (`$ref`, `allOf`, `type`,
//! `nullable`, `enum`, `required`, `properties`, `additionalProperties`, `items`, `minimum`,
//! `maximum`, `minItems`, `maxItems`).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use capstan_core::health::{Comparison, Severity};
use capstan_core::rollout::{FiringAlert, GateProgress, HealthHalt, HealthStatus};
use serde_json::{Value, json};

use super::openapi_document;

/// Every way `value` breaks `schema`, as `path: what`.
fn violations(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &openapi_document()["components"]["schemas"][name];
        assert!(!target.is_null(), "dangling {reference}");
        return violations(target, value, path, out);
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            violations(s, value, path, out);
        }
    }
    if value.is_null() {
        if schema["nullable"] != json!(true) && schema.get("type").is_some() {
            out.push(format!("{path}: null"));
        }
        return;
    }
    let typed = match schema["type"].as_str() {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(other) => panic!("type {other} not handled"),
    };
    if !typed {
        out.push(format!("{path}: not {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        out.push(format!("{path}: {value} not in {allowed:?}"));
    }
    if let Some(n) = value.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|min| n < min) {
            out.push(format!("{path}: {n} below the minimum"));
        }
        if schema["maximum"].as_f64().is_some_and(|max| n > max) {
            out.push(format!("{path}: {n} above the maximum"));
        }
    }
    if let Some(items) = value.as_array() {
        let len = items.len() as u64;
        if schema["minItems"].as_u64().is_some_and(|m| len < m)
            || schema["maxItems"].as_u64().is_some_and(|m| len > m)
        {
            out.push(format!("{path}: {len} items"));
        }
        for (i, item) in items.iter().enumerate() {
            violations(&schema["items"], item, &format!("{path}[{i}]"), out);
        }
    }
    if let Some(fields) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            if !fields.contains_key(required.as_str().unwrap()) {
                out.push(format!("{path}: {required} missing"));
            }
        }
        for (key, field) in fields {
            let at = format!("{path}.{key}");
            match (&schema["properties"][key], &schema["additionalProperties"]) {
                (Value::Null, Value::Bool(false)) => out.push(format!("{at}: not allowed")),
                (Value::Null, Value::Object(_)) => {
                    violations(&schema["additionalProperties"], field, &at, out);
                }
                (Value::Null, _) => {}
                (property, _) => violations(property, field, &at, out),
            }
        }
    }
}

pub(super) fn check(schema: &str, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    violations(
        &json!({"$ref": format!("#/components/schemas/{schema}")}),
        value,
        "",
        &mut out,
    );
    out
}

fn upgrade_with_gate(gate: Value) -> Value {
    json!({
        "apiVersion": "upgrade.toolkit.io/v1alpha1",
        "kind": "ClusterUpgrade",
        "metadata": {"name": "prod-canary"},
        "spec": {
            "clusterSelector": {"matchLabels": {"environment": "production"}},
            "strategy": {"type": "Canary", "canary": {
                "steps": [{"percentage": 10, "pause": "1h"}, {"percentage": 100}],
                "healthGate": gate
            }}
        }
    })
}

#[test]
fn a_health_gate_validates_as_written_and_as_core_writes_it_back() {
    let written = upgrade_with_gate(
        json!({"consecutiveHealthyEvaluations": 3, "haltOn": ["critical", "warning"]}),
    );
    assert_eq!(check("ClusterUpgrade", &written), Vec::<String>::new());
    let parsed =
        capstan_core::rollout::parse_cluster_upgrade(&serde_json::to_string(&written).unwrap())
            .unwrap();
    let gate = parsed.spec.strategy.canary.health_gate.as_ref().unwrap();
    assert_eq!(gate.consecutive_healthy_evaluations, 3);
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(check("ClusterUpgrade", &back), Vec::<String>::new());
    // `haltOn: []` (never halt) and an empty gate are allowed too.
    assert!(check("ClusterUpgrade", &upgrade_with_gate(json!({"haltOn": []}))).is_empty());
    assert!(check("ClusterUpgrade", &upgrade_with_gate(json!({}))).is_empty());
}

#[test]
fn a_health_gate_out_of_range_or_misspelt_is_refused_by_the_schema() {
    for (gate, wrong) in [
        (
            json!({"consecutiveHealthyEvaluations": 1001}),
            "above the maximum",
        ),
        (
            json!({"consecutiveHealthyEvaluations": -1}),
            "below the minimum",
        ),
        (json!({"haltOn": ["info"]}), "not in"),
        (json!({"haltOn": "critical"}), "not \"array\""),
        (json!({"haltOnn": ["critical"]}), "not allowed"),
    ] {
        let found = check("ClusterUpgrade", &upgrade_with_gate(gate.clone()));
        assert!(
            found.len() == 1 && found[0].contains(wrong),
            "{gate}: {found:?}"
        );
    }
}

#[test]
fn status_health_as_core_writes_it_validates() {
    let at: jiff::Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
    let health = HealthStatus {
        consecutive_healthy_evaluations: 3,
        halt_on: vec![Severity::Critical, Severity::Warning],
        clusters: BTreeMap::from([(
            "prod-eu-1".to_string(),
            GateProgress {
                first_evaluation: 40,
                evaluation: 42,
                evaluated_at: at,
                healthy_evaluations: 3,
            },
        )]),
        held_step: Some(0),
        halt: Some(HealthHalt {
            cluster: "prod-eu-1".to_string(),
            step: 0,
            reason: "APIServerErrorsHigh: 0.05 > 0.01".to_string(),
            at,
            alert: Some(FiringAlert {
                rule: "APIServerErrorsHigh".to_string(),
                severity: Severity::Critical,
                value: 0.05,
                threshold: 0.01,
                comparison: Comparison::Above,
                labels: BTreeMap::from([("component".to_string(), "apiserver".to_string())]),
                since: at,
            }),
        }),
    };
    let value = serde_json::to_value(&health).unwrap();
    assert_eq!(check("HealthStatus", &value), Vec::<String>::new());
    assert!(
        check(
            "HealthStatus",
            &serde_json::to_value(HealthStatus::default()).unwrap()
        )
        .is_empty()
    );
    // The status schema names it, and the validator does look inside.
    let status = &openapi_document()["components"]["schemas"]["RolloutState"];
    assert_eq!(
        status["properties"]["health"],
        json!({"$ref": "#/components/schemas/HealthStatus"})
    );
    let mut broken = value;
    broken["halt"]["alert"]["severity"] = json!("info");
    assert_eq!(check("HealthStatus", &broken).len(), 1);
}
