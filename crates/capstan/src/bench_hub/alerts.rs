//! `capstan bench hub --alerts-share`: synthetic health reports, and the timing of the reads
//! that aggregate them (`GET /api/v1/alerts`, `/api/v1/clusters`, `/metrics`).
//!
//! A share of the agents reports 1 to 50 pending or firing alerts of the default rules, with
//! the labels the rules' expressions keep (node and instance, namespace, pod and container,
//! verb); the others report a healthy evaluation with no alert. Each report carries the
//! agent's next evaluation number, its time and the healthy streaks that follow from it, as
//! `capstan_core::health::HealthEvaluator` would give them for alerts that stay as they are.
//! The alerts are serialised once per agent; a send only formats the small envelope around
//! them, so the load generator stays light.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use axum::body::Bytes;
use capstan_clock::Stopwatch;
use capstan_core::health::{
    Alert, AlertPhase, HealthRule, MAX_REPORTED_ALERTS, Severity, default_rules,
};
use capstan_core::rng::SimRng;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{ChildHub, TICKS_PER_SECOND, cpu_ticks, percentile};

/// One agent's health evaluation, its alerts fixed and serialised, its sequence moving on.
pub(super) struct HealthTemplate {
    /// The `alerts` array as JSON.
    alerts_json: String,
    firing_critical: u64,
    firing_warning: u64,
    pending: u64,
    /// The evaluation number of the first report sent (the agent has been up a while).
    first_evaluation: u64,
}

impl HealthTemplate {
    /// A healthy evaluation: no alert, both streaks as long as the agent's life.
    pub(super) fn healthy(rng: &mut SimRng) -> Self {
        Self {
            alerts_json: "[]".to_string(),
            firing_critical: 0,
            firing_warning: 0,
            pending: 0,
            first_evaluation: rng.range_inclusive(1, 1_000),
        }
    }

    /// 1 to 50 alerts of the default rules, each firing (60%) or pending, ordered as the
    /// evaluator orders them: firing first, critical first, then by rule.
    pub(super) fn alerting(rng: &mut SimRng, index: usize, now: Timestamp) -> Result<Self> {
        let rules = default_rules();
        let count = rng.range_inclusive(1, MAX_REPORTED_ALERTS as u64);
        let mut alerts: Vec<Alert> = (0..count)
            .filter_map(|k| {
                let rule = rng.pick(&rules)?;
                Some(synthetic_alert(rng, rule, index, k, now))
            })
            .collect();
        alerts.sort_by(|a, b| {
            (b.state == AlertPhase::Firing)
                .cmp(&(a.state == AlertPhase::Firing))
                .then_with(|| b.severity.cmp(&a.severity))
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.labels.cmp(&b.labels))
        });
        let firing = |s: Severity| {
            alerts
                .iter()
                .filter(|a| a.state == AlertPhase::Firing && a.severity == s)
                .count() as u64
        };
        Ok(Self {
            firing_critical: firing(Severity::Critical),
            firing_warning: firing(Severity::Warning),
            pending: alerts
                .iter()
                .filter(|a| a.state == AlertPhase::Pending)
                .count() as u64,
            alerts_json: serde_json::to_string(&alerts)?,
            first_evaluation: rng.range_inclusive(1, 1_000),
        })
    }

    pub(super) fn alert_count(&self) -> usize {
        usize::try_from(self.firing_critical + self.firing_warning + self.pending)
            .unwrap_or(usize::MAX)
    }

    /// The report body `base` (a serialised `ReportBody` without `healthReport`) with this
    /// template's `sent`-th health report (0 for the first) evaluated at `at`.
    pub(super) fn body(&self, base: &[u8], sent: u64, at: Timestamp) -> Bytes {
        let evaluation = self.first_evaluation + sent;
        // A severity with nothing firing has been healthy since the agent started: the
        // alerts never change here.
        let streak = |firing: u64| if firing > 0 { 0 } else { evaluation };
        let mut firing = String::new();
        for (name, n) in [
            ("warning", self.firing_warning),
            ("critical", self.firing_critical),
        ] {
            // The evaluator lists only severities that fire.
            if n > 0 {
                let sep = if firing.is_empty() { "" } else { "," };
                let _ = write!(firing, r#"{sep}"{name}":{n}"#);
            }
        }
        let envelope = format!(
            concat!(
                r#","healthReport":{{"source":"scrape","evaluation":{},"evaluatedAt":"{}","#,
                r#""alerts":{},"firing":{{{}}},"pending":{},"#,
                r#""healthyStreak":{{"warning":{},"critical":{}}}}}}}"#,
            ),
            evaluation,
            at,
            self.alerts_json,
            firing,
            self.pending,
            streak(self.firing_warning),
            streak(self.firing_critical),
        );
        // `base` is a JSON object: drop its closing brace and append the field and a brace.
        let open = base.strip_suffix(b"}").unwrap_or(base);
        let mut out = Vec::with_capacity(open.len() + envelope.len());
        out.extend_from_slice(open);
        out.extend_from_slice(envelope.as_bytes());
        Bytes::from(out)
    }
}

