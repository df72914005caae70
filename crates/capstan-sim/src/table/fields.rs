//! JSON access helpers: absent, null or mistyped fields read as Go zero values.

use serde_json::Value;

/// A null to borrow where an absent object should read as empty.
pub(super) static EMPTY: Value = Value::Null;

pub(super) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    if cur.is_null() { None } else { Some(cur) }
}

pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn int_at(v: &Value, path: &[&str]) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

pub(super) fn bool_at(v: &Value, path: &[&str]) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

pub(super) fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(super) fn len_at(v: &Value, path: &[&str]) -> i64 {
    let n = match at(v, path) {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(m)) => m.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn name_of(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"])
}

/// Whether the first condition of type `ty` in `status.conditions` is "True" (upstream's
/// lookups stop at the first condition of a type).
pub(super) fn first_condition_is_true(status: &Value, ty: &str) -> bool {
    arr_at(status, &["conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == ty)
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

/// Whether the object is being deleted (`metadata.deletionTimestamp` is set).
pub(super) fn deleting(obj: &Value) -> bool {
    at(obj, &["metadata", "deletionTimestamp"]).is_some()
}

/// A `*int32` field that upstream's defaulting sets to 1 when unset (`spec.replicas`).
pub(super) fn replicas(obj: &Value) -> i64 {
    at(obj, &["spec", "replicas"])
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// `intstr.IntOrString.String()`.
pub(super) fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `resource.Quantity.String()` of a possibly absent quantity: the zero quantity prints "0".
pub(super) fn quantity(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}
