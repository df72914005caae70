//! Where a syntax error in fleet YAML is: serde-saphyr reports a line and column, and the
//! path (`clusters[1].nodePools[0].maxPods`) is rebuilt from the text around it.

use super::FleetError;

/// A serde-saphyr error as [`FleetError::Syntax`], located by line, column and path.
pub(super) fn syntax_error(text: &str, e: &serde_saphyr::Error) -> FleetError {
    let plain = e.without_snippet().to_string();
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    // The message repeats the position at its end; the error's fields carry it already.
    let message = match plain.rfind(" at line ") {
        Some(i) if line > 0 => plain[..i].to_string(),
        _ => plain,
    };
    // A "missing field" error points at the start of the mapping, whose first key must not
    // be mistaken for the culprit.
    let include_at_column = !message.contains("missing field");
    let path = if line > 0 {
        yaml_path_at(text, line, column, include_at_column)
    } else {
        String::new()
    };
    FleetError::Syntax {
        path: if path.is_empty() {
            "(document)".into()
        } else {
            path
        },
        line,
        column,
        message,
    }
}

#[derive(Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// Best-effort path (`clusters[1].nodePools[0].maxPods`) of the block-style YAML node at a
/// 1-based line and column, rebuilt from indentation. serde-saphyr reports positions but not
/// paths; for flow-style collections the path stops at the enclosing block key.
pub(super) fn yaml_path_at(text: &str, line: u64, column: u64, include_at_column: bool) -> String {
    let mut stack: Vec<(u64, PathStep)> = Vec::new();
    let mut block_scalar_indent: Option<u64> = None;
    for (n, raw) in text.lines().enumerate() {
        let lno = n as u64 + 1;
        if lno > line {
            break;
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let rest = &raw[indent..];
        if rest.is_empty() || rest.starts_with('#') || rest.starts_with("---") {
            continue;
        }
        let mut col = indent as u64 + 1;
        if let Some(bi) = block_scalar_indent {
            if col > bi {
                continue;
            }
            block_scalar_indent = None;
        }
        let mut rest = rest;
        loop {
            let is_target = lno == line;
            let take = |c: u64| !is_target || c < column || (include_at_column && c == column);
            if rest == "-" || rest.starts_with("- ") {
                if !take(col) {
                    break;
                }
                while stack.last().is_some_and(|(c, _)| *c > col) {
                    stack.pop();
                }
                match stack.last_mut() {
                    Some((c, PathStep::Index(i))) if *c == col => *i += 1,
                    _ => stack.push((col, PathStep::Index(0))),
                }
                let after = rest[1..].trim_start_matches(' ');
                col += (rest.len() - after.len()) as u64;
                rest = after;
                if rest.is_empty() {
                    break;
                }
                continue;
            }
            if let Some((key, value)) = split_key(rest) {
                if !take(col) {
                    break;
                }
                while stack.last().is_some_and(|(c, _)| *c >= col) {
                    stack.pop();
                }
                stack.push((col, PathStep::Key(key)));
                let v = value.trim_start();
                if v.starts_with('|') || v.starts_with('>') {
                    block_scalar_indent = Some(col);
                }
            }
            break;
        }
    }
    let mut out = String::new();
    for (_, step) in &stack {
        match step {
            PathStep::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// `key: value` → (key, value) for a plain or quoted block mapping key.
fn split_key(s: &str) -> Option<(String, &str)> {
    if s.starts_with('{') || s.starts_with('[') {
        return None;
    }
    let (key, after) = if let Some(q) = s.strip_prefix('"').or_else(|| s.strip_prefix('\'')) {
        let quote = s.as_bytes()[0] as char;
        let end = q.find(quote)?;
        (q[..end].to_string(), &q[end + 1..])
    } else {
        let bytes = s.as_bytes();
        let mut i = 0;
        loop {
            if i >= bytes.len() {
                return None;
            }
            if bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
                break;
            }
            if bytes[i] == b'#' && i > 0 && bytes[i - 1] == b' ' {
                return None;
            }
            i += 1;
        }
        (s[..i].trim_end().to_string(), &s[i..])
    };
    let after = after.trim_start_matches(' ');
    let value = after.strip_prefix(':')?;
    Some((key, value))
}
