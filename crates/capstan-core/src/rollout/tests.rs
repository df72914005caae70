#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::health::Severity;
use crate::intstr::Round;

/// The canonical example of DESIGN.md (`examples/canary-upgrade.yaml`), verbatim.
const DESIGN_EXAMPLE: &str = include_str!("../../../../examples/canary-upgrade.yaml");

/// The issue's variant of it: no metadata, steps in one flow sequence.
const ISSUE_EXAMPLE: &str = "\
apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
spec:
  clusterSelector: {matchLabels: {environment: production}}
  strategy:
    type: Canary
    canary:
      steps: [{pause: 1h, percentage: 10}, {pause: 4h, percentage: 50}, {pause: 1h, percentage: 100}]
";

#[test]
fn the_canonical_examples_parse_verbatim() {
    for (text, name) in [(DESIGN_EXAMPLE, Some("prod-canary")), (ISSUE_EXAMPLE, None)] {
        let u = parse_cluster_upgrade(text).unwrap();
        assert_eq!(u.metadata.name.as_deref(), name);
        assert_eq!(u.spec.strategy.strategy_type, StrategyType::Canary);
        let steps = &u.spec.strategy.canary.steps;
        let got: Vec<(u32, Duration)> = steps
            .iter()
            .map(|s| (s.percentage, s.pause_duration().unwrap()))
            .collect();
        let hour = Duration::from_secs(3600);
        assert_eq!(got, vec![(10, hour), (50, 4 * hour), (100, hour)]);
        assert!(!u.spec.paused);
        assert_eq!(u.spec.version, None);
        assert_eq!(u.target_version().unwrap(), None);
        let selector = u.selector().unwrap();
        assert_eq!(selector.exact_value("environment"), Some("production"));
        let prod = BTreeMap::from([("environment", "production")]);
        let dev = BTreeMap::from([("environment", "dev")]);
        assert!(selector.matches(&prod) && !selector.matches(&dev));
    }
}

#[test]
fn a_missing_name_is_derived_from_the_spec() {
    let named = parse_cluster_upgrade(DESIGN_EXAMPLE).unwrap();
    assert_eq!(named.effective_name(), "prod-canary");
    let a = parse_cluster_upgrade(ISSUE_EXAMPLE).unwrap();
    let b = parse_cluster_upgrade(ISSUE_EXAMPLE).unwrap();
    let name = a.effective_name();
    assert!(name.starts_with("upgrade-") && name.len() == 16, "{name}");
    assert_eq!(name, b.effective_name(), "same spec, same name");
    let mut c = a.clone();
    c.spec.paused = true;
    assert_ne!(name, c.effective_name(), "another spec, another name");
    // The derived name is itself a valid name.
    c.metadata.name = Some(name);
    validate(&c).unwrap();
}

