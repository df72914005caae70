#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---- default rules ----

/// A cheap PromQL sanity check: brackets balance outside string literals.
fn balanced(expr: &str) -> bool {
    let mut stack = Vec::new();
    let mut in_string = false;
    for c in expr.chars() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '(' | '{' | '[' => stack.push(c),
            ')' | '}' | ']' => {
                let open = stack.pop();
                let want = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                if open != Some(want) {
                    return false;
                }
            }
            _ => {}
        }
    }
    stack.is_empty() && !in_string
}

#[test]
fn default_rules_are_valid() {
    let rules = default_rules();
    assert_eq!(rules.len(), 11);
    let names: BTreeSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), rules.len(), "names are unique");
    for rule in &rules {
        assert!(balanced(&rule.expr), "{}: {}", rule.name, rule.expr);
        assert!(
            rule.threshold.is_finite() && rule.threshold >= 0.0,
            "{}",
            rule.name
        );
        assert!(rule.for_ <= Duration::from_secs(3600), "{}", rule.name);
        assert!(!rule.summary.is_empty(), "{}", rule.name);
        assert!(rule.labels.contains_key("component"), "{}", rule.name);
        let mut errors = Vec::new();
        parse::validate(rule, &mut |field: &str, message| {
            errors.push((field.to_string(), message))
        });
        assert!(errors.is_empty(), "{}: {errors:?}", rule.name);
    }
    let critical: BTreeSet<&str> = rules
        .iter()
        .filter(|r| r.severity == Severity::Critical)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        critical,
        BTreeSet::from([
            "APIServerErrorsHigh",
            "APIServerLatencyHigh",
            "ContainerRestartsHigh"
        ])
    );
    let table: BTreeMap<&str, (f64, u64)> = rules
        .iter()
        .map(|r| (r.name.as_str(), (r.threshold, r.for_.as_secs())))
        .collect();
    assert_eq!(table["NodeCPUHigh"], (0.80, 900));
    assert_eq!(table["NodeFilesystemHigh"], (0.80, 1800));
    assert_eq!(table["ContainerRestartsHigh"], (5.0, 0));
    assert_eq!(table["APIServerLatencyHigh"], (0.5, 600));
    assert_eq!(table["APIServerErrorsHigh"], (0.01, 600));
    assert_eq!(table["EtcdWALFsyncSlow"], (0.010, 600));
    assert_eq!(table["NodeDiskIOBusy"], (0.70, 600));
    assert_eq!(table["NodePacketLoss"], (0.001, 900));
    assert_eq!(table["ProbeRTTHigh"], (0.010, 600));
    assert!(
        rules
            .iter()
            .find(|r| r.name == "APIServerLatencyHigh")
            .unwrap()
            .expr
            .contains("apiserver_request_sli_duration_seconds_bucket")
    );
}

#[test]
fn default_rules_round_trip_through_the_rule_file() {
    // Every default, written out as YAML, is accepted back as an override of itself.
    let yaml = serde_saphyr::to_string(&BTreeMap::from([("rules", default_rules())])).unwrap();
    assert!(yaml.contains("for: 15m"), "{yaml}");
    assert_eq!(parse_rules_yaml(&yaml).unwrap(), RuleSet::default());
}

#[test]
fn alert_expr_puts_the_threshold_on_the_value() {
    let set = RuleSet::default();
    let rule = set.get("NodeMemoryHigh").unwrap();
    assert_eq!(
        rule.alert_expr(),
        "(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > 0.8"
    );
}

// ---- the rule file ----

enum Want {
    /// Checks on the resulting rule set.
    Ok(fn(&RuleSet)),
    /// (rule name, rule index, field, message fragment) for each error, in order.
    Err(
        &'static [(
            Option<&'static str>,
            Option<usize>,
            &'static str,
            &'static str,
        )],
    ),
}

