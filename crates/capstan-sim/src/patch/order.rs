//! List order in strategic merge patch: the `$setElementOrder/…` directive, and the order of
//! merged lists (patch items in patch order, server-only items in live order).

use serde_json::{Map, Value};

use super::directives::{
    DIRECTIVE_MARKER, ERR_SET_ELEMENT_ORDER, SET_ELEMENT_ORDER, extract_key, remove_directives,
};
use super::merge_keys::{Schema, lookup};
use super::strategic::{GoType, find_by_key, merge_slice_handler, slice_element_type};
use super::{PatchError, expected_map, invalid, malformed, no_merge_key, remove_key};

/// `mergePatchIntoOriginal`: for every `$setElementOrder/<field>`, merge the field's list (if
/// the patch has one) and order the result: `$setElementOrder` first, then the live order.
pub(super) fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema<'_>,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in keys {
        let order = patch.get(&key).cloned().unwrap_or(Value::Null);
        remove_key(patch, &key);
        let Value::Array(order) = order else {
            return Err(invalid(format!(
                "expected a []interface {{}}, but received {order} for {key}"
            )));
        };
        let Some(list_key) = extract_key(&key, SET_ELEMENT_ORDER) else {
            return Err(malformed(ERR_SET_ELEMENT_ORDER));
        };
        let as_list = |v: Option<&Value>| -> Result<Option<Vec<Value>>, PatchError> {
            match v {
                None => Ok(None),
                Some(Value::Array(a)) => Ok(Some(a.clone())),
                Some(other) => Err(invalid(format!(
                    "expected a list for {list_key}, got {other}"
                ))),
            }
        };
        let original_list = as_list(original.get(list_key))?;
        let patch_list = as_list(patch.get(list_key))?;
        let meta = lookup(schema, list_key);

        validate_patch_with_set_order_list(
            patch_list.as_deref().unwrap_or(&[]),
            &order,
            meta.merge_key,
        )?;

        let merged = match (&original_list, &patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => p.iter().cloned().filter_map(remove_directives).collect(),
            (Some(o), Some(p)) => merge_slice_handler(o.clone(), p.clone(), meta, false)?,
            (None, None) => continue,
        };

        let (patch_items, server_only) = partition(merged, &order, meta.merge_key)?;
        let original_list = original_list.unwrap_or_default();
        let kind = slice_element_type(&[&original_list, patch_list.as_deref().unwrap_or(&[])])?;
        let ordered = normalize_element_order(
            patch_items,
            server_only,
            &order,
            &original_list,
            meta.merge_key,
            kind,
        )?;
        original.insert(list_key.to_string(), Value::Array(ordered));
        remove_key(patch, list_key);
    }
    Ok(())
}

/// `validatePatchWithSetOrderList`: the patch list's items appear in `$setElementOrder` in the
/// same relative order.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    order: &[Value],
    merge_key: &str,
) -> Result<(), PatchError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if merge_key.is_empty() {
        patch_list.iter().collect()
    } else {
        let mut kept = Vec::new();
        for v in patch_list {
            let Value::Object(m) = v else {
                return Err(expected_map(v));
            };
            if m.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some("delete") {
                kept.push(v);
            }
        }
        kept
    };
    let (mut pi, mut si) = (0, 0);
    while pi < non_delete.len() && si < order.len() {
        if non_delete[pi].get(DIRECTIVE_MARKER).is_some() {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(non_delete[pi], &order[si], merge_key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= order.len() {
        return Err(invalid(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            Value::Array(patch_list.to_vec()),
            Value::Array(order.to_vec())
        )));
    }
    Ok(())
}

fn merge_key_value_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool, PatchError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let l = left
        .get(merge_key)
        .ok_or_else(|| no_merge_key(left, merge_key))?;
    let r = right
        .get(merge_key)
        .ok_or_else(|| no_merge_key(right, merge_key))?;
    Ok(l == r)
}

/// `partitionPrimitivesByPresentInList`/`partitionMapsByPresentInList`: the merged items the
/// patch (or `$setElementOrder`) names, and the server-only rest.
pub(super) fn partition(
    merged: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut in_patch = Vec::new();
    let mut server_only = Vec::new();
    for v in merged {
        let found = if merge_key.is_empty() {
            by.contains(&v)
        } else {
            let Some(value) = v.get(merge_key) else {
                return Err(no_merge_key(&v, merge_key));
            };
            find_by_key(by, merge_key, value)?.is_some()
        };
        if found {
            in_patch.push(v);
        } else {
            server_only.push(v);
        }
    }
    Ok((in_patch, server_only))
}

/// `normalizeElementOrder`: sort the patch items by the patch order and the server-only items
/// by the live order, then interleave them (`mergeSortedSlice`).
pub(super) fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = normalize_slice_order(patch_items, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;

    // Take the server item first only when both are in the live list and it comes first;
    // so new patch items go before the remaining server-only ones, as upstream.
    let mut out = Vec::with_capacity(patch_items.len() + server_only.len());
    let mut left = server_only.into_iter().peekable();
    let mut right = patch_items.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    index_in(server_order, l, merge_key, kind),
                    index_in(server_order, r, merge_key, kind),
                ) {
                    (Some(li), Some(ri)) => li < ri,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    Ok(out)
}

/// `normalizeSliceOrder`: stable sort by position in `order`; deletion directives go last.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>, PatchError> {
    let (mut keep, deletes) = if kind == GoType::Map {
        for v in to_sort.iter().chain(order.iter()) {
            if !v.is_object() {
                return Err(expected_map(v));
            }
            if v.get(merge_key).is_none() {
                return Err(no_merge_key(v, merge_key));
            }
        }
        to_sort
            .into_iter()
            .partition(|v| v.get(DIRECTIVE_MARKER).and_then(Value::as_str) != Some("delete"))
    } else {
        (to_sort, Vec::new())
    };
    // Items not found in `order` sort last (upstream's comparator is not a strict order there).
    keep.sort_by_key(|v| index_in(order, v, merge_key, kind).unwrap_or(usize::MAX));
    keep.extend(deletes);
    Ok(keep)
}

/// `index`: position of the item in `list`, compared by merge key value for maps.
fn index_in(list: &[Value], item: &Value, merge_key: &str, kind: GoType) -> Option<usize> {
    if kind == GoType::Map {
        let wanted = item.get(merge_key);
        list.iter().position(|v| v.get(merge_key) == wanted)
    } else {
        list.iter().position(|v| v == item)
    }
}
