//! Label and field selectors with the semantics of `k8s.io/apimachinery/pkg/labels` and
//! `k8s.io/apimachinery/pkg/fields`.
//!
//! The parsers follow upstream token by token, including its quirks (`a in ()` selects the
//! empty value, `key=` means "equals the empty string", requirements are sorted by key), so
//! that a selector typed for kubectl means the same thing here. Error texts reuse upstream's
//! wording so users can search for them.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::str::FromStr;

use crate::{Error, Result};

/// Read access to a set of labels, whatever container holds them.
pub trait Labels {
    fn get_label(&self, key: &str) -> Option<&str>;
}

impl<T: Labels + ?Sized> Labels for &T {
    fn get_label(&self, key: &str) -> Option<&str> {
        (**self).get_label(key)
    }
}

impl<K: Borrow<str> + Ord, V: AsRef<str>> Labels for BTreeMap<K, V> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(AsRef::as_ref)
    }
}

impl<K: Borrow<str> + Hash + Eq, V: AsRef<str>, S: BuildHasher> Labels for HashMap<K, V, S> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).map(AsRef::as_ref)
    }
}

/// A raw `metadata.labels` object. Label values are always strings in Kubernetes, so a
/// non-string value is treated as absent rather than coerced.
impl Labels for serde_json::Map<String, serde_json::Value> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(serde_json::Value::as_str)
    }
}

