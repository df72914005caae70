//! Crafted posture reports whose counts agree with their findings, shared by the hub's
//! posture tests (the agent's real reports come from core's checks; the hub only needs their
//! shape and their arithmetic), a hub they are uploaded to, and history buckets compacted
//! for comparison. Every file that includes it includes `common` too.
#![allow(dead_code, clippy::unwrap_used)]

use capstan_core::posture::report::{
    AppliedException, Control, ControlCoverage, Finding, ObjectRef, PostureReport, PostureSources,
    RuleCount, Severity,
};
use std::collections::BTreeMap;

use axum::http::StatusCode;
use capstan_hub::store::PostureHistoryBucket;
use jiff::Timestamp;

use super::common::Hub;

/// 2026-03-10T00:00:00Z.
pub const T0: i64 = 1_773_100_800;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

pub fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap()
}

/// Builds a report: coverage per control, then findings (listed, counted in their control and
/// rule) and unlisted findings (counted only, as past the agent's top-N cut).
pub struct ReportBuilder {
    report: PostureReport,
}

pub fn report(cluster: &str, evaluated_at: i64) -> ReportBuilder {
    ReportBuilder {
        report: PostureReport {
            cluster: cluster.to_string(),
            evaluated_at: ts(evaluated_at),
            duration_ms: 1234,
            kubernetes_minor: 32,
            controls: Vec::new(),
            rules: Vec::new(),
            findings: Vec::new(),
            exceptions: Vec::new(),
            sources: PostureSources::default(),
        },
    }
}

/// A finding to list.
pub struct F<'a> {
    pub control: Control,
    pub rule: &'a str,
    pub severity: Severity,
    pub object: (&'a str, &'a str, &'a str),
    pub count: u64,
    pub excepted: Option<&'a str>,
}

impl<'a> F<'a> {
    pub fn new(control: Control, rule: &'a str, severity: Severity, kind: &'a str) -> Self {
        F {
            control,
            rule,
            severity,
            object: (kind, "", ""),
            count: 1,
            excepted: None,
        }
    }

    pub fn at(mut self, namespace: &'a str, name: &'a str) -> Self {
        self.object.1 = namespace;
        self.object.2 = name;
        self
    }

    pub fn count(mut self, count: u64) -> Self {
        self.count = count;
        self
    }

    pub fn excepted(mut self, reason: &'a str) -> Self {
        self.excepted = Some(reason);
        self
    }
}

impl ReportBuilder {
    /// One control's coverage; its findings start at 0 and grow with [`Self::finding`].
    pub fn control(mut self, control: Control, eligible: u64, covered: u64, excepted: u64) -> Self {
        let mut c = ControlCoverage::new(control);
        c.eligible = eligible;
        c.covered = covered;
        c.excepted = excepted;
        self.report.controls.push(c);
        self
    }

    /// The five controls at full coverage of `n` units each.
    pub fn all_covered(mut self, n: u64) -> Self {
        for c in Control::ALL {
            self = self.control(c, n, n, 0);
        }
        self
    }

    fn count(&mut self, control: Control, rule: &str, severity: Severity, n: u64, excepted: u64) {
        let c = self
            .report
            .controls
            .iter_mut()
            .find(|c| c.control == control)
            .unwrap_or_else(|| panic!("{control} has no coverage yet"));
        c.findings += n;
        c.excepted_findings += excepted;
        match self
            .report
            .rules
            .iter_mut()
            .find(|r| r.control == control && r.rule == rule)
        {
            Some(r) => {
                r.findings += n;
                r.excepted += excepted;
            }
            None => self.report.rules.push(RuleCount {
                control,
                rule: rule.to_string(),
                severity,
                findings: n,
                excepted,
            }),
        }
    }

    pub fn finding(mut self, f: F<'_>) -> Self {
        self.count(
            f.control,
            f.rule,
            f.severity,
            1,
            u64::from(f.excepted.is_some()),
        );
        self.report.findings.push(Finding {
            control: f.control,
            rule: f.rule.to_string(),
            severity: f.severity,
            object: ObjectRef::new(f.object.0, f.object.1, f.object.2),
            field_path: format!("spec.{}", f.rule),
            message: format!("{} on {}", f.rule, f.object.2),
            count: f.count,
            excepted: f.excepted.map(str::to_string),
        });
        self
    }

    /// Findings counted but not listed (past the report's top-N).
    pub fn unlisted(
        mut self,
        control: Control,
        rule: &str,
        severity: Severity,
        n: u64,
        excepted: u64,
    ) -> Self {
        self.count(control, rule, severity, n, excepted);
        self
    }

    pub fn exception(mut self, name: &str, reason: &str, matched: u64) -> Self {
        self.report.exceptions.push(AppliedException {
            name: name.to_string(),
            reason: reason.to_string(),
            matched,
            expires: None,
            expired: false,
        });
        self
    }

    pub fn build(self) -> PostureReport {
        self.report
    }
}

/// Cluster a: RBAC clean, 19/20 namespaces with policies (95%: not above 95), pod security
/// complete through 2 excepted namespaces, images 99/100.
pub fn cluster_a(evaluated_at: i64) -> PostureReport {
    report("a", evaluated_at)
        .control(Control::Rbac, 10, 10, 0)
        .control(Control::NetworkPolicy, 20, 19, 0)
        .control(Control::PodSecurity, 20, 18, 2)
        .control(Control::Secrets, 40, 40, 0)
        .control(Control::ImageScanning, 100, 99, 0)
        .finding(
            F::new(
                Control::NetworkPolicy,
                "netpol.namespace-uncovered",
                Severity::Medium,
                "Namespace",
            )
            .at("", "team-a"),
        )
        .finding(
            F::new(
                Control::PodSecurity,
                "pss.namespace-not-enforced",
                Severity::Medium,
                "Namespace",
            )
            .at("", "legacy-1")
            .excepted("legacy apps, until Q3"),
        )
        .finding(
            F::new(
                Control::PodSecurity,
                "pss.namespace-not-enforced",
                Severity::Medium,
                "Namespace",
            )
            .at("", "legacy-2")
            .excepted("legacy apps, until Q3"),
        )
        .finding(
            F::new(
                Control::ImageScanning,
                "images.not-scanned",
                Severity::Low,
                "Deployment",
            )
            .at("shop", "web"),
        )
        .exception("legacy", "legacy apps, until Q3", 2)
        .build()
}

