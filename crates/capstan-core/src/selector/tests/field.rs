//! Field selectors: parsing, escaping, matching and exact values.

use super::Expect;
use crate::Error;
use crate::selector::FieldSelector;

/// Parsed field requirements as (field, negated, value).
type FieldReqs<'a> = &'a [(&'a str, bool, &'a str)];

/// Field selector, expected requirements as (field, negated, value), or error part.
fn check_field(input: &str, expected: Expect<FieldReqs<'_>>) {
    match (FieldSelector::parse(input), expected) {
        (Ok(sel), Ok(want)) => {
            let got: Vec<(&str, bool, &str)> = sel
                .requirements
                .iter()
                .map(|r| (r.field.as_str(), r.negated, r.value.as_str()))
                .collect();
            assert_eq!(got, want, "{input:?}");
            assert_eq!(sel.is_everything(), want.is_empty());
            let again = FieldSelector::parse(&sel.to_string()).unwrap();
            assert_eq!(again, sel, "round trip of {input:?} via {sel}");
        }
        (Err(e), Err(part)) => {
            let msg = e.to_string();
            assert!(msg.contains(part), "{input:?}: {msg}");
            assert!(matches!(e, Error::FieldSelector { .. }));
        }
        (got, want) => panic!("{input:?}: got {got:?}, wanted {want:?}"),
    }
}

#[test]
fn field_parse_cases() {
    let cases: &[(&str, Expect<FieldReqs<'_>>)] = &[
        ("", Ok(&[])),
        (",", Ok(&[])),
        ("=", Ok(&[])),
        ("a=b", Ok(&[("a", false, "b")])),
        ("a==b", Ok(&[("a", false, "b")])),
        ("a!=b", Ok(&[("a", true, "b")])),
        ("a=", Ok(&[("a", false, "")])),
        ("=b", Ok(&[("", false, "b")])),
        ("a=b,,", Ok(&[("a", false, "b")])),
        // Raw terms are sorted before parsing.
        (
            "spec.nodeName=n1,metadata.name!=x",
            Ok(&[("metadata.name", true, "x"), ("spec.nodeName", false, "n1")]),
        ),
        ("a=b,a=c", Ok(&[("a", false, "b"), ("a", false, "c")])),
        ("a = b", Ok(&[("a ", false, " b")])),
        ("a=x\\,y", Ok(&[("a", false, "x,y")])),
        ("a=x\\=y", Ok(&[("a", false, "x=y")])),
        ("a=x\\\\y", Ok(&[("a", false, "x\\y")])),
        ("a=b!c", Ok(&[("a", false, "b!c")])),
        ("a!==b", Err("unescaped character in value: '='")),
        ("a=é", Ok(&[("a", false, "é")])),
        ("a", Err("can't understand 'a'")),
        ("a=b,c", Err("can't understand 'c'")),
        ("a=b=c", Err("unescaped character in value: '='")),
        ("a=x\\!", Err("invalid escape sequence: \\!")),
        ("a=x\\é", Err("invalid escape sequence: \\é")),
        ("a=x\\", Err("invalid escape sequence: \\")),
    ];
    for (input, expected) in cases {
        check_field(input, *expected);
    }
}

#[test]
fn field_matching() {
    let obj = |field: &str| match field {
        "metadata.name" => Some("web-1".to_string()),
        "spec.nodeName" => Some("node-a".to_string()),
        "status.phase" => Some("Running".to_string()),
        _ => None,
    };
    let cases: &[(&str, bool)] = &[
        ("", true),
        ("spec.nodeName=node-a", true),
        ("spec.nodeName=node-b", false),
        ("spec.nodeName!=node-b", true),
        ("spec.nodeName=node-a,status.phase!=Running", false),
        ("spec.nodeName=node-a,status.phase==Running", true),
        ("missing=", true),
        ("missing!=", false),
        ("missing=x", false),
        ("missing!=x", true),
    ];
    for (sel, want) in cases {
        assert_eq!(
            FieldSelector::parse(sel).unwrap().matches(obj),
            *want,
            "{sel:?}"
        );
    }
}

#[test]
fn field_exact_value() {
    let sel = FieldSelector::parse("spec.nodeName!=x,spec.nodeName=n1,a=b").unwrap();
    assert_eq!(sel.exact_value("spec.nodeName"), Some("n1"));
    assert_eq!(sel.exact_value("a"), Some("b"));
    assert_eq!(sel.exact_value("b"), None);
    let neg = FieldSelector::parse("spec.nodeName!=x").unwrap();
    assert_eq!(neg.exact_value("spec.nodeName"), None);
    assert_eq!(
        FieldSelector::parse("a=x\\,y\\=z\\\\").unwrap().to_string(),
        "a=x\\,y\\=z\\\\"
    );
}
