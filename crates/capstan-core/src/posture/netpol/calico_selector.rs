//! Calico's selector expressions (projectcalico/calico `libcalico-go/lib/selector`; docs
//! "Selectors" in the NetworkPolicy reference): `all()`, `global()`, `k == 'v'`, `k != 'v'`,
//! `has(k)`, `k in {'a','b'}`, `k not in {...}`, `k contains 's'`, `k starts with 's'`,
//! `k ends with 's'`, `!`, `&&`, `||` and parentheses; strings in single or double quotes.
//! `!` binds tighter than `&&`, which binds tighter than `||`. As in Calico, `!=` and
//! `not in` match a resource without the label. An empty selector is `all()`.

use std::fmt;

/// A parse error, with the byte position where the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Calico selector {input:?}: {reason} at position {position}")]
pub struct CalicoSelectorError {
    pub input: String,
    pub position: usize,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    All,
    /// Matches non-namespaced resources only (never a pod).
    Global,
    Has(String),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Contains(String, String),
    StartsWith(String, String),
    EndsWith(String, String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A parsed Calico selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalicoSelector {
    expr: Expr,
    source: String,
}

impl fmt::Display for CalicoSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.source.trim().is_empty() {
            "all()"
        } else {
            &self.source
        })
    }
}

impl CalicoSelector {
    pub fn parse(input: &str) -> Result<CalicoSelector, CalicoSelectorError> {
        let mut p = Parser {
            input,
            bytes: input.as_bytes(),
            pos: 0,
        };
        p.skip_ws();
        let expr = if p.pos == p.bytes.len() {
            Expr::All
        } else {
            let e = p.or()?;
            p.skip_ws();
            if p.pos != p.bytes.len() {
                return Err(p.error("unexpected text after the expression"));
            }
            e
        };
        Ok(CalicoSelector {
            expr,
            source: input.to_string(),
        })
    }

    /// Whether the labels `get` reads match.
    pub fn matches<'a>(&self, get: &dyn Fn(&str) -> Option<&'a str>) -> bool {
        self.eval_partial(&|k| Some(get(k))) == Some(true)
    }

    /// Three-valued evaluation: `lookup` returns `None` for a label whose value is unknown
    /// (any value or none possible), `Some(value)` for a known one. The result is `None`
    /// when the unknown labels decide it. `Some(true)` with every pod label unknown means the
    /// selector selects every pod whatever its labels.
    pub fn eval_partial<'a>(
        &self,
        lookup: &dyn Fn(&str) -> Option<Option<&'a str>>,
    ) -> Option<bool> {
        eval(&self.expr, lookup)
    }
}