fn check(what: &str, yaml: &str, want: Want) {
    let got = parse_rules_yaml(yaml);
    match (got, want) {
        (Ok(set), Want::Ok(f)) => f(&set),
        (Err(e), Want::Err(expected)) => {
            let errors = e.field_errors();
            assert_eq!(errors.len(), expected.len(), "{what}: {e}");
            for (got, (rule, index, field, fragment)) in errors.iter().zip(expected) {
                assert_eq!(got.rule.as_deref(), *rule, "{what}: {e}");
                assert_eq!(got.index, *index, "{what}: {e}");
                assert_eq!(got.field, *field, "{what}: {e}");
                assert!(got.message.contains(fragment), "{what}: {e}");
                // The rendered message names both.
                let shown = got.to_string();
                if let Some(rule) = rule {
                    assert!(shown.contains(rule), "{what}: {shown}");
                }
                assert!(shown.contains(field), "{what}: {shown}");
            }
        }
        (Ok(set), Want::Err(_)) => panic!("{what}: expected an error, got {set:?}"),
        (Err(e), Want::Ok(_)) => panic!("{what}: unexpected error: {e}"),
    }
}

#[test]
fn rule_file_cases() {
    check(
        "empty file",
        "",
        Want::Ok(|s| assert_eq!(*s, RuleSet::default())),
    );
    check(
        "null document",
        "~\n",
        Want::Ok(|s| assert_eq!(*s, RuleSet::default())),
    );
    check(
        "empty lists",
        "rules: []\ndisable: []\n",
        Want::Ok(|s| assert_eq!(*s, RuleSet::default())),
    );
    check(
        "override replaces only the fields given",
        "rules:\n- name: NodeCPUHigh\n  threshold: 0.9\n  for: 30m\n  labels: {team: infra}\n",
        Want::Ok(|s| {
            let default = RuleSet::default();
            let before = default.get("NodeCPUHigh").unwrap();
            let after = s.get("NodeCPUHigh").unwrap();
            assert_eq!(after.threshold, 0.9);
            assert_eq!(after.for_, Duration::from_secs(1800));
            assert_eq!(
                after.labels,
                labels(&[("team", "infra")]),
                "labels replaced whole"
            );
            assert_eq!(after.expr, before.expr);
            assert_eq!(after.severity, before.severity);
            assert_eq!(after.summary, before.summary);
            // In place: the order of the defaults is kept.
            assert_eq!(s.rules[0].name, "NodeCPUHigh");
            assert_eq!(s.rules.len(), default.rules.len());
        }),
    );
    check(
        "override severity and comparison",
        "rules:\n- name: EtcdWALFsyncSlow\n  severity: critical\n  comparison: '<'\n",
        Want::Ok(|s| {
            let r = s.get("EtcdWALFsyncSlow").unwrap();
            assert_eq!(r.severity, Severity::Critical);
            assert_eq!(r.comparison, Comparison::Below);
        }),
    );
    check(
        "add a rule with defaults for the optional fields",
        "rules:\n- name: IngressErrors\n  expr: sum(rate(nginx_ingress_controller_requests{status=~\"5..\"}[5m]))\n  threshold: 10\n  severity: warning\n",
        Want::Ok(|s| {
            assert_eq!(s.rules.len(), default_rules().len() + 1);
            let r = s.rules.last().unwrap();
            assert_eq!(r.name, "IngressErrors");
            assert_eq!(r.for_, Duration::ZERO);
            assert_eq!(r.comparison, Comparison::Above);
            assert_eq!(r.threshold, 10.0);
            assert!(r.labels.is_empty());
        }),
    );
    check(
        "disable",
        "disable: [ProbeRTTHigh, NodeDiskIOBusy]\n",
        Want::Ok(|s| {
            assert_eq!(s.rules.len(), default_rules().len() - 2);
            assert!(s.get("ProbeRTTHigh").is_none());
            assert!(s.get("NodeDiskIOBusy").is_none());
        }),
    );
    check(
        "JSON is YAML",
        r#"{"rules": [{"name": "NodeMemoryHigh", "threshold": 0.95}]}"#,
        Want::Ok(|s| assert_eq!(s.get("NodeMemoryHigh").unwrap().threshold, 0.95)),
    );

    // Shape errors name the rule, by index and (read leniently) by name.
    check(
        "unknown rule field",
        "rules:\n- name: NodeCPUHigh\n- name: NodeMemoryHigh\n  treshold: 0.9\n",
        Want::Err(&[(
            Some("NodeMemoryHigh"),
            Some(1),
            "treshold",
            "unknown field `treshold`",
        )]),
    );
    check(
        "bad for",
        "rules:\n- name: NodeCPUHigh\n  for: 10 minutes\n",
        Want::Err(&[(Some("NodeCPUHigh"), Some(0), "for", "invalid duration")]),
    );
    check(
        "bad severity",
        "rules:\n- name: NodeCPUHigh\n  severity: page\n",
        Want::Err(&[(Some("NodeCPUHigh"), Some(0), "severity", "page")]),
    );
    check(
        "bad comparison",
        "rules:\n- name: NodeCPUHigh\n  comparison: '>='\n",
        Want::Err(&[(Some("NodeCPUHigh"), Some(0), "comparison", ">=")]),
    );
    check(
        "threshold not a number",
        "rules:\n- name: NodeCPUHigh\n  threshold: high\n",
        Want::Err(&[(Some("NodeCPUHigh"), Some(0), "threshold", "")]),
    );
    check(
        "label value not a string",
        "rules:\n- name: NodeCPUHigh\n  labels: {team: [a]}\n",
        Want::Err(&[(Some("NodeCPUHigh"), Some(0), "labels.team", "")]),
    );
    check(
        "rule without a name",
        "rules:\n- threshold: 1\n",
        Want::Err(&[(None, Some(0), "", "name")]),
    );
    check(
        "unknown top-level field",
        "rule: []\n",
        Want::Err(&[(None, None, "rule", "unknown field `rule`")]),
    );

    // Value errors: every one found, each naming its rule and field.
    check(
        "invalid values",
        concat!(
            "rules:\n",
            "- name: NodeCPUHigh\n  threshold: .nan\n  expr: '  '\n",
            "- name: NodeDiskIOBusy\n  threshold: .inf\n  labels: {bad-label: x}\n",
        ),
        Want::Err(&[
            (Some("NodeCPUHigh"), Some(0), "expr", "must not be empty"),
            (Some("NodeCPUHigh"), Some(0), "threshold", "finite"),
            (Some("NodeDiskIOBusy"), Some(1), "threshold", "finite"),
            (
                Some("NodeDiskIOBusy"),
                Some(1),
                "labels.bad-label",
                "label name",
            ),
        ]),
    );
    check(
        "new rule missing required fields",
        "rules:\n- name: Mine\n  summary: mine\n",
        Want::Err(&[
            (Some("Mine"), Some(0), "expr", "required for a new rule"),
            (
                Some("Mine"),
                Some(0),
                "threshold",
                "required for a new rule",
            ),
            (Some("Mine"), Some(0), "severity", "required for a new rule"),
        ]),
    );
    check(
        "new rule with an invalid name",
        "rules:\n- name: my-rule\n  expr: up\n  threshold: 0\n  severity: warning\n  comparison: '<'\n",
        Want::Err(&[(Some("my-rule"), Some(0), "name", "metric-style name")]),
    );
    check(
        "duplicate rule",
        "rules:\n- name: NodeCPUHigh\n- name: NodeCPUHigh\n",
        Want::Err(&[(Some("NodeCPUHigh"), Some(1), "name", "more than once")]),
    );
    check(
        "disable errors",
        "rules:\n- name: NodeCPUHigh\ndisable: [Nope, NodeCPUHigh, ProbeRTTHigh, ProbeRTTHigh]\n",
        Want::Err(&[
            (Some("Nope"), None, "disable[0]", "no rule has this name"),
            (Some("NodeCPUHigh"), None, "disable[1]", "both defined"),
            (Some("ProbeRTTHigh"), None, "disable[3]", "twice"),
        ]),
    );
}

