//! The end of an evaluation: findings merged per (rule, workload, field), exceptions
//! applied, coverage counted per control, and the report cut to its bounds.
//!
//! Units and coverage per control:
//! - RBAC: every namespace (reference D.7). A namespace is covered when no RBAC check finds
//!   anything in it; a ClusterRoleBinding's finding counts against every namespace, a
//!   RoleBinding's against its own. Gatekeeper violations are reported under this control
//!   but do not change its coverage, which is about who can do what.
//! - Network policy: namespaces not exempt; see [`super::super::netpol`].
//! - Pod Security: namespaces not exempt (`PssDefaults::exempt_namespaces`); covered when the
//!   effective enforce level is baseline or restricted (reference D.1). Pod findings are
//!   reported beside it and do not change it.
//! - Secrets: top-level workloads referencing a secret; covered when compliant.
//! - Image scanning: running containers (pods x containers); covered when a fresh report
//!   for the running image exists. Critical vulnerabilities are reported, not uncovered.
//!
//! A unit that is not covered but whose every finding is excepted counts as excepted.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::{PostureEvaluator, Workload};
use crate::posture::gatekeeper::gatekeeper_findings;
use crate::posture::pss::Level;
use crate::posture::rbac::{RbacObjects, rbac_findings};
use crate::posture::report::{
    AppliedException, Control, ControlCoverage, Finding, ObjectRef, PostureReport, RuleCount,
    Severity, top_findings,
};

pub const RULE_PSS_NOT_ENFORCED: &str = "pss.not-enforced";
pub const RULE_NAMESPACE_UNCOVERED: &str = "netpol.namespace-uncovered";
pub const RULE_WORKLOAD_UNSELECTED: &str = "netpol.workload-unselected";
pub const RULE_NOT_SCANNED: &str = "images.not-scanned";
pub const RULE_STALE_REPORT: &str = "images.stale-report";
pub const RULE_IMAGE_MISMATCH: &str = "images.image-mismatch";
pub const RULE_CRITICAL: &str = "images.critical-vulnerabilities";

/// Findings merged by (control, rule, object, field): the pods of a Deployment's several
/// ReplicaSets add up in one finding.
#[derive(Default)]
struct Findings {
    list: Vec<Finding>,
    index: FxHashMap<(Control, String, ObjectRef, String), usize>,
}

impl Findings {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        control: Control,
        rule: &str,
        severity: Severity,
        object: &ObjectRef,
        field_path: &str,
        message: &str,
        count: u64,
    ) {
        let key = (
            control,
            rule.to_string(),
            object.clone(),
            field_path.to_string(),
        );
        if let Some(&i) = self.index.get(&key) {
            let f = &mut self.list[i];
            f.count += count;
            f.severity = f.severity.max(severity);
            return;
        }
        self.index.insert(key, self.list.len());
        self.list.push(Finding {
            control,
            rule: rule.to_string(),
            severity,
            object: object.clone(),
            field_path: field_path.to_string(),
            message: message.to_string(),
            count,
            excepted: None,
        });
    }
}

/// Whether a unit's findings are all excepted (`Some(true)`), some are not (`Some(false)`),
/// or it has none (`None`).
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    open: bool,
    excepted: bool,
}

impl Flags {
    fn note(&mut self, f: &Finding) {
        if f.excepted.is_some() {
            self.excepted = true;
        } else {
            self.open = true;
        }
    }

    fn merge(self, other: Flags) -> Flags {
        Flags {
            open: self.open || other.open,
            excepted: self.excepted || other.excepted,
        }
    }

    /// Counts an uncovered unit: excepted when it has findings and all are excepted.
    fn count_uncovered(self, c: &mut ControlCoverage) {
        if self.excepted && !self.open {
            c.excepted += 1;
        }
    }
}

/// `26h`, or `3d2h` past two days.
fn format_hours(d: jiff::SignedDuration) -> String {
    let hours = d.as_secs().max(0) / 3600;
    if hours >= 48 {
        format!("{}d{}h", hours / 24, hours % 24)
    } else {
        format!("{hours}h")
    }
}

fn detail(c: &mut ControlCoverage, key: &str, value: u64) {
    c.details.insert(key.to_string(), value);
}

