//! The posture wire types: what an agent sends after evaluating its cluster, and what the hub
//! stores per cluster and aggregates over the fleet ([`super::fleet`]).
//!
//! Invariant: a report is bounded whatever the cluster's size. Counts are complete (every
//! pod, namespace, subject and container is counted); findings are the top
//! [`PostureLimits::findings_per_control`] per control, and [`ControlCoverage::findings`]
//! says how many there were in all.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The five controls the fleet's targets are set for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    Rbac,
    NetworkPolicy,
    PodSecurity,
    Secrets,
    ImageScanning,
}

impl Control {
    pub const ALL: [Control; 5] = [
        Control::Rbac,
        Control::NetworkPolicy,
        Control::PodSecurity,
        Control::Secrets,
        Control::ImageScanning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Control::Rbac => "rbac",
            Control::NetworkPolicy => "network-policy",
            Control::PodSecurity => "pod-security",
            Control::Secrets => "secrets",
            Control::ImageScanning => "image-scanning",
        }
    }

    /// Parses the names [`Control::as_str`] prints.
    pub fn parse(s: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What one unit of this control's per-cluster coverage counts.
    pub fn unit(self) -> Unit {
        match self {
            // Reference D.7: cluster-scoped findings count against every namespace.
            Control::Rbac | Control::NetworkPolicy | Control::PodSecurity => Unit::Namespaces,
            Control::Secrets => Unit::Workloads,
            Control::ImageScanning => Unit::Containers,
        }
    }

    /// What the fleet-wide figure counts. RBAC's target is set per cluster ("RBAC policies
    /// on 100% of clusters"): a cluster counts when every namespace in it is covered. The
    /// others sum their units over the clusters.
    pub fn fleet_unit(self) -> Unit {
        match self {
            Control::Rbac => Unit::Clusters,
            other => other.unit(),
        }
    }

    /// The fleet's target for this control, as the issue sets them.
    pub fn target(self) -> Target {
        match self {
            Control::Rbac => Target::at_least(100.0),
            Control::NetworkPolicy => Target::above(95.0),
            Control::PodSecurity => Target::at_least(100.0),
            Control::Secrets => Target::at_least(100.0),
            Control::ImageScanning => Target::above(98.0),
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a coverage figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Unit {
    Clusters,
    Namespaces,
    Workloads,
    Containers,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Clusters => "clusters",
            Unit::Namespaces => "namespaces",
            Unit::Workloads => "workloads",
            Unit::Containers => "containers",
        }
    }
}

/// A coverage target in percent: met when coverage is at least (or strictly above) it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub percent: f64,
    /// `true` for "more than 95%", `false` for "100%" (at least).
    pub strictly_above: bool,
}

impl Target {
    pub const fn at_least(percent: f64) -> Target {
        Target {
            percent,
            strictly_above: false,
        }
    }

    pub const fn above(percent: f64) -> Target {
        Target {
            percent,
            strictly_above: true,
        }
    }

    /// Whether `covered` of `eligible` meets the target; nothing eligible meets it (there is
    /// nothing to cover). Integer arithmetic, so 19 of 20 is exactly 95%, not above it.
    pub fn met(self, covered: u64, eligible: u64) -> bool {
        if eligible == 0 {
            return true;
        }
        // percent is given with at most two decimals: compare covered * 10000 with
        // percent * 100 * eligible in integers.
        let lhs = u128::from(covered) * 10_000;
        let rhs = (self.percent * 100.0).round() as u128 * u128::from(eligible);
        if self.strictly_above {
            lhs > rhs
        } else {
            lhs >= rhs
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.strictly_above { ">" } else { "" };
        write!(f, "{op}{}%", self.percent)
    }
}

/// How bad a finding is. Ordered from the least to the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The Kubernetes object a finding is about. `namespace` is empty for cluster-scoped objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One thing that keeps a unit from being covered, traceable to the rule that found it, the
/// object and the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub control: Control,
    /// The rule's ID, namespaced by control: `pss.privileged`, `rbac.cluster-admin-binding`,
    /// `netpol.namespace-uncovered`, `secrets.secret-in-env`, `images.not-scanned`, ...
    pub rule: String,
    pub severity: Severity,
    /// The object to fix: for pod checks the pod's top-level controller (a Deployment, not
    /// its ReplicaSet), or the pod itself when it has none.
    pub object: ObjectRef,
    /// Where in `object` (for pod checks: in its pods' spec), e.g.
    /// `spec.containers[0].securityContext.privileged`. Empty when the finding is about the
    /// object's absence (a namespace with no policy).
    pub field_path: String,
    pub message: String,
    /// How many objects this finding stands for (the pods of the workload that share it).
    pub count: u64,
    /// The reason of the exception that covers this finding, if one does. Excepted findings
    /// are reported, never dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excepted: Option<String>,
}

