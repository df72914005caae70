//! JSON merge patch (RFC 7386 as evanphx/json-patch implements it).

use serde_json::{Map, Value};

use super::remove_key;

pub(super) fn merge_docs(
    mut doc: Map<String, Value>,
    patch: Map<String, Value>,
) -> Map<String, Value> {
    for (key, value) in patch {
        if value.is_null() {
            remove_key(&mut doc, &key);
            continue;
        }
        let merged = match doc.get(&key) {
            Some(Value::Object(cur)) => match value {
                Value::Object(p) => Value::Object(merge_docs(cur.clone(), p)),
                // An object replaced by a non-object is taken verbatim.
                other => other,
            },
            // New or non-object values: nulls inside are pruned (pruneNulls).
            _ => prune_nulls(value),
        };
        doc.insert(key, merged);
    }
    doc
}

/// Removes null entries from objects, recursively (also inside arrays; array elements that
/// are null themselves stay, as evanphx's pruneAryNulls keeps them).
pub(super) fn prune_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, prune_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(prune_nulls).collect()),
        other => other,
    }
}