impl PostureEvaluator {
    /// Ends the evaluation. `duration_ms` is the real time the evaluation took (the caller
    /// measures it: the core reads no clock).
    pub fn finish(self, duration_ms: u64) -> PostureReport {
        let mut findings = Findings::default();
        let mut coverage: BTreeMap<Control, ControlCoverage> = Control::ALL
            .into_iter()
            .map(|c| (c, ControlCoverage::new(c)))
            .collect();
        self.rbac(&mut findings, &mut coverage);
        self.pod_findings(&mut findings);
        self.namespace_findings(&mut findings, &mut coverage);

        // Exceptions.
        let exceptions = &self.settings.exceptions;
        let mut matched = vec![0u64; exceptions.exceptions.len()];
        for f in &mut findings.list {
            if let Some(i) = exceptions.matching_index(&self.settings.cluster, f, self.settings.now)
            {
                f.excepted = Some(exceptions.exceptions[i].reason.clone());
                matched[i] += 1;
            }
        }
        self.count_coverage(&findings.list, &mut coverage);

        // Totals and rule counts over every finding.
        let mut rules: BTreeMap<(Control, String), RuleCount> = BTreeMap::new();
        for f in &findings.list {
            let c = coverage.get_mut(&f.control);
            if let Some(c) = c {
                c.findings += 1;
                c.excepted_findings += u64::from(f.excepted.is_some());
            }
            let r = rules
                .entry((f.control, f.rule.clone()))
                .or_insert_with(|| RuleCount {
                    control: f.control,
                    rule: f.rule.clone(),
                    severity: f.severity,
                    findings: 0,
                    excepted: 0,
                });
            r.severity = r.severity.max(f.severity);
            r.findings += 1;
            r.excepted += u64::from(f.excepted.is_some());
        }
        let applied = exceptions
            .exceptions
            .iter()
            .zip(matched)
            .map(|(e, matched)| AppliedException {
                name: e.name.clone(),
                reason: e.reason.clone(),
                matched,
                expires: e.expires,
                expired: e.is_expired(self.settings.now),
            })
            .collect();
        PostureReport {
            cluster: self.settings.cluster.clone(),
            evaluated_at: self.settings.now,
            duration_ms,
            kubernetes_minor: self.settings.kubernetes_minor,
            controls: coverage.into_values().collect(),
            rules: rules.into_values().collect(),
            findings: top_findings(findings.list, self.settings.limits),
            exceptions: applied,
            sources: self.objects.sources.clone(),
        }
    }

    fn rbac(&self, out: &mut Findings, coverage: &mut BTreeMap<Control, ControlCoverage>) {
        let o = &self.objects;
        // Neither kind is merged: an RBAC finding is one (binding, subject, role rule), and
        // two Gatekeeper violations of one object differ by their messages. No later finding
        // is of this control, so the merge index need not know them.
        out.list.extend(rbac_findings(RbacObjects {
            roles: &o.roles,
            cluster_roles: &o.cluster_roles,
            role_bindings: &o.role_bindings,
            cluster_role_bindings: &o.cluster_role_bindings,
        }));
        let gatekeeper = gatekeeper_findings(&o.constraints);
        out.list.extend(gatekeeper.findings);
        if let Some(c) = coverage.get_mut(&Control::Rbac) {
            detail(c, "gatekeeperConstraints", gatekeeper.constraints);
            detail(c, "gatekeeperViolations", gatekeeper.violations);
        }
    }

    fn pod_findings(&self, out: &mut Findings) {
        for e in &self.entries {
            let object = &self.workloads[e.workload as usize].object;
            for f in &e.pss {
                out.add(
                    Control::PodSecurity,
                    &f.rule,
                    f.severity,
                    object,
                    &f.field_path,
                    &f.message,
                    e.pods,
                );
            }
            for f in &e.secrets {
                out.add(
                    Control::Secrets,
                    &f.rule,
                    f.severity,
                    object,
                    &f.field_path,
                    &f.message,
                    e.pods,
                );
            }
            for c in &e.containers {
                let path = format!("spec.containers[{}].image", c.index);
                let stale = match &c.stale {
                    Some((report, age)) => format!(
                        "report {report} is {} old, past the {} TTL",
                        format_hours(*age),
                        format_hours(self.settings.scan_ttl)
                    ),
                    None => String::new(),
                };
                let mismatch = match &c.mismatch_scanned {
                    Some(scanned) => format!("the report scanned {scanned}, not the running image"),
                    None => String::new(),
                };
                let statuses = [
                    (
                        RULE_NOT_SCANNED,
                        Severity::Medium,
                        c.missing_pods,
                        "no vulnerability report",
                    ),
                    (
                        RULE_STALE_REPORT,
                        Severity::Low,
                        c.stale_pods,
                        stale.as_str(),
                    ),
                    (
                        RULE_IMAGE_MISMATCH,
                        Severity::Medium,
                        c.mismatch_pods,
                        mismatch.as_str(),
                    ),
                ];
                for (rule, severity, count, what) in statuses {
                    if count > 0 {
                        let message = format!("container {} ({}): {what}", c.name, c.image);
                        out.add(
                            Control::ImageScanning,
                            rule,
                            severity,
                            object,
                            &path,
                            &message,
                            count,
                        );
                    }
                }
                if c.critical_pods > 0 {
                    let message = format!(
                        "container {} ({}): {} critical vulnerabilities",
                        c.name, c.image, c.critical_max
                    );
                    out.add(
                        Control::ImageScanning,
                        RULE_CRITICAL,
                        Severity::Critical,
                        object,
                        &path,
                        &message,
                        c.critical_pods,
                    );
                }
            }
        }
    }

