#![allow(clippy::unwrap_used)]

use super::super::report::{ObjectRef, Severity};
use super::*;
use crate::yaml_file::FieldError;

const HEAD: &str = "apiVersion: posture.toolkit.io/v1alpha1\nkind: PostureExceptions\n";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn finding(control: Control, rule: &str, kind: &str, ns: &str, name: &str) -> Finding {
    Finding {
        control,
        rule: rule.into(),
        severity: Severity::High,
        object: ObjectRef::new(kind, ns, name),
        field_path: String::new(),
        message: String::new(),
        count: 1,
        excepted: None,
    }
}

#[test]
fn parses_a_full_file() {
    let text = format!(
        "{HEAD}exceptions:
  - name: legacy-batch
    reason: Runs privileged until Q3
    control: pod-security
    rules: [pss.privileged]
    clusters: [\"prod-*\"]
    namespaces: [batch]
    objects: [\"Deployment/legacy-*\"]
    expires: 2027-01-01T00:00:00Z
  - name: all-netpol
    reason: lab
    control: network-policy
"
    );
    let ex = Exceptions::parse(&text).unwrap();
    assert_eq!(ex.exceptions.len(), 2);
    let e = &ex.exceptions[0];
    assert_eq!(e.control, Control::PodSecurity);
    assert_eq!(e.expires, Some(ts("2027-01-01T00:00:00Z")));
    assert!(ex.exceptions[1].rules.is_empty());
}

/// Every error names its field and its line.
fn check_error(body: &str, field: &str, line: u64, message_part: &str) {
    let text = format!("{HEAD}{body}");
    let err = Exceptions::parse(&text).unwrap_err();
    let ExceptionsError::Invalid(FieldError {
        field: got_field,
        line: got_line,
        message,
        ..
    }) = &err
    else {
        panic!("{body}: expected a field error, got {err}");
    };
    assert_eq!(got_field, field, "{body}: {err}");
    assert_eq!(*got_line, Some(line), "{body}: {err}");
    assert!(message.contains(message_part), "{body}: {err}");
}

#[test]
fn errors_name_field_and_line() {
    let cases = [
        (
            "exceptions:\n  - name: a\n    reason: r\n    control: netpol\n",
            "exceptions[0].control",
            6,
            "valid controls are rbac, network-policy, pod-security, secrets, image-scanning",
        ),
        (
            "exceptions:\n  - name: a\n    reason: r\n    control: rbac\n    namespace: [x]\n",
            "exceptions[0].namespace",
            7,
            "expected one of name, reason",
        ),
        (
            "exceptions:\n  - name: a\n    control: rbac\n",
            "exceptions[0]",
            // The end of the entry, where the parser found the key missing.
            5,
            "missing field `reason`",
        ),
        (
            "exceptions:\n  - name: a\n    reason: r\n    control: rbac\n    expires: tomorrow\n",
            "exceptions[0].expires",
            7,
            "RFC 3339",
        ),
        (
            "exceptions:\n  - name: a\n    reason: r\n    control: rbac\n  - name: a\n    reason: r\n    control: secrets\n",
            "exceptions[1].name",
            7,
            "already the name of exceptions[0]",
        ),
        (
            "exceptions:\n  - name: a\n    reason: r\n    control: rbac\n    rules: [pss.privileged]\n",
            "exceptions[0].rules",
            7,
            "not a rule of control rbac",
        ),
        (
            "exceptions:\n  - name: a\n    reason: r\n    control: rbac\n    objects: [web]\n",
            "exceptions[0].objects",
            7,
            "not Kind/name",
        ),
        (
            "exceptions:\n  - name: a\n    reason: \"  \"\n    control: rbac\n",
            "exceptions[0].reason",
            5,
            "why",
        ),
        (
            "extra: 1\n",
            "extra",
            3,
            "expected one of apiVersion, kind, exceptions",
        ),
    ];
    for (body, field, line, part) in cases {
        check_error(body, field, line, part);
    }
    let err = Exceptions::parse("apiVersion: v1\nkind: PostureExceptions\n").unwrap_err();
    assert!(err.to_string().contains("apiVersion (line 1)"), "{err}");
    assert!(matches!(
        Exceptions::parse("a: [").unwrap_err(),
        ExceptionsError::Syntax(_)
    ));
    assert!(Exceptions::parse("  \n").is_err());
}

#[test]
fn matching_by_each_selector() {
    let text = format!(
        "{HEAD}exceptions:
  - name: by-rule
    reason: r1
    control: pod-security
    rules: [pss.privileged]
  - name: by-cluster
    reason: r2
    control: secrets
    clusters: [\"prod-?\"]
  - name: by-namespace
    reason: r3
    control: network-policy
    namespaces: [\"team-*\"]
  - name: by-object
    reason: r4
    control: image-scanning
    objects: [\"Deployment/legacy-*\"]
"
    );
    let ex = Exceptions::parse(&text).unwrap();
    let now = ts("2026-11-30T00:00:00Z");
    let name = |cluster: &str, f: &Finding| ex.matching(cluster, f, now).map(|e| e.name.as_str());
    let pss = |rule| finding(Control::PodSecurity, rule, "Deployment", "a", "w");
    assert_eq!(name("c", &pss("pss.privileged")), Some("by-rule"));
    assert_eq!(name("c", &pss("pss.hostPathVolumes")), None);
    let sec = finding(
        Control::Secrets,
        "secrets.secret-in-env",
        "Deployment",
        "a",
        "w",
    );
    assert_eq!(name("prod-1", &sec), Some("by-cluster"));
    assert_eq!(name("prod-12", &sec), None);
    // A Namespace finding is in its own namespace.
    let ns = finding(
        Control::NetworkPolicy,
        "netpol.namespace-uncovered",
        "Namespace",
        "",
        "team-a",
    );
    assert_eq!(name("c", &ns), Some("by-namespace"));
    let wl = finding(
        Control::NetworkPolicy,
        "netpol.workload-unselected",
        "Deployment",
        "team-b",
        "x",
    );
    assert_eq!(name("c", &wl), Some("by-namespace"));
    let other = finding(
        Control::NetworkPolicy,
        "netpol.namespace-uncovered",
        "Namespace",
        "",
        "shop",
    );
    assert_eq!(name("c", &other), None);
    let img = |kind, n| finding(Control::ImageScanning, "images.not-scanned", kind, "a", n);
    assert_eq!(
        name("c", &img("Deployment", "legacy-api")),
        Some("by-object")
    );
    assert_eq!(name("c", &img("StatefulSet", "legacy-api")), None);
    assert_eq!(name("c", &img("Deployment", "api")), None);
    // The control must match.
    let wrong = finding(Control::Rbac, "pss.privileged", "Deployment", "a", "w");
    assert_eq!(name("c", &wrong), None);
}

#[test]
fn expired_exceptions_do_not_apply() {
    let text = format!(
        "{HEAD}exceptions:
  - name: temp
    reason: until the migration
    control: secrets
    expires: 2026-12-01T00:00:00Z
"
    );
    let ex = Exceptions::parse(&text).unwrap();
    let f = finding(
        Control::Secrets,
        "secrets.secret-in-env",
        "Deployment",
        "a",
        "w",
    );
    assert!(ex.matching("c", &f, ts("2026-11-30T23:59:59Z")).is_some());
    assert!(ex.matching("c", &f, ts("2026-12-01T00:00:00Z")).is_none());
    assert_eq!(ex.expired(ts("2026-12-02T00:00:00Z")).count(), 1);
    assert_eq!(ex.expired(ts("2026-11-02T00:00:00Z")).count(), 0);
}

#[test]
fn globs() {
    let cases = [
        ("*", "", true),
        ("*", "abc", true),
        ("a*c", "abbbc", true),
        ("a*c", "abbb", false),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("*-prod-*", "eu-prod-1", true),
        ("prod", "prod-1", false),
        ("", "", true),
        ("", "x", false),
        ("**x", "abx", true),
    ];
    for (p, s, want) in cases {
        assert_eq!(glob(p, s), want, "{p} vs {s}");
    }
}
