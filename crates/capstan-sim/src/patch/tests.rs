//! Tests of every patch type, by topic.

use serde_json::{Value, json};

use super::{PatchError, PatchType, apply_patch};

mod json_and_merge;
mod kubectl;
mod media_types;
mod server_side_apply;
mod strategic_fields;
mod strategic_lists;

#[derive(Debug)]
enum Want {
    Ok(Value),
    Malformed,
    Invalid,
    Unsupported,
}

/// Applies `body` to `target` and compares the outcome.
fn check(kind: &str, builtin: bool, target: Value, patch_type: PatchType, body: &str, want: Want) {
    let got = apply_patch(&target, patch_type, body.as_bytes(), kind, builtin);
    match (&got, &want) {
        (Ok(v), Want::Ok(w)) => assert_eq!(v, w, "{patch_type:?} {body}"),
        (Err(PatchError::Malformed(_)), Want::Malformed)
        | (Err(PatchError::Invalid(_)), Want::Invalid)
        | (Err(PatchError::Unsupported(_)), Want::Unsupported) => {}
        _ => panic!("{patch_type:?} {body}: got {got:?}, want {want:?}"),
    }
}

fn smp(kind: &str, target: Value, patch: Value, want: Want) {
    check(
        kind,
        true,
        target,
        PatchType::StrategicMerge,
        &patch.to_string(),
        want,
    );
}

fn deployment(containers: Value) -> Value {
    json!({"metadata": {"name": "web"}, "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}}})
}

fn web() -> Value {
    json!({"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80, "protocol": "TCP"}],
           "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]})
}

fn log() -> Value {
    json!({"name": "log", "image": "busybox"})
}