    /// Namespace findings (PSS not enforced, network policy uncovered) and the coverage
    /// figures that need no finding.
    fn namespace_findings(
        &self,
        out: &mut Findings,
        coverage: &mut BTreeMap<Control, ControlCoverage>,
    ) {
        let (mut restricted, mut baseline, mut privileged, mut audit_only) = (0, 0, 0, 0);
        let (mut any_policy, mut default_deny, mut workloads_unselected) = (0, 0, 0);
        for ns in &self.namespaces {
            let object = ObjectRef::new("Namespace", "", &ns.name);
            if !ns.pss_exempt {
                let p = &ns.policy;
                match p.enforce.level {
                    Level::Restricted => restricted += 1,
                    Level::Baseline => baseline += 1,
                    Level::Privileged => {
                        privileged += 1;
                        let watched = p.audit.level.max(p.warn.level);
                        let message = if watched > Level::Privileged {
                            audit_only += 1;
                            format!(
                                "Pod Security is audit/warn-only: enforce privileged, audit {}, warn {}",
                                p.audit.level, p.warn.level
                            )
                        } else {
                            "Pod Security is not enforced: the effective enforce level is privileged"
                                .to_string()
                        };
                        out.add(
                            Control::PodSecurity,
                            RULE_PSS_NOT_ENFORCED,
                            Severity::High,
                            &object,
                            "metadata.labels[pod-security.kubernetes.io/enforce]",
                            &message,
                            1,
                        );
                    }
                }
            }
            if ns.netpol_exempt {
                continue;
            }
            if self.netpol.has_any_policy(&ns.name) {
                any_policy += 1;
            }
            if self.netpol.default_deny(&ns.name).is_some() {
                default_deny += 1;
                continue;
            }
            let unselected: Vec<&Workload> = ns
                .workloads
                .iter()
                .map(|&w| &self.workloads[w as usize])
                .filter(|w| !w.selected)
                .collect();
            if !ns.workloads.is_empty() && unselected.is_empty() {
                continue;
            }
            let message = if ns.workloads.is_empty() {
                "no default-deny policy and no running workload: nothing protects the pods it will run"
                    .to_string()
            } else {
                format!(
                    "no default-deny policy, and {} of {} running workloads are selected by no policy",
                    unselected.len(),
                    ns.workloads.len()
                )
            };
            out.add(
                Control::NetworkPolicy,
                RULE_NAMESPACE_UNCOVERED,
                Severity::Medium,
                &object,
                "",
                &message,
                1,
            );
            for w in unselected {
                workloads_unselected += 1;
                out.add(
                    Control::NetworkPolicy,
                    RULE_WORKLOAD_UNSELECTED,
                    Severity::Low,
                    &w.object,
                    "spec.template.metadata.labels",
                    "no NetworkPolicy, Cilium or Calico policy selects its pods",
                    1,
                );
            }
        }
        if let Some(c) = coverage.get_mut(&Control::PodSecurity) {
            detail(c, "namespacesEnforceRestricted", restricted);
            detail(c, "namespacesEnforceBaseline", baseline);
            detail(c, "namespacesEnforcePrivileged", privileged);
            detail(c, "namespacesAuditOrWarnOnly", audit_only);
            let (mut pr, mut pb, mut pp, mut violating) = (0, 0, 0, 0);
            for e in &self.entries {
                let ns = self.workloads[e.workload as usize].namespace;
                if self.namespaces[ns as usize].pss_exempt {
                    continue;
                }
                match e.highest {
                    Level::Restricted => pr += e.pods,
                    Level::Baseline => pb += e.pods,
                    Level::Privileged => pp += e.pods,
                }
                if e.violates_enforce {
                    violating += e.pods;
                }
            }
            detail(c, "podsRestricted", pr);
            detail(c, "podsBaseline", pb);
            detail(c, "podsPrivileged", pp);
            detail(c, "podsViolatingEnforce", violating);
        }
        if let Some(c) = coverage.get_mut(&Control::NetworkPolicy) {
            detail(c, "namespacesWithAnyPolicy", any_policy);
            detail(c, "namespacesDefaultDeny", default_deny);
            detail(c, "workloadsUnselected", workloads_unselected);
        }
    }

