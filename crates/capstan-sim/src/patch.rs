//! PATCH application: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge
//! patch and server-side apply bodies, as pure functions over `serde_json::Value`.
//!
//! Strategic merge follows apimachinery's `strategicpatch.StrategicMergeMapPatch` with
//! `MergeParallelList` and `IgnoreUnmatchedNulls` (what the apiserver's patch handler uses):
//! the `$patch`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…` and `$retainKeys`
//! directives, and list merging driven by the `patchStrategy`/`patchMergeKey` struct tags of
//! the built-in types, tabled in [`FIELDS`](merge_keys::FIELDS). Lists without a merge
//! strategy, and anything the table does not know, are replaced wholesale (upstream's default).
//!
//! Where upstream relies on decoding the merged map back into a typed struct (which drops
//! unknown fields and nulls), values copied verbatim from the patch are cleaned here instead:
//! leftover directive keys and null map entries are removed.
//!
//! Server-side apply is simplified to a merge of the applied configuration into the live
//! object (no managedFields ownership: fields the applier stops sending are not removed),
//! using the same list keys; nulls in the applied configuration are ignored.
//!
//! The parts: `merge` (JSON merge patch), `merge_keys` (the table of patch strategies),
//! `strategic` (maps and lists), `directives` (the `$…` keys and cleaning copied values),
//! `order` (`$setElementOrder` and list order) and `apply` (server-side apply).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

mod apply;
mod directives;
mod merge;
mod merge_keys;
mod order;
mod strategic;

use apply::{apply_merge, parse_apply_body};
use merge::merge_docs;
use merge_keys::Schema;
use strategic::merge_map;

/// The PATCH body's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
    Apply,
}

impl PatchType {
    /// Maps a `Content-Type` header to a patch type, ignoring parameters such as
    /// `; charset=utf-8`. `application/apply-patch+cbor` and anything else give `None` (415).
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Why a patch could not be applied; each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The body is not valid JSON/YAML or not a well-formed patch: 400 Bad Request.
    #[error("{0}")]
    Malformed(String),
    /// The patch does not apply to this object (failed `test`, bad path, missing merge key):
    /// 422 Unprocessable Entity.
    #[error("{0}")]
    Invalid(String),
    /// Strategic merge patch on a custom resource: 415 Unsupported Media Type.
    #[error("{0}")]
    Unsupported(String),
}

/// Upstream's 415 message for a patch type a resource does not accept (custom resources do
/// not accept strategic merge patches).
const UNSUPPORTED_FOR_CUSTOM_RESOURCES: &str = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

/// Applies a patch to `target`. `kind` is the object's kind (e.g. "Pod", "Deployment");
/// `builtin` is false for custom resources.
pub fn apply_patch(
    target: &Value,
    patch_type: PatchType,
    body: &[u8],
    kind: &str,
    builtin: bool,
) -> Result<Value, PatchError> {
    match patch_type {
        PatchType::Json => {
            let patch: json_patch::Patch = parse_json(body)?;
            let mut doc = target.clone();
            json_patch::patch(&mut doc, &patch).map_err(|e| PatchError::Invalid(e.to_string()))?;
            Ok(doc)
        }
        PatchType::Merge => {
            let patch: Value = parse_json(body)?;
            // evanphx/json-patch MergePatch: a patch that is not an object is ErrBadJSONPatch.
            let Value::Object(patch) = patch else {
                return Err(PatchError::Malformed("Invalid JSON Patch".into()));
            };
            Ok(Value::Object(merge_docs(object_or_empty(target), patch)))
        }
        PatchType::StrategicMerge => {
            if !builtin {
                return Err(PatchError::Unsupported(
                    UNSUPPORTED_FOR_CUSTOM_RESOURCES.into(),
                ));
            }
            let patch: Map<String, Value> = parse_json(body)?;
            merge_map(object_or_empty(target), patch, Schema::Kind(kind)).map(Value::Object)
        }
        PatchType::Apply => {
            let applied = parse_apply_body(body)?;
            Ok(apply_merge(target.clone(), applied, Schema::Kind(kind)))
        }
    }
}

/// Parses a JSON body; a syntax or shape error is a malformed patch.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, PatchError> {
    serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))
}

/// The target's fields, or none when it is not an object.
fn object_or_empty(target: &Value) -> Map<String, Value> {
    match target {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    }
}

/// Order-preserving removal (also under serde_json's `preserve_order`).
fn remove_key(map: &mut Map<String, Value>, key: &str) {
    map.retain(|k, _| k != key);
}

fn malformed(msg: impl Into<String>) -> PatchError {
    PatchError::Malformed(msg.into())
}

fn invalid(msg: impl Into<String>) -> PatchError {
    PatchError::Invalid(msg.into())
}

fn no_merge_key(item: &Value, key: &str) -> PatchError {
    invalid(format!(
        "map: {item} does not contain declared merge key: {key}"
    ))
}

fn expected_map(v: &Value) -> PatchError {
    invalid(format!("expected a map in the list, got {v}"))
}

#[cfg(test)]
mod tests;
