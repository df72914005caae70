#![allow(clippy::unwrap_used)]
//! Cross-check against pod-security-admission's own fixtures: every pod under
//! `test/testdata/{baseline,restricted}/v1.N/{pass,fail}/*.yaml` of a checkout of
//! kubernetes/pod-security-admission must pass or fail here as it does there, and a failing
//! fixture (named after its check, e.g. `procmount_restricted0.yaml`) must fail that check.
//!
//! Run with:
//! `PSA_TESTDATA=<checkout>/test/testdata cargo test -p capstan-core psa_fixtures -- --ignored`

use std::path::Path;

use super::*;

#[test]
#[ignore = "needs PSA_TESTDATA pointing at kubernetes/pod-security-admission's test/testdata"]
fn psa_fixtures_pass_and_fail_as_upstream() {
    let root = std::env::var("PSA_TESTDATA").expect("set PSA_TESTDATA to PSA's test/testdata");
    let root = Path::new(&root);
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (level, level_dir) in [
        (Level::Baseline, "baseline"),
        (Level::Restricted, "restricted"),
    ] {
        for version in std::fs::read_dir(root.join(level_dir)).unwrap() {
            let version = version.unwrap();
            let name = version.file_name().into_string().unwrap();
            let minor: u32 = name.strip_prefix("v1.").unwrap().parse().unwrap();
            for outcome in ["pass", "fail"] {
                let Ok(files) = std::fs::read_dir(version.path().join(outcome)) else {
                    continue;
                };
                for file in files {
                    let path = file.unwrap().path();
                    let yaml = std::fs::read_to_string(&path).unwrap();
                    let pod: PodInput = serde_saphyr::from_str(&yaml)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    let violations = check_pod(&pod, level, minor);
                    let stem = path.file_stem().unwrap().to_str().unwrap();
                    let check = stem.trim_end_matches(|c: char| c.is_ascii_digit());
                    // At restricted, a baseline check replaced by a restricted one fails
                    // under the replacing check's ID.
                    let replaced_by = match (level, check) {
                        (Level::Restricted, "hostpathvolumes") => "restrictedvolumes",
                        (Level::Restricted, "capabilities_baseline") if minor >= 22 => {
                            "capabilities_restricted"
                        }
                        (Level::Restricted, "seccompprofile_baseline") if minor >= 19 => {
                            "seccompprofile_restricted"
                        }
                        (Level::Restricted, "procmount") if minor >= 35 => "procmount_restricted",
                        _ => check,
                    };
                    let ok = if outcome == "pass" {
                        violations.is_empty()
                    } else {
                        violations
                            .iter()
                            .any(|v| v.check.to_lowercase() == replaced_by)
                    };
                    if !ok {
                        mismatches.push(format!(
                            "{level_dir}/v1.{minor}/{outcome}/{stem}: {:?}",
                            violations
                                .iter()
                                .map(|v| (v.check, &v.field_path))
                                .collect::<Vec<_>>()
                        ));
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} fixtures found");
    assert!(
        mismatches.is_empty(),
        "{} of {checked} fixtures disagree:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
