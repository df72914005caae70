//! [`HealthEvaluator`]: the rules' alert states across evaluations, and the
//! [`HealthReport`] each evaluation yields. It does not care where the values came from (the
//! cluster's Prometheus or the agent's own scrape): both hand it one value vector per rule.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{
    Alert, AlertPhase, AlertState, HealthReport, HealthRule, Labels, MAX_REPORTED_ALERTS, RuleSet,
    Severity,
};

/// One evaluation's values for one rule: the value vector of its `expr`, or why it could not
/// be computed.
pub type RuleValues = Result<Vec<(Labels, f64)>, String>;

/// The alert states of every rule, stepped once per evaluation.
#[derive(Debug, Clone)]
pub struct HealthEvaluator {
    rules: Vec<HealthRule>,
    source: String,
    /// Per rule name, the pending and firing states by series.
    states: BTreeMap<String, BTreeMap<Labels, AlertState>>,
    evaluation: u64,
    streaks: BTreeMap<Severity, u64>,
}

impl HealthEvaluator {
    /// `source` names where the values come from (`prometheus` or `scrape`).
    pub fn new(rules: RuleSet, source: impl Into<String>) -> Self {
        Self {
            rules: rules.rules,
            source: source.into(),
            states: BTreeMap::new(),
            evaluation: 0,
            streaks: BTreeMap::new(),
        }
    }

    pub fn rules(&self) -> &[HealthRule] {
        &self.rules
    }

    /// Replaces the rules; a rule kept with the same expression, threshold and comparison
    /// keeps its alerts (Prometheus keeps active alerts of an unchanged rule across a reload).
    pub fn set_rules(&mut self, rules: RuleSet) {
        let unchanged = |new: &HealthRule| {
            self.rules.iter().any(|old| {
                old.name == new.name
                    && old.expr == new.expr
                    && old.threshold == new.threshold
                    && old.comparison == new.comparison
            })
        };
        let keep: Vec<String> = rules
            .rules
            .iter()
            .filter(|r| unchanged(r))
            .map(|r| r.name.clone())
            .collect();
        self.states.retain(|name, _| keep.contains(name));
        self.rules = rules.rules;
    }

