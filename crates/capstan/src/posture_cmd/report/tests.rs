#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use capstan_core::posture::fleet::FleetAccumulator;
use capstan_core::posture::report::{
    Control, ControlCoverage, Finding, ObjectRef, RuleCount, Severity,
};
use capstan_hub::api::{ClusterControl, ClusterPosture, FindingList, PostureView};
use capstan_hub::store::ClusterFinding;
use jiff::Timestamp;

use super::{grouped, percent, table};
use crate::posture_cmd::findings;

fn coverage(control: Control, eligible: u64, covered: u64, excepted: u64) -> ControlCoverage {
    let mut c = ControlCoverage::new(control);
    c.eligible = eligible;
    c.covered = covered;
    c.excepted = excepted;
    c.findings = eligible - covered;
    c
}

fn cluster(name: &str, controls: &[ControlCoverage]) -> ClusterPosture {
    ClusterPosture {
        cluster: name.to_string(),
        labels: BTreeMap::new(),
        evaluated_at: "2026-03-10T00:00:00.25Z".parse::<Timestamp>().unwrap(),
        received_at: "2026-03-10T00:00:01Z".parse::<Timestamp>().unwrap(),
        kubernetes_minor: 32,
        controls: controls.iter().map(ClusterControl::from).collect(),
    }
}

fn rule(name: &str, severity: Severity, findings: u64) -> RuleCount {
    RuleCount {
        control: Control::PodSecurity,
        rule: name.to_string(),
        severity,
        findings,
        excepted: 0,
    }
}

/// Clusters a and b (the hub tests' figures) and `rules` rules in a.
fn view(rules: usize) -> PostureView {
    let a = [
        coverage(Control::Rbac, 10, 10, 0),
        coverage(Control::NetworkPolicy, 20, 19, 0),
        coverage(Control::PodSecurity, 20, 18, 2),
        coverage(Control::Secrets, 40, 40, 0),
        coverage(Control::ImageScanning, 1000, 999, 0),
    ];
    let b = [
        coverage(Control::Rbac, 8, 6, 2),
        coverage(Control::NetworkPolicy, 3000, 3000, 0),
        coverage(Control::PodSecurity, 30, 27, 0),
        coverage(Control::Secrets, 0, 0, 0),
    ];
    let a_rules: Vec<RuleCount> = (0..rules)
        .map(|i| rule(&format!("pss.rule-{i:02}"), Severity::High, 100 - i as u64))
        .collect();
    let mut acc = FleetAccumulator::new();
    acc.add(&a, &a_rules);
    acc.add(&b, &[]);
    PostureView {
        fleet: acc.finish(),
        clusters: vec![cluster("a", &a), cluster("b", &b)],
        clusters_without_report: vec!["silent".to_string()],
    }
}

/// The whitespace-separated cells of the line starting with `first`.
fn cells<'a>(text: &'a str, first: &str) -> Vec<&'a str> {
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no line for {first} in\n{text}"));
    line.split_whitespace().collect()
}

#[test]
fn numbers_are_grouped_and_percentages_cut() {
    let cases = [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (1_234_567, "1,234,567"),
    ];
    for (n, text) in cases {
        assert_eq!(grouped(n), text);
    }
    assert_eq!(percent(999_999, 1_000_000), "99.9%", "never 100.0%");
    assert_eq!(percent(2, 3), "66.6%");
    assert_eq!(percent(5, 5), "100.0%");
    assert_eq!(percent(0, 0), "-");
}

#[test]
fn the_fleet_table_has_a_row_per_control_against_its_target() {
    let text = table(&view(3));
    assert!(text.starts_with("Fleet: 2 clusters reporting\n"), "{text}");
    let header: Vec<_> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "CONTROL", "UNIT", "COVERED", "COVERAGE", "TARGET", "MET", "CLUSTERS", "MEETING",
            "EXCEPTED", "FINDINGS"
        ]
    );
    // RBAC counts clusters: a covered, b through exceptions.
    assert_eq!(
        cells(&text, "rbac"),
        [
            "rbac", "clusters", "2/2", "100.0%", "100%", "yes", "2/2", "1", "2"
        ]
    );
    // 3,019 of 3,020 namespaces: above 95%; a alone is not.
    assert_eq!(
        cells(&text, "network-policy"),
        [
            "network-policy",
            "namespaces",
            "3,019/3,020",
            "99.9%",
            ">95%",
            "yes",
            "1/2",
            "0",
            "1"
        ]
    );
    assert_eq!(
        cells(&text, "pod-security"),
        [
            "pod-security",
            "namespaces",
            "47/50",
            "94.0%",
            "100%",
            "NO",
            "1/2",
            "2",
            "5"
        ]
    );
    // b reports no image scanning: one cluster reporting the control.
    assert_eq!(
        cells(&text, "image-scanning"),
        [
            "image-scanning",
            "containers",
            "999/1,000",
            "99.9%",
            ">98%",
            "yes",
            "1/1",
            "0",
            "1"
        ]
    );
}

