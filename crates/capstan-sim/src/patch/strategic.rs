//! Strategic merge patch: `mergeMap` and `mergeSlice`, driven by the field table.

use serde_json::{Map, Value};

use super::directives::{
    DELETE_FROM_PRIMITIVE_LIST, DIRECTIVE_MARKER, ERR_LIST_OF_LISTS, ERR_PRIMITIVE_LIST,
    apply_retain_keys, extract_key, remove_directives, sanitize, sanitize_map, take_patch_value,
};
use super::merge_keys::{FieldMeta, Schema, Strategy, lookup};
use super::order::{merge_set_element_order, normalize_element_order, partition};
use super::{PatchError, expected_map, invalid, malformed, no_merge_key, remove_key};

/// The dynamic Go type a decoded JSON value would have (ints and floats differ, as
/// `UnmarshalCaseSensitivePreserveInts` keeps them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GoType {
    Nil,
    Bool,
    Int,
    Float,
    String,
    Slice,
    Map,
}

fn go_type(v: &Value) -> GoType {
    match v {
        Value::Null => GoType::Nil,
        Value::Bool(_) => GoType::Bool,
        Value::Number(n) if n.is_f64() => GoType::Float,
        Value::Number(_) => GoType::Int,
        Value::String(_) => GoType::String,
        Value::Array(_) => GoType::Slice,
        Value::Object(_) => GoType::Map,
    }
}

/// `sliceElementType`: all elements of all lists share one type, which is not a list.
pub(super) fn slice_element_type(lists: &[&[Value]]) -> Result<GoType, PatchError> {
    let mut prev: Option<GoType> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let t = go_type(v);
        match prev {
            None if t == GoType::Slice => return Err(invalid(ERR_LIST_OF_LISTS)),
            // Upstream panics on a nil element; refuse it instead.
            None if t == GoType::Nil => {
                return Err(invalid("list elements must not be null"));
            }
            None => prev = Some(t),
            Some(p) if p != t => {
                return Err(invalid("list element types are not identical"));
            }
            Some(_) => {}
        }
    }
    prev.ok_or_else(|| invalid("no elements in any of the given slices"))
}

/// `mergeMap`.
pub(super) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema<'_>,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER).cloned() {
        return match directive.as_str() {
            // "$patch: replace" takes the patch map as it is (minus the directive).
            Some("replace") => Ok(sanitize_map(patch)),
            // "$patch: delete" empties the map.
            Some("delete") => Ok(Map::new()),
            _ => Err(invalid(format!(
                "unknown patch type: {directive} in map: {}",
                Value::Object(patch)
            ))),
        };
    }

    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, schema)?;

    for (key, patch_value) in patch {
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            let Some(list_key) = extract_key(&key, DELETE_FROM_PRIMITIVE_LIST) else {
                return Err(malformed(ERR_PRIMITIVE_LIST));
            };
            (list_key.to_string(), true)
        } else {
            (key, false)
        };

        // A null deletes the key (and, with IgnoreUnmatchedNulls, is otherwise dropped).
        if patch_value.is_null() {
            remove_key(&mut original, &key);
            continue;
        }

        let Some(original_value) = original.get(&key) else {
            if !is_delete_list {
                // Not in the original: take the patch value.
                set_or_remove(&mut original, key, take_patch_value(patch_value));
            }
            continue;
        };

        let meta = lookup(schema, &key);
        let merged = match (original_value, patch_value) {
            (o, p) if go_type(o) != go_type(&p) => {
                if is_delete_list {
                    continue;
                }
                take_patch_value(p)
            }
            (Value::Object(o), Value::Object(p)) => Some(if meta.strategy == Strategy::Replace {
                Value::Object(sanitize_map(p))
            } else {
                Value::Object(merge_map(o.clone(), p, meta.schema)?)
            }),
            (Value::Array(o), Value::Array(p)) => Some(Value::Array(merge_slice_handler(
                o.clone(),
                p,
                meta,
                is_delete_list,
            )?)),
            (_, p) => remove_directives(p),
        };
        set_or_remove(&mut original, key, merged);
    }
    Ok(original)
}

/// Sets `key` to the merged value, or removes it when there is none.
fn set_or_remove(map: &mut Map<String, Value>, key: String, value: Option<Value>) {
    match value {
        Some(v) => {
            map.insert(key, v);
        }
        None => remove_key(map, &key),
    }
}

/// `mergeSliceHandler`: merge lists with the merge strategy (and deletion lists), replace the
/// others.
pub(super) fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta<'_>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if meta.strategy == Strategy::Merge || is_delete_list {
        merge_slice(original, patch, meta, is_delete_list)
    } else {
        Ok(patch.into_iter().map(sanitize).collect())
    }
}

/// `mergeSlice`.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta<'_>,
    is_delete_list: bool,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = slice_element_type(&[&original, &patch])?;

    if kind != GoType::Map {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.iter().chain(patch.iter()) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        let (patch_items, server_only) = partition(merged, &patch, "")?;
        return normalize_element_order(patch_items, server_only, &patch, &original, "", kind);
    }

    let key = meta.merge_key;
    if key.is_empty() {
        return Err(invalid(format!(
            "cannot merge lists without merge key for {:?}",
            meta.schema
        )));
    }
    let (original, patch) = merge_slice_with_special_elements(original, patch, key)?;
    let merged = merge_slice_without_special_elements(original.clone(), &patch, key, meta.schema)?;
    let (patch_items, server_only) = partition(merged, &patch, key)?;
    normalize_element_order(patch_items, server_only, &patch, &original, key, kind)
}

/// `mergeSliceWithSpecialElements`: apply `{"$patch": "delete", key: …}` elements to the
/// original, and `{"$patch": "replace"}` by taking the rest of the patch as the whole list.
fn merge_slice_with_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::new();
    let mut replace = false;
    for v in patch {
        let Some(directive) = v.get(DIRECTIVE_MARKER) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(value) = v.get(key) else {
                    return Err(no_merge_key(&v, key));
                };
                for o in &original {
                    if !o.is_object() {
                        return Err(invalid(format!("value {o} is not a map")));
                    }
                }
                original.retain(|o| o.get(key) != Some(value));
            }
            // Keep scanning to drop any other special elements.
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(invalid(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            _ => {
                return Err(invalid(format!(
                    "unknown patch type: {directive} in map: {v}"
                )));
            }
        }
    }
    if replace {
        Ok((plain.into_iter().map(sanitize).collect(), Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// `mergeSliceWithoutSpecialElements`: merge each patch element into the original element
/// with the same merge key value, or append it.
fn merge_slice_without_special_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    schema: Schema<'_>,
) -> Result<Vec<Value>, PatchError> {
    for v in patch {
        let Value::Object(p) = v else {
            return Err(expected_map(v));
        };
        let Some(value) = p.get(key) else {
            return Err(no_merge_key(v, key));
        };
        match find_by_key(&original, key, value)? {
            Some(i) => {
                let Value::Object(o) = std::mem::take(&mut original[i]) else {
                    return Err(invalid("list element is not a map"));
                };
                original[i] = Value::Object(merge_map(o, p.clone(), schema)?);
            }
            None => original.push(sanitize(v.clone())),
        }
    }
    Ok(original)
}

/// `findMapInSliceBasedOnKeyValue`.
pub(super) fn find_by_key(
    list: &[Value],
    key: &str,
    value: &Value,
) -> Result<Option<usize>, PatchError> {
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else {
            return Err(invalid(format!("value for key {i} is not a map")));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}
