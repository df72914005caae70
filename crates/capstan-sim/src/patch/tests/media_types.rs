//! Content types, and which patch types custom resources accept.

use serde_json::json;

use super::{Want, check};
use crate::patch::{PatchError, PatchType, apply_patch};

#[test]
fn content_types() {
    let cases = [
        ("application/json-patch+json", Some(PatchType::Json)),
        ("application/merge-patch+json", Some(PatchType::Merge)),
        (
            "application/strategic-merge-patch+json; charset=utf-8",
            Some(PatchType::StrategicMerge),
        ),
        ("application/apply-patch+yaml", Some(PatchType::Apply)),
        (
            "Application/Apply-Patch+YAML ;charset=utf-8",
            Some(PatchType::Apply),
        ),
        ("application/apply-patch+cbor", None),
        ("application/json", None),
        ("", None),
    ];
    for (ct, want) in cases {
        assert_eq!(PatchType::from_content_type(ct), want, "{ct}");
    }
}

#[test]
fn strategic_merge_is_unsupported_for_custom_resources() {
    check(
        "Widget",
        false,
        json!({}),
        PatchType::StrategicMerge,
        "{}",
        Want::Unsupported,
    );
    // Even a body that is not JSON: upstream rejects the media type before reading it.
    check(
        "Widget",
        false,
        json!({}),
        PatchType::StrategicMerge,
        "{",
        Want::Unsupported,
    );
    let got = apply_patch(
        &json!({}),
        PatchType::StrategicMerge,
        b"{}",
        "Widget",
        false,
    );
    match got {
        Err(PatchError::Unsupported(m)) => assert_eq!(
            m,
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        ),
        other => panic!("{other:?}"),
    }
    // Merge patches still work on custom resources.
    check(
        "Widget",
        false,
        json!({"spec": {"a": 1}}),
        PatchType::Merge,
        r#"{"spec":{"b":2}}"#,
        Want::Ok(json!({"spec": {"a": 1, "b": 2}})),
    );
}