#[test]
fn every_field_parses_and_round_trips() {
    let text = "\
apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
metadata:
  name: prod-1.31
  labels: {team: platform}
spec:
  clusterSelector:
    matchLabels: {environment: production}
    matchExpressions:
    - {key: region, operator: In, values: [eu-west-1, us-east-1]}
    - {key: frozen, operator: DoesNotExist}
  version: 1.30
  paused: true
  strategy:
    type: Canary
    canary:
      sortBy: ring
      maxConcurrency: 25%
      maxFailures: 2
      steps:
      - {percentage: 5, pause: 90s, approval: true}
      - {percentage: 100, pause: 1h30m}
  nodeRolling: {maxSurge: 1, maxUnavailable: '0', drainTimeout: 10m}
";
    let u = parse_cluster_upgrade(text).unwrap();
    // A bare 1.30 keeps its trailing zero: it is minor 30, not 3.
    assert_eq!(u.spec.version.as_deref(), Some("1.30"));
    assert_eq!(u.target_version().unwrap().unwrap().minor, 30);
    let canary = &u.spec.strategy.canary;
    assert_eq!(canary.max_concurrency, Some(IntOrPercent::Percent(25)));
    assert_eq!(canary.max_failures, Some(IntOrPercent::Int(2)));
    assert_eq!(canary.sort_by.as_deref(), Some("ring"));
    assert!(canary.steps[0].approval && !canary.steps[1].approval);
    assert_eq!(
        canary.steps[1].pause_duration().unwrap(),
        Duration::from_secs(5400)
    );
    let rolling = u.spec.node_rolling.as_ref().unwrap();
    assert_eq!(rolling.max_surge, Some(IntOrPercent::Int(1)));
    assert_eq!(rolling.max_unavailable, Some(IntOrPercent::Int(0)));
    assert_eq!(
        rolling.drain_timeout_duration().unwrap(),
        Some(Duration::from_secs(600))
    );
    assert_eq!(u.selector().unwrap().requirements.len(), 3);
    assert_eq!(u.metadata.labels["team"], "platform");

    // What is stored reads back the same, as JSON (the API) and as YAML (the CLI).
    let json = serde_json::to_string(&u).unwrap();
    assert_eq!(parse_cluster_upgrade(&json).unwrap(), u);
    let yaml = serde_saphyr::to_string(&u).unwrap();
    assert_eq!(parse_cluster_upgrade(&yaml).unwrap(), u);
}

/// The example with one line replaced, for the invalid cases below.
fn example_with(from: &str, to: &str) -> String {
    assert!(
        DESIGN_EXAMPLE.contains(from),
        "{from:?} is not in the example"
    );
    DESIGN_EXAMPLE.replacen(from, to, 1)
}

