//! Tokens of Go's expression syntax, as far as Teleport reads it: both
//! `node_labels_expression` (lib/utils/typical on vulcand/predicate) and the
//! `{{...}}` trait templates (lib/utils/parse, also through typical) hand
//! their text to Go's `go/parser.ParseExpr`, whose scanner is go/scanner.
//!
//! What go/scanner does and this lexer does too:
//! - A Go keyword (`type`, `default`, `range`, ...) is never a name: it is a
//!   [`Tok::Keyword`], which no parser here accepts (Go's parser refuses it
//!   where a name or an operand is expected).
//! - Automatic semicolons: after a name, a literal, `)`, `]` (and the
//!   keywords `break`, `continue`, `fallthrough`, `return`), a line break
//!   ends the statement. The scanner inserts a semicolon there, and at the
//!   end of the text; a comment that holds or runs to a line break counts as
//!   one. That semicolon is [`Tok::Newline`]: `ParseExpr` accepts one only
//!   right before the end, so `contains(a,\n b\n)` or a line that starts
//!   with `&&` after a complete operand are errors, as in Teleport.
//! - Blanks are only space, tab, carriage return and (where no semicolon is
//!   due) line feed; comments are `// ...` and `/* ... */`.

use crate::policy::go_string::{closing_quote, identifier_len, unquote};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Ident(String),
    /// A Go keyword, which is never an identifier.
    Keyword(&'static str),
    Str(String),
    Int(i64),
    Dot,
    /// `...` after a call's last argument: go/parser keeps it in
    /// `CallExpr.Ellipsis`, which vulcand/predicate ignores.
    Ellipsis,
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
    /// go/scanner's automatic semicolon (a line break, or the end of the
    /// text, after a token that can end a statement).
    Newline,
    End,
}

impl Tok {
    /// How an error message names the token.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Newline => "newline".to_owned(),
            Tok::Keyword(k) => format!("keyword {k} (a Go keyword is not a name)"),
            other => format!("{other:?}"),
        }
    }
}

/// A token and the byte offset where it starts.
pub(crate) type Spanned = (Tok, usize);

/// Where the text is invalid (byte offset) and why.
pub(crate) type LexError = (usize, String);

/// Go's keywords (The Go Programming Language Specification, "Keywords").
const KEYWORDS: [&str; 25] = [
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
];