fn eval<'a>(e: &Expr, lookup: &dyn Fn(&str) -> Option<Option<&'a str>>) -> Option<bool> {
    let label = |k: &str, f: &dyn Fn(Option<&str>) -> bool| lookup(k).map(f);
    match e {
        Expr::All => Some(true),
        Expr::Global => Some(false),
        Expr::Has(k) => label(k, &|v| v.is_some()),
        Expr::Eq(k, want) => label(k, &|v| v == Some(want.as_str())),
        Expr::Ne(k, want) => label(k, &|v| v != Some(want.as_str())),
        Expr::In(k, set) => label(k, &|v| v.is_some_and(|v| set.iter().any(|s| s == v))),
        Expr::NotIn(k, set) => label(k, &|v| !v.is_some_and(|v| set.iter().any(|s| s == v))),
        Expr::Contains(k, s) => label(k, &|v| v.is_some_and(|v| v.contains(s.as_str()))),
        Expr::StartsWith(k, s) => label(k, &|v| v.is_some_and(|v| v.starts_with(s.as_str()))),
        Expr::EndsWith(k, s) => label(k, &|v| v.is_some_and(|v| v.ends_with(s.as_str()))),
        Expr::Not(inner) => eval(inner, lookup).map(|b| !b),
        Expr::And(a, b) => match (eval(a, lookup), eval(b, lookup)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Expr::Or(a, b) => match (eval(a, lookup), eval(b, lookup)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
    }
}

struct Parser<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> CalicoSelectorError {
        CalicoSelectorError {
            input: self.input.to_string(),
            position: self.pos,
            reason: reason.to_string(),
        }
    }

    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    /// Consumes `token` (after whitespace) if it comes next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.input[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// Consumes a word operator (`in`, `not`, ...) only when a word boundary follows.
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = &self.input[self.pos..];
        if rest.starts_with(word) && !rest[word.len()..].bytes().next().is_some_and(is_key_byte) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, CalicoSelectorError> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, CalicoSelectorError> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, CalicoSelectorError> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            if !self.eat(")") {
                return Err(self.error("expected ')'"));
            }
            return Ok(inner);
        }
        if self.eat_call("all") {
            return Ok(Expr::All);
        }
        if self.eat_call("global") {
            return Ok(Expr::Global);
        }
        if self.eat_word("has") {
            if !self.eat("(") {
                return Err(self.error("expected '(' after has"));
            }
            let key = self.key()?;
            if !self.eat(")") {
                return Err(self.error("expected ')' after the label key"));
            }
            return Ok(Expr::Has(key));
        }
        let key = self.key()?;
        if self.eat("==") {
            return Ok(Expr::Eq(key, self.string()?));
        }
        if self.eat("!=") {
            return Ok(Expr::Ne(key, self.string()?));
        }
        if self.eat_word("in") {
            return Ok(Expr::In(key, self.set()?));
        }
        if self.eat_word("not") {
            if !self.eat_word("in") {
                return Err(self.error("expected 'in' after 'not'"));
            }
            return Ok(Expr::NotIn(key, self.set()?));
        }
        if self.eat_word("contains") {
            return Ok(Expr::Contains(key, self.string()?));
        }
        if self.eat_word("starts") {
            if !self.eat_word("with") {
                return Err(self.error("expected 'with' after 'starts'"));
            }
            return Ok(Expr::StartsWith(key, self.string()?));
        }
        if self.eat_word("ends") {
            if !self.eat_word("with") {
                return Err(self.error("expected 'with' after 'ends'"));
            }
            return Ok(Expr::EndsWith(key, self.string()?));
        }
        self.skip_ws();
        Err(self.error(&format!(
            "expected an operator (==, !=, in, not in, contains, starts with, ends with) after label {key:?}"
        )))
    }

    /// `all()` / `global()`, with optional spaces inside the parentheses.
    fn eat_call(&mut self, name: &str) -> bool {
        let start = self.pos;
        if self.eat_word(name) && self.eat("(") && self.eat(")") {
            return true;
        }
        self.pos = start;
        false
    }

    fn key(&mut self) -> Result<String, CalicoSelectorError> {
        self.skip_ws();
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(|&b| is_key_byte(b)) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a label key"));
        }
        Ok(self.input[start..self.pos].to_string())
    }

    fn string(&mut self) -> Result<String, CalicoSelectorError> {
        self.skip_ws();
        let Some(&quote) = self.bytes.get(self.pos) else {
            return Err(self.error("expected a quoted string"));
        };
        if quote != b'\'' && quote != b'"' {
            return Err(self.error("expected a quoted string"));
        }
        let start = self.pos + 1;
        let Some(len) = self.input[start..].find(quote as char) else {
            return Err(self.error("unterminated string"));
        };
        self.pos = start + len + 1;
        Ok(self.input[start..start + len].to_string())
    }

    fn set(&mut self) -> Result<Vec<String>, CalicoSelectorError> {
        if !self.eat("{") {
            return Err(self.error("expected '{' to start a set"));
        }
        let mut values = Vec::new();
        if self.eat("}") {
            return Ok(values);
        }
        loop {
            values.push(self.string()?);
            if self.eat("}") {
                return Ok(values);
            }
            if !self.eat(",") {
                return Err(self.error("expected ',' or '}' in the set"));
            }
        }
    }
}

