//! The label selector lexer (upstream `labels.Lexer`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
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
pub(super) fn lex(s: &str) -> Vec<(Tok, &str)> {
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
