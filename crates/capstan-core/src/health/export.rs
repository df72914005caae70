//! The rule set for the teams' own stacks: a prometheus-operator `PrometheusRule` (or a
//! plain Prometheus rule file) and a Grafana dashboard of the key metrics, both generated
//! from the same [`RuleSet`] the agents evaluate, so the on-call's alerts and Capstan's
//! gates read the same expressions and thresholds.

use serde_json::{Value, json};

use super::{HealthRule, RuleSet};
use crate::duration::format_duration;

/// The rule group's name in both rule formats.
pub const RULE_GROUP: &str = "capstan.health";

/// One rule as a Prometheus alerting rule (`alert`, `expr`, `for`, `labels`, `annotations`):
/// `severity` joins the rule's labels, as the upstream mixins label their alerts.
fn alerting_rule(rule: &HealthRule) -> Value {
    let mut labels = serde_json::Map::new();
    for (k, v) in &rule.labels {
        labels.insert(k.clone(), json!(v));
    }
    labels.insert("severity".into(), json!(rule.severity.as_str()));
    let mut out = serde_json::Map::new();
    out.insert("alert".into(), json!(rule.name));
    out.insert("expr".into(), json!(rule.alert_expr()));
    if !rule.for_.is_zero() {
        out.insert("for".into(), json!(format_duration(rule.for_)));
    }
    out.insert("labels".into(), Value::Object(labels));
    out.insert(
        "annotations".into(),
        json!({
            "summary": rule.summary,
            "description": format!(
                "{} Value {{{{ $value | humanize }}}} on {{{{ $labels }}}} (threshold {} {}).",
                rule.summary, rule.comparison.as_str(), rule.threshold
            ),
        }),
    );
    Value::Object(out)
}

/// A plain Prometheus rule file (`rule_files:`): `groups: [{name, rules}]`.
pub fn prometheus_rule_file(rules: &RuleSet) -> Value {
    json!({
        "groups": [{
            "name": RULE_GROUP,
            "rules": rules.rules.iter().map(alerting_rule).collect::<Vec<_>>(),
        }]
    })
}

/// A prometheus-operator `PrometheusRule` holding the same group.
pub fn prometheus_rule(rules: &RuleSet, name: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": "capstan",
                "app.kubernetes.io/component": "health-rules",
            },
        },
        "spec": prometheus_rule_file(rules),
    })
}

/// The Grafana unit for a rule's value: ratios as percentages, latencies in seconds.
fn unit(rule: &HealthRule) -> &'static str {
    let e = &rule.expr;
    if e.contains("histogram_quantile") || e.contains("duration_seconds") {
        "s"
    } else if rule.threshold <= 1.0
        && rule.threshold > 0.0
        && !e.contains("restarts")
        && !e.contains("terminated_reason")
    {
        "percentunit"
    } else {
        "short"
    }
}

fn panel(id: u64, title: &str, description: &str, expr: &str, unit: &str, grid: Value) -> Value {
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": grid,
        "targets": [{
            "refId": "A",
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "expr": expr,
            "legendFormat": "__auto",
        }],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
    })
}

