//! The rules of a `ClusterUpgrade` that serde cannot express, each broken rule reported with
//! the field's path, all at once so that one `apply` shows every mistake.

use std::fmt;

use crate::duration::parse_duration;
use crate::selector::{Operator, Requirement};
use crate::upgrade::{IntOrPercent, RollBudget};
use crate::version::KubeVersion;

use super::{
    API_VERSION, CanaryStrategy, ClusterUpgrade, HealthGate, KIND, MAX_HEALTHY_EVALUATIONS,
    NodeRolling, parse_severity,
};

/// One broken rule: where (`spec.strategy.canary.steps[1].percentage`) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Every broken rule of `upgrade`, in field order; `Ok` when there is none.
pub fn validate(upgrade: &ClusterUpgrade) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    if upgrade.api_version != API_VERSION {
        errors.push(
            "apiVersion",
            format!("must be {API_VERSION:?}, not {:?}", upgrade.api_version),
        );
    }
    if upgrade.kind != KIND {
        errors.push("kind", format!("must be {KIND:?}, not {:?}", upgrade.kind));
    }
    if let Some(name) = &upgrade.metadata.name
        && let Err(reason) = check_dns_subdomain(name)
    {
        errors.push("metadata.name", reason);
    }
    let spec = &upgrade.spec;
    if let Err(e) = spec.cluster_selector.to_label_selector() {
        errors.push("spec.clusterSelector", e.to_string());
    }
    if let Some(version) = &spec.version
        && let Err(e) = KubeVersion::parse(version)
    {
        errors.push("spec.version", e.to_string());
    }
    check_canary(&spec.strategy.canary, &mut errors);
    if let Some(rolling) = &spec.node_rolling {
        check_node_rolling(rolling, &mut errors);
    }
    errors.finish()
}

fn check_canary(canary: &CanaryStrategy, errors: &mut Errors) {
    const AT: &str = "spec.strategy.canary";
    if canary.steps.is_empty() {
        errors.push(
            format!("{AT}.steps"),
            "must have at least one step, the last at percentage 100",
        );
    }
    let mut previous: Option<u32> = None;
    for (i, step) in canary.steps.iter().enumerate() {
        let at = format!("{AT}.steps[{i}]");
        let p = step.percentage;
        if !(1..=100).contains(&p) {
            errors.push(format!("{at}.percentage"), format!("{p} is not in 1..=100"));
        } else if let Some(prev) = previous
            && p <= prev
        {
            errors.push(
                format!("{at}.percentage"),
                format!("{p} must be greater than the previous step's {prev}"),
            );
        }
        previous = Some(p);
        if let Some(pause) = &step.pause
            && let Err(e) = parse_duration(pause)
        {
            errors.push(format!("{at}.pause"), e.to_string());
        }
    }
    if let Some(last) = canary.steps.last()
        && last.percentage != 100
    {
        errors.push(
            format!("{AT}.steps[{}].percentage", canary.steps.len() - 1),
            format!(
                "the last step must be 100 (the whole selection), not {}",
                last.percentage
            ),
        );
    }
    if let Some(key) = &canary.sort_by
        && let Err(e) = Requirement::new(key, Operator::Exists, Vec::new())
    {
        errors.push(format!("{AT}.sortBy"), e.to_string());
    }
    if let Some(c) = canary.max_concurrency {
        if c.is_zero() {
            errors.push(
                format!("{AT}.maxConcurrency"),
                "may not be 0: the rollout could never start a cluster",
            );
        }
        check_at_most_100_percent(c, &format!("{AT}.maxConcurrency"), errors);
    }
    if let Some(f) = canary.max_failures {
        check_at_most_100_percent(f, &format!("{AT}.maxFailures"), errors);
    }
    if let Some(gate) = &canary.health_gate {
        check_health_gate(gate, errors);
    }
}

fn check_health_gate(gate: &HealthGate, errors: &mut Errors) {
    const AT: &str = "spec.strategy.canary.healthGate";
    let n = gate.consecutive_healthy_evaluations;
    if n > MAX_HEALTHY_EVALUATIONS {
        errors.push(
            format!("{AT}.consecutiveHealthyEvaluations"),
            format!("{n} is not in 0..={MAX_HEALTHY_EVALUATIONS}"),
        );
    }
    for (i, value) in gate.halt_on.iter().flatten().enumerate() {
        if parse_severity(value).is_none() {
            errors.push(
                format!("{AT}.haltOn[{i}]"),
                format!("unsupported value {value:?}: must be \"critical\" or \"warning\""),
            );
        }
    }
}

fn check_node_rolling(rolling: &NodeRolling, errors: &mut Errors) {
    const AT: &str = "spec.nodeRolling";
    // Unset sides take Deployment defaults (25%) for the combined rule.
    let quarter = IntOrPercent::Percent(25);
    let surge = rolling.max_surge.unwrap_or(quarter);
    let unavailable = rolling.max_unavailable.unwrap_or(quarter);
    if let Err(crate::upgrade::UpgradeError::Budget { field, reason }) =
        RollBudget::validate(surge, unavailable)
    {
        errors.push(format!("{AT}.{field}"), reason);
    }
    if let Some(timeout) = &rolling.drain_timeout
        && let Err(e) = parse_duration(timeout)
    {
        errors.push(format!("{AT}.drainTimeout"), e.to_string());
    }
}

fn check_at_most_100_percent(v: IntOrPercent, path: &str, errors: &mut Errors) {
    if let IntOrPercent::Percent(p) = v
        && p > 100
    {
        errors.push(path, format!("{p}% is more than 100%"));
    }
}

/// A DNS-1123 subdomain, as Kubernetes object names are.
fn check_dns_subdomain(name: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!(
            "{name:?} is not a DNS-1123 subdomain (at most 253 lower-case alphanumerics, '-' \
             and '.', each part starting and ending alphanumeric)"
        ));
    }
    Ok(())
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            reason: reason.into(),
        });
    }

    fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}
