//! Server-side apply, simplified to a merge of the applied configuration into the live object.

use serde_json::Value;

use super::merge::prune_nulls;
use super::merge_keys::{FieldMeta, Schema, Strategy, lookup};
use super::{PatchError, malformed};

pub(super) fn parse_apply_body(body: &[u8]) -> Result<Value, PatchError> {
    let applied: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => serde_saphyr::from_slice(body)
            .map_err(|e| malformed(format!("error decoding YAML: {e}")))?,
    };
    if !applied.is_object() {
        return Err(malformed(
            "error decoding YAML: the apply configuration must be an object",
        ));
    }
    // fieldmanager: an apply configuration may not set managedFields.
    if applied
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(Value::is_array)
    {
        return Err(malformed("metadata.managedFields must be nil"));
    }
    Ok(applied)
}

/// Merges an apply configuration into the live object: maps merge, lists with a merge key
/// merge by it, merge lists of primitives are unioned, other lists are replaced.
pub(super) fn apply_merge(target: Value, applied: Value, schema: Schema<'_>) -> Value {
    match (target, applied) {
        (Value::Object(mut live), Value::Object(config)) => {
            for (key, value) in config {
                if value.is_null() {
                    continue;
                }
                let meta = lookup(schema, &key);
                let merged = match live.get(&key) {
                    Some(existing) => apply_merge_field(existing.clone(), value, meta),
                    None => prune_nulls(value),
                };
                live.insert(key, merged);
            }
            Value::Object(live)
        }
        (_, applied) => prune_nulls(applied),
    }
}

fn apply_merge_field(existing: Value, value: Value, meta: FieldMeta<'_>) -> Value {
    match (existing, value) {
        (existing @ Value::Object(_), value @ Value::Object(_))
            if meta.strategy != Strategy::Replace =>
        {
            apply_merge(existing, value, meta.schema)
        }
        (Value::Array(mut live), Value::Array(config)) if meta.strategy == Strategy::Merge => {
            for item in config {
                let position = if meta.merge_key.is_empty() {
                    live.iter().position(|v| *v == item)
                } else {
                    item.get(meta.merge_key)
                        .and_then(|k| live.iter().position(|v| v.get(meta.merge_key) == Some(k)))
                };
                match position {
                    Some(i) if !meta.merge_key.is_empty() => {
                        let current = std::mem::take(&mut live[i]);
                        live[i] = apply_merge(current, item, meta.schema);
                    }
                    Some(_) => {}
                    None => live.push(prune_nulls(item)),
                }
            }
            Value::Array(live)
        }
        (_, value) => prune_nulls(value),
    }
}