/// Pairs in order; the first pair with the key wins.
impl<K: AsRef<str>, V: AsRef<str>> Labels for [(K, V)] {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Labels for Vec<(K, V)> {
    fn get_label(&self, key: &str) -> Option<&str> {
        self.as_slice().get_label(key)
    }
}

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
        let mut parser = Parser {
            items: lex(s),
            pos: 0,
        };
        let mut requirements = parser.parse().map_err(|reason| Error::LabelSelector {
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
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
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

// ---------------------------------------------------------------------------------------
// Validation (k8s.io/apimachinery/pkg/api/validate/content, field.Invalid formatting)
// ---------------------------------------------------------------------------------------

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const LABEL_MAX_LEN: usize = 63;
const DNS1123_SUBDOMAIN_MAX_LEN: usize = 253;

/// Upstream `content.RegexError`, spacing included.
fn regex_error(msg: &str, re: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, ex) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{ex}', "));
    }
    out.push_str(&format!("regex used for validation is '{re}')"));
    out
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Lowercase RFC 1123 subdomain: dot-separated labels of `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (b.first(), b.last()) {
            (Some(first), Some(last)) => {
                alnum(first) && alnum(last) && b.iter().all(|c| alnum(c) || *c == b'-')
            }
            _ => false,
        }
    })
}

/// Upstream `content.IsLabelKey`: the list of problems, empty when valid.
fn label_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                if prefix.len() > DNS1123_SUBDOMAIN_MAX_LEN {
                    errs.push(format!(
                        "prefix part must be no more than {DNS1123_SUBDOMAIN_MAX_LEN} bytes"
                    ));
                }
                if !is_dns1123_subdomain(prefix) {
                    errs.push(format!(
                        "prefix part {}",
                        regex_error(
                            DNS1123_SUBDOMAIN_ERR,
                            DNS1123_SUBDOMAIN_FMT,
                            &["example.com"]
                        )
                    ));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > LABEL_MAX_LEN {
        errs.push(format!(
            "name part must be no more than {LABEL_MAX_LEN} bytes"
        ));
    }
    if !is_label_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_ERR,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Upstream `validation.IsValidLabelValue`.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_MAX_LEN {
        errs.push(format!("must be no more than {LABEL_MAX_LEN} bytes"));
    }
    if !value.is_empty() && !is_label_name(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `field.Invalid(path, value, detail).Error()` for a string value.
fn invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {value:?}: {detail}")
}

fn invalid_values(values: &[String], detail: &str) -> String {
    let json = serde_json::Value::from(values.to_vec());
    format!("values: Invalid value: {json}: {detail}")
}

/// Upstream `labels.NewRequirement`: collects every problem, then reports them as an
/// aggregate (one message alone, several as `[a, b]`, duplicates dropped).
fn new_requirement(
    key: &str,
    operator: Operator,
    values: Vec<String>,
) -> std::result::Result<Requirement, String> {
    let mut errs: Vec<String> = Vec::new();
    let key_errs = label_key_errors(key);
    if !key_errs.is_empty() {
        errs.push(invalid("key", key, &key_errs.join("; ")));
    }
    match operator {
        Operator::In | Operator::NotIn => {
            if values.is_empty() {
                errs.push(invalid_values(
                    &values,
                    "for 'in', 'notin' operators, values set can't be empty",
                ));
            }
        }
        Operator::Equals | Operator::NotEquals => {
            if values.len() != 1 {
                errs.push(invalid_values(
                    &values,
                    "exact-match compatibility requires one single value",
                ));
            }
        }
        Operator::Exists | Operator::DoesNotExist => {
            if !values.is_empty() {
                errs.push(invalid_values(
                    &values,
                    "values set must be empty for exists and does not exist",
                ));
            }
        }
        Operator::Gt | Operator::Lt => {
            if values.len() != 1 {
                errs.push(invalid_values(
                    &values,
                    "for 'Gt', 'Lt' operators, exactly one value is required",
                ));
            }
            for (i, v) in values.iter().enumerate() {
                if v.parse::<i64>().is_err() {
                    errs.push(invalid(
                        &format!("values[{i}]"),
                        v,
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    ));
                }
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let value_errs = label_value_errors(v);
        if !value_errs.is_empty() {
            errs.push(invalid(
                &format!("values[{i}][{key}]"),
                v,
                &value_errs.join("; "),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    errs.retain(|e| seen.insert(e.clone()));
    match errs.as_slice() {
        [] => Ok(Requirement {
            key: key.to_string(),
            operator,
            values,
        }),
        [one] => Err(one.clone()),
        many => Err(format!("[{}]", many.join(", "))),
    }
}

// ---------------------------------------------------------------------------------------
// Label selector lexer and parser (upstream labels.Lexer / labels.Parser)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    End,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits the selector into tokens, ending with `Tok::End`.
///
/// Upstream's lexer treats a NUL byte as end of input (its `read` returns 0 there), which
/// would silently drop whatever follows; here NUL is an ordinary identifier byte, so the
/// key or value check rejects it instead.
fn lex(s: &str) -> Vec<(Tok, &str)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && is_whitespace(b[i]) {
            i += 1;
        }
        let Some(&c) = b.get(i) else {
            out.push((Tok::End, ""));
            return out;
        };
        if is_special(c) {
            // Every special byte is a token alone; the longest match wins for `!=`/`==`.
            let next = b.get(i + 1).copied();
            let (tok, len) = match (c, next) {
                (b'!', Some(b'=')) => (Tok::NotEquals, 2),
                (b'=', Some(b'=')) => (Tok::DoubleEquals, 2),
                (b'!', _) => (Tok::DoesNotExist, 1),
                (b'=', _) => (Tok::Equals, 1),
                (b'(', _) => (Tok::OpenPar, 1),
                (b')', _) => (Tok::ClosedPar, 1),
                (b',', _) => (Tok::Comma, 1),
                (b'>', _) => (Tok::GreaterThan, 1),
                _ => (Tok::LessThan, 1),
            };
            out.push((tok, &s[i..i + len]));
            i += len;
        } else {
            let start = i;
            while i < b.len() && !is_special(b[i]) && !is_whitespace(b[i]) {
                i += 1;
            }
            // Slicing is safe: both ends are at ASCII bytes or the ends of the string.
            let lit = &s[start..i];
            let tok = match lit {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Identifier,
            };
            out.push((tok, lit));
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    KeyAndOperator,
    /// Where a key or value is expected, `in`/`notin` are plain identifiers, so a label
    /// may be named `in`.
    Values,
}

struct Parser<'a> {
    items: Vec<(Tok, &'a str)>,
    pos: usize,
}

type ParseResult<T> = std::result::Result<T, String>;

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

impl<'a> Parser<'a> {
    fn lookahead(&self, ctx: Ctx) -> (Tok, &'a str) {
        let (tok, lit) = self.items.get(self.pos).copied().unwrap_or((Tok::End, ""));
        match (ctx, tok) {
            (Ctx::Values, Tok::In | Tok::NotIn) => (Tok::Identifier, lit),
            _ => (tok, lit),
        }
    }

    fn consume(&mut self, ctx: Ctx) -> (Tok, &'a str) {
        let item = self.lookahead(ctx);
        self.pos += 1;
        item
    }

    fn parse(&mut self) -> ParseResult<Vec<Requirement>> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Ctx::Values);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(r);
                    let (t, l) = self.consume(Ctx::Values);
                    match t {
                        Tok::End => return Ok(requirements),
                        Tok::Comma => {
                            let (t2, l2) = self.lookahead(Ctx::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!("found '{l}', expected: ',' or 'end of string'"));
                        }
                    }
                }
                Tok::End => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> ParseResult<Requirement> {
        let (key, unary) = self.parse_key_and_infer_operator()?;
        if let Some(op) = unary {
            return new_requirement(key, op, Vec::new());
        }
        let op = self.parse_operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        // Values are a set upstream (sets.String.List()): sorted, deduplicated.
        new_requirement(key, op, values.into_iter().collect())
    }

    /// Returns the key and, for `!key` and a bare `key`, the unary operator.
    fn parse_key_and_infer_operator(&mut self) -> ParseResult<(&'a str, Option<Operator>)> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Ctx::Values);
        if tok == Tok::DoesNotExist {
            op = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Ctx::Values);
        }
        if tok != Tok::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let errs = label_key_errors(lit);
        if !errs.is_empty() {
            return Err(invalid("key", lit, &errs.join("; ")));
        }
        let (next, _) = self.lookahead(Ctx::Values);
        if op.is_none() && matches!(next, Tok::End | Tok::Comma) {
            op = Some(Operator::Exists);
        }
        Ok((lit, op))
    }

    fn parse_operator(&mut self) -> ParseResult<Operator> {
        let (tok, lit) = self.consume(Ctx::KeyAndOperator);
        Ok(match tok {
            Tok::In => Operator::In,
            Tok::Equals | Tok::DoubleEquals => Operator::Equals,
            Tok::GreaterThan => Operator::Gt,
            Tok::LessThan => Operator::Lt,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{lit}', expected: {BINARY_OPERATORS}")),
        })
    }

    fn parse_values(&mut self) -> ParseResult<BTreeSet<String>> {
        let (tok, lit) = self.consume(Ctx::Values);
        if tok != Tok::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Ctx::Values);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let set = self.parse_identifiers_list()?;
                // parse_identifiers_list only succeeds with `)` next.
                self.consume(Ctx::Values);
                Ok(set)
            }
            Tok::ClosedPar => {
                // Upstream reads `()` as the set holding the empty string.
                self.consume(Ctx::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    /// Upstream turns empty slots in `(,a)`, `(a,,b)` and `(a,)` into the empty value.
    fn parse_identifiers_list(&mut self) -> ParseResult<BTreeSet<String>> {
        let mut set = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Ctx::Values);
            match tok {
                Tok::Identifier => {
                    set.insert(lit.to_string());
                    let (next, next_lit) = self.lookahead(Ctx::Values);
                    match next {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(set),
                        _ => return Err(format!("found '{next_lit}', expected: ',' or ')'")),
                    }
                }
                Tok::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    let (next, _) = self.lookahead(Ctx::Values);
                    if next == Tok::ClosedPar {
                        set.insert(String::new());
                        return Ok(set);
                    }
                    if next == Tok::Comma {
                        set.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    /// `key=` with nothing after it selects the empty value, as upstream.
    fn parse_exact_value(&mut self) -> ParseResult<BTreeSet<String>> {
        let (tok, _) = self.lookahead(Ctx::Values);
        if matches!(tok, Tok::End | Tok::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (tok, lit) = self.consume(Ctx::Values);
        if tok == Tok::Identifier {
            Ok(BTreeSet::from([lit.to_string()]))
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Field selectors (upstream fields.ParseSelector)
// ---------------------------------------------------------------------------------------

/// `field=value` (or `field!=value` when `negated`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub negated: bool,
    pub value: String,
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negated { "!=" } else { "=" };
        write!(f, "{}{op}{}", self.field, escape_field_value(&self.value))
    }
}

/// A field selector: the conjunction of its requirements. Empty selects everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses as upstream `fields.ParseSelector`. Like upstream, no whitespace is trimmed:
    /// `a = b` constrains the field `"a "` to the value `" b"`.
    pub fn parse(s: &str) -> Result<Self> {
        let err = |reason: String| Error::FieldSelector {
            input: s.to_string(),
            reason,
        };
        let mut terms = split_field_terms(s);
        // Upstream sorts the raw terms before interpreting them.
        terms.sort_unstable();
        let mut requirements = Vec::new();
        for term in terms {
            if term.is_empty() {
                continue;
            }
            let Some((field, negated, rhs)) = split_field_term(term) else {
                return Err(err(format!("can't understand '{term}'")));
            };
            let value = unescape_field_value(rhs).map_err(err)?;
            // Upstream's identity transform turns an empty `=` into Everything, which the
            // enclosing AND then drops.
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement {
                field: field.to_string(),
                negated,
                value,
            });
        }
        Ok(Self { requirements })
    }

    /// Whether an object matches; `get` returns a field's value, and a missing field
    /// compares as the empty string (upstream `fields.Set.Get`).
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = get(&r.field).unwrap_or_default();
            (actual == r.value) != r.negated
        })
    }

    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Upstream `RequiresExactMatch`: the value of the first `field=value` on `field`.
    pub fn exact_value(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| !r.negated && r.field == field)
            .map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Splits on commas not preceded by a backslash escape (upstream `splitTerms`).
fn split_field_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Finds the leftmost operator, trying `!=`, then `==`, then `=` at each position
/// (upstream `splitTerm`). Returns field, negated, raw value.
fn split_field_term(term: &str) -> Option<(&str, bool, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, negated) in [("!=", true), ("==", false), ("=", false)] {
            if rest.starts_with(op) {
                return Some((&term[..i], negated, &term[i + op.len()..]));
            }
        }
    }
    None
}

/// Upstream `fields.EscapeValue`.
fn escape_field_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Upstream `fields.UnescapeValue`: only `\\`, `\,` and `\=` are escapes, and a bare `,`
/// or `=` in a value is an error.
fn unescape_field_value(s: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(format!("invalid escape sequence: \\{c}"));
            }
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            // Upstream prints the rune as a number here; naming the character is clearer.
            ',' | '=' => return Err(format!("unescaped character in value: '{c}'")),
            _ => out.push(c),
        }
    }
    if escaped {
        return Err("invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected outcome of a table case: the value, or a part of the error message.
    type Expect<T> = std::result::Result<T, &'static str>;
    use serde_json::json;

    /// Parses `input`; `Ok(canonical)` expects success with that Display form (which must
    /// itself re-parse to the same selector), `Err(part)` expects an error mentioning `part`.
    fn check(input: &str, expected: Expect<&str>) {
        let got = LabelSelector::parse(input);
        match (got, expected) {
            (Ok(sel), Ok(want)) => {
                assert_eq!(sel.to_string(), want, "canonical form of {input:?}");
                let again = LabelSelector::parse(&sel.to_string()).unwrap();
                assert_eq!(again, sel, "round trip of {input:?}");
            }
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(part),
                    "error for {input:?} was {msg:?}, wanted {part:?}"
                );
                assert!(matches!(e, Error::LabelSelector { .. }));
            }
            (got, want) => panic!("{input:?}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn parse_cases() {
        let longest_key = "a".repeat(63);
        let long_key = "a".repeat(64);
        let long_value = format!("x={}", "v".repeat(64));
        let cases: &[(&str, Expect<&str>)] = &[
            ("", Ok("")),
            ("   ", Ok("")),
            ("x=a", Ok("x=a")),
            ("x==a", Ok("x=a")),
            ("x!=a", Ok("x!=a")),
            (" x = a ", Ok("x=a")),
            ("x=", Ok("x=")),
            ("x==", Ok("x=")),
            ("x!=", Ok("x!=")),
            ("x=,y=b", Ok("x=,y=b")),
            ("x", Ok("x")),
            ("!x", Ok("!x")),
            ("! x", Ok("!x")),
            ("x,!y", Ok("x,!y")),
            ("x in (a)", Ok("x in (a)")),
            ("x in (b,a,b)", Ok("x in (a,b)")),
            ("x notin (z)", Ok("x notin (z)")),
            ("x in ()", Ok("x in ()")),
            ("x in (,a)", Ok("x in (,a)")),
            ("x in (a,)", Ok("x in (,a)")),
            ("x in (a,,b)", Ok("x in (,a,b)")),
            ("x in(a)", Ok("x in (a)")),
            ("x>1", Ok("x>1")),
            ("x<-0", Err("values[0][x]: Invalid value: \"-0\"")),
            ("x < 10", Ok("x<10")),
            ("in in (in,notin)", Ok("in in (in,notin)")),
            ("x=in", Ok("x=in")),
            ("notin", Ok("notin")),
            // Requirements are sorted by key.
            ("z=1,a=2", Ok("a=2,z=1")),
            (
                "a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j, k>3, l<5",
                Ok("a=b,c!=d,e in (x,y),f notin (z),g,!h,i=j,k>3,l<5"),
            ),
            (
                "example.com/app=web,k8s.io/x in (A.b_c-1)",
                Ok("example.com/app=web,k8s.io/x in (A.b_c-1)"),
            ),
            ("\tx\n=\ra", Ok("x=a")),
            (&longest_key, Ok(&longest_key)),
            // Errors.
            (
                ",",
                Err("found ',', expected: !, identifier, or 'end of string'"),
            ),
            ("x=a,", Err("found '', expected: identifier after ','")),
            ("x=a,,y=b", Err("found ',', expected: identifier after ','")),
            (
                "x=a y=b",
                Err("found 'y', expected: ',' or 'end of string'"),
            ),
            (
                "x y",
                Err(
                    "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt",
                ),
            ),
            ("x in a", Err("found 'a' expected: '('")),
            ("x in (a", Err("found '', expected: ',' or ')'")),
            ("x in (a b)", Err("found 'b', expected: ',' or ')'")),
            (
                "x in (=)",
                Err("found '=', expected: ',', ')' or identifier"),
            ),
            ("x in (a,=)", Err("found '=', expected: ',', or identifier")),
            ("x=(a)", Err("found '(', expected: identifier")),
            ("x===a", Err("found '=', expected: identifier")),
            ("!", Err("found '', expected: identifier")),
            ("!x=a", Err("found '=', expected: ',' or 'end of string'")),
            (
                "!=a",
                Err("found '!=', expected: !, identifier, or 'end of string'"),
            ),
            (
                "=a",
                Err("found '=', expected: !, identifier, or 'end of string'"),
            ),
            (
                "x>a",
                Err(
                    "values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
                ),
            ),
            ("x>", Err("the value must be an integer")),
            (
                "x>99999999999999999999",
                Err("the value must be an integer"),
            ),
            (
                "x_=a",
                Err("key: Invalid value: \"x_\": name part must consist of alphanumeric"),
            ),
            ("-x", Err("key: Invalid value: \"-x\"")),
            ("a/b/c", Err("a valid label key must consist of")),
            ("/x", Err("prefix part must be non-empty")),
            (
                "Example.com/x",
                Err("prefix part a lowercase RFC 1123 subdomain"),
            ),
            ("x/", Err("name part must be non-empty")),
            (&long_key, Err("name part must be no more than 63 bytes")),
            ("x=a b", Err("found 'b', expected: ',' or 'end of string'")),
            (
                "x=-a",
                Err("values[0][x]: Invalid value: \"-a\": a valid label must be an empty string"),
            ),
            (&long_value, Err("must be no more than 63 bytes")),
            // Indexes refer to the sorted value set, as upstream.
            ("x in (z@z,a)", Err("values[1][x]: Invalid value: \"z@z\"")),
            ("x\0=a", Err("key: Invalid value: \"x\\0\"")),
            ("x=é", Err("Invalid value: \"é\"")),
        ];
        for (input, expected) in cases {
            check(input, *expected);
        }
    }

    #[test]
    fn parse_structure() {
        let sel = LabelSelector::parse("b in (2,1), a, !c, d>5").unwrap();
        assert_eq!(
            sel.requirements,
            vec![
                Requirement {
                    key: "a".into(),
                    operator: Operator::Exists,
                    values: vec![]
                },
                Requirement {
                    key: "b".into(),
                    operator: Operator::In,
                    values: vec!["1".into(), "2".into()],
                },
                Requirement {
                    key: "c".into(),
                    operator: Operator::DoesNotExist,
                    values: vec![]
                },
                Requirement {
                    key: "d".into(),
                    operator: Operator::Gt,
                    values: vec!["5".into()]
                },
            ]
        );
        assert!(!sel.is_everything());
        assert!(LabelSelector::parse(" ").unwrap().is_everything());
        assert!(LabelSelector::everything().is_everything());
        assert_eq!(
            "a=b".parse::<LabelSelector>().unwrap().requirements.len(),
            1
        );
    }

    fn labels(spec: &str) -> BTreeMap<String, String> {
        spec.split(',')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    /// Selector, labels as `k=v,k=v`, expected match.
    fn check_match(selector: &str, labels_spec: &str, expected: bool) {
        let sel = LabelSelector::parse(selector).unwrap();
        let map = labels(labels_spec);
        assert_eq!(
            sel.matches(&map),
            expected,
            "{selector:?} against {labels_spec:?}"
        );
        // Every container must agree with the map.
        let hash: HashMap<String, String> = map.clone().into_iter().collect();
        let pairs: Vec<(String, String)> = map.clone().into_iter().collect();
        let json: serde_json::Map<String, serde_json::Value> =
            map.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        assert_eq!(sel.matches(&hash), expected, "HashMap {selector:?}");
        assert_eq!(sel.matches(&pairs), expected, "Vec {selector:?}");
        assert_eq!(
            sel.matches(pairs.as_slice()),
            expected,
            "slice {selector:?}"
        );
        assert_eq!(sel.matches(&json), expected, "json {selector:?}");
    }

    #[test]
    fn match_cases() {
        let cases: &[(&str, &str, bool)] = &[
            ("", "", true),
            ("", "a=b", true),
            ("a=b", "a=b", true),
            ("a=b", "a=c", false),
            ("a=b", "", false),
            ("a==b", "a=b,c=d", true),
            ("a!=b", "a=b", false),
            ("a!=b", "a=c", true),
            ("a!=b", "", true),
            ("a=", "a=", true),
            ("a=", "", false),
            ("a!=", "", true),
            ("a in (x,y)", "a=y", true),
            ("a in (x,y)", "a=z", false),
            ("a in (x,y)", "", false),
            ("a in ()", "a=", true),
            ("a notin (x,y)", "a=x", false),
            ("a notin (x,y)", "a=z", true),
            ("a notin (x,y)", "", true),
            ("a", "a=", true),
            ("a", "b=c", false),
            ("!a", "b=c", true),
            ("!a", "a=", false),
            ("a>3", "a=4", true),
            ("a>3", "a=3", false),
            ("a>3", "a=x", false),
            ("a>3", "", false),
            ("a<3", "a=-5", true),
            ("a<3", "a=+2", true),
            ("a<3", "a=3", false),
            ("a>0", "a=99999999999999999999", false),
            ("a=b,c", "a=b", false),
            ("a=b,c", "a=b,c=", true),
            ("a=b,!c", "a=b,c=x", false),
        ];
        for (sel, ls, want) in cases {
            check_match(sel, ls, *want);
        }
    }

    #[test]
    fn labels_containers() {
        let json = serde_json::Map::from_iter([
            ("a".to_string(), json!("x")),
            ("n".to_string(), json!(3)),
        ]);
        assert_eq!(json.get_label("a"), Some("x"));
        assert_eq!(json.get_label("n"), None, "non-string values are absent");
        let pairs = [("a", "1"), ("a", "2")];
        assert_eq!(
            pairs.as_slice().get_label("a"),
            Some("1"),
            "first pair wins"
        );
        let borrowed: BTreeMap<&str, &str> = BTreeMap::from([("k", "v")]);
        assert!(LabelSelector::parse("k=v").unwrap().matches(&borrowed));
    }

    #[test]
    fn malformed_gt_requirement_never_matches() {
        let map = labels("a=5");
        for values in [
            vec![],
            vec!["1".to_string(), "2".to_string()],
            vec!["x".to_string()],
        ] {
            let r = Requirement {
                key: "a".into(),
                operator: Operator::Gt,
                values,
            };
            assert!(!r.matches(&map));
        }
    }

    #[test]
    fn requirement_new_validates() {
        let cases: &[(&str, Operator, &[&str], Expect<()>)] = &[
            ("a", Operator::In, &["x"], Ok(())),
            (
                "a",
                Operator::In,
                &[],
                Err(
                    "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty",
                ),
            ),
            (
                "a",
                Operator::Exists,
                &["x"],
                Err("values set must be empty for exists and does not exist"),
            ),
            (
                "a",
                Operator::Equals,
                &["x", "y"],
                Err("exact-match compatibility requires one single value"),
            ),
            (
                "a",
                Operator::Lt,
                &["1", "2"],
                Err("exactly one value is required"),
            ),
            // Several problems are reported together, as upstream's aggregate.
            (
                "a_",
                Operator::Gt,
                &["z"],
                Err("[key: Invalid value: \"a_\""),
            ),
        ];
        for (key, op, values, want) in cases {
            let got = Requirement::new(
                key,
                op.clone(),
                values.iter().map(|s| s.to_string()).collect(),
            );
            match (got, want) {
                (Ok(r), Ok(())) => assert_eq!(r.key, *key),
                (Err(e), Err(part)) => {
                    let msg = e.to_string();
                    assert!(msg.contains(part), "{key:?} {op:?}: {msg}");
                }
                (got, want) => panic!("{key:?} {op:?}: got {got:?}, wanted {want:?}"),
            }
        }
        let both = Requirement::new("a_", Operator::Gt, vec!["z".into()])
            .unwrap_err()
            .to_string();
        assert!(both.contains("values[0]: Invalid value: \"z\""), "{both}");
    }

    /// JSON selector, expected canonical string or error part.
    fn check_json(v: serde_json::Value, expected: Expect<&str>) {
        match (LabelSelector::from_label_selector_json(&v), expected) {
            (Ok(sel), Ok(want)) => {
                assert_eq!(sel.to_string(), want, "{v}");
                assert_eq!(
                    LabelSelector::parse(want).unwrap(),
                    sel,
                    "{v} vs parsed form"
                );
            }
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(msg.contains(part), "{v}: {msg}");
            }
            (got, want) => panic!("{v}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn json_cases() {
        check_json(json!({}), Ok(""));
        check_json(
            json!({"matchLabels": null, "matchExpressions": null}),
            Ok(""),
        );
        check_json(json!({"matchLabels": {"b": "2", "a": "1"}}), Ok("a=1,b=2"));
        check_json(
            json!({"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a", "b"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "gpu", "operator": "Exists"},
                {"key": "spot", "operator": "DoesNotExist", "values": []},
            ]}),
            Ok("app=web,env notin (dev),gpu,!spot,tier in (a,b)"),
        );
        check_json(json!(null), Err("found null"));
        check_json(json!("a=b"), Err("found a string"));
        check_json(
            json!({"matchLabels": []}),
            Err("matchLabels: expected an object"),
        );
        check_json(
            json!({"matchLabels": {"a": 1}}),
            Err("matchLabels[a]: expected a string"),
        );
        check_json(
            json!({"matchLabels": {"a_": "x"}}),
            Err("key: Invalid value: \"a_\""),
        );
        check_json(
            json!({"matchLabels": {"a": "-x"}}),
            Err("values[0][a]: Invalid value: \"-x\""),
        );
        check_json(
            json!({"matchExpressions": {}}),
            Err("matchExpressions: expected an array"),
        );
        check_json(
            json!({"matchExpressions": [1]}),
            Err("matchExpressions[0]: expected an object"),
        );
        check_json(
            json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
            Err("\"Gt\" is not a valid label selector operator"),
        );
        check_json(
            json!({"matchExpressions": [{"key": "a", "operator": "in", "values": ["1"]}]}),
            Err("\"in\" is not a valid label selector operator"),
        );
        check_json(
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            Err("values set can't be empty"),
        );
        check_json(
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            Err("values set must be empty"),
        );
        check_json(
            json!({"matchExpressions": [{"operator": "Exists"}]}),
            Err("name part must be non-empty"),
        );
        check_json(
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": [true]}]}),
            Err("matchExpressions[0].values[0]: expected a string"),
        );
        check_json(
            json!({"matchExpressions": [{"key": 5, "operator": "In", "values": ["x"]}]}),
            Err("matchExpressions[0].key: expected a string"),
        );
    }

    #[test]
    fn label_exact_value() {
        let sel = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5,e").unwrap();
        assert_eq!(sel.exact_value("a"), Some("1"));
        assert_eq!(sel.exact_value("b"), Some("2"));
        assert_eq!(sel.exact_value("c"), None);
        assert_eq!(sel.exact_value("d"), None);
        assert_eq!(sel.exact_value("e"), None);
        assert_eq!(sel.exact_value("zz"), None);
    }

    /// Field selector, expected requirements as (field, negated, value), or error part.
    /// Parsed field requirements as (field, negated, value).
    type FieldReqs<'a> = &'a [(&'a str, bool, &'a str)];

    fn check_field(input: &str, expected: Expect<FieldReqs<'_>>) {
        match (FieldSelector::parse(input), expected) {
            (Ok(sel), Ok(want)) => {
                let got: Vec<(&str, bool, &str)> = sel
                    .requirements
                    .iter()
                    .map(|r| (r.field.as_str(), r.negated, r.value.as_str()))
                    .collect();
                assert_eq!(got, want, "{input:?}");
                assert_eq!(sel.is_everything(), want.is_empty());
                let again = FieldSelector::parse(&sel.to_string()).unwrap();
                assert_eq!(again, sel, "round trip of {input:?} via {sel}");
            }
            (Err(e), Err(part)) => {
                let msg = e.to_string();
                assert!(msg.contains(part), "{input:?}: {msg}");
                assert!(matches!(e, Error::FieldSelector { .. }));
            }
            (got, want) => panic!("{input:?}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn field_parse_cases() {
        let cases: &[(&str, Expect<FieldReqs<'_>>)] = &[
            ("", Ok(&[])),
            (",", Ok(&[])),
            ("=", Ok(&[])),
            ("a=b", Ok(&[("a", false, "b")])),
            ("a==b", Ok(&[("a", false, "b")])),
            ("a!=b", Ok(&[("a", true, "b")])),
            ("a=", Ok(&[("a", false, "")])),
            ("=b", Ok(&[("", false, "b")])),
            ("a=b,,", Ok(&[("a", false, "b")])),
            // Raw terms are sorted before parsing.
            (
                "spec.nodeName=n1,metadata.name!=x",
                Ok(&[("metadata.name", true, "x"), ("spec.nodeName", false, "n1")]),
            ),
            ("a=b,a=c", Ok(&[("a", false, "b"), ("a", false, "c")])),
            ("a = b", Ok(&[("a ", false, " b")])),
            ("a=x\\,y", Ok(&[("a", false, "x,y")])),
            ("a=x\\=y", Ok(&[("a", false, "x=y")])),
            ("a=x\\\\y", Ok(&[("a", false, "x\\y")])),
            ("a=b!c", Ok(&[("a", false, "b!c")])),
            ("a!==b", Err("unescaped character in value: '='")),
            ("a=é", Ok(&[("a", false, "é")])),
            ("a", Err("can't understand 'a'")),
            ("a=b,c", Err("can't understand 'c'")),
            ("a=b=c", Err("unescaped character in value: '='")),
            ("a=x\\!", Err("invalid escape sequence: \\!")),
            ("a=x\\é", Err("invalid escape sequence: \\é")),
            ("a=x\\", Err("invalid escape sequence: \\")),
        ];
        for (input, expected) in cases {
            check_field(input, *expected);
        }
    }

    #[test]
    fn field_matching() {
        let obj = |field: &str| match field {
            "metadata.name" => Some("web-1".to_string()),
            "spec.nodeName" => Some("node-a".to_string()),
            "status.phase" => Some("Running".to_string()),
            _ => None,
        };
        let cases: &[(&str, bool)] = &[
            ("", true),
            ("spec.nodeName=node-a", true),
            ("spec.nodeName=node-b", false),
            ("spec.nodeName!=node-b", true),
            ("spec.nodeName=node-a,status.phase!=Running", false),
            ("spec.nodeName=node-a,status.phase==Running", true),
            ("missing=", true),
            ("missing!=", false),
            ("missing=x", false),
            ("missing!=x", true),
        ];
        for (sel, want) in cases {
            assert_eq!(
                FieldSelector::parse(sel).unwrap().matches(obj),
                *want,
                "{sel:?}"
            );
        }
    }

    #[test]
    fn field_exact_value() {
        let sel = FieldSelector::parse("spec.nodeName!=x,spec.nodeName=n1,a=b").unwrap();
        assert_eq!(sel.exact_value("spec.nodeName"), Some("n1"));
        assert_eq!(sel.exact_value("a"), Some("b"));
        assert_eq!(sel.exact_value("b"), None);
        let neg = FieldSelector::parse("spec.nodeName!=x").unwrap();
        assert_eq!(neg.exact_value("spec.nodeName"), None);
        assert_eq!(
            FieldSelector::parse("a=x\\,y\\=z\\\\").unwrap().to_string(),
            "a=x\\,y\\=z\\\\"
        );
    }
}