/// One control's coverage in one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlCoverage {
    pub control: Control,
    pub unit: Unit,
    /// Units the control applies to (exempt namespaces excluded).
    pub eligible: u64,
    /// Units that comply without any exception.
    pub covered: u64,
    /// Units that do not comply but whose every finding is excepted. They count towards
    /// coverage and are shown apart.
    pub excepted: u64,
    /// Findings in all, excepted ones included (the report carries only the top ones).
    pub findings: u64,
    pub excepted_findings: u64,
    /// Figures beside the coverage: `namespacesWithAnyPolicy`, `podsRestricted`,
    /// `criticalVulnerabilities`, `gatekeeperViolations`, ... (see each control's docs).
    #[serde(default)]
    pub details: BTreeMap<String, u64>,
}

impl ControlCoverage {
    pub fn new(control: Control) -> ControlCoverage {
        ControlCoverage {
            control,
            unit: control.unit(),
            eligible: 0,
            covered: 0,
            excepted: 0,
            findings: 0,
            excepted_findings: 0,
            details: BTreeMap::new(),
        }
    }

    /// Covered or excepted.
    pub fn counted(&self) -> u64 {
        self.covered + self.excepted
    }

    /// Coverage in percent; `None` when nothing is eligible.
    pub fn percent(&self) -> Option<f64> {
        percent(self.counted(), self.eligible)
    }

    /// Every eligible unit counted.
    pub fn complete(&self) -> bool {
        self.counted() >= self.eligible
    }

    pub fn meets_target(&self) -> bool {
        self.control.target().met(self.counted(), self.eligible)
    }
}

/// `part / whole` in percent; `None` when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// How many findings of one rule a cluster has (complete, unlike the findings list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCount {
    pub control: Control,
    pub rule: String,
    pub severity: Severity,
    /// Findings (one per object and field).
    pub findings: u64,
    /// Of which excepted.
    pub excepted: u64,
}

/// An exception of the exceptions file and how much it matched in this cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedException {
    pub name: String,
    pub reason: String,
    /// Findings it excepted.
    pub matched: u64,
    /// When it stops applying, if the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    /// Past `expires` at the evaluation: it excepted nothing and needs renewing or removing.
    #[serde(default)]
    pub expired: bool,
}

/// What the agent found installed: which policy engines and sources the checks could read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostureSources {
    pub gatekeeper: bool,
    pub cilium: bool,
    pub calico: bool,
    pub trivy: bool,
    pub secrets_store_csi: bool,
    pub external_secrets: bool,
}

/// One cluster's posture, as an agent sends it (`POST /api/v1/agents/{cluster}/posture`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostureReport {
    pub cluster: String,
    pub evaluated_at: Timestamp,
    /// How long the evaluation took (listing included), in milliseconds of real time.
    pub duration_ms: u64,
    /// The cluster's minor version the Pod Security Standards were evaluated at ("latest").
    pub kubernetes_minor: u32,
    /// One per control, in [`Control::ALL`] order.
    pub controls: Vec<ControlCoverage>,
    /// Per rule counts, complete.
    pub rules: Vec<RuleCount>,
    /// The top findings per control: most severe first, then the most objects.
    pub findings: Vec<Finding>,
    pub exceptions: Vec<AppliedException>,
    pub sources: PostureSources,
}

