//! Gatekeeper constraints and their audit status (reference D.5,
//! open-policy-agent/gatekeeper `website/docs/audit.md`): every listed violation becomes a
//! finding of the RBAC (policy) control.
//!
//! `status.violations` holds only the most recent audit's first violations, capped by the
//! audit's `--constraint-violations-limit` (20 by default), while `status.totalViolations`
//! counts them all; the `gatekeeperViolations` figure is therefore the sum of
//! `totalViolations`, and can exceed the findings.
//!
//! Violations do not change RBAC coverage, which is about who can do what: a constraint
//! violation is a policy outcome reported beside it.

use serde::Deserialize;

use super::pod::ObjectMeta;
use super::rbac::nullable;
use super::report::{Control, Finding, ObjectRef, Severity};

pub const RULE_AUDIT_VIOLATION: &str = "gatekeeper.audit-violation";

/// A constraint: any kind of the `constraints.gatekeeper.sh` group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ConstraintInput {
    #[serde(deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "nullable")]
    pub spec: ConstraintSpec,
    #[serde(deserialize_with = "nullable")]
    pub status: ConstraintStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConstraintSpec {
    /// `deny` when unset (Gatekeeper's default).
    pub enforcement_action: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConstraintStatus {
    pub audit_timestamp: Option<String>,
    pub total_violations: Option<u64>,
    #[serde(deserialize_with = "nullable")]
    pub violations: Vec<ConstraintViolation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConstraintViolation {
    pub enforcement_action: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub group: String,
    #[serde(deserialize_with = "nullable")]
    pub version: String,
    #[serde(deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub message: String,
}

/// What the constraints add to the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatekeeperSummary {
    pub constraints: u64,
    /// The sum of `status.totalViolations` (complete, unlike the listed violations).
    pub violations: u64,
    pub findings: Vec<Finding>,
}

fn severity(action: &str) -> Severity {
    match action {
        "warn" => Severity::Medium,
        "dryrun" => Severity::Low,
        // `deny`, and any action we do not know, as the strictest.
        _ => Severity::High,
    }
}

/// One finding per listed violation.
pub fn gatekeeper_findings(constraints: &[ConstraintInput]) -> GatekeeperSummary {
    let mut out = GatekeeperSummary::default();
    for c in constraints {
        out.constraints += 1;
        out.violations += c
            .status
            .total_violations
            .unwrap_or(c.status.violations.len() as u64);
        let constraint_action = c.spec.enforcement_action.as_deref().unwrap_or("deny");
        for v in &c.status.violations {
            let action = v.enforcement_action.as_deref().unwrap_or(constraint_action);
            out.findings.push(Finding {
                control: Control::Rbac,
                rule: RULE_AUDIT_VIOLATION.to_string(),
                severity: severity(action),
                object: ObjectRef::new(&v.kind, &v.namespace, &v.name),
                field_path: String::new(),
                message: format!("{}/{} ({action}): {}", c.kind, c.metadata.name, v.message),
                count: 1,
                excepted: None,
            });
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn violations_become_findings_and_totals_sum() {
        let constraints: Vec<ConstraintInput> = serde_json::from_value(json!([
            {
                "apiVersion": "constraints.gatekeeper.sh/v1beta1",
                "kind": "K8sRequiredLabels",
                "metadata": {"name": "ns-must-have-owner"},
                "spec": {"match": {"kinds": [{"apiGroups": [""], "kinds": ["Namespace"]}]}},
                "status": {
                    "auditTimestamp": "2026-11-30T02:00:00Z",
                    "totalViolations": 25,
                    "violations": [
                        {"enforcementAction": "deny", "kind": "Namespace", "name": "scratch", "message": "missing owner", "version": "v1"},
                        {"enforcementAction": "warn", "kind": "Namespace", "name": "tmp", "message": "missing owner", "version": "v1"}
                    ]
                }
            },
            {
                "kind": "K8sAllowedRepos",
                "metadata": {"name": "repos"},
                "spec": {"enforcementAction": "dryrun"},
                "status": {"violations": [{"kind": "Pod", "namespace": "a", "name": "p", "message": "bad repo", "group": "", "version": "v1"}]}
            },
            {"kind": "K8sNoStatusYet", "metadata": {"name": "fresh"}, "status": null}
        ]))
        .unwrap();
        let s = gatekeeper_findings(&constraints);
        assert_eq!(s.constraints, 3);
        assert_eq!(
            s.violations,
            25 + 1,
            "listed count stands in for a missing total"
        );
        let got: Vec<(Severity, String, String)> = s
            .findings
            .iter()
            .map(|f| (f.severity, f.object.to_string(), f.message.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Severity::High,
                    "Namespace/scratch".to_string(),
                    "K8sRequiredLabels/ns-must-have-owner (deny): missing owner".to_string()
                ),
                (
                    Severity::Medium,
                    "Namespace/tmp".to_string(),
                    "K8sRequiredLabels/ns-must-have-owner (warn): missing owner".to_string()
                ),
                (
                    Severity::Low,
                    "Pod/a/p".to_string(),
                    "K8sAllowedRepos/repos (dryrun): bad repo".to_string()
                ),
            ]
        );
        assert!(s.findings.iter().all(|f| f.rule == RULE_AUDIT_VIOLATION));
    }
}
