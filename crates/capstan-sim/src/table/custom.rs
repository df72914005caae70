//! Custom resources: apiextensions-apiserver's tableconvertor over a CRD version's
//! `additionalPrinterColumns`.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::column_json;
use super::fields::{int_at, str_at};
use super::jsonpath::jsonpath_first;
use super::time::{non_zero, since};

pub(super) struct PrinterColumn {
    name: String,
    ty: String,
    format: String,
    description: String,
    priority: i64,
    json_path: String,
}

impl PrinterColumn {
    pub(super) fn to_json(&self) -> Value {
        column_json(
            &self.name,
            &self.ty,
            &self.format,
            &self.description,
            self.priority,
        )
    }
}

/// The CRD version's printer columns; upstream serves a single `Age` column when there are
/// none (`serveDefaultColumnsIfEmpty`), described by the convertor's generic text.
pub(super) fn effective_printer_columns(printer_columns: &[Value]) -> Vec<PrinterColumn> {
    let describe =
        |path: &str| format!("Custom resource definition column (in JSONPath format): {path}");
    if printer_columns.is_empty() {
        let path = ".metadata.creationTimestamp";
        return vec![PrinterColumn {
            name: "Age".into(),
            ty: "date".into(),
            format: String::new(),
            description: describe(path),
            priority: 0,
            json_path: path.into(),
        }];
    }
    printer_columns
        .iter()
        .map(|c| {
            let json_path = str_at(c, &["jsonPath"]).to_string();
            let description = match str_at(c, &["description"]) {
                "" => describe(&json_path),
                d => d.to_string(),
            };
            PrinterColumn {
                name: str_at(c, &["name"]).to_string(),
                ty: str_at(c, &["type"]).to_string(),
                format: str_at(c, &["format"]).to_string(),
                description,
                priority: int_at(c, &["priority"]),
                json_path,
            }
        })
        .collect()
}

/// One cell: the first JSONPath result, printed as text for "string" columns and converted by
/// type otherwise (`cellForJSONValue`); missing values and evaluation errors give null.
pub(super) fn custom_cell(column: &PrinterColumn, obj: &Value, now: Timestamp) -> Value {
    let Some(value) = jsonpath_first(obj, &column.json_path) else {
        return Value::Null;
    };
    if value.is_null() {
        return Value::Null;
    }
    match column.ty.as_str() {
        "string" => Value::String(go_print(value)),
        "integer" => match value {
            Value::Number(n) => n
                .as_i64()
                // float64 → int64 truncates toward zero, as the Go conversion does.
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map_or(Value::Null, |i| json!(i)),
            _ => Value::Null,
        },
        "number" => match value {
            Value::Number(n) => n.as_f64().map_or(Value::Null, go_json_float),
            _ => Value::Null,
        },
        "boolean" => match value {
            Value::Bool(b) => json!(b),
            _ => Value::Null,
        },
        "date" => match value {
            // metav1.Time.UnmarshalQueryParameter: "" and "null" are the zero time.
            Value::String(s) if s.is_empty() || s == "null" => json!("<unknown>"),
            Value::String(s) => match s.parse::<Timestamp>() {
                Ok(t) => json!(since(non_zero(t), now)),
                Err(_) => json!("<invalid>"),
            },
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// A float64 as Go's encoding/json writes it: integral values without a fraction.
fn go_json_float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// How client-go's jsonpath prints one value: maps and lists as compact JSON (Go's
/// json.Marshal: sorted keys, HTML-escaped), everything else with `fmt.Fprint`.
fn go_print(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => go_format_float(f),
            _ => n.to_string(),
        },
        Value::Null => "<nil>".to_string(),
        Value::Array(_) | Value::Object(_) => serde_json::to_string(v)
            .unwrap_or_default()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026"),
    }
}

/// Go's `%v` for a float64 (`strconv` 'g' with the shortest precision): shortest digits, in
/// exponent form when the decimal exponent is < -4 or >= 6.
fn go_format_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".to_string()
        } else if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    let sci = format!("{f:e}"); // e.g. "-1.2345e6"
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return f.to_string();
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        f.to_string()
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}