/// A Grafana dashboard (schema 39): the fleet's health from the hub's metrics, the firing
/// alerts, then one panel per rule showing its value for the selected clusters with the
/// rule's threshold drawn as a line.
pub fn grafana_dashboard(rules: &RuleSet) -> Value {
    let mut panels = Vec::new();
    let mut id = 0;
    let mut next_id = || {
        id += 1;
        id
    };
    panels.push(panel(
        next_id(),
        "Clusters by health (hub)",
        "From the Capstan hub's /metrics.",
        "count by (health) (capstan_cluster_health == 1)",
        "short",
        json!({"h": 8, "w": 12, "x": 0, "y": 0}),
    ));
    panels.push(panel(
        next_id(),
        "Firing alerts by rule",
        "Prometheus' ALERTS series for the Capstan rule group.",
        r#"count by (alertname, severity) (ALERTS{alertstate="firing", cluster=~"$cluster"})"#,
        "short",
        json!({"h": 8, "w": 12, "x": 12, "y": 0}),
    ));
    for (i, rule) in rules.rules.iter().enumerate() {
        // Keep the rule's series of the selected clusters; `and on (cluster)` matches many
        // to many, so it filters any expression that keeps the cluster label.
        let expr = format!(
            r#"({}) and on (cluster) group by (cluster) (up{{cluster=~"$cluster"}})"#,
            rule.expr
        );
        let mut p = panel(
            next_id(),
            &format!(
                "{} ({} {} {})",
                rule.name,
                rule.severity.as_str(),
                rule.comparison.as_str(),
                rule.threshold
            ),
            &rule.summary,
            &expr,
            unit(rule),
            json!({"h": 8, "w": 12, "x": (i % 2) * 12, "y": 8 + (i / 2) * 8}),
        );
        p["fieldConfig"]["defaults"]["thresholds"] = json!({
            "mode": "absolute",
            "steps": [
                {"color": "green", "value": null},
                {"color": if rule.severity == super::Severity::Critical { "red" } else { "orange" }, "value": rule.threshold},
            ],
        });
        p["fieldConfig"]["defaults"]["custom"] = json!({"thresholdsStyle": {"mode": "line"}});
        panels.push(p);
    }
    json!({
        "uid": "capstan-health",
        "title": "Capstan / Cluster health",
        "tags": ["capstan", "kubernetes"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
            },
            {
                "name": "cluster",
                "label": "Cluster",
                "type": "query",
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "query": {"query": "label_values(up, cluster)", "refId": "clusters"},
                "definition": "label_values(up, cluster)",
                "refresh": 2,
                "multi": true,
                "includeAll": true,
                "allValue": ".*",
                "current": {"text": "All", "value": "$__all"},
                "sort": 1,
            },
        ]},
        "panels": panels,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::health::parse_rules_yaml;

    #[test]
    fn the_prometheus_rule_carries_every_rule_with_threshold_for_and_severity() {
        let rules = parse_rules_yaml(
            "rules:\n  - name: NodeCPUHigh\n    threshold: 0.9\ndisable: [ProbeRTTHigh]\n",
        )
        .unwrap();
        let manifest = prometheus_rule(&rules, "capstan-health", "monitoring");
        assert_eq!(manifest["kind"], "PrometheusRule");
        let group = &manifest["spec"]["groups"][0];
        assert_eq!(group["name"], RULE_GROUP);
        let out = group["rules"].as_array().unwrap();
        assert_eq!(out.len(), rules.rules.len());
        assert!(out.iter().all(|r| r["alert"] != "ProbeRTTHigh"));
        let cpu = out.iter().find(|r| r["alert"] == "NodeCPUHigh").unwrap();
        assert!(
            cpu["expr"].as_str().unwrap().ends_with(") > 0.9"),
            "{}",
            cpu["expr"]
        );
        assert_eq!(cpu["for"], "15m");
        assert_eq!(cpu["labels"]["severity"], "warning");
        let restarts = out
            .iter()
            .find(|r| r["alert"] == "ContainerRestartsHigh")
            .unwrap();
        assert!(restarts.get("for").is_none(), "for: 0 is left out");
        assert_eq!(restarts["labels"]["severity"], "critical");
    }

    #[test]
    fn the_dashboard_has_a_panel_per_rule_with_its_threshold() {
        let rules = RuleSet::default();
        let d = grafana_dashboard(&rules);
        let panels = d["panels"].as_array().unwrap();
        assert_eq!(panels.len(), rules.rules.len() + 2);
        let ids: std::collections::BTreeSet<u64> =
            panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
        assert_eq!(ids.len(), panels.len(), "panel ids are unique");
        let api = panels
            .iter()
            .find(|p| {
                p["title"]
                    .as_str()
                    .unwrap()
                    .starts_with("APIServerLatencyHigh")
            })
            .unwrap();
        assert_eq!(api["fieldConfig"]["defaults"]["unit"], "s");
        assert_eq!(
            api["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"],
            0.5
        );
        assert!(
            api["targets"][0]["expr"]
                .as_str()
                .unwrap()
                .contains(r#"$cluster"#)
        );
        let cpu = panels
            .iter()
            .find(|p| p["title"].as_str().unwrap().starts_with("NodeCPUHigh"))
            .unwrap();
        assert_eq!(cpu["fieldConfig"]["defaults"]["unit"], "percentunit");
        let restarts = panels
            .iter()
            .find(|p| {
                p["title"]
                    .as_str()
                    .unwrap()
                    .starts_with("ContainerRestartsHigh")
            })
            .unwrap();
        assert_eq!(restarts["fieldConfig"]["defaults"]["unit"], "short");
    }
}
