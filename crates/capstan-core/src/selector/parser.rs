//! The label selector parser (upstream `labels.Parser`), token by token.

use std::collections::BTreeSet;

use super::lexer::{Tok, lex};
use super::validation::{invalid, label_key_errors, new_requirement};
use super::{Operator, Requirement};

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

/// Parses a label selector string into its requirements, in the order written.
pub(super) fn parse_requirements(s: &str) -> ParseResult<Vec<Requirement>> {
    Parser {
        items: lex(s),
        pos: 0,
    }
    .parse()
}

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