    /// One evaluation at `now` (the agent's clock, which times `for`). A rule missing from
    /// `values`, or whose values are an error, keeps its alerts as they were, as Prometheus
    /// does when a rule's query fails.
    pub fn step(&mut self, values: &BTreeMap<String, RuleValues>, now: Timestamp) -> HealthReport {
        self.evaluation += 1;
        let mut errors = BTreeMap::new();
        for rule in &self.rules {
            match values.get(&rule.name) {
                Some(Ok(series)) => {
                    let prev = self.states.remove(&rule.name).unwrap_or_default();
                    let next = rule.evaluate_series(&prev, series, now);
                    if !next.is_empty() {
                        self.states.insert(rule.name.clone(), next);
                    }
                }
                Some(Err(e)) => {
                    errors.insert(rule.name.clone(), e.clone());
                }
                None => {
                    errors.insert(rule.name.clone(), "not evaluated".to_string());
                }
            }
        }
        let mut alerts: Vec<Alert> = self
            .rules
            .iter()
            .flat_map(|rule| {
                self.states
                    .get(&rule.name)
                    .into_iter()
                    .flatten()
                    .filter_map(|(labels, state)| rule.alert(labels, state))
            })
            .collect();
        let mut firing: BTreeMap<Severity, u64> = BTreeMap::new();
        let mut pending = 0;
        for alert in &alerts {
            match alert.state {
                AlertPhase::Firing => *firing.entry(alert.severity).or_default() += 1,
                AlertPhase::Pending => pending += 1,
                AlertPhase::Inactive => {}
            }
        }
        for severity in [Severity::Warning, Severity::Critical] {
            let streak = self.streaks.entry(severity).or_default();
            if firing.get(&severity).copied().unwrap_or(0) > 0 {
                *streak = 0;
            } else {
                *streak += 1;
            }
        }
        // Most useful first: firing before pending, critical before warning, the longest
        // standing first.
        alerts.sort_by(|a, b| {
            (b.state == AlertPhase::Firing)
                .cmp(&(a.state == AlertPhase::Firing))
                .then(b.severity.cmp(&a.severity))
                .then(a.since.cmp(&b.since))
                .then(a.rule.cmp(&b.rule))
                .then(a.labels.cmp(&b.labels))
        });
        alerts.truncate(MAX_REPORTED_ALERTS);
        HealthReport {
            source: self.source.clone(),
            evaluation: self.evaluation,
            evaluated_at: now,
            alerts,
            firing,
            pending,
            healthy_streak: self.streaks.clone(),
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;
    use crate::health::{Comparison, default_rules};

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rule(name: &str, for_minutes: u64, severity: Severity) -> HealthRule {
        HealthRule {
            name: name.into(),
            expr: format!("{name}_value"),
            for_: Duration::from_secs(for_minutes * 60),
            threshold: 0.8,
            comparison: Comparison::Above,
            severity,
            summary: String::new(),
            labels: Labels::new(),
        }
    }

    fn evaluator(rules: Vec<HealthRule>) -> HealthEvaluator {
        HealthEvaluator::new(RuleSet { rules }, "scrape")
    }

    fn values(entries: &[(&str, RuleValues)]) -> BTreeMap<String, RuleValues> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn an_alert_goes_pending_then_firing_and_streaks_follow() {
        let mut e = evaluator(vec![rule("Cpu", 10, Severity::Warning)]);
        let node = labels(&[("instance", "n1")]);
        let high = values(&[("Cpu", Ok(vec![(node.clone(), 0.93)]))]);
        let r = e.step(&high, at(0));
        assert_eq!(r.evaluation, 1);
        assert_eq!(r.pending, 1);
        assert!(r.firing.is_empty());
        assert_eq!(r.healthy_streak[&Severity::Warning], 1);
        let r = e.step(&high, at(10));
        assert_eq!(r.firing[&Severity::Warning], 1);
        assert_eq!(r.alerts[0].since, at(0), "since is when it started holding");
        assert_eq!(r.alerts[0].state, AlertPhase::Firing);
        assert_eq!(r.healthy_streak[&Severity::Warning], 0);
        assert_eq!(r.healthy_streak[&Severity::Critical], 2);
        assert_eq!(r.worst_firing(), Some(Severity::Warning));
        let low = values(&[("Cpu", Ok(vec![(node, 0.2)]))]);
        let r = e.step(&low, at(11));
        assert!(r.alerts.is_empty());
        assert_eq!(r.healthy_streak[&Severity::Warning], 1);
        assert_eq!(r.worst_firing(), None);
    }

    #[test]
    fn a_failed_rule_keeps_its_alerts_and_is_named() {
        let mut e = evaluator(vec![rule("Api", 0, Severity::Critical)]);
        let r = e.step(&values(&[("Api", Ok(vec![(Labels::new(), 0.9)]))]), at(0));
        assert_eq!(r.firing[&Severity::Critical], 1);
        let r = e.step(
            &values(&[("Api", Err("prometheus unreachable".into()))]),
            at(1),
        );
        assert_eq!(r.firing[&Severity::Critical], 1, "kept as it was");
        assert_eq!(r.errors["Api"], "prometheus unreachable");
        let r = e.step(&BTreeMap::new(), at(2));
        assert_eq!(r.errors["Api"], "not evaluated");
        assert_eq!(r.firing[&Severity::Critical], 1);
    }

    #[test]
    fn alerts_are_capped_most_severe_first_with_exact_counts() {
        let mut e = evaluator(vec![
            rule("Warn", 0, Severity::Warning),
            rule("Crit", 0, Severity::Critical),
            rule("Slow", 60, Severity::Critical),
        ]);
        let many: Vec<(Labels, f64)> = (0..80)
            .map(|i| (labels(&[("pod", &format!("p{i}"))]), 0.9))
            .collect();
        let r = e.step(
            &values(&[
                ("Warn", Ok(many.clone())),
                ("Crit", Ok(many[..3].to_vec())),
                ("Slow", Ok(many[..2].to_vec())),
            ]),
            at(0),
        );
        assert_eq!(r.alerts.len(), MAX_REPORTED_ALERTS);
        assert_eq!(r.firing[&Severity::Warning], 80);
        assert_eq!(r.firing[&Severity::Critical], 3);
        assert_eq!(r.pending, 2);
        assert!(r.alerts[..3].iter().all(|a| a.rule == "Crit"));
        assert!(
            r.alerts[3..].iter().all(|a| a.rule == "Warn"),
            "pending last"
        );
        let crit = [Severity::Critical];
        assert_eq!(r.firing_of(&crit).count(), 3);
    }

    #[test]
    fn reloading_rules_keeps_unchanged_rules_alerts_only() {
        let mut e = evaluator(vec![
            rule("A", 0, Severity::Warning),
            rule("B", 0, Severity::Warning),
        ]);
        let v = values(&[
            ("A", Ok(vec![(Labels::new(), 0.9)])),
            ("B", Ok(vec![(Labels::new(), 0.9)])),
        ]);
        e.step(&v, at(0));
        let mut b = rule("B", 0, Severity::Warning);
        b.threshold = 0.95;
        e.set_rules(RuleSet {
            rules: vec![rule("A", 0, Severity::Warning), b],
        });
        let r = e.step(&BTreeMap::new(), at(1));
        let names: Vec<&str> = r.alerts.iter().map(|a| a.rule.as_str()).collect();
        assert_eq!(names, ["A"]);
    }

    #[test]
    fn describe_names_rule_series_value_and_threshold() {
        let mut e = evaluator(default_rules());
        let restarts = labels(&[
            ("cluster", "prod-1"),
            ("container", "app"),
            ("namespace", "shop"),
            ("pod", "web-1"),
        ]);
        let r = e.step(
            &values(&[("ContainerRestartsHigh", Ok(vec![(restarts, 7.0)]))]),
            at(0),
        );
        assert_eq!(
            r.alerts[0].describe(),
            "ContainerRestartsHigh on container=app,namespace=shop,pod=web-1: 7 > 5"
        );
        assert_eq!(r.errors.len(), default_rules().len() - 1);
    }
}
