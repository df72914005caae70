//! Field selectors (upstream `fields.ParseSelector`): [`FieldSelector`] and its
//! [`FieldRequirement`]s, parsing with upstream's escaping, matching and the string form.

use std::fmt;
use std::str::FromStr;

use super::write_comma_separated;
use crate::{Error, Result};

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
        write_comma_separated(f, &self.requirements)
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