/// The error text of `text`, which must be refused.
fn refusal(text: &str) -> String {
    match parse_cluster_upgrade(text) {
        Ok(u) => panic!("accepted {u:?}\nfrom:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn shape_errors_name_the_field_path() {
    let step1 = "{pause: 4h, percentage: 50}";
    let strategy = "type: Canary";
    let steps = "      steps:\n";
    let cases: &[(String, &str)] = &[
        (
            example_with(step1, "{pauze: 4h, percentage: 50}"),
            "spec.strategy.canary.steps[1].pauze: unknown field `pauze`",
        ),
        (
            example_with(strategy, "type: BlueGreen"),
            "spec.strategy.type: unknown variant `BlueGreen`, expected one of Canary",
        ),
        (
            example_with(step1, "{pause: 4h, percentage: half}"),
            "spec.strategy.canary.steps[1].percentage: ",
        ),
        (
            example_with(step1, "{pause: 4h, percentage: -5}"),
            "spec.strategy.canary.steps[1].percentage: ",
        ),
        (
            example_with("{name: prod-canary}", "{name: prod-canary, namespace: x}"),
            "metadata.namespace: unknown field `namespace`",
        ),
        (
            example_with(
                "{matchLabels: {environment: production}}",
                "{matchLabel: {environment: production}}",
            ),
            "spec.clusterSelector.matchLabel: unknown field",
        ),
        (
            example_with(steps, "      maxConcurrency: lots\n      steps:\n"),
            "spec.strategy.canary.maxConcurrency: invalid value: \"lots\"",
        ),
        (
            example_with(steps, "      maxFailures: 1.5\n      steps:\n"),
            "spec.strategy.canary.maxFailures: invalid type: floating point `1.5`, expected a \
             non-negative count",
        ),
        (
            example_with("  strategy:\n", "  windows: []\n  strategy:\n"),
            "spec.windows: unknown field `windows`",
        ),
        (
            example_with("    type: Canary\n", ""),
            "spec.strategy: missing field `type`",
        ),
        (
            example_with(
                "  clusterSelector: {matchLabels: {environment: production}}\n",
                "",
            ),
            "spec: missing field `clusterSelector`",
        ),
    ];
    for (text, want) in cases {
        let got = refusal(text);
        assert!(got.starts_with(want), "got {got:?}, wanted {want:?}");
    }
}

#[test]
fn broken_yaml_is_refused_where_it_breaks() {
    // The streaming parser fails inside the field it was reading, which is then named.
    let unclosed = example_with(
        "- {pause: 1h, percentage: 10}",
        "- {pause: 1h, percentage: 10",
    );
    let got = refusal(&unclosed);
    assert!(got.starts_with("spec.strategy.canary.steps: "), "{got}");
    assert_eq!(refusal("spec: [\n"), "spec: expected mapping start");
    assert_eq!(refusal(""), "unexpected end of input");
    // One object per document: a second one would be silently dropped otherwise.
    let two = format!("{DESIGN_EXAMPLE}---\n{DESIGN_EXAMPLE}");
    assert!(matches!(
        parse_cluster_upgrade(&two),
        Err(ValidationError::Syntax(e)) if e.contains("multiple YAML documents")
    ));
}

#[test]
fn rule_errors_name_the_field_and_the_reason() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "{pause: 4h, percentage: 50}",
            "{pause: 4h, percentage: 10}",
            &[
                "spec.strategy.canary.steps[1].percentage: 10 must be greater than the previous step's 10",
            ],
        ),
        (
            "{pause: 1h, percentage: 10}",
            "{pause: 1h, percentage: 0}",
            &["spec.strategy.canary.steps[0].percentage: 0 is not in 1..=100"],
        ),
        (
            "{pause: 1h, percentage: 100}",
            "{pause: 1h, percentage: 90}",
            &[
                "spec.strategy.canary.steps[2].percentage: the last step must be 100 (the whole selection), not 90",
            ],
        ),
        (
            "{pause: 1h, percentage: 100}",
            "{pause: 1h, percentage: 101}",
            &[
                "spec.strategy.canary.steps[2].percentage: 101 is not in 1..=100",
                "spec.strategy.canary.steps[2].percentage: the last step must be 100",
            ],
        ),
        (
            "{pause: 4h, percentage: 50}",
            "{pause: 4 hours, percentage: 50}",
            &["spec.strategy.canary.steps[1].pause: invalid duration \"4 hours\""],
        ),
        (
            "{pause: 4h, percentage: 50}",
            "{pause: -4h, percentage: 50}",
            &["spec.strategy.canary.steps[1].pause: invalid duration \"-4h\""],
        ),
        (
            "spec:\n",
            "spec:\n  version: one.thirty\n",
            &["spec.version: invalid version \"one.thirty\""],
        ),
        (
            "{matchLabels: {environment: production}}",
            "{matchLabels: {environment: prod uction}}",
            &["spec.clusterSelector: invalid label selector"],
        ),
        (
            "{matchLabels: {environment: production}}",
            "{matchExpressions: [{key: env, operator: Near, values: [a]}]}",
            &["spec.clusterSelector: invalid label selector"],
        ),
        (
            "{matchLabels: {environment: production}}",
            "{matchExpressions: [{key: env, operator: In}]}",
            &["spec.clusterSelector: invalid label selector"],
        ),
        (
            "      steps:\n",
            "      maxConcurrency: 0\n      steps:\n",
            &["spec.strategy.canary.maxConcurrency: may not be 0"],
        ),
        (
            "      steps:\n",
            "      maxConcurrency: 150%\n      maxFailures: 200%\n      steps:\n",
            &[
                "spec.strategy.canary.maxConcurrency: 150% is more than 100%",
                "spec.strategy.canary.maxFailures: 200% is more than 100%",
            ],
        ),
        (
            "      steps:\n",
            "      sortBy: not a key\n      steps:\n",
            &["spec.strategy.canary.sortBy: invalid label selector"],
        ),
        (
            "{name: prod-canary}",
            "{name: Prod_Canary}",
            &["metadata.name: \"Prod_Canary\" is not a DNS-1123 subdomain"],
        ),
        (
            "apiVersion: upgrade.toolkit.io/v1alpha1",
            "apiVersion: upgrade.toolkit.io/v1",
            &["apiVersion: must be \"upgrade.toolkit.io/v1alpha1\", not \"upgrade.toolkit.io/v1\""],
        ),
        (
            "kind: ClusterUpgrade",
            "kind: Upgrade",
            &["kind: must be \"ClusterUpgrade\", not \"Upgrade\""],
        ),
        (
            "  strategy:\n",
            "  nodeRolling: {maxSurge: 0, maxUnavailable: 0%, drainTimeout: soon}\n  strategy:\n",
            &[
                "spec.nodeRolling.maxUnavailable: may not be 0 when maxSurge is 0",
                "spec.nodeRolling.drainTimeout: invalid duration \"soon\"",
            ],
        ),
    ];
    for (from, to, want) in cases {
        let text = example_with(from, to);
        let Err(ValidationError::Invalid(errors)) = parse_cluster_upgrade(&text) else {
            panic!(
                "{to:?}: expected rule errors, got {:?}",
                parse_cluster_upgrade(&text)
            );
        };
        let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(got.len(), want.len(), "{to:?}: {got:#?}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(g.starts_with(w), "{to:?}: got {g:?}, wanted {w:?}");
        }
    }
}