/// One alert of `rule` with the labels its expression keeps, a value past its threshold and
/// a start a few minutes to hours ago.
fn synthetic_alert(
    rng: &mut SimRng,
    rule: &HealthRule,
    cluster: usize,
    k: u64,
    now: Timestamp,
) -> Alert {
    let mut labels = rule.labels.clone();
    let node = format!(
        "ip-10-{}-{}-{k}.ec2.internal",
        cluster / 256 % 256,
        cluster % 256
    );
    let mut set = |key: &str, value: String| {
        labels.insert(key.to_string(), value);
    };
    match rule.labels.get("component").map(String::as_str) {
        Some("workload") => {
            set("namespace", format!("team-{}", k % 12));
            set("pod", format!("api-{k}-7d9f8b6c5d-x{k}q2z"));
            set("container", "app".to_string());
            set("node", node);
        }
        Some("apiserver") => {
            let verbs = ["GET", "LIST", "POST", "PUT", "PATCH", "DELETE"];
            set("verb", verbs[k as usize % verbs.len()].to_string());
            set("instance", format!("10.0.0.{}:6443", k % 3 + 10));
        }
        Some("etcd") => set("instance", format!("10.0.0.{}:2379", k % 3 + 10)),
        _ => {
            set("instance", format!("{node}:9100"));
            set("node", node);
            if rule.name == "NodeFilesystemHigh" {
                set("mountpoint", "/var/lib/kubelet".to_string());
                set("device", "/dev/nvme0n1p1".to_string());
            } else if rule.name == "NodeDiskIOBusy" {
                set("device", "nvme0n1".to_string());
            }
        }
    }
    let over = 1.05 + rng.next_f64() * 0.5;
    let value = if rule.threshold > 0.0 {
        rule.threshold * over
    } else {
        rng.range_inclusive(1, 3) as f64
    };
    let minutes = rng.range_inclusive(1, 240) as i64;
    Alert {
        rule: rule.name.clone(),
        severity: rule.severity,
        value,
        threshold: rule.threshold,
        comparison: rule.comparison,
        labels,
        since: now
            .checked_sub(SignedDuration::from_mins(minutes))
            .unwrap_or(now),
        state: if rng.chance(0.6) {
            AlertPhase::Firing
        } else {
            AlertPhase::Pending
        },
    }
}

/// The reads timed after a steady window, each `(name, path)`.
fn read_paths() -> [(&'static str, &'static str); 4] {
    [
        ("alerts_all", "/api/v1/alerts"),
        (
            "alerts_region_critical",
            "/api/v1/alerts?labelSelector=region%3Dus-east-1&severity=critical",
        ),
        ("clusters", "/api/v1/clusters"),
        ("metrics", "/metrics"),
    ]
}

/// `requests` sequential GETs of each read path while the agents keep reporting: latency
/// percentiles, the answer's size, and the hub's CPU per request.
pub(super) async fn measure_reads(
    hub: &ChildHub,
    http: &reqwest::Client,
    requests: usize,
) -> Result<Value> {
    let pid = hub.pid.to_string();
    let mut out = BTreeMap::new();
    for (name, path) in read_paths() {
        let mut latencies = Vec::with_capacity(requests);
        let mut bytes = 0;
        let mut items = Value::Null;
        let cpu0 = cpu_ticks(&pid);
        for _ in 0..requests {
            let sw = Stopwatch::start();
            let body = http
                .get(hub.url(path))
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            latencies.push(sw.elapsed().as_secs_f64() * 1000.0);
            bytes = body.len();
            if items.is_null() && name.starts_with("alerts") {
                let list: Value = serde_json::from_slice(&body)?;
                items = json!({
                    "items": list["items"].as_array().map_or(0, Vec::len),
                    "clusters": list["clusters"],
                });
            }
        }
        let cpu = match (cpu0, cpu_ticks(&pid)) {
            (Some(a), Some(b)) => json!(
                b.saturating_sub(a) as f64 / TICKS_PER_SECOND * 1000.0 / requests.max(1) as f64
            ),
            _ => Value::Null,
        };
        latencies.sort_by(f64::total_cmp);
        out.insert(
            name,
            json!({
                "path": path,
                "requests": requests,
                "latency_ms": {
                    "p50": percentile(&latencies, 0.50),
                    "p99": percentile(&latencies, 0.99),
                    "max": latencies.last().copied().unwrap_or(0.0),
                },
                "response_bytes": bytes,
                "hub_cpu_ms_per_request": cpu,
                "answer": items,
            }),
        );
    }
    Ok(json!(out))
}

