//! Converting `metav1.LabelSelector` objects.

use serde_json::json;

use super::Expect;
use crate::selector::LabelSelector;

/// JSON selector, expected canonical string or error part.
fn check_json(v: serde_json::Value, expected: Expect<&str>) {
    match (LabelSelector::from_label_selector_json(&v), expected) {
        (Ok(sel), Ok(want)) => {
            assert_eq!(sel.to_string(), want, "{v}");
            assert_eq!(
                LabelSelector::parse(want).unwrap(),
                sel,
                "{v} vs parsed form"
            );
        }
        (Err(e), Err(part)) => {
            let msg = e.to_string();
            assert!(msg.contains(part), "{v}: {msg}");
        }
        (got, want) => panic!("{v}: got {got:?}, wanted {want:?}"),
    }
}

#[test]
fn json_cases() {
    check_json(json!({}), Ok(""));
    check_json(
        json!({"matchLabels": null, "matchExpressions": null}),
        Ok(""),
    );
    check_json(json!({"matchLabels": {"b": "2", "a": "1"}}), Ok("a=1,b=2"));
    check_json(
        json!({"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["b", "a", "b"]},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "gpu", "operator": "Exists"},
            {"key": "spot", "operator": "DoesNotExist", "values": []},
        ]}),
        Ok("app=web,env notin (dev),gpu,!spot,tier in (a,b)"),
    );
    check_json(json!(null), Err("found null"));
    check_json(json!("a=b"), Err("found a string"));
    check_json(
        json!({"matchLabels": []}),
        Err("matchLabels: expected an object"),
    );
    check_json(
        json!({"matchLabels": {"a": 1}}),
        Err("matchLabels[a]: expected a string"),
    );
    check_json(
        json!({"matchLabels": {"a_": "x"}}),
        Err("key: Invalid value: \"a_\""),
    );
    check_json(
        json!({"matchLabels": {"a": "-x"}}),
        Err("values[0][a]: Invalid value: \"-x\""),
    );
    check_json(
        json!({"matchExpressions": {}}),
        Err("matchExpressions: expected an array"),
    );
    check_json(
        json!({"matchExpressions": [1]}),
        Err("matchExpressions[0]: expected an object"),
    );
    check_json(
        json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
        Err("\"Gt\" is not a valid label selector operator"),
    );
    check_json(
        json!({"matchExpressions": [{"key": "a", "operator": "in", "values": ["1"]}]}),
        Err("\"in\" is not a valid label selector operator"),
    );
    check_json(
        json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
        Err("values set can't be empty"),
    );
    check_json(
        json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
        Err("values set must be empty"),
    );
    check_json(
        json!({"matchExpressions": [{"operator": "Exists"}]}),
        Err("name part must be non-empty"),
    );
    check_json(
        json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [true]}]}),
        Err("matchExpressions[0].values[0]: expected a string"),
    );
    check_json(
        json!({"matchExpressions": [{"key": 5, "operator": "In", "values": ["x"]}]}),
        Err("matchExpressions[0].key: expected a string"),
    );
}