#[test]
fn no_steps_is_refused() {
    let text = "\
apiVersion: upgrade.toolkit.io/v1alpha1
kind: ClusterUpgrade
spec:
  clusterSelector: {}
  strategy: {type: Canary, canary: {steps: []}}
";
    let got = refusal(text);
    assert!(
        got.starts_with("spec.strategy.canary.steps: must have at least one step"),
        "{got}"
    );
}

fn steps(percentages: &[u32]) -> Vec<CanaryStep> {
    percentages
        .iter()
        .map(|&percentage| CanaryStep {
            percentage,
            pause: None,
            approval: false,
        })
        .collect()
}

#[test]
fn step_targets_are_cumulative_ceilings() {
    let example = steps(&[10, 50, 100]);
    let cases: &[(usize, &[usize])] = &[
        (0, &[0, 0, 0]),
        (1, &[1, 1, 1]),
        (3, &[1, 2, 3]), // 0.3 -> 1, 1.5 -> 2
        (10, &[1, 5, 10]),
        (20, &[2, 10, 20]),
        (24, &[3, 12, 24]), // 2.4 -> 3
        (1000, &[100, 500, 1000]),
    ];
    for (n, want) in cases {
        assert_eq!(step_targets(&example, *n), *want, "N = {n}");
    }
    // Small steps never upgrade nothing, and never go back.
    assert_eq!(step_targets(&steps(&[1, 2, 3, 100]), 10), [1, 1, 1, 10]);
    assert_eq!(step_targets(&steps(&[1, 34, 67, 100]), 3), [1, 2, 3, 3]);
    assert_eq!(step_targets(&steps(&[33, 66, 100]), 1000), [330, 660, 1000]);
    // The property over many fleet sizes: non-decreasing, within 1..=N, last is N.
    let uneven = steps(&[1, 7, 33, 34, 99, 100]);
    for n in 1..=300 {
        let t = step_targets(&uneven, n);
        assert!(t.windows(2).all(|w| w[0] <= w[1]), "N = {n}: {t:?}");
        assert!(t.iter().all(|&c| (1..=n).contains(&c)), "N = {n}: {t:?}");
        assert_eq!(t.last(), Some(&n));
        for (target, step) in t.iter().zip(&uneven) {
            let exact = step.percentage as f64 * n as f64 / 100.0;
            assert!(*target as f64 >= exact, "N = {n}: {t:?}");
        }
    }
}

