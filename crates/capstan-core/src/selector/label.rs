//! [`LabelSelector`]: parsing the string syntax, converting a `metav1.LabelSelector` object,
//! matching and the canonical string form.

use std::fmt;
use std::str::FromStr;

use super::parser::parse_requirements;
use super::validation::new_requirement;
use super::{Labels, Operator, Requirement, write_comma_separated};
use crate::{Error, Result};

/// A label selector: the conjunction of its requirements. Empty selects everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the string syntax of upstream `labels.Parse`.
    pub fn parse(s: &str) -> Result<Self> {
        let mut requirements = parse_requirements(s).map_err(|reason| Error::LabelSelector {
            input: s.to_string(),
            reason,
        })?;
        // Upstream sorts by key "to grant deterministic parsing".
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    /// Converts a `metav1.LabelSelector` object, as upstream `LabelSelectorAsSelector`.
    ///
    /// A JSON `null` is an error rather than "everything": upstream maps a nil selector to
    /// `labels.Nothing()`, which this type cannot express, and silently selecting everything
    /// instead would be the dangerous reading.
    pub fn from_label_selector_json(v: &serde_json::Value) -> Result<Self> {
        use serde_json::Value;
        let err = |reason: String| Error::LabelSelector {
            input: v.to_string(),
            reason,
        };
        let Some(obj) = v.as_object() else {
            return Err(err(format!(
                "expected a metav1.LabelSelector object, found {}",
                json_kind(v)
            )));
        };
        let mut requirements = Vec::new();
        match obj.get("matchLabels") {
            None | Some(Value::Null) => {}
            Some(Value::Object(labels)) => {
                for (key, value) in labels {
                    let Some(value) = value.as_str() else {
                        return Err(err(format!(
                            "matchLabels[{key}]: expected a string, found {}",
                            json_kind(value)
                        )));
                    };
                    requirements.push(
                        new_requirement(key, Operator::Equals, vec![value.to_string()])
                            .map_err(err)?,
                    );
                }
            }
            Some(other) => {
                return Err(err(format!(
                    "matchLabels: expected an object, found {}",
                    json_kind(other)
                )));
            }
        }
        match obj.get("matchExpressions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(exprs)) => {
                for (i, expr) in exprs.iter().enumerate() {
                    requirements.push(expression_requirement(i, expr).map_err(err)?);
                }
            }
            Some(other) => {
                return Err(err(format!(
                    "matchExpressions: expected an array, found {}",
                    json_kind(other)
                )));
            }
        }
        // Upstream's Selector.Add sorts by key.
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { requirements })
    }

    pub fn matches(&self, labels: &(impl Labels + ?Sized)) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The single value a matching object must have for `key`, if the selector pins one
    /// (upstream `RequiresExactMatch`: only the first requirement on the key is consulted).
    pub fn exact_value(&self, key: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == key)?;
        match (&r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::In, [v]) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_comma_separated(f, &self.requirements)
    }
}

impl FromStr for LabelSelector {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn expression_requirement(
    i: usize,
    expr: &serde_json::Value,
) -> std::result::Result<Requirement, String> {
    use serde_json::Value;
    let Some(expr) = expr.as_object() else {
        return Err(format!(
            "matchExpressions[{i}]: expected an object, found {}",
            json_kind(expr)
        ));
    };
    // A missing field decodes to its zero value in Go; validation then rejects it with
    // upstream's own message.
    let string_field = |name: &str| match expr.get(name) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(other) => Err(format!(
            "matchExpressions[{i}].{name}: expected a string, found {}",
            json_kind(other)
        )),
    };
    let key = string_field("key")?;
    let operator = match string_field("operator")? {
        "In" => Operator::In,
        "NotIn" => Operator::NotIn,
        "Exists" => Operator::Exists,
        "DoesNotExist" => Operator::DoesNotExist,
        other => return Err(format!("{other:?} is not a valid label selector operator")),
    };
    let mut values = Vec::new();
    match expr.get("values") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (j, item) in items.iter().enumerate() {
                let Some(s) = item.as_str() else {
                    return Err(format!(
                        "matchExpressions[{i}].values[{j}]: expected a string, found {}",
                        json_kind(item)
                    ));
                };
                values.push(s.to_string());
            }
        }
        Some(other) => {
            return Err(format!(
                "matchExpressions[{i}].values: expected an array, found {}",
                json_kind(other)
            ));
        }
    }
    let mut r = new_requirement(key, operator, values)?;
    // Set semantics: order and duplicates do not change what matches, and normalising
    // makes this equal to the parsed form of its Display.
    r.values.sort();
    r.values.dedup();
    Ok(r)
}