/// `with / without` of the figures both phases report, where both are numbers.
pub(super) fn ratios(without: &Value, with: &Value) -> Value {
    let ratio = |pointer: &str| match (
        without.pointer(pointer).and_then(Value::as_f64),
        with.pointer(pointer).and_then(Value::as_f64),
    ) {
        (Some(a), Some(b)) if a > 0.0 => json!(b / a),
        _ => Value::Null,
    };
    let mut out = serde_json::Map::new();
    for (name, pointer) in [
        ("report_body_bytes", "/report_body_bytes"),
        ("report_latency_p50", "/steady/latency_ms/p50"),
        ("report_latency_p99", "/steady/latency_ms/p99"),
        ("hub_cpu", "/steady/hub_cpu_share_of_one_core"),
        ("hub_rss", "/steady/hub_rss_mib"),
        ("hub_db", "/hub_db_mib"),
    ] {
        out.insert(name.to_string(), ratio(pointer));
    }
    for (name, _) in read_paths() {
        for (figure, field) in [("p50", "latency_ms/p50"), ("bytes", "response_bytes")] {
            out.insert(
                format!("{name}_{figure}"),
                ratio(&format!("/reads/{name}/{field}")),
            );
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use capstan_agent::ReportBody;
    use capstan_core::health::HealthReport;

    use super::*;

    fn base() -> Vec<u8> {
        let mut rng = SimRng::new(3);
        let summary = super::super::synthetic_summary(&mut rng, 3, Timestamp::UNIX_EPOCH);
        let body = capstan_agent::report::report_body(&summary, &super::super::cluster_labels(3));
        serde_json::to_vec(&body).unwrap()
    }

    #[test]
    fn an_alerting_body_is_a_report_with_its_health_report() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let mut rng = SimRng::new(11);
        let template = HealthTemplate::alerting(&mut rng, 3, now).unwrap();
        let bytes = template.body(&base(), 4, now);
        let body: ReportBody = serde_json::from_slice(&bytes).unwrap();
        let report: HealthReport = body.health_report.unwrap();
        assert_eq!(report.evaluation, template.first_evaluation + 4);
        assert_eq!(report.evaluated_at, now);
        assert!((1..=MAX_REPORTED_ALERTS).contains(&report.alerts.len()));
        assert_eq!(template.alert_count(), report.alerts.len());
        // Counts exact and consistent with the listed alerts; streaks follow them.
        for severity in [Severity::Critical, Severity::Warning] {
            let listed = report.firing_of(&[severity]).count() as u64;
            assert_eq!(report.firing.get(&severity).copied().unwrap_or(0), listed);
            let streak = report.healthy_streak[&severity];
            assert_eq!(streak == 0, listed > 0, "{severity:?}");
        }
        let pending = report
            .alerts
            .iter()
            .filter(|a| a.state == AlertPhase::Pending)
            .count() as u64;
        assert_eq!(report.pending, pending);
        // Firing first, and every rule a default one with its severity.
        let first_pending = report
            .alerts
            .iter()
            .position(|a| a.state == AlertPhase::Pending)
            .unwrap_or(report.alerts.len());
        assert!(
            report.alerts[first_pending..]
                .iter()
                .all(|a| a.state == AlertPhase::Pending)
        );
        let rules = default_rules();
        for alert in &report.alerts {
            let rule = rules.iter().find(|r| r.name == alert.rule).unwrap();
            assert_eq!(alert.severity, rule.severity);
            assert!(alert.since < now);
            assert!(alert.labels.contains_key("component"));
        }
    }

    #[test]
    fn a_healthy_body_has_no_alert_and_full_streaks() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let template = HealthTemplate::healthy(&mut SimRng::new(5));
        let body: ReportBody = serde_json::from_slice(&template.body(&base(), 0, now)).unwrap();
        let report = body.health_report.unwrap();
        assert!(report.alerts.is_empty() && report.firing.is_empty());
        assert_eq!(
            report.healthy_streak[&Severity::Critical],
            report.evaluation
        );
        assert_eq!(report.worst_firing(), None);
    }

    #[test]
    fn ratios_divide_with_by_without() {
        let without = json!({"steady": {"latency_ms": {"p50": 2.0}}, "report_body_bytes": 100});
        let with = json!({"steady": {"latency_ms": {"p50": 3.0}}, "report_body_bytes": 250});
        let r = ratios(&without, &with);
        assert_eq!(r["report_latency_p50"], json!(1.5));
        assert_eq!(r["report_body_bytes"], json!(2.5));
        assert_eq!(r["hub_cpu"], Value::Null);
    }
}