/// Label key characters (Kubernetes keys: prefix with dots and slashes, name with dashes,
/// underscores and dots).
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Parses `selector` and matches it against `labels` ("k=v,k2=v2").
    fn check(selector: &str, labels: &str, want: bool) {
        let map: BTreeMap<&str, &str> = labels
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|kv| kv.split_once('=').unwrap())
            .collect();
        let s = CalicoSelector::parse(selector).unwrap();
        assert_eq!(
            s.matches(&|k| map.get(k).copied()),
            want,
            "{selector} on {labels}"
        );
    }

    #[test]
    fn operators() {
        let cases = [
            ("", "", true),
            ("all()", "a=1", true),
            ("all( )", "", true),
            ("global()", "", false),
            ("app == 'web'", "app=web", true),
            ("app == \"web\"", "app=db", false),
            ("app == 'web'", "", false),
            ("app != 'web'", "", true),
            ("app != 'web'", "app=web", false),
            ("has(app)", "app=x", true),
            ("!has(app)", "app=x", false),
            ("! has(app)", "b=x", true),
            ("tier in {'fe', 'be'}", "tier=be", true),
            ("tier in {}", "tier=be", false),
            ("tier not in {'fe','be'}", "", true),
            ("tier not in {'fe','be'}", "tier=fe", false),
            ("name contains 'ab'", "name=xaby", true),
            ("name starts with 'ab'", "name=abc", true),
            ("name ends with 'ab'", "name=abc", false),
            ("a == '1' && b == '2' || c == '3'", "c=3", true),
            ("a == '1' && (b == '2' || c == '3')", "c=3", false),
            (
                "!(a == '1') && projectcalico.org/namespace == 'x'",
                "projectcalico.org/namespace=x",
                true,
            ),
            ("role in {'db'}&&!has(debug)", "role=db", true),
            ("index == 'x'", "index=x", true),
            ("notin == 'x'", "notin=x", true),
        ];
        for (sel, labels, want) in cases {
            check(sel, labels, want);
        }
    }

    #[test]
    fn errors_name_the_position() {
        let cases = [
            ("app ==", 6, "expected a quoted string"),
            ("app = 'x'", 4, "expected an operator"),
            ("has(app", 7, "expected ')'"),
            ("(a == 'x'", 9, "expected ')'"),
            ("a in {'x' 'y'}", 10, "expected ',' or '}'"),
            ("a == 'x' b", 9, "unexpected text"),
            ("a == 'x", 5, "unterminated string"),
            ("&& a == 'x'", 0, "expected a label key"),
            ("a not 'x'", 6, "expected 'in'"),
        ];
        for (sel, pos, reason) in cases {
            let e = CalicoSelector::parse(sel).unwrap_err();
            assert_eq!(e.position, pos, "{sel}: {e}");
            assert!(e.reason.contains(reason), "{sel}: {e}");
            assert!(e.to_string().contains(&format!("at position {pos}")));
        }
    }

    #[test]
    fn partial_evaluation() {
        // Only the namespace is known.
        let lookup = |k: &str| (k == "projectcalico.org/namespace").then_some(Some("shop"));
        let cases = [
            ("all()", Some(true)),
            ("projectcalico.org/namespace == 'shop'", Some(true)),
            (
                "projectcalico.org/namespace not in {'kube-system'}",
                Some(true),
            ),
            (
                "projectcalico.org/namespace in {'kube-system'}",
                Some(false),
            ),
            ("app == 'web'", None),
            ("app == 'web' || all()", Some(true)),
            (
                "app == 'web' && projectcalico.org/namespace == 'x'",
                Some(false),
            ),
            ("!has(app)", None),
        ];
        for (sel, want) in cases {
            let s = CalicoSelector::parse(sel).unwrap();
            assert_eq!(s.eval_partial(&lookup), want, "{sel}");
        }
    }
}
