//! One clause of a label selector: [`Operator`] and [`Requirement`], how a requirement
//! matches labels, and its string form.

use std::collections::BTreeSet;
use std::fmt;

use super::Labels;
use super::validation::new_requirement;
use crate::{Error, Result};

/// A label requirement operator (`selection.Operator`). Upstream's `==` is folded into
/// [`Operator::Equals`]: the two mean the same thing and upstream treats them alike
/// everywhere except in `String()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    Equals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

/// One clause of a label selector, e.g. `tier in (web,api)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement with the checks of upstream `labels.NewRequirement`.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self> {
        new_requirement(key, operator, values).map_err(|reason| Error::LabelSelector {
            input: key.to_string(),
            reason,
        })
    }

    /// Whether `labels` satisfy this requirement (upstream `Requirement.Matches`).
    pub fn matches(&self, labels: &(impl Labels + ?Sized)) -> bool {
        let has_value = |v: &str| self.values.iter().any(|x| x == v);
        match self.operator {
            Operator::Equals | Operator::In => labels.get_label(&self.key).is_some_and(has_value),
            // Absent keys satisfy negative requirements, as upstream.
            Operator::NotEquals | Operator::NotIn => {
                labels.get_label(&self.key).is_none_or(|v| !has_value(v))
            }
            Operator::Exists => labels.get_label(&self.key).is_some(),
            Operator::DoesNotExist => labels.get_label(&self.key).is_none(),
            Operator::Gt | Operator::Lt => {
                // Upstream: a missing label, a non-integer label, or a malformed requirement
                // all mean "no match" rather than an error.
                let Some(actual) = labels.get_label(&self.key) else {
                    return false;
                };
                let Ok(actual) = actual.parse::<i64>() else {
                    return false;
                };
                let [wanted] = self.values.as_slice() else {
                    return false;
                };
                let Ok(wanted) = wanted.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::Gt {
                    actual > wanted
                } else {
                    actual < wanted
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            Operator::Exists => return f.write_str(&self.key),
            Operator::DoesNotExist => return write!(f, "!{}", self.key),
            Operator::Equals => "=",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::Gt => ">",
            Operator::Lt => "<",
        };
        // Upstream sorts values in String(); we also dedupe so that the output re-parses
        // to an equal requirement (the parser collects values into a set).
        let values: BTreeSet<&str> = self.values.iter().map(String::as_str).collect();
        let joined = values.into_iter().collect::<Vec<_>>().join(",");
        match self.operator {
            Operator::In | Operator::NotIn => write!(f, "{}{op}({joined})", self.key),
            _ => write!(f, "{}{op}{joined}", self.key),
        }
    }
}