#[test]
fn syntax_errors_are_not_field_errors() {
    let e = parse_rules_yaml("rules: [\n").unwrap_err();
    assert!(matches!(e, RulesError::Syntax(_)), "{e}");
    assert!(e.field_errors().is_empty());
}

#[test]
fn rendered_error_names_rule_and_field() {
    let shown = |yaml: &str| parse_rules_yaml(yaml).unwrap_err().to_string();
    let e = shown("rules:\n- name: NodeCPUHigh\n  for: soon\n");
    assert!(
        e.starts_with("rule \"NodeCPUHigh\" (rules[0]), field for (line 3): invalid duration"),
        "{e}"
    );
    // Problems found after reading name their lines too: the key's, else the rule's.
    assert_eq!(
        shown(
            "rules:\n- name: Mine\n  summary: s\n  labels: {bad-label: x}\n  expr: up\n  threshold: 1\n  severity: warning\ndisable:\n- ProbeRTTHigh\n- Nope\n"
        ),
        "rule \"Mine\" (rules[0]), field labels.bad-label (line 4): is not a valid Prometheus label name; \
         rule \"Nope\", field disable[1] (line 10): no rule has this name"
    );
    assert_eq!(
        shown("rules:\n- name: Mine\n  summary: s\n"),
        "rule \"Mine\" (rules[0]), field expr (line 2): required for a new rule (no default rule has this name); \
         rule \"Mine\" (rules[0]), field threshold (line 2): required for a new rule (no default rule has this name); \
         rule \"Mine\" (rules[0]), field severity (line 2): required for a new rule (no default rule has this name)"
    );
    // Outside any rule: as every YAML file's errors.
    assert_eq!(
        shown("rule: []\n"),
        "rule (line 1): unknown field `rule`, expected one of rules, disable"
    );
    assert_eq!(
        shown("[1]\n"),
        "health rule file (line 1): expected mapping start"
    );
    assert!(
        shown("rules: [\n").starts_with("invalid health rule file YAML: "),
        "{}",
        shown("rules: [\n")
    );
}

