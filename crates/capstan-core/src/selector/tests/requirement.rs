//! Building requirements directly: validation and malformed requirements.

use super::{Expect, labels};
use crate::selector::{Operator, Requirement};

#[test]
fn malformed_gt_requirement_never_matches() {
    let map = labels("a=5");
    for values in [
        vec![],
        vec!["1".to_string(), "2".to_string()],
        vec!["x".to_string()],
    ] {
        let r = Requirement {
            key: "a".into(),
            operator: Operator::Gt,
            values,
        };
        assert!(!r.matches(&map));
    }
}

#[test]
fn requirement_new_validates() {
    let cases: &[(&str, Operator, &[&str], Expect<()>)] = &[
        ("a", Operator::In, &["x"], Ok(())),
        (
            "a",
            Operator::In,
            &[],
            Err(
                "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty",
            ),
        ),
        (
            "a",
            Operator::Exists,
            &["x"],
            Err("values set must be empty for exists and does not exist"),
        ),
        (
            "a",
            Operator::Equals,
            &["x", "y"],
            Err("exact-match compatibility requires one single value"),
        ),
        (
            "a",
            Operator::Lt,
            &["1", "2"],
            Err("exactly one value is required"),
        ),
        // Several problems are reported together, as upstream's aggregate.
        (
            "a_",
            Operator::Gt,
            &["z"],
            Err("[key: Invalid value: \"a_\""),
        ),
    ];
    for (key, op, values, want) in cases {
        let got = Requirement::new(
            key,
            op.clone(),
            values.iter().map(|s| s.to_string()).collect(),
        );
        match (got, want) {
            (Ok(r), Ok(())) => assert_eq!(r.key, *key),
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(msg.contains(part), "{key:?} {op:?}: {msg}");
            }
            (got, want) => panic!("{key:?} {op:?}: got {got:?}, wanted {want:?}"),
        }
    }
    let both = Requirement::new("a_", Operator::Gt, vec!["z".into()])
        .unwrap_err()
        .to_string();
    assert!(both.contains("values[0]: Invalid value: \"z\""), "{both}");
}