    fn count_coverage(
        &self,
        findings: &[Finding],
        coverage: &mut BTreeMap<Control, ControlCoverage>,
    ) {
        // Findings by unit.
        let mut cluster_rbac = Flags::default();
        let mut ns_flags: FxHashMap<(Control, &str), Flags> = FxHashMap::default();
        let mut workload_flags: FxHashMap<&ObjectRef, Flags> = FxHashMap::default();
        let mut image_excepted = 0u64;
        for f in findings {
            match f.control {
                Control::Rbac if f.rule.starts_with("rbac.") => {
                    if f.object.namespace.is_empty() {
                        cluster_rbac.note(f);
                    } else {
                        ns_flags
                            .entry((Control::Rbac, f.object.namespace.as_str()))
                            .or_default()
                            .note(f);
                    }
                }
                Control::Rbac => {}
                Control::NetworkPolicy | Control::PodSecurity => {
                    let ns = if f.object.kind == "Namespace" {
                        f.object.name.as_str()
                    } else {
                        f.object.namespace.as_str()
                    };
                    // Pod findings do not decide a namespace's Pod Security coverage.
                    if f.control == Control::NetworkPolicy || f.rule == RULE_PSS_NOT_ENFORCED {
                        ns_flags.entry((f.control, ns)).or_default().note(f);
                    }
                }
                Control::Secrets => workload_flags.entry(&f.object).or_default().note(f),
                Control::ImageScanning => {
                    if f.rule != RULE_CRITICAL && f.excepted.is_some() {
                        image_excepted += f.count;
                    }
                }
            }
        }
        let flags =
            |control: Control, ns: &str| ns_flags.get(&(control, ns)).copied().unwrap_or_default();
        for ns in &self.namespaces {
            let name = ns.name.as_str();
            if let Some(c) = coverage.get_mut(&Control::Rbac) {
                c.eligible += 1;
                let f = cluster_rbac.merge(flags(Control::Rbac, name));
                if !f.open && !f.excepted {
                    c.covered += 1;
                } else {
                    f.count_uncovered(c);
                }
            }
            if !ns.pss_exempt
                && let Some(c) = coverage.get_mut(&Control::PodSecurity)
            {
                c.eligible += 1;
                if ns.policy.enforce.level >= Level::Baseline {
                    c.covered += 1;
                } else {
                    flags(Control::PodSecurity, name).count_uncovered(c);
                }
            }
            if !ns.netpol_exempt
                && let Some(c) = coverage.get_mut(&Control::NetworkPolicy)
            {
                c.eligible += 1;
                let f = flags(Control::NetworkPolicy, name);
                if !f.open && !f.excepted {
                    c.covered += 1;
                } else {
                    f.count_uncovered(c);
                }
            }
        }
        if let Some(c) = coverage.get_mut(&Control::Secrets) {
            for w in &self.workloads {
                if !w.references_secrets {
                    continue;
                }
                c.eligible += 1;
                if w.secrets_compliant {
                    c.covered += 1;
                } else {
                    workload_flags
                        .get(&w.object)
                        .copied()
                        .unwrap_or_default()
                        .count_uncovered(c);
                }
            }
            let with_env = self.workloads.iter().filter(|w| w.secret_env).count() as u64;
            detail(c, "workloadsWithSecretEnv", with_env);
            detail(c, "secretsExternallyManaged", self.externally_managed_count);
            detail(c, "secretsUnmanaged", self.unmanaged_secrets.len() as u64);
        }
        if let Some(c) = coverage.get_mut(&Control::ImageScanning) {
            let (mut fresh, mut stale, mut mismatch, mut missing) = (0, 0, 0, 0);
            for e in &self.entries {
                for s in &e.containers {
                    fresh += s.fresh_pods;
                    stale += s.stale_pods;
                    mismatch += s.mismatch_pods;
                    missing += s.missing_pods;
                }
            }
            c.eligible = fresh + stale + mismatch + missing;
            c.covered = fresh;
            c.excepted = image_excepted;
            detail(c, "containersNotScanned", missing);
            detail(c, "containersStaleReport", stale);
            detail(c, "containersImageMismatch", mismatch);
            detail(c, "criticalVulnerabilities", self.critical_vulnerabilities);
            detail(c, "highVulnerabilities", self.high_vulnerabilities);
            detail(c, "imagesScanned", self.images_scanned.len() as u64);
        }
    }
}
