//! Tokens of the predicate language: Go's expression syntax, as far as
//! Teleport's predicate parser (vulcand/predicate on go/parser) reads it.

use super::PredicateError;
use crate::policy::go_string::{closing_quote, identifier_len, unquote};

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
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        if let Some(next) = skip_blank(src, i)? {
            i = next;
            continue;
        }
        let (tok, next) = next_token(src, i)?;
        out.push((tok, i));
        i = next;
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

/// Whitespace or a Go comment (`// ...` to the end of the line, `/* ... */`)
/// at `i`: the offset after it; `None` when a token starts there.
fn skip_blank(src: &str, i: usize) -> Result<Option<usize>, PredicateError> {
    let rest = &src[i..];
    match src.as_bytes()[i] {
        b' ' | b'\t' | b'\n' | b'\r' => Ok(Some(i + 1)),
        b'/' if rest.starts_with("//") => Ok(Some(rest.find('\n').map_or(src.len(), |n| i + n))),
        b'/' if rest.starts_with("/*") => {
            let end = src[i + 2..]
                .find("*/")
                .ok_or_else(|| PredicateError::at(i, "comment not terminated"))?;
            Ok(Some(i + 2 + end + 2))
        }
        _ => Ok(None),
    }
}

/// The token that starts at `i`, and the offset after it.
fn next_token(src: &str, i: usize) -> Result<(Tok, usize), PredicateError> {
    let two = |s: &str| src[i..].starts_with(s);
    let tok = match src.as_bytes()[i] {
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
        b'"' => return quoted(src, i).map(|(s, end)| (Tok::Str(s), end)),
        b'`' => {
            let end = src[i + 1..]
                .find('`')
                .ok_or_else(|| PredicateError::at(i, "raw string literal not terminated"))?;
            // go/scanner drops carriage returns from raw strings.
            let raw = src[i + 1..i + 1 + end].replace('\r', "");
            return Ok((Tok::Str(raw), i + end + 2));
        }
        b'0'..=b'9' => return number(src, i),
        _ if identifier_len(&src[i..]) > 0 => {
            let len = identifier_len(&src[i..]);
            return Ok((Tok::Ident(src[i..i + len].to_owned()), i + len));
        }
        _ => {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(PredicateError::at(
                i,
                format!("unexpected character {ch:?}"),
            ));
        }
    };
    let len = match tok {
        Tok::And | Tok::Or | Tok::Eq | Tok::Ne => 2,
        _ => 1,
    };
    Ok((tok, i + len))
}

/// A decimal integer literal at `i`, and the offset after it.
fn number(src: &str, i: usize) -> Result<(Tok, usize), PredicateError> {
    let len = src[i..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(src.len() - i);
    let n = src[i..i + len]
        .parse::<i64>()
        .map_err(|e| PredicateError::at(i, format!("bad number: {e}")))?;
    Ok((Tok::Int(n), i + len))
}

/// A Go interpreted string literal starting at `at` (the opening quote),
/// with Go's escapes (see `go_string`); returns its value and the offset
/// after the closing quote.
fn quoted(src: &str, at: usize) -> Result<(String, usize), PredicateError> {
    let body = &src[at + 1..];
    let end = closing_quote(body)
        .ok_or_else(|| PredicateError::at(at, "string literal not terminated"))?;
    let value = unquote(&body[..end]).map_err(|(i, e)| PredicateError::at(at + 1 + i, e))?;
    Ok((value, at + 1 + end + 1))
}
