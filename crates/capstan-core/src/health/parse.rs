//! The user's rule file: overrides of the default rules by name, new rules, and names to
//! disable.
//!
//! ```yaml
//! rules:
//!   - name: NodeCPUHigh          # a default: the fields given replace the default's
//!     threshold: 0.9
//!     for: 30m
//!   - name: IngressErrors        # a new rule: expr, threshold and severity required
//!     expr: sum(rate(nginx_ingress_controller_requests{status=~"5.."}[5m]))
//!     threshold: 10
//!     severity: critical
//!     summary: Ingress 5xx above 10/s.
//! disable: [ProbeRTTHigh]
//! ```
//!
//! Read as every user YAML file is ([`crate::yaml_file`]), every problem naming its rule,
//! field and line. Parsing is all-or-nothing: it returns a complete new [`RuleSet`] or an
//! error, never a partly applied one, so a caller reloading the file keeps its old rules on
//! error.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::{Comparison, HealthRule, Labels, RuleSet, Severity, default_rules};
use crate::yaml_file::{self, FieldError, Lines, SyntaxError, YamlFile, YamlFileError};

/// Why a rule file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// Not YAML, or not a single YAML document.
    #[error(transparent)]
    Syntax(SyntaxError),
    /// Well-formed YAML without the file's shape (unknown field, wrong type, bad duration
    /// or severity), or values that break the rules; every problem found.
    #[error("{}", join(.0))]
    Invalid(Vec<RuleFieldError>),
}

impl RulesError {
    /// The problems with a rule file, empty for a syntax error.
    pub fn field_errors(&self) -> &[RuleFieldError] {
        match self {
            RulesError::Syntax(_) => &[],
            RulesError::Invalid(errors) => errors,
        }
    }
}

fn join(errors: &[RuleFieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One problem, naming the rule (its index in `rules`, and its name when it has one) and
/// the field: inside the rule (`for`, `labels.team`) or, outside any rule, the path in the
/// file (`disable[1]`); `line` 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFieldError {
    pub index: Option<usize>,
    pub rule: Option<String>,
    pub field: String,
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for RuleFieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.rule, self.index) {
            (Some(rule), Some(i)) => write!(f, "rule {rule:?} (rules[{i}])")?,
            (Some(rule), None) => write!(f, "rule {rule:?}")?,
            (None, Some(i)) => write!(f, "rules[{i}]")?,
            // Outside any rule: shown as every YAML file's field errors are.
            (None, None) => {
                let error = FieldError {
                    file: <Option<RuleFile>>::NAME,
                    field: self.field.clone(),
                    line: self.line,
                    message: self.message.clone(),
                };
                return write!(f, "{error}");
            }
        }
        if !self.field.is_empty() {
            write!(f, ", field {}", self.field)?;
        }
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rules: Vec<RuleEntry>,
    #[serde(default)]
    disable: Vec<String>,
}

/// `None` for an empty file (or `~`): the defaults.
impl YamlFile for Option<RuleFile> {
    const NAME: &'static str = "health rule file";
}

/// A rule as written: every field but the name optional, so an override names only what
/// it changes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    name: String,
    expr: Option<String>,
    #[serde(
        rename = "for",
        default,
        with = "crate::duration::serde_duration::option"
    )]
    for_: Option<Duration>,
    threshold: Option<f64>,
    comparison: Option<Comparison>,
    severity: Option<Severity>,
    summary: Option<String>,
    labels: Option<Labels>,
}

/// Only the names, read leniently to name the rule in a shape error.
#[derive(Deserialize)]
struct NamesOnly {
    #[serde(default)]
    rules: Vec<NameOnly>,
}

#[derive(Deserialize)]
struct NameOnly {
    #[serde(default)]
    name: Option<String>,
}

/// Parses a rule file and applies it to [`default_rules`]: entries named like a default
/// replace the fields they give, other entries add rules (after the defaults, in file
/// order), and `disable` removes rules by name. An empty file gives the defaults.
pub fn parse_rules_yaml(text: &str) -> Result<RuleSet, RulesError> {
    let file = yaml_file::parse_yaml::<Option<RuleFile>>(text).map_err(|e| match e {
        YamlFileError::Syntax(e) => RulesError::Syntax(e),
        YamlFileError::Invalid(e) => RulesError::Invalid(vec![shape_error(text, e)]),
    })?;
    apply(file.unwrap_or_default()).map_err(|mut errors| {
        let lines = Lines::read(text);
        for e in &mut errors {
            e.line = match e.index {
                Some(i) => lines.line(&format!("rules[{i}].{}", e.field)),
                None => lines.line(&e.field),
            };
        }
        RulesError::Invalid(errors)
    })
}

