//! Matching label selectors against every kind of label container.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use super::labels;
use crate::selector::{LabelSelector, Labels};

/// Selector, labels as `k=v,k=v`, expected match.
fn check_match(selector: &str, labels_spec: &str, expected: bool) {
    let sel = LabelSelector::parse(selector).unwrap();
    let map = labels(labels_spec);
    assert_eq!(
        sel.matches(&map),
        expected,
        "{selector:?} against {labels_spec:?}"
    );
    // Every container must agree with the map.
    let hash: HashMap<String, String> = map.clone().into_iter().collect();
    let pairs: Vec<(String, String)> = map.clone().into_iter().collect();
    let json: serde_json::Map<String, serde_json::Value> =
        map.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    assert_eq!(sel.matches(&hash), expected, "HashMap {selector:?}");
    assert_eq!(sel.matches(&pairs), expected, "Vec {selector:?}");
    assert_eq!(
        sel.matches(pairs.as_slice()),
        expected,
        "slice {selector:?}"
    );
    assert_eq!(sel.matches(&json), expected, "json {selector:?}");
}

#[test]
fn match_cases() {
    let cases: &[(&str, &str, bool)] = &[
        ("", "", true),
        ("", "a=b", true),
        ("a=b", "a=b", true),
        ("a=b", "a=c", false),
        ("a=b", "", false),
        ("a==b", "a=b,c=d", true),
        ("a!=b", "a=b", false),
        ("a!=b", "a=c", true),
        ("a!=b", "", true),
        ("a=", "a=", true),
        ("a=", "", false),
        ("a!=", "", true),
        ("a in (x,y)", "a=y", true),
        ("a in (x,y)", "a=z", false),
        ("a in (x,y)", "", false),
        ("a in ()", "a=", true),
        ("a notin (x,y)", "a=x", false),
        ("a notin (x,y)", "a=z", true),
        ("a notin (x,y)", "", true),
        ("a", "a=", true),
        ("a", "b=c", false),
        ("!a", "b=c", true),
        ("!a", "a=", false),
        ("a>3", "a=4", true),
        ("a>3", "a=3", false),
        ("a>3", "a=x", false),
        ("a>3", "", false),
        ("a<3", "a=-5", true),
        ("a<3", "a=+2", true),
        ("a<3", "a=3", false),
        ("a>0", "a=99999999999999999999", false),
        ("a=b,c", "a=b", false),
        ("a=b,c", "a=b,c=", true),
        ("a=b,!c", "a=b,c=x", false),
    ];
    for (sel, ls, want) in cases {
        check_match(sel, ls, *want);
    }
}

#[test]
fn labels_containers() {
    let json =
        serde_json::Map::from_iter([("a".to_string(), json!("x")), ("n".to_string(), json!(3))]);
    assert_eq!(json.get_label("a"), Some("x"));
    assert_eq!(json.get_label("n"), None, "non-string values are absent");
    let pairs = [("a", "1"), ("a", "2")];
    assert_eq!(
        pairs.as_slice().get_label("a"),
        Some("1"),
        "first pair wins"
    );
    let borrowed: BTreeMap<&str, &str> = BTreeMap::from([("k", "v")]);
    assert!(LabelSelector::parse("k=v").unwrap().matches(&borrowed));
}

#[test]
fn label_exact_value() {
    let sel = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5,e").unwrap();
    assert_eq!(sel.exact_value("a"), Some("1"));
    assert_eq!(sel.exact_value("b"), Some("2"));
    assert_eq!(sel.exact_value("c"), None);
    assert_eq!(sel.exact_value("d"), None);
    assert_eq!(sel.exact_value("e"), None);
    assert_eq!(sel.exact_value("zz"), None);
}