#[test]
fn counts_and_budgets_resolve_against_the_fleet() {
    let pct = IntOrPercent::Percent;
    let int = IntOrPercent::Int;
    assert_eq!(resolve_count(pct(10), 24, Round::Up), 3);
    assert_eq!(resolve_count(pct(10), 24, Round::Down), 2);
    assert_eq!(resolve_count(int(50), 24, Round::Down), 24, "capped at N");
    assert_eq!(resolve_count(pct(100), 7, Round::Down), 7);

    assert_eq!(max_concurrency(None, 24), 24);
    assert_eq!(max_concurrency(Some(pct(10)), 24), 2);
    assert_eq!(
        max_concurrency(Some(pct(1)), 24),
        1,
        "at least one at a time"
    );
    assert_eq!(max_concurrency(Some(int(5)), 3), 3);
    assert_eq!(max_concurrency(Some(int(5)), 0), 0);

    assert_eq!(failure_budget(None, 24), 0, "zero tolerance by default");
    assert_eq!(failure_budget(Some(int(2)), 24), 2);
    assert_eq!(failure_budget(Some(pct(10)), 24), 2);
    assert_eq!(failure_budget(Some(pct(10)), 5), 0);
    assert_eq!(failure_budget(Some(int(9)), 5), 5);
}

fn fleet(entries: &[(&str, &[(&str, &str)])]) -> Vec<(String, BTreeMap<String, String>)> {
    entries
        .iter()
        .map(|(name, labels)| {
            let labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (name.to_string(), labels)
        })
        .collect()
}

#[test]
fn canaries_go_first_then_sort_by_then_a_stable_hash() {
    let canary = (CANARY_LABEL, "true");
    let clusters = fleet(&[
        ("prod-a", &[("ring", "10")]),
        ("prod-b", &[("ring", "2")]),
        ("prod-c", &[canary, ("ring", "30")]),
        ("prod-d", &[]),
        ("prod-e", &[("ring", "beta")]),
        ("prod-f", &[(CANARY_LABEL, "false"), ("ring", "1")]),
        ("prod-g", &[canary]),
    ]);
    let order = order_clusters(&clusters, Some("ring"));
    // Canaries (sorted among themselves by ring: 30, then absent); then ring numerically
    // (1 < 2 < 10, not "10" < "2"), then text, then clusters without the label.
    assert_eq!(
        order,
        [
            "prod-c", "prod-g", "prod-f", "prod-b", "prod-a", "prod-e", "prod-d"
        ]
    );

    // Without sortBy: canaries, then the hash order, which does not follow the input.
    let order = order_clusters(&clusters, None);
    let mut canaries = order[..2].to_vec();
    canaries.sort();
    assert_eq!(canaries, ["prod-c", "prod-g"]);
    let mut reversed = clusters.clone();
    reversed.reverse();
    assert_eq!(
        order_clusters(&reversed, None),
        order,
        "input order is irrelevant"
    );
    let by_hash: Vec<&str> = {
        let mut rest: Vec<&str> = order[2..].iter().map(String::as_str).collect();
        rest.sort_by_key(|n| name_hash(n));
        rest
    };
    assert_eq!(&order[2..], by_hash.as_slice());
    // A spread, not near-alphabetical: neighbours in name are rarely neighbours in order.
    let names: Vec<(String, Vec<(String, String)>)> = (0..100)
        .map(|i| (format!("prod-{i}"), Vec::new()))
        .collect();
    let order = order_clusters(&names, None);
    let ascending = order
        .windows(2)
        .filter(|w| w[0].len() == w[1].len() && w[0] < w[1])
        .count();
    assert!(
        (25..=75).contains(&ascending),
        "{ascending} ascending pairs: {order:?}"
    );
}