/// The tokens of `src`, ending with [`Tok::End`].
pub(crate) fn tokenize(src: &str) -> Result<Vec<Spanned>, LexError> {
    let mut out = Vec::new();
    // go/scanner ignores a byte order mark at the very start.
    let mut i = if src.starts_with('\u{feff}') { 3 } else { 0 };
    // Whether a line break here ends the statement (go/scanner's insertSemi).
    let mut semi_due = false;
    while i < src.len() {
        let rest = &src[i..];
        match src.as_bytes()[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => {
                if std::mem::take(&mut semi_due) {
                    out.push((Tok::Newline, i));
                }
                i += 1;
            }
            b'/' if rest.starts_with("//") || rest.starts_with("/*") => {
                if std::mem::take(&mut semi_due) && comment_ends_line(src, i)? {
                    out.push((Tok::Newline, i));
                }
                i = comment_end(src, i)?;
            }
            _ => {
                let (tok, next) = next_token(src, i)?;
                semi_due = ends_statement(&tok);
                out.push((tok, i));
                i = next;
            }
        }
    }
    if semi_due {
        out.push((Tok::Newline, src.len()));
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

/// go/scanner's insertSemi: the tokens after which a line break ends the
/// statement.
fn ends_statement(tok: &Tok) -> bool {
    match tok {
        Tok::Ident(_) | Tok::Str(_) | Tok::Int(_) | Tok::RParen | Tok::RBracket => true,
        Tok::Keyword(k) => ["break", "continue", "fallthrough", "return"].contains(k),
        _ => false,
    }
}

/// The offset after the comment that starts at `i`.
fn comment_end(src: &str, i: usize) -> Result<usize, LexError> {
    if src[i..].starts_with("//") {
        // The line break is not part of the comment.
        return Ok(src[i..].find('\n').map_or(src.len(), |n| i + n));
    }
    let end = src[i + 2..]
        .find("*/")
        .ok_or_else(|| (i, "comment not terminated".to_owned()))?;
    Ok(i + 2 + end + 2)
}

/// go/scanner's findLineEnd, for a comment at `i` where a semicolon is due:
/// whether a line break (or the end of the text) comes before the next
/// token, through this and any following comments: a `//` comment, a
/// `/* */` comment that holds a line break, or one followed by blanks up to
/// a line break or the end.
fn comment_ends_line(src: &str, mut i: usize) -> Result<bool, LexError> {
    loop {
        if src[i..].starts_with("//") {
            return Ok(true);
        }
        let end = comment_end(src, i)?;
        if src[i..end].contains('\n') {
            return Ok(true);
        }
        i = end;
        while matches!(src.as_bytes().get(i), Some(b' ' | b'\t' | b'\r')) {
            i += 1;
        }
        let rest = &src[i..];
        if rest.is_empty() || rest.starts_with('\n') {
            return Ok(true);
        }
        if !(rest.starts_with("//") || rest.starts_with("/*")) {
            return Ok(false);
        }
    }
}

/// The token that starts at `i`, and the offset after it.
fn next_token(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let two = |s: &str| src[i..].starts_with(s);
    let tok = match src.as_bytes()[i] {
        b'.' if two("...") => Tok::Ellipsis,
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
                .ok_or_else(|| (i, "raw string literal not terminated".to_owned()))?;
            // go/scanner drops carriage returns from raw strings.
            let raw = src[i + 1..i + 1 + end].replace('\r', "");
            return Ok((Tok::Str(raw), i + end + 2));
        }
        b'0'..=b'9' => return number(src, i),
        _ if identifier_len(&src[i..]) > 0 => {
            let len = identifier_len(&src[i..]);
            let word = &src[i..i + len];
            let tok = match KEYWORDS.iter().find(|k| **k == word) {
                Some(k) => Tok::Keyword(k),
                None => Tok::Ident(word.to_owned()),
            };
            return Ok((tok, i + len));
        }
        _ => {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err((i, format!("unexpected character {ch:?}")));
        }
    };
    let len = match tok {
        Tok::Ellipsis => 3,
        Tok::And | Tok::Or | Tok::Eq | Tok::Ne => 2,
        _ => 1,
    };
    Ok((tok, i + len))
}

/// A decimal integer literal at `i`, and the offset after it.
fn number(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let len = src[i..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(src.len() - i);
    let n = src[i..i + len]
        .parse::<i64>()
        .map_err(|e| (i, format!("bad number: {e}")))?;
    Ok((Tok::Int(n), i + len))
}

/// A Go interpreted string literal starting at `at` (the opening quote),
/// with Go's escapes (see `go_string`); returns its value and the offset
/// after the closing quote.
fn quoted(src: &str, at: usize) -> Result<(String, usize), LexError> {
    let body = &src[at + 1..];
    let end =
        closing_quote(body).ok_or_else(|| (at, "string literal not terminated".to_owned()))?;
    let value = unquote(&body[..end]).map_err(|(i, e)| (at + 1 + i, e))?;
    Ok((value, at + 1 + end + 1))
}

#[cfg(test)]
mod tests {
    use super::{tokenize, Tok};

    /// Where go/scanner inserts its automatic semicolons in `src`.
    fn newlines(src: &str) -> Vec<usize> {
        tokenize(src)
            .unwrap_or_else(|e| panic!("{src:?}: {e:?}"))
            .into_iter()
            .filter(|(t, _)| *t == Tok::Newline)
            .map(|(_, at)| at)
            .collect()
    }

    /// go/scanner's insertSemi: after a name, a string or number, `)`, `]`
    /// and the keywords break/continue/fallthrough/return, at a line break,
    /// at a comment that holds or runs to one, and at the end.
    #[test]
    fn automatic_semicolons_as_go_scanner_inserts_them() {
        let cases: &[(&str, &[usize])] = &[
            ("a\nb", &[1, 3]),
            ("\"s\"\n", &[3]),
            ("`r`\n", &[3]),
            ("7\n", &[1]),
            ("f()\n", &[3]),
            ("m[k]\n", &[4]),
            ("return\n", &[6]),
            ("break", &[5]),
            // not after operators, `(`, `[`, `,`, `.`, `!` or other keywords
            ("a &&\nb", &[6]),
            ("a ||\n b", &[7]),
            ("a ==\n b", &[7]),
            ("f(\n", &[]),
            ("m[\n", &[]),
            ("a,\n", &[]),
            ("a.\n", &[]),
            ("!\n", &[]),
            ("f(a...\n", &[]),
            ("type\n", &[]),
            // only the first line break after the operand
            ("a\n\n\n", &[1]),
            ("a \t\r\n", &[4]),
            // comments
            ("a // c\nb", &[2, 8]),
            ("a /* c\n */ b", &[2, 12]),
            ("a /* c */\n", &[2]),
            ("a /* c */", &[2]),
            ("a /* c */ /* d */ // e", &[2]),
            ("a /* c */ b", &[11]),
            ("a /* c */ /* d */ b", &[19]),
            ("f( /* c\n */ x", &[13]),
            ("\u{feff}a", &[4]),
        ];
        for (src, want) in cases {
            assert_eq!(newlines(src), *want, "{src:?}");
        }
    }

    #[test]
    fn keywords_are_not_identifiers() {
        for k in [
            "break",
            "case",
            "chan",
            "const",
            "continue",
            "default",
            "defer",
            "else",
            "fallthrough",
            "for",
            "func",
            "go",
            "goto",
            "if",
            "import",
            "interface",
            "map",
            "package",
            "range",
            "return",
            "select",
            "struct",
            "switch",
            "type",
            "var",
        ] {
            let toks = tokenize(k).expect("a keyword");
            assert_eq!(toks[0].0, Tok::Keyword(k), "{k}");
        }
        for name in [
            "types", "Type", "mapping", "g", "_", "true", "nil", "string",
        ] {
            let toks = tokenize(name).expect("a name");
            assert_eq!(toks[0].0, Tok::Ident(name.to_owned()), "{name}");
        }
    }

    #[test]
    fn what_the_scanner_refuses() {
        for src in ["a /* open", "a\u{c}b", "a\u{a0}b", "a; b", "\"x\ny\""] {
            assert!(tokenize(src).is_err(), "{src:?}");
        }
    }
}