impl PostureReport {
    pub fn control(&self, control: Control) -> Option<&ControlCoverage> {
        self.controls.iter().find(|c| c.control == control)
    }

    /// The findings the report carries for one control.
    pub fn findings_for(&self, control: Control) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.control == control)
    }
}

/// Bounds on a report's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostureLimits {
    pub findings_per_control: usize,
}

impl Default for PostureLimits {
    fn default() -> Self {
        PostureLimits {
            findings_per_control: 200,
        }
    }
}

/// Orders findings for the top-N cut: most severe, then most objects, then by object, rule
/// and field so that the cut is the same on every run.
pub fn finding_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.severity
        .cmp(&a.severity)
        .then(b.count.cmp(&a.count))
        .then_with(|| a.object.cmp(&b.object))
        .then_with(|| a.rule.cmp(&b.rule))
        .then_with(|| a.field_path.cmp(&b.field_path))
}

/// Keeps the top `limits.findings_per_control` findings of each control, in
/// [`finding_order`], controls in [`Control::ALL`] order.
pub fn top_findings(mut findings: Vec<Finding>, limits: PostureLimits) -> Vec<Finding> {
    findings.sort_by(|a, b| a.control.cmp(&b.control).then_with(|| finding_order(a, b)));
    let mut out = Vec::new();
    let mut current: Option<(Control, usize)> = None;
    for f in findings {
        let n = match current {
            Some((c, n)) if c == f.control => n,
            _ => 0,
        };
        current = Some((f.control, n + 1));
        if n < limits.findings_per_control {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn targets_compare_in_integers() {
        let above95 = Target::above(95.0);
        assert!(!above95.met(19, 20), "95% is not above 95%");
        assert!(above95.met(96, 100));
        assert!(above95.met(0, 0), "nothing eligible");
        let all = Target::at_least(100.0);
        assert!(all.met(5, 5));
        assert!(!all.met(999_999, 1_000_000));
        let above98 = Target::above(98.0);
        assert!(!above98.met(98, 100));
        assert!(above98.met(981, 1000));
    }

    #[test]
    fn control_names_round_trip() {
        for c in Control::ALL {
            assert_eq!(Control::parse(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(Control::parse("netpol"), None);
    }

    fn finding(control: Control, severity: Severity, count: u64, name: &str) -> Finding {
        Finding {
            control,
            rule: "r".into(),
            severity,
            object: ObjectRef::new("Deployment", "ns", name),
            field_path: String::new(),
            message: String::new(),
            count,
            excepted: None,
        }
    }

    #[test]
    fn top_findings_keep_the_worst_per_control() {
        let fs = vec![
            finding(Control::Secrets, Severity::Low, 9, "a"),
            finding(Control::Rbac, Severity::High, 1, "b"),
            finding(Control::Secrets, Severity::High, 1, "c"),
            finding(Control::Secrets, Severity::High, 5, "d"),
            finding(Control::Rbac, Severity::Critical, 1, "e"),
        ];
        let top = top_findings(
            fs,
            PostureLimits {
                findings_per_control: 2,
            },
        );
        let names: Vec<_> = top.iter().map(|f| f.object.name.as_str()).collect();
        assert_eq!(names, ["e", "b", "d", "c"]);
    }

    #[test]
    fn coverage_counts_excepted_units() {
        let mut c = ControlCoverage::new(Control::NetworkPolicy);
        c.eligible = 100;
        c.covered = 94;
        c.excepted = 2;
        assert_eq!(c.percent(), Some(96.0));
        assert!(c.meets_target());
        c.excepted = 1;
        assert!(!c.meets_target());
        assert!(!c.complete());
    }
}