#[test]
fn clusters_show_each_control_with_marks_below_target() {
    let text = table(&view(3));
    assert_eq!(
        cells(&text, "CLUSTER"),
        [
            "CLUSTER",
            "RBAC",
            "NETWORK-POLICY",
            "POD-SECURITY",
            "SECRETS",
            "IMAGE-SCANNING",
            "FINDINGS",
            "K8S",
            "EVALUATED"
        ]
    );
    assert_eq!(
        cells(&text, "a"),
        [
            "a",
            "100.0%",
            "95.0%*",
            "100.0%",
            "100.0%",
            "99.9%",
            "4",
            "1.32",
            "2026-03-10T00:00:00Z"
        ]
    );
    // Nothing eligible for secrets, no image scanning reported.
    assert_eq!(
        cells(&text, "b"),
        [
            "b",
            "100.0%",
            "100.0%",
            "90.0%*",
            "-",
            "-",
            "5",
            "1.32",
            "2026-03-10T00:00:00Z"
        ]
    );
    assert!(text.contains(
        "* below the control's target (rbac 100%, network-policy >95%, pod-security 100%, \
         secrets 100%, image-scanning >98%)\n"
    ));
    assert!(text.contains("no posture report from 1 cluster (not in the figures): silent\n"));
    // The digits of a column line up whether or not a cell is marked.
    let a = text.lines().find(|l| l.starts_with("a ")).unwrap();
    let b = text.lines().find(|l| l.starts_with("b ")).unwrap();
    let a_digits_end = a.find("95.0%*").unwrap() + 5;
    let b_digits_end = b.match_indices("100.0%").nth(1).unwrap().0 + 6;
    assert_eq!(a_digits_end, b_digits_end, "\n{a}\n{b}");
}

#[test]
fn the_top_rules_are_the_first_ten() {
    let text = table(&view(12));
    assert!(text.contains("Top rules (10 of 12):\n"), "{text}");
    assert_eq!(
        cells(&text, "RULE"),
        ["RULE", "SEVERITY", "FINDINGS", "EXCEPTED", "CLUSTERS"]
    );
    assert_eq!(
        cells(&text, "pss.rule-00"),
        ["pss.rule-00", "high", "100", "0", "1"]
    );
    assert!(text.contains("pss.rule-09"));
    assert!(!text.contains("pss.rule-10"));
}

#[test]
fn an_empty_fleet_says_so() {
    let view = PostureView {
        fleet: FleetAccumulator::new().finish(),
        clusters: Vec::new(),
        clusters_without_report: (0..25).map(|i| format!("c{i}")).collect(),
    };
    let text = table(&view);
    assert!(text.starts_with("No posture reports.\n"));
    assert!(text.contains("no posture report from 25 clusters (not in the figures): c0, c1,"));
    assert!(text.ends_with("c19 and 5 more\n"), "{text}");
}

fn finding(cluster: &str, rule: &str, severity: Severity, object: ObjectRef) -> ClusterFinding {
    ClusterFinding {
        cluster: cluster.to_string(),
        finding: Finding {
            control: Control::PodSecurity,
            rule: rule.to_string(),
            severity,
            object,
            field_path: String::new(),
            message: format!("{rule} found"),
            count: 1,
            excepted: None,
        },
    }
}

#[test]
fn findings_list_rule_object_field_and_exception_with_the_total() {
    let mut privileged = finding(
        "a",
        "pss.privileged",
        Severity::High,
        ObjectRef::new("Deployment", "shop", "web"),
    );
    privileged.finding.field_path = "spec.containers[0].securityContext.privileged".into();
    privileged.finding.count = 1200;
    let mut excepted = finding(
        "b",
        "pss.namespace-not-enforced",
        Severity::Medium,
        ObjectRef::new("Namespace", "", "legacy"),
    );
    excepted.finding.excepted = Some("legacy apps".into());
    let list = FindingList {
        findings: vec![privileged, excepted],
        shown: 2,
        total: 1234,
    };
    let text = findings::table(&list, true);
    assert_eq!(
        cells(&text, "CLUSTER"),
        [
            "CLUSTER", "SEVERITY", "RULE", "OBJECT", "FIELD", "COUNT", "EXCEPTED", "MESSAGE"
        ]
    );
    assert_eq!(
        cells(&text, "a"),
        [
            "a",
            "high",
            "pss.privileged",
            "Deployment/shop/web",
            "spec.containers[0].securityContext.privileged",
            "1,200",
            "-",
            "pss.privileged",
            "found"
        ]
    );
    assert_eq!(
        cells(&text, "b"),
        [
            "b",
            "medium",
            "pss.namespace-not-enforced",
            "Namespace/legacy",
            "-",
            "1",
            "legacy",
            "apps",
            "pss.namespace-not-enforced",
            "found"
        ]
    );
    assert!(text.ends_with(
        "showing 2 of 1,234 findings (use --limit for more; reports carry each control's top \
         findings)\n"
    ));

    // One cluster asked for: no CLUSTER column; everything shown: no hint.
    let one = FindingList {
        findings: list.findings[..1].to_vec(),
        shown: 1,
        total: 1,
    };
    let text = findings::table(&one, false);
    assert_eq!(cells(&text, "SEVERITY")[0], "SEVERITY");
    assert_eq!(cells(&text, "high")[1], "pss.privileged");
    assert!(text.ends_with("showing 1 of 1 finding\n"));
    let none = FindingList {
        findings: Vec::new(),
        shown: 0,
        total: 0,
    };
    assert_eq!(
        findings::table(&none, true),
        "No findings.\nshowing 0 of 0 findings\n"
    );
}
