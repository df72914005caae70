//! A small JSONPath evaluator for the paths CRD printer columns use: `.a.b`, `['a.b']`, `[0]`,
//! `[*]` and filters such as `[?(@.type=="Ready")]` (with ==, !=, <, <=, >, >=).

use serde_json::Value;

enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Filter {
        path: Vec<String>,
        op: String,
        literal: Value,
    },
}

fn parse_jsonpath(path: &str) -> Option<Vec<Segment>> {
    let path = path.trim();
    let path = path
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or(path)
        .trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let chars: Vec<char> = path.chars().collect();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if !name.is_empty() {
                    segments.push(Segment::Field(name));
                }
            }
            '[' => {
                let close = find_closing_bracket(&chars, i)?;
                let inner: String = chars[i + 1..close].iter().collect();
                segments.push(parse_bracket(inner.trim())?);
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(segments)
}

fn find_closing_bracket(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open + 1) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == ']' => return Some(j),
            None => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Option<Segment> {
    if inner == "*" {
        return Some(Segment::Wildcard);
    }
    if let Some(quoted) = unquote(inner) {
        return Some(Segment::Field(quoted));
    }
    if let Ok(n) = inner.parse::<i64>() {
        return Some(Segment::Index(n));
    }
    let filter = inner.strip_prefix("?(")?.strip_suffix(')')?.trim();
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some((left, right)) = filter.split_once(op) {
            let left = left.trim().strip_prefix('@')?;
            let path = left
                .split('.')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let right = right.trim();
            let literal = match unquote(right) {
                Some(s) => Value::String(s),
                None => serde_json::from_str(right).ok()?,
            };
            return Some(Segment::Filter {
                path,
                op: op.to_string(),
                literal,
            });
        }
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return Some(s[1..s.len() - 1].to_string());
        }
    }
    None
}

fn filter_matches(item: &Value, path: &[String], op: &str, literal: &Value) -> bool {
    let mut cur = item;
    for key in path {
        match cur.get(key.as_str()) {
            Some(v) => cur = v,
            None => return false,
        }
    }
    let ordering = match (cur, literal) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) if a == b => Some(std::cmp::Ordering::Equal),
        _ => None,
    };
    match (op, ordering) {
        ("==", Some(o)) => o.is_eq(),
        ("!=", o) => !o.is_some_and(std::cmp::Ordering::is_eq),
        ("<", Some(o)) => o.is_lt(),
        ("<=", Some(o)) => o.is_le(),
        (">", Some(o)) => o.is_gt(),
        (">=", Some(o)) => o.is_ge(),
        _ => false,
    }
}

/// The first value the path selects (missing keys select nothing, as `AllowMissingKeys`).
pub(super) fn jsonpath_first<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let segments = parse_jsonpath(path)?;
    let mut current: Vec<&Value> = vec![obj];
    for segment in &segments {
        let mut next = Vec::new();
        for v in current {
            match (segment, v) {
                (Segment::Field(name), Value::Object(m)) => next.extend(m.get(name.as_str())),
                (Segment::Index(i), Value::Array(a)) => {
                    let len = i64::try_from(a.len()).ok()?;
                    let idx = if *i < 0 { len + i } else { *i };
                    // Out of range is an evaluation error upstream: the cell is null.
                    next.push(a.get(usize::try_from(idx).ok()?)?);
                }
                (Segment::Wildcard, Value::Array(a)) => next.extend(a.iter()),
                (Segment::Wildcard, Value::Object(m)) => next.extend(m.values()),
                (Segment::Filter { path, op, literal }, Value::Array(a)) => {
                    next.extend(
                        a.iter()
                            .filter(|item| filter_matches(item, path, op, literal)),
                    );
                }
                _ => {}
            }
        }
        current = next;
    }
    current.into_iter().next()
}
