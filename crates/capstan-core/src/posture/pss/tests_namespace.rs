#![allow(clippy::unwrap_used)]
//! Namespace policy from `pod-security.kubernetes.io/*` labels, as PSA's PolicyToEvaluate.

use std::collections::BTreeMap;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), v.to_string()))
        .collect()
}

fn mode(level: Level, version: Option<u32>, from_label: bool) -> Mode {
    Mode {
        level,
        version,
        from_label,
    }
}

/// (labels, defaults) -> expected enforce, audit, warn and the number of errors.
fn check(
    pairs: &[(&str, &str)],
    defaults: &PssDefaults,
    enforce: Mode,
    audit: Mode,
    warn: Mode,
    errors: &[&str],
) {
    let policy = namespace_policy(&labels(pairs), defaults);
    let what = format!("{pairs:?}");
    assert_eq!(policy.enforce, enforce, "enforce {what}");
    assert_eq!(policy.audit, audit, "audit {what}");
    assert_eq!(policy.warn, warn, "warn {what}");
    assert_eq!(policy.errors, errors, "errors {what}");
}

const PRIVILEGED_LATEST: Mode = Mode {
    level: Level::Privileged,
    version: None,
    from_label: false,
};

#[test]
fn labels_resolve_like_psa() {
    use Level::*;
    let defaults = PssDefaults::default();
    // No labels: the defaults (privileged, latest) everywhere.
    check(
        &[],
        &defaults,
        PRIVILEGED_LATEST,
        PRIVILEGED_LATEST,
        PRIVILEGED_LATEST,
        &[],
    );
    // All six labels.
    check(
        &[
            ("enforce", "baseline"),
            ("enforce-version", "v1.29"),
            ("audit", "restricted"),
            ("audit-version", "latest"),
            ("warn", "restricted"),
            ("warn-version", "v1.0"),
        ],
        &defaults,
        mode(Baseline, Some(29), true),
        mode(Restricted, None, true),
        mode(Restricted, Some(0), true),
        &[],
    );
    // An explicit enforce level is copied to an unset, less restrictive warn, with its version.
    check(
        &[("enforce", "restricted"), ("enforce-version", "v1.30")],
        &defaults,
        mode(Restricted, Some(30), true),
        PRIVILEGED_LATEST,
        mode(Restricted, Some(30), true),
        &[],
    );
    // ... but not over an explicit warn label, and not its version over a warn-version label.
    check(
        &[("enforce", "restricted"), ("warn", "baseline")],
        &defaults,
        mode(Restricted, None, true),
        PRIVILEGED_LATEST,
        mode(Baseline, None, true),
        &[],
    );
    check(
        &[("enforce", "baseline"), ("warn-version", "v1.28")],
        &defaults,
        mode(Baseline, None, true),
        PRIVILEGED_LATEST,
        // The level came from the enforce label, the version from warn-version.
        mode(Baseline, Some(28), true),
        &[],
    );
    // A version label alone changes the version, not the level.
    check(
        &[("enforce-version", "v1.25")],
        &defaults,
        mode(Privileged, Some(25), false),
        PRIVILEGED_LATEST,
        PRIVILEGED_LATEST,
        &[],
    );
}

#[test]
fn invalid_values_fail_closed_for_enforce_and_open_for_audit_and_warn() {
    use Level::*;
    let defaults = PssDefaults::default();
    check(
        &[("enforce", "Restricted"), ("audit", "strict"), ("warn", "")],
        &defaults,
        mode(Restricted, None, true),
        mode(Privileged, None, true),
        mode(Privileged, None, true),
        &[
            r#"metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "Restricted": must be one of privileged, baseline, restricted"#,
            r#"metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: "strict": must be one of privileged, baseline, restricted"#,
            r#"metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "": must be one of privileged, baseline, restricted"#,
        ],
    );
    // An invalid enforce level does not default warn.
    check(
        &[("enforce", "bogus")],
        &defaults,
        mode(Restricted, None, true),
        PRIVILEGED_LATEST,
        PRIVILEGED_LATEST,
        &[
            r#"metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "bogus": must be one of privileged, baseline, restricted"#,
        ],
    );
    // An invalid version is latest.
    check(
        &[
            ("enforce", "baseline"),
            ("enforce-version", "1.29"),
            ("audit-version", "v1.029"),
        ],
        &PssDefaults {
            audit_version: Some(20),
            ..PssDefaults::default()
        },
        mode(Baseline, None, true),
        mode(Privileged, None, false),
        mode(Baseline, None, true),
        &[
            r#"metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "1.29": must be "latest" or "v1.x""#,
            r#"metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: "v1.029": must be "latest" or "v1.x""#,
        ],
    );
}

#[test]
fn defaults_apply_per_mode_without_a_label() {
    use Level::*;
    let defaults = PssDefaults {
        enforce: Baseline,
        enforce_version: Some(28),
        audit: Restricted,
        audit_version: None,
        warn: Restricted,
        warn_version: Some(30),
        exempt_namespaces: vec!["kube-system".to_string()],
    };
    check(
        &[("audit", "baseline")],
        &defaults,
        mode(Baseline, Some(28), false),
        mode(Baseline, None, true),
        mode(Restricted, Some(30), false),
        &[],
    );
    // A label may relax the cluster default.
    check(
        &[("enforce", "privileged")],
        &defaults,
        mode(Privileged, Some(28), true),
        mode(Restricted, None, false),
        mode(Restricted, Some(30), false),
        &[],
    );
    assert!(defaults.is_exempt("kube-system"));
    assert!(!defaults.is_exempt("default"));
    // Labels of other prefixes are ignored.
    let policy = namespace_policy(
        &BTreeMap::from([("enforce".to_string(), "restricted".to_string())]),
        &defaults,
    );
    assert_eq!(policy.enforce, mode(Baseline, Some(28), false));
}

#[test]
fn versions_parse_like_psa() {
    for (input, want) in [
        ("latest", Ok(None)),
        ("v1.0", Ok(Some(0))),
        ("v1.9", Ok(Some(9))),
        ("v1.31", Ok(Some(31))),
        ("v1.031", Err(())),
        ("v1.", Err(())),
        ("v2.1", Err(())),
        ("1.31", Err(())),
        ("v1.31.0", Err(())),
        ("Latest", Err(())),
        ("v1.10000", Ok(Some(10000))),
        ("v1.99999999999", Ok(Some(u32::MAX))),
        ("v1.99999999999999999999", Err(())),
        ("foo", Err(())),
        ("", Err(())),
        ("v1", Err(())),
    ] {
        assert_eq!(parse_version(input).map_err(|_| ()), want, "{input}");
    }
    assert_eq!(format_version(Some(29)), "v1.29");
    assert_eq!(format_version(None), "latest");
    // The minor to evaluate: latest is the cluster's, newer than the cluster is the cluster's.
    assert_eq!(mode(Level::Baseline, None, true).minor(31), 31);
    assert_eq!(mode(Level::Baseline, Some(25), true).minor(31), 25);
    assert_eq!(mode(Level::Baseline, Some(40), true).minor(31), 31);
}
