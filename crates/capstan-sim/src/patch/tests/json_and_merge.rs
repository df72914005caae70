//! JSON merge patch and JSON patch.

use serde_json::json;

use super::{Want, check};
use crate::patch::{PatchError, PatchType, apply_patch};

#[test]
fn json_merge_patch() {
    let target = json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"list": [1, 2], "obj": {"k": "v"}}});
    let cases = [
        (
            r#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#,
            Want::Ok(
                json!({"metadata": {"name": "x", "labels": {"b": "2", "c": "3"}}, "spec": {"list": [1, 2], "obj": {"k": "v"}}}),
            ),
        ),
        (
            r#"{"spec":{"list":[3],"obj":"flat"}}"#,
            Want::Ok(
                json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"list": [3], "obj": "flat"}}),
            ),
        ),
        // New values lose their nulls, also inside objects within lists.
        (
            r#"{"spec":{"new":{"a":null,"b":1},"list":[{"x":null,"y":2},null]}}"#,
            Want::Ok(
                json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}},
                         "spec": {"list": [{"y": 2}, null], "obj": {"k": "v"}, "new": {"b": 1}}}),
            ),
        ),
        (
            r#"{"spec":null}"#,
            Want::Ok(json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}})),
        ),
        ("[1]", Want::Malformed),
        ("null", Want::Malformed),
        ("{not json", Want::Malformed),
    ];
    for (body, want) in cases {
        check(
            "ConfigMap",
            true,
            target.clone(),
            PatchType::Merge,
            body,
            want,
        );
    }
}

#[test]
fn json_patch() {
    let target = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"replicas": 1}});
    let cases = [
        (
            r#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/labels/b","value":"2"}]"#,
            Want::Ok(
                json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 3}}),
            ),
        ),
        (
            r#"[{"op":"test","path":"/spec/replicas","value":1},{"op":"remove","path":"/metadata/labels/a"}]"#,
            Want::Ok(json!({"metadata": {"name": "x", "labels": {}}, "spec": {"replicas": 1}})),
        ),
        (
            r#"[{"op":"test","path":"/spec/replicas","value":2}]"#,
            Want::Invalid,
        ),
        (r#"[{"op":"remove","path":"/spec/missing"}]"#, Want::Invalid),
        (
            r#"[{"op":"add","path":"/no/such/parent","value":1}]"#,
            Want::Invalid,
        ),
        (r#"{"op":"add"}"#, Want::Malformed),
        (r#"[{"op":"frobnicate","path":"/x"}]"#, Want::Malformed),
    ];
    for (body, want) in cases {
        check(
            "Deployment",
            true,
            target.clone(),
            PatchType::Json,
            body,
            want,
        );
    }
    // The target is untouched when a later operation fails.
    let err = apply_patch(&target, PatchType::Json,
        br#"[{"op":"replace","path":"/spec/replicas","value":9},{"op":"test","path":"/x","value":1}]"#, "Deployment", true);
    assert!(
        matches!(err, Err(PatchError::Invalid(ref m)) if m.contains("/x")),
        "{err:?}"
    );
}