// ---- the alert state machine ----

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

/// Runs one series through `rule` (threshold 0.8, `>`): each step is (seconds, value,
/// expected phase, expected `since` in seconds, expected `fired_at` in seconds).
#[allow(clippy::type_complexity)]
fn run(
    what: &str,
    for_secs: u64,
    steps: &[(i64, Option<f64>, AlertPhase, Option<i64>, Option<i64>)],
) {
    let mut rule = RuleSet::default().get("NodeCPUHigh").unwrap().clone();
    rule.for_ = Duration::from_secs(for_secs);
    let mut state = AlertState::default();
    for (i, (t, value, phase, since, fired_at)) in steps.iter().enumerate() {
        state = rule.evaluate(&state, *value, at(*t));
        let step = format!("{what}, step {i} (t={t}, value={value:?})");
        assert_eq!(state.phase, *phase, "{step}");
        assert_eq!(state.since, since.map(at), "{step}");
        assert_eq!(state.fired_at, fired_at.map(at), "{step}");
        if *phase == AlertPhase::Inactive {
            assert_eq!(state, AlertState::default(), "{step}");
        } else {
            assert_eq!(state.value, *value, "{step}");
        }
    }
}

#[test]
fn alert_transitions() {
    use AlertPhase::{Firing, Inactive, Pending};
    run(
        "pending then firing after for, resolving at once",
        60,
        &[
            (0, Some(0.5), Inactive, None, None),
            (30, Some(0.9), Pending, Some(30), None),
            (60, Some(0.95), Pending, Some(30), None),
            (90, Some(0.85), Firing, Some(30), Some(90)),
            (120, Some(0.99), Firing, Some(30), Some(90)),
            (150, Some(0.8), Inactive, None, None), // equal is not above
        ],
    );
    run(
        "for: 0 fires on the first evaluation",
        0,
        &[
            (0, Some(0.9), Firing, Some(0), Some(0)),
            (10, Some(0.9), Firing, Some(0), Some(0)),
            (20, None, Inactive, None, None),
            (30, Some(0.9), Firing, Some(30), Some(30)),
        ],
    );
    run(
        "a flapping value restarts the pending period",
        60,
        &[
            (0, Some(0.9), Pending, Some(0), None),
            (30, Some(0.1), Inactive, None, None),
            (45, Some(0.9), Pending, Some(45), None),
            (90, Some(0.9), Pending, Some(45), None),
            (100, Some(0.2), Inactive, None, None),
            (110, Some(0.9), Pending, Some(110), None),
            (170, Some(0.9), Firing, Some(110), Some(170)),
            (180, Some(0.2), Inactive, None, None),
            (190, Some(0.9), Pending, Some(190), None),
        ],
    );
    run(
        "absent series and NaN do not hold",
        0,
        &[
            (0, None, Inactive, None, None),
            (10, Some(f64::NAN), Inactive, None, None),
        ],
    );
    run(
        "a clock going backwards does not fire early",
        60,
        &[
            (100, Some(0.9), Pending, Some(100), None),
            (50, Some(0.9), Pending, Some(100), None),
            (160, Some(0.9), Firing, Some(100), Some(160)),
        ],
    );
}

