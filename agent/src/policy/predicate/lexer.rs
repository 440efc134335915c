//! Tokens of the predicate language: Go's expression syntax, as far as
//! Teleport's predicate parser (vulcand/predicate on go/parser) reads it.

use super::PredicateError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Dot,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Not,
    And,
    Or,
    Eq,
    Ne,
    End,
}

/// A token and the byte offset where it starts.
pub(super) type Spanned = (Tok, usize);

pub(super) fn tokenize(src: &str) -> Result<Vec<Spanned>, PredicateError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let two = |s: &str| src[i..].starts_with(s);
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            // Go comments: `// ...` to the end of the line, `/* ... */`.
            b'/' if two("//") => {
                i = src[i..].find('\n').map_or(src.len(), |n| i + n);
                continue;
            }
            b'/' if two("/*") => {
                let end = src[i + 2..]
                    .find("*/")
                    .ok_or_else(|| PredicateError::at(i, "comment not terminated"))?;
                i += 2 + end + 2;
                continue;
            }
            b'.' => Tok::Dot,
            b',' => Tok::Comma,
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            b'&' if two("&&") => Tok::And,
            b'|' if two("||") => Tok::Or,
            b'=' if two("==") => Tok::Eq,
            b'!' if two("!=") => Tok::Ne,
            b'!' => Tok::Not,
            b'"' => {
                let (s, end) = quoted(src, i)?;
                i = end;
                out.push((Tok::Str(s), start));
                continue;
            }
            b'`' => {
                let end = src[i + 1..]
                    .find('`')
                    .ok_or_else(|| PredicateError::at(i, "raw string literal not terminated"))?;
                out.push((Tok::Str(src[i + 1..i + 1 + end].to_owned()), start));
                i += end + 2;
                continue;
            }
            b'0'..=b'9' => {
                let len = src[i..]
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(src.len() - i);
                let n = src[i..i + len]
                    .parse::<i64>()
                    .map_err(|e| PredicateError::at(i, format!("bad number: {e}")))?;
                i += len;
                out.push((Tok::Int(n), start));
                continue;
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let len = src[i..]
                    .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                    .unwrap_or(src.len() - i);
                out.push((Tok::Ident(src[i..i + len].to_owned()), start));
                i += len;
                continue;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(PredicateError::at(
                    i,
                    format!("unexpected character {ch:?}"),
                ));
            }
        };
        i += match tok {
            Tok::And | Tok::Or | Tok::Eq | Tok::Ne => 2,
            _ => 1,
        };
        out.push((tok, start));
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

/// A Go interpreted string literal starting at `at` (the opening quote);
/// returns its value and the offset after the closing quote.
fn quoted(src: &str, at: usize) -> Result<(String, usize), PredicateError> {
    let mut out = String::new();
    let mut chars = src[at + 1..].char_indices();
    while let Some((j, c)) = chars.next() {
        let here = at + 1 + j;
        match c {
            '"' => return Ok((out, here + 1)),
            '\n' => break,
            '\\' => {
                let (_, e) = chars
                    .next()
                    .ok_or_else(|| PredicateError::at(here, "string literal not terminated"))?;
                out.push(match e {
                    '\\' => '\\',
                    '"' => '"',
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => {
                        return Err(PredicateError::at(
                            here,
                            format!("unsupported escape sequence \\{other}"),
                        ))
                    }
                });
            }
            c => out.push(c),
        }
    }
    Err(PredicateError::at(at, "string literal not terminated"))
}