/// Cluster b: RBAC complete only through exceptions, network policies everywhere, pod
/// security 27/30, one secret consumer excepted, images 190/200.
pub fn cluster_b(evaluated_at: i64) -> PostureReport {
    report("b", evaluated_at)
        .control(Control::Rbac, 8, 6, 2)
        .control(Control::NetworkPolicy, 30, 30, 0)
        .control(Control::PodSecurity, 30, 27, 0)
        .control(Control::Secrets, 10, 9, 1)
        .control(Control::ImageScanning, 200, 190, 0)
        .finding(
            F::new(
                Control::Rbac,
                "rbac.wildcard",
                Severity::High,
                "ClusterRole",
            )
            .at("", "ops")
            .excepted("break-glass"),
        )
        .finding(
            F::new(Control::Rbac, "rbac.wildcard", Severity::High, "Role")
                .at("ops", "ops")
                .excepted("break-glass"),
        )
        .finding(
            F::new(
                Control::PodSecurity,
                "pss.privileged",
                Severity::High,
                "Deployment",
            )
            .at("shop", "web")
            .count(3),
        )
        .finding(
            F::new(
                Control::PodSecurity,
                "pss.run-as-non-root",
                Severity::Medium,
                "Deployment",
            )
            .at("shop", "api")
            .count(2),
        )
        .unlisted(
            Control::PodSecurity,
            "pss.run-as-non-root",
            Severity::Medium,
            4,
            0,
        )
        .finding(
            F::new(
                Control::Secrets,
                "secrets.secret-in-env",
                Severity::Medium,
                "Deployment",
            )
            .at("shop", "api")
            .excepted("vendor image"),
        )
        .unlisted(
            Control::ImageScanning,
            "images.not-scanned",
            Severity::Low,
            10,
            0,
        )
        .build()
}

/// Cluster c: an admin binding (critical), 5/10 namespaces with policies (3 of the 5
/// findings listed, one excepted), nothing eligible for secrets.
pub fn cluster_c(evaluated_at: i64) -> PostureReport {
    report("c", evaluated_at)
        .control(Control::Rbac, 5, 3, 0)
        .control(Control::NetworkPolicy, 10, 5, 0)
        .control(Control::PodSecurity, 10, 10, 0)
        .control(Control::Secrets, 0, 0, 0)
        .control(Control::ImageScanning, 50, 50, 0)
        .finding(
            F::new(
                Control::Rbac,
                "rbac.cluster-admin-binding",
                Severity::Critical,
                "ClusterRoleBinding",
            )
            .at("", "ci-admin"),
        )
        .unlisted(
            Control::Rbac,
            "rbac.cluster-admin-binding",
            Severity::Critical,
            1,
            0,
        )
        .finding(
            F::new(
                Control::NetworkPolicy,
                "netpol.namespace-uncovered",
                Severity::Medium,
                "Namespace",
            )
            .at("", "ns-1"),
        )
        .finding(
            F::new(
                Control::NetworkPolicy,
                "netpol.namespace-uncovered",
                Severity::Medium,
                "Namespace",
            )
            .at("", "ns-2")
            .excepted("sandbox"),
        )
        .finding(
            F::new(
                Control::NetworkPolicy,
                "netpol.namespace-uncovered",
                Severity::Medium,
                "Namespace",
            )
            .at("", "ns-3"),
        )
        .unlisted(
            Control::NetworkPolicy,
            "netpol.namespace-uncovered",
            Severity::Medium,
            2,
            0,
        )
        .build()
}

/// (control, clusters, eligible, covered, excepted, findings)
pub type Sums = (Control, u64, u64, u64, u64, u64);

/// (bucket start in hours after T0, clusters in the bucket, its controls)
pub type Bucket = (i64, u64, Vec<Sums>);

pub fn compact(buckets: &[PostureHistoryBucket]) -> Vec<Bucket> {
    buckets
        .iter()
        .map(|b| {
            (
                (b.start.as_second() - T0) / HOUR,
                b.clusters,
                b.controls
                    .iter()
                    .map(|c| {
                        (
                            c.control, c.clusters, c.eligible, c.covered, c.excepted, c.findings,
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

/// a and b in production, c in dev, each uploading through the API.
pub async fn hub_with(reports: Vec<PostureReport>, now: i64) -> Hub {
    let hub = Hub::memory_at(ts(now)).await;
    let mut tokens = BTreeMap::new();
    for (cluster, env) in [("a", "production"), ("b", "production"), ("c", "dev")] {
        tokens.insert(cluster, hub.register_agent(cluster, env).await);
    }
    for r in reports {
        let answer = hub
            .send(
                "POST",
                &format!("/api/v1/agents/{}/posture", r.cluster),
                Some(&tokens[r.cluster.as_str()]),
                Some(serde_json::to_string(&r).unwrap()),
            )
            .await;
        assert_eq!(answer.code, StatusCode::OK, "{}", answer.text);
    }
    hub
}
