//! Cluster health rules: the key-metric thresholds as alerting rules, the user's YAML
//! overrides, and the Prometheus alert state machine that turns a rule's value series into
//! inactive / pending / firing alerts.
//!
//! A rule's `expr` is the PromQL for the *value* (for example a utilisation ratio); the
//! comparison with `threshold` is kept apart so that the same rule can be evaluated by a
//! Prometheus server (`(expr) > threshold`, see [`HealthRule::alert_expr`]) or by the agent
//! over values it computed itself, and so that alerts can report value and threshold.

mod evaluator;
pub mod export;
mod parse;
mod rules;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

pub use evaluator::{HealthEvaluator, RuleValues};
pub use parse::{RuleFieldError, RulesError, parse_rules_yaml};
pub use rules::default_rules;

/// Labels of one series (or of a rule), ordered so that label sets compare and hash stably.
pub type Labels = BTreeMap<String, String>;

/// How bad a firing rule is. Critical rules are the ones that halt a canary rollout by
/// default; warnings are shown in the fleet view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Which side of the threshold is unhealthy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
    /// Unhealthy when the value is above the threshold.
    #[default]
    #[serde(rename = ">")]
    Above,
    /// Unhealthy when the value is below the threshold.
    #[serde(rename = "<")]
    Below,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::Below => "<",
        }
    }

    /// Whether `value` breaks `threshold`. NaN never does, as in PromQL, where every
    /// comparison with NaN is false (an idle ratio of 0/0 is not an alert).
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value > threshold,
            Comparison::Below => value < threshold,
        }
    }
}

/// One alerting rule: a PromQL value expression, a threshold it must not cross, and how
/// long it must stay crossed (`for`) before the alert fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthRule {
    /// The alert name, a Prometheus metric-style name such as `NodeCPUHigh`.
    pub name: String,
    /// PromQL for the value compared with `threshold`, one series per alert.
    pub expr: String,
    /// How long the condition must hold before the alert fires; zero fires on the first
    /// evaluation that sees it.
    #[serde(rename = "for", with = "crate::duration::serde_duration")]
    pub for_: Duration,
    pub threshold: f64,
    #[serde(default)]
    pub comparison: Comparison,
    pub severity: Severity,
    pub summary: String,
    /// Added to every alert of this rule (over the series' own labels).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

impl HealthRule {
    /// The rule as a Prometheus alerting expression: `(expr) > threshold`.
    pub fn alert_expr(&self) -> String {
        format!(
            "({}) {} {}",
            self.expr,
            self.comparison.as_str(),
            self.threshold
        )
    }

    /// Whether `value` breaks this rule's threshold.
    pub fn holds(&self, value: f64) -> bool {
        self.comparison.holds(value, self.threshold)
    }

    /// One evaluation of this rule for one series, with Prometheus' semantics
    /// (prometheus/prometheus rules/alerting.go `AlertingRule.Eval`):
    /// - the condition starts holding: inactive -> pending, `since` = now;
    /// - it has held for at least `for`: pending -> firing (in the same evaluation when
    ///   `for` is zero, as Prometheus does), `since` kept, `fired_at` = now;
    /// - it stops holding, or the series is absent (`None`): back to inactive at once (no
    ///   `for` on the way down; a flapping value restarts the pending period).
    pub fn evaluate(&self, prev: &AlertState, value: Option<f64>, now: Timestamp) -> AlertState {
        let Some(value) = value.filter(|v| self.holds(*v)) else {
            return AlertState::default();
        };
        let since = match prev.phase {
            AlertPhase::Inactive => now,
            AlertPhase::Pending | AlertPhase::Firing => prev.since.unwrap_or(now),
        };
        if prev.phase == AlertPhase::Firing {
            return AlertState {
                phase: AlertPhase::Firing,
                since: Some(since),
                fired_at: prev.fired_at.or(Some(now)),
                value: Some(value),
            };
        }
        // Out of range (over ~292 years) cannot have elapsed yet; a clock that went
        // backwards has not elapsed either.
        let hold = SignedDuration::try_from(self.for_).unwrap_or(SignedDuration::MAX);
        let fired = now.duration_since(since) >= hold;
        AlertState {
            phase: if fired {
                AlertPhase::Firing
            } else {
                AlertPhase::Pending
            },
            since: Some(since),
            fired_at: fired.then_some(now),
            value: Some(value),
        }
    }

