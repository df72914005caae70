//! The strategic merge patch directives (`$patch`, `$retainKeys`, `$setElementOrder/…`,
//! `$deleteFromPrimitiveList/…`) and the cleaning of values copied verbatim from the patch.

use serde_json::{Map, Value};

use super::{PatchError, malformed, remove_key};

pub(super) const DIRECTIVE_MARKER: &str = "$patch";
pub(super) const RETAIN_KEYS: &str = "$retainKeys";
pub(super) const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
pub(super) const SET_ELEMENT_ORDER: &str = "$setElementOrder";

// mergepatch's error texts.
pub(super) const ERR_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
pub(super) const ERR_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
pub(super) const ERR_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";
pub(super) const ERR_LIST_OF_LISTS: &str = "lists of lists are not supported";

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE_MARKER
        || key == RETAIN_KEYS
        || key.starts_with("$setElementOrder/")
        || key.starts_with("$deleteFromPrimitiveList/")
}

/// `extractKey`: "$prefix/field" → "field".
pub(super) fn extract_key<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    match key.split_once('/') {
        Some((p, rest)) if p == prefix => Some(rest),
        _ => None,
    }
}

/// `removeDirectives`: maps carrying `$patch` disappear, everything else is kept (here
/// additionally without leftover directive keys).
pub(super) fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            Some(Value::Object(
                m.into_iter()
                    .filter(|(k, _)| !is_directive_key(k))
                    .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                    .collect(),
            ))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// A value copied verbatim from the patch, cleaned the way decoding into the typed object
/// would clean it: no directive keys, no null map entries.
pub(super) fn sanitize(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(sanitize_map(m)),
        Value::Array(a) => Value::Array(a.into_iter().map(sanitize).collect()),
        other => other,
    }
}

pub(super) fn sanitize_map(m: Map<String, Value>) -> Map<String, Value> {
    m.into_iter()
        .filter(|(k, v)| !is_directive_key(k) && !v.is_null())
        .map(|(k, v)| (k, sanitize(v)))
        .collect()
}

/// A patch value taken as it is, where there is nothing to merge it with:
/// `discardNullValuesFromPatch`, then `removeDirectives`.
pub(super) fn take_patch_value(mut v: Value) -> Option<Value> {
    discard_null_values(&mut v);
    remove_directives(v)
}

/// `discardNullValuesFromPatch`.
fn discard_null_values(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_null_values);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_null_values),
        _ => {}
    }
}

/// `applyRetainKeysDirective`: keep only the listed keys of the original; every non-null
/// key of the patch must be listed.
pub(super) fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.get(RETAIN_KEYS).cloned() else {
        return Ok(());
    };
    remove_key(patch, RETAIN_KEYS);
    let Value::Array(retain) = retain else {
        return Err(malformed(ERR_RETAIN_KEYS));
    };
    let listed = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(malformed(ERR_RETAIN_KEYS));
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}