#[test]
fn the_hash_order_is_stable_and_not_alphabetical() {
    let names: Vec<(String, Vec<(String, String)>)> = (0..50)
        .map(|i| (format!("cluster-{i:02}"), Vec::new()))
        .collect();
    let order = order_clusters(&names, None);
    // Pinned: a change here reorders every rollout planned from now on.
    assert_eq!(
        &order[..4],
        ["cluster-03", "cluster-49", "cluster-08", "cluster-25"]
    );
    let mut alphabetical = order.clone();
    alphabetical.sort();
    assert_ne!(order, alphabetical);
    assert_eq!(order.len(), 50);
}

/// The example with `gate` (a flow map) as `spec.strategy.canary.healthGate`.
fn example_with_gate(gate: &str) -> String {
    example_with(
        "      steps:\n",
        &format!("      healthGate: {gate}\n      steps:\n"),
    )
}

#[test]
fn the_health_gate_parses_with_its_defaults() {
    let u = parse_cluster_upgrade(DESIGN_EXAMPLE).unwrap();
    assert_eq!(u.spec.strategy.canary.health_gate, None);
    let u = parse_cluster_upgrade(&example_with_gate(
        "{consecutiveHealthyEvaluations: 3, haltOn: [warning, critical]}",
    ))
    .unwrap();
    let gate = u.spec.strategy.canary.health_gate.clone().unwrap();
    assert_eq!(gate.consecutive_healthy_evaluations, 3);
    assert_eq!(
        gate.halt_on_severities(),
        [Severity::Warning, Severity::Critical]
    );
    // Round trip as written.
    let yaml = serde_saphyr::to_string(&u).unwrap();
    assert!(yaml.contains("haltOn"), "{yaml}");
    assert_eq!(parse_cluster_upgrade(&yaml).unwrap(), u);

    let defaults = HealthGate::default();
    assert_eq!(defaults.consecutive_healthy_evaluations, 0);
    assert_eq!(defaults.halt_on_severities(), [Severity::Critical]);
    let never = parse_cluster_upgrade(&example_with_gate("{haltOn: []}")).unwrap();
    let never = never.spec.strategy.canary.health_gate.unwrap();
    assert!(never.halt_on_severities().is_empty());
    assert_eq!(never.consecutive_healthy_evaluations, 0);
}

#[test]
fn health_gate_errors_name_the_field() {
    const AT: &str = "spec.strategy.canary.healthGate";
    let cases: &[(&str, &str)] = &[
        (
            "{haltOn: [critical, info]}",
            "spec.strategy.canary.healthGate.haltOn[1]: unsupported value \"info\": must be \"critical\" or \"warning\"",
        ),
        (
            "{consecutiveHealthyEvaluations: 1001}",
            "spec.strategy.canary.healthGate.consecutiveHealthyEvaluations: 1001 is not in 0..=1000",
        ),
        (
            "{consecutiveHealthyEvaluations: -1}",
            "spec.strategy.canary.healthGate.consecutiveHealthyEvaluations: ",
        ),
        (
            "{haltOnn: [critical]}",
            "spec.strategy.canary.healthGate.haltOnn: unknown field `haltOnn`",
        ),
        (
            "{haltOn: critical}",
            "spec.strategy.canary.healthGate.haltOn: ",
        ),
    ];
    for (gate, expected) in cases {
        let err = refusal(&example_with_gate(gate));
        assert!(err.starts_with(AT), "{gate}: {err}");
        assert!(err.contains(expected), "{gate}: {err:?} lacks {expected:?}");
    }
    // Every broken value at once.
    let err = refusal(&example_with_gate(
        "{consecutiveHealthyEvaluations: 5000, haltOn: [page, warning, Critical]}",
    ));
    for part in [
        "consecutiveHealthyEvaluations: 5000 is not in 0..=1000",
        "haltOn[0]: unsupported value \"page\"",
        "haltOn[2]: unsupported value \"Critical\"",
    ] {
        assert!(err.contains(part), "{err:?} lacks {part:?}");
    }
    assert!(!err.contains("haltOn[1]"), "{err}");
}