/// Names the rule of an error inside `rules[i]`, its field given from inside the rule.
fn shape_error(text: &str, e: FieldError) -> RuleFieldError {
    // `rules[3].labels.team`: rule 3, its field `labels.team`.
    let in_rule = e.field.strip_prefix("rules[").and_then(|rest| {
        let (index, field) = rest.split_once(']')?;
        let field = match field.strip_prefix('.') {
            Some(field) => field,
            None if field.is_empty() || field.starts_with('[') => field,
            None => return None,
        };
        Some((index.parse::<usize>().ok()?, field.to_string()))
    });
    let Some((index, field)) = in_rule else {
        return RuleFieldError {
            index: None,
            rule: None,
            field: e.field,
            line: e.line,
            message: e.message,
        };
    };
    // The names are read again leniently: the strict pass stopped at the error.
    let rule = serde_saphyr::from_str::<NamesOnly>(text)
        .ok()
        .and_then(|names| names.rules.into_iter().nth(index))
        .and_then(|r| r.name);
    RuleFieldError {
        index: Some(index),
        rule,
        field,
        line: e.line,
        message: e.message,
    }
}

/// The errors' lines are left for the caller, which has the text.
fn apply(file: RuleFile) -> Result<RuleSet, Vec<RuleFieldError>> {
    let mut errors = Vec::new();
    let mut rules = default_rules();
    let defaults: BTreeSet<String> = rules.iter().map(|r| r.name.clone()).collect();
    let mut seen = BTreeSet::new();
    let mut added = Vec::new();

    for (i, entry) in file.rules.into_iter().enumerate() {
        let name = entry.name.clone();
        let mut err = |field: &str, message: String| {
            errors.push(RuleFieldError {
                index: Some(i),
                rule: Some(name.clone()),
                field: field.to_string(),
                line: None,
                message,
            });
        };
        if !seen.insert(entry.name.clone()) {
            err("name", "appears more than once in rules".to_string());
            continue;
        }
        let rule = match rules.iter_mut().find(|r| r.name == entry.name) {
            Some(default) => {
                override_rule(default, entry);
                default.clone()
            }
            None => match new_rule(entry, &mut err) {
                Some(rule) => {
                    added.push(rule.clone());
                    rule
                }
                None => continue,
            },
        };
        validate(&rule, &mut err);
    }
    rules.extend(added);

    let mut disabled = BTreeSet::new();
    for (i, name) in file.disable.iter().enumerate() {
        let message = if !defaults.contains(name) && !seen.contains(name) {
            Some("no rule has this name")
        } else if seen.contains(name) {
            Some("is both defined in rules and disabled")
        } else if !disabled.insert(name.as_str()) {
            Some("is disabled twice")
        } else {
            None
        };
        if let Some(message) = message {
            errors.push(RuleFieldError {
                index: None,
                rule: Some(name.clone()),
                field: format!("disable[{i}]"),
                line: None,
                message: message.to_string(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    rules.retain(|r| !disabled.contains(r.name.as_str()));
    Ok(RuleSet { rules })
}

fn override_rule(rule: &mut HealthRule, entry: RuleEntry) {
    let RuleEntry {
        name: _,
        expr,
        for_,
        threshold,
        comparison,
        severity,
        summary,
        labels,
    } = entry;
    if let Some(expr) = expr {
        rule.expr = expr;
    }
    if let Some(for_) = for_ {
        rule.for_ = for_;
    }
    if let Some(threshold) = threshold {
        rule.threshold = threshold;
    }
    if let Some(comparison) = comparison {
        rule.comparison = comparison;
    }
    if let Some(severity) = severity {
        rule.severity = severity;
    }
    if let Some(summary) = summary {
        rule.summary = summary;
    }
    if let Some(labels) = labels {
        rule.labels = labels;
    }
}

fn new_rule(entry: RuleEntry, err: &mut impl FnMut(&str, String)) -> Option<HealthRule> {
    const REQUIRED: &str = "required for a new rule (no default rule has this name)";
    if entry.expr.is_none() {
        err("expr", REQUIRED.to_string());
    }
    if entry.threshold.is_none() {
        err("threshold", REQUIRED.to_string());
    }
    if entry.severity.is_none() {
        err("severity", REQUIRED.to_string());
    }
    Some(HealthRule {
        name: entry.name,
        expr: entry.expr?,
        for_: entry.for_.unwrap_or(Duration::ZERO),
        threshold: entry.threshold?,
        comparison: entry.comparison.unwrap_or_default(),
        severity: entry.severity?,
        summary: entry.summary.unwrap_or_default(),
        labels: entry.labels.unwrap_or_default(),
    })
}

/// The checks shared by overridden and new rules.
pub(super) fn validate(rule: &HealthRule, err: &mut impl FnMut(&str, String)) {
    if !is_label_name(&rule.name) {
        // Exported as a PrometheusRule `alert:` name and shown as a label value.
        err(
            "name",
            "must be a Prometheus metric-style name: a letter or '_', then letters, digits or '_'"
                .to_string(),
        );
    }
    if rule.expr.trim().is_empty() {
        err("expr", "must not be empty".to_string());
    }
    if !rule.threshold.is_finite() {
        err(
            "threshold",
            format!("must be a finite number, not {}", rule.threshold),
        );
    }
    for name in rule.labels.keys() {
        if !is_label_name(name) {
            err(
                &format!("labels.{name}"),
                "is not a valid Prometheus label name".to_string(),
            );
        }
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`; names starting `__` are reserved by Prometheus.
fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}