#[test]
fn below_comparison() {
    let rule = HealthRule {
        name: "ReplicasLow".to_string(),
        expr: "kube_deployment_status_replicas_available".to_string(),
        for_: Duration::ZERO,
        threshold: 2.0,
        comparison: Comparison::Below,
        severity: Severity::Warning,
        summary: String::new(),
        labels: Labels::new(),
    };
    let s = rule.evaluate(&AlertState::default(), Some(1.0), at(0));
    assert_eq!(s.phase, AlertPhase::Firing);
    let s = rule.evaluate(&s, Some(3.0), at(1));
    assert_eq!(s.phase, AlertPhase::Inactive);
}

#[test]
fn alert_view_and_series() {
    let set = RuleSet::default();
    let rule = set.get("ContainerRestartsHigh").unwrap();
    let pod_a = labels(&[("namespace", "shop"), ("pod", "a"), ("component", "x")]);
    let pod_b = labels(&[("namespace", "shop"), ("pod", "b")]);

    let states = rule.evaluate_series(
        &BTreeMap::new(),
        &[(pod_a.clone(), 7.0), (pod_b.clone(), 2.0)],
        at(0),
    );
    assert_eq!(states.keys().collect::<Vec<_>>(), vec![&pod_a]);
    let alert = rule.alert(&pod_a, &states[&pod_a]).unwrap();
    assert_eq!(
        alert,
        Alert {
            rule: "ContainerRestartsHigh".to_string(),
            severity: Severity::Critical,
            value: 7.0,
            threshold: 5.0,
            comparison: Comparison::Above,
            // The rule's labels win over the series'.
            labels: labels(&[
                ("namespace", "shop"),
                ("pod", "a"),
                ("component", "workload")
            ]),
            since: at(0),
            state: AlertPhase::Firing,
        }
    );
    assert_eq!(rule.alert(&pod_b, &AlertState::default()), None);

    // Next round: pod a's series is gone (resolved), pod b crosses.
    let states = rule.evaluate_series(&states, &[(pod_b.clone(), 6.0)], at(60));
    assert_eq!(states.keys().collect::<Vec<_>>(), vec![&pod_b]);
    assert_eq!(states[&pod_b].since, Some(at(60)));

    let json = serde_json::to_value(&alert).unwrap();
    assert_eq!(json["severity"], "critical");
    assert_eq!(json["state"], "firing");
    assert_eq!(json["comparison"], ">");
}
