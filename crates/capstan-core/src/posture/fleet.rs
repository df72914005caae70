//! Fleet-wide posture: the clusters' coverage summed per control and compared with the
//! targets. The hub feeds it each cluster's latest report; the findings themselves stay per
//! cluster (the fleet figure needs only the counts).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::report::{Control, ControlCoverage, RuleCount, Severity, Target, Unit, percent};

/// One control over the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetControl {
    pub control: Control,
    /// [`Control::fleet_unit`]: clusters for RBAC, else the per-cluster unit summed.
    pub unit: Unit,
    pub eligible: u64,
    pub covered: u64,
    pub excepted: u64,
    /// `(covered + excepted) / eligible` in percent; `None` when nothing is eligible.
    pub percent: Option<f64>,
    pub target: Target,
    pub meets_target: bool,
    /// Clusters whose own figure for this control meets the target.
    pub clusters_meeting_target: u64,
    pub clusters_reporting: u64,
    pub findings: u64,
    pub excepted_findings: u64,
    /// The clusters' details summed.
    pub details: BTreeMap<String, u64>,
}

/// One rule's findings over the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetRule {
    pub control: Control,
    pub rule: String,
    pub severity: Severity,
    pub findings: u64,
    pub excepted: u64,
    /// Clusters with at least one (non-excepted or excepted) finding of this rule.
    pub clusters: u64,
}

/// The fleet's posture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetPosture {
    pub clusters_reporting: u64,
    /// One per control, in [`Control::ALL`] order.
    pub controls: Vec<FleetControl>,
    /// Every rule with findings, the most findings first.
    pub rules: Vec<FleetRule>,
}

/// Sums clusters' coverage one cluster at a time, so the hub can stream its rows.
#[derive(Debug, Default)]
pub struct FleetAccumulator {
    clusters: u64,
    controls: BTreeMap<Control, FleetControl>,
    rules: BTreeMap<(Control, String), FleetRule>,
}

impl FleetAccumulator {
    pub fn new() -> FleetAccumulator {
        FleetAccumulator::default()
    }

    /// Adds one cluster's latest report (its coverage and its rule counts).
    pub fn add(&mut self, controls: &[ControlCoverage], rules: &[RuleCount]) {
        self.clusters += 1;
        for c in controls {
            let f = self
                .controls
                .entry(c.control)
                .or_insert_with(|| empty(c.control));
            f.clusters_reporting += 1;
            if c.meets_target() {
                f.clusters_meeting_target += 1;
            }
            f.findings += c.findings;
            f.excepted_findings += c.excepted_findings;
            for (k, v) in &c.details {
                *f.details.entry(k.clone()).or_default() += v;
            }
            match c.control.fleet_unit() {
                Unit::Clusters => {
                    // The cluster is the unit: covered when all its units are covered without
                    // exceptions, excepted when exceptions complete it.
                    f.eligible += 1;
                    if c.covered >= c.eligible {
                        f.covered += 1;
                    } else if c.complete() {
                        f.excepted += 1;
                    }
                }
                _ => {
                    f.eligible += c.eligible;
                    f.covered += c.covered;
                    f.excepted += c.excepted;
                }
            }
        }
        for r in rules {
            let f = self
                .rules
                .entry((r.control, r.rule.clone()))
                .or_insert_with(|| FleetRule {
                    control: r.control,
                    rule: r.rule.clone(),
                    severity: r.severity,
                    findings: 0,
                    excepted: 0,
                    clusters: 0,
                });
            f.findings += r.findings;
            f.excepted += r.excepted;
            if r.findings > 0 {
                f.clusters += 1;
            }
        }
    }

    pub fn finish(mut self) -> FleetPosture {
        let controls = Control::ALL
            .into_iter()
            .map(|c| {
                let mut f = self.controls.remove(&c).unwrap_or_else(|| empty(c));
                f.percent = percent(f.covered + f.excepted, f.eligible);
                f.meets_target = f.target.met(f.covered + f.excepted, f.eligible);
                f
            })
            .collect();
        let mut rules: Vec<FleetRule> = self.rules.into_values().collect();
        rules.sort_by(|a, b| {
            b.findings
                .cmp(&a.findings)
                .then(b.severity.cmp(&a.severity))
                .then_with(|| (a.control, &a.rule).cmp(&(b.control, &b.rule)))
        });
        FleetPosture {
            clusters_reporting: self.clusters,
            controls,
            rules,
        }
    }
}

fn empty(control: Control) -> FleetControl {
    FleetControl {
        control,
        unit: control.fleet_unit(),
        eligible: 0,
        covered: 0,
        excepted: 0,
        percent: None,
        target: control.target(),
        meets_target: true,
        clusters_meeting_target: 0,
        clusters_reporting: 0,
        findings: 0,
        excepted_findings: 0,
        details: BTreeMap::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cov(control: Control, eligible: u64, covered: u64, excepted: u64) -> ControlCoverage {
        let mut c = ControlCoverage::new(control);
        c.eligible = eligible;
        c.covered = covered;
        c.excepted = excepted;
        c.findings = eligible - covered;
        c.details.insert("x".into(), 1);
        c
    }

    #[test]
    fn namespaces_sum_and_clusters_count_whole() {
        let mut acc = FleetAccumulator::new();
        // Cluster a: 19 of 20 namespaces with policies, RBAC clean.
        acc.add(
            &[
                cov(Control::NetworkPolicy, 20, 19, 0),
                cov(Control::Rbac, 20, 20, 0),
            ],
            &[RuleCount {
                control: Control::NetworkPolicy,
                rule: "netpol.namespace-uncovered".into(),
                severity: Severity::Medium,
                findings: 1,
                excepted: 0,
            }],
        );
        // Cluster b: 30 of 30 (one excepted); RBAC complete only through an exception.
        acc.add(
            &[
                cov(Control::NetworkPolicy, 30, 29, 1),
                cov(Control::Rbac, 30, 28, 2),
            ],
            &[],
        );
        // Cluster c: RBAC with findings.
        acc.add(&[cov(Control::Rbac, 10, 3, 0)], &[]);
        let fleet = acc.finish();
        assert_eq!(fleet.clusters_reporting, 3);
        let np = &fleet.controls[1];
        assert_eq!(np.control, Control::NetworkPolicy);
        assert_eq!((np.eligible, np.covered, np.excepted), (50, 48, 1));
        assert_eq!(np.percent, Some(98.0));
        assert!(np.meets_target);
        assert_eq!(np.clusters_meeting_target, 1, "19/20 is not above 95%");
        assert_eq!(np.details["x"], 2);
        let rbac = &fleet.controls[0];
        assert_eq!(rbac.unit, Unit::Clusters);
        assert_eq!((rbac.eligible, rbac.covered, rbac.excepted), (3, 1, 1));
        assert!(!rbac.meets_target);
        let ps = &fleet.controls[2];
        assert_eq!(ps.eligible, 0);
        assert_eq!(ps.percent, None);
        assert_eq!(fleet.rules.len(), 1);
        assert_eq!(fleet.rules[0].clusters, 1);
    }
}