    /// The alert for one series in `state`, or `None` while inactive. The rule's labels
    /// override the series' labels, as Prometheus' rule labels do.
    pub fn alert(&self, series: &Labels, state: &AlertState) -> Option<Alert> {
        let since = state.since?;
        if state.phase == AlertPhase::Inactive {
            return None;
        }
        let mut labels = series.clone();
        labels.extend(self.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        Some(Alert {
            rule: self.name.clone(),
            severity: self.severity,
            value: state.value.unwrap_or(f64::NAN),
            threshold: self.threshold,
            comparison: self.comparison,
            labels,
            since,
            state: state.phase,
        })
    }

    /// Evaluates this rule over all the series of one evaluation: series present in
    /// `values` step from their previous state; series that disappeared resolve (and are
    /// dropped, since inactive states carry nothing). Only pending and firing states are
    /// returned.
    pub fn evaluate_series(
        &self,
        prev: &BTreeMap<Labels, AlertState>,
        values: &[(Labels, f64)],
        now: Timestamp,
    ) -> BTreeMap<Labels, AlertState> {
        let inactive = AlertState::default();
        values
            .iter()
            .filter_map(|(labels, value)| {
                let state = self.evaluate(prev.get(labels).unwrap_or(&inactive), Some(*value), now);
                (state.phase != AlertPhase::Inactive).then(|| (labels.clone(), state))
            })
            .collect()
    }
}

/// The phase of one alert, as Prometheus' alerts API names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertPhase {
    #[default]
    Inactive,
    Pending,
    Firing,
}

/// Where one (rule, series) stands between evaluations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    pub phase: AlertPhase,
    /// When the condition started holding (Prometheus' `activeAt`); kept while firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// When the alert started firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<Timestamp>,
    /// The latest value that broke the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// A pending or firing alert, as the agent reports it and the hub shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub rule: String,
    pub severity: Severity,
    pub value: f64,
    pub threshold: f64,
    pub comparison: Comparison,
    pub labels: Labels,
    pub since: Timestamp,
    pub state: AlertPhase,
}

/// Most alerts one report carries; the counts in [`HealthReport`] stay exact beyond it.
pub const MAX_REPORTED_ALERTS: usize = 50;

/// One rule evaluation of a whole cluster, as the agent sends it to the hub with its report.
/// Bounded whatever the cluster's size: at most [`MAX_REPORTED_ALERTS`] alerts (firing
/// before pending, critical before warning), with exact counts beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// Where the values came from: `prometheus` (the cluster's Prometheus query API) or
    /// `scrape` (the agent scraped the cluster's endpoints itself).
    pub source: String,
    /// The evaluation's sequence number, counting up from 1 for the agent's lifetime.
    pub evaluation: u64,
    pub evaluated_at: Timestamp,
    /// Pending and firing alerts, most severe first, capped at [`MAX_REPORTED_ALERTS`].
    pub alerts: Vec<Alert>,
    /// Firing alerts by severity, uncapped.
    #[serde(default)]
    pub firing: BTreeMap<Severity, u64>,
    /// Pending alerts, uncapped.
    #[serde(default)]
    pub pending: u64,
    /// Per severity, how many evaluations in a row (ending with this one) had no firing
    /// alert of that severity. The hub's health gate counts these.
    #[serde(default)]
    pub healthy_streak: BTreeMap<Severity, u64>,
    /// Rules that could not be evaluated this time (source unreachable, bad expression),
    /// by rule name; their alerts keep their previous state.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

impl HealthReport {
    /// The worst severity firing, if any.
    pub fn worst_firing(&self) -> Option<Severity> {
        self.firing
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, _)| *s)
            .max()
    }

    /// Firing alerts of one of `severities`.
    pub fn firing_of<'a>(&'a self, severities: &'a [Severity]) -> impl Iterator<Item = &'a Alert> {
        self.alerts
            .iter()
            .filter(|a| a.state == AlertPhase::Firing && severities.contains(&a.severity))
    }
}

impl Alert {
    /// `NodeCPUHigh on node=n1: 0.93 > 0.8`, for events and halt messages.
    pub fn describe(&self) -> String {
        let on: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "component" | "severity" | "cluster" | "job"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let on = if on.is_empty() {
            String::new()
        } else {
            format!(" on {}", on.join(","))
        };
        format!(
            "{}{on}: {} {} {}",
            self.rule,
            format_value(self.value),
            self.comparison.as_str(),
            format_value(self.threshold)
        )
    }
}

/// Four significant digits, no trailing zeros: `0.9312`, `12.5`, `0.01`.
fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// The rules in force: the defaults with the user's overrides, additions and removals.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<HealthRule>,
}

impl Default for RuleSet {
    fn default() -> Self {
        RuleSet {
            rules: default_rules(),
        }
    }
}

impl RuleSet {
    pub fn get(&self, name: &str) -> Option<&HealthRule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests;
