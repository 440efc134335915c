//! `regexp.replace` as Teleport evaluates it, in role templates and in
//! `node_labels_expression` alike: lib/utils/parse/parse.go `RegexpReplace`
//! (which lib/services/parser.go also registers for label expressions), that
//! is Go's `Regexp.ReplaceAllString` with Go's template expansion
//! (src/regexp/regexp.go `expand` and `extract`).
//!
//! Go's `$` syntax is not the `regex` crate's, and the difference decides
//! logins: Go reads `$01` as the group named `01` (a leading zero is no
//! number) and `$1é` as the group named `1é`; unless a group is so named,
//! both expand to nothing, where the `regex` crate would expand group 1.
//! The template is therefore read here as Go reads it, and a name is looked
//! up among the Go names of the groups (the translation renames them: see
//! `go_regex::capture_name`); only the matches come from the `regex`
//! crate, whose iteration over matches (including empty ones) is Go's
//! `replaceAll`'s.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex, Replacer};

use super::go_regex::capture_name;

/// Teleport's `RegexpReplace`: every value the regex matches, with each
/// match replaced by `replacement` (expanded as Go's `Regexp.Expand`). A
/// value the regex does not match is mapped to `""`, and `stringListMap`
/// drops empty results, so neither reaches an enclosing `email.local` or
/// the template's prefix and suffix.
pub(crate) fn regexp_replace<'v>(
    re: &Regex,
    values: impl IntoIterator<Item = &'v str>,
    replacement: &str,
) -> Vec<String> {
    let expansion = GoTemplate::parse(replacement).expansion(re);
    values
        .into_iter()
        .filter(|v| re.is_match(v))
        .map(|v| re.replace_all(v, &expansion).into_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Go's `re.ReplaceAllString(input, replacement)`, for a regex compiled
/// from Go's syntax (see `go_regex`): every match of `re` in `input`
/// replaced by `replacement` expanded as Go's `Regexp.expand` does.
pub(crate) fn replace_all_go(re: &Regex, input: &str, replacement: &str) -> String {
    let expansion = GoTemplate::parse(replacement).expansion(re);
    re.replace_all(input, &expansion).into_owned()
}

/// A replacement template, split as Go's `Regexp.expand` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoTemplate {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Literal text (`$$` already turned into `$`, a malformed `$` kept).
    Text(String),
    /// `$n` / `${n}`: the text of group `n`; nothing when the regex has no
    /// such group or it took no part in the match.
    Group(usize),
    /// `$name` / `${name}` with a name that is not a group number: the text
    /// of the group so named; nothing when none is (or it took no part).
    Named(String),
}

/// A Go template name: the longest run of Unicode letters (category L),
/// decimal digits (Nd) and `_`, as Go's `extract` scans it with
/// `unicode.IsLetter`, `unicode.IsDigit` and `'_'`.
static GO_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Nd}_]+").expect("a valid regex"));

impl GoTemplate {
    /// Go's `Regexp.expand` loop: `$$` is a `$`; `$name` or `${name}` is a
    /// reference (see [`extract`]); any other `$` is literal text.
    pub(crate) fn parse(template: &str) -> GoTemplate {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(dollar) = rest.find('$') {
            text.push_str(&rest[..dollar]);
            rest = &rest[dollar..];
            if let Some(after) = rest.strip_prefix("$$") {
                text.push('$');
                rest = after;
                continue;
            }
            match extract(&rest[1..]) {
                Some((reference, after)) => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(reference);
                    rest = after;
                }
                None => {
                    // Malformed: Go keeps the `$` as text.
                    text.push('$');
                    rest = &rest[1..];
                }
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        GoTemplate { pieces }
    }
}

/// Go's `extract` on the text after a `$`: the reference `name` or `{name}`
/// starts it, and the text after it; `None` for an empty name or a `{name`
/// without its `}`.
fn extract(after_dollar: &str) -> Option<(Piece, &str)> {
    let (braced, body) = match after_dollar.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, after_dollar),
    };
    let len = GO_NAME.find(body).map_or(0, |m| m.end());
    if len == 0 {
        return None;
    }
    let (name, mut rest) = body.split_at(len);
    if braced {
        rest = rest.strip_prefix('}')?;
    }
    let reference = match group_number(name) {
        Some(n) => Piece::Group(n),
        None => Piece::Named(name.to_owned()),
    };
    Some((reference, rest))
}

/// Go's `extract` number rule: ASCII digits only, no leading zero (`0`
/// itself is a number, `01` is a name), and a digit read while the number
/// so far is already at least 1e8 makes it a name (`$1000000000` is the
/// group named so, `$100000000` group 100000000).
fn group_number(name: &str) -> Option<usize> {
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    let mut number: usize = 0;
    for b in name.bytes() {
        if !b.is_ascii_digit() || number >= 100_000_000 {
            return None;
        }
        number = number * 10 + usize::from(b - b'0');
    }
    Some(number)
}

impl GoTemplate {
    /// The template with every reference resolved against `re`'s groups.
    pub(crate) fn expansion(&self, re: &Regex) -> Expansion {
        let parts = self
            .pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => Part::Text(text.clone()),
                Piece::Group(n) => Part::FirstTakingPart(vec![*n]),
                Piece::Named(name) => Part::FirstTakingPart(groups_named(re, name)),
            })
            .collect();
        Expansion { parts }
    }
}

/// The numbers of `re`'s groups that Go names `name`, leftmost first.
/// The translation renamed each (see `go_regex::capture_name`); Go allows
/// a name on several groups, and a name that no group has expands to
/// nothing. `$1` is a number, never a name (`(a)(?P<1>b)`: `$1` is `a`),
/// but `$01` and `$1a` are names, which groups `(?P<01>` and `(?P<1a>` have.
fn groups_named(re: &Regex, name: &str) -> Vec<usize> {
    re.capture_names()
        .enumerate()
        .filter(|(_, rust)| rust.and_then(capture_name::go_name) == Some(name))
        .map(|(i, _)| i)
        .collect()
}

/// A [`GoTemplate`] resolved against one regex's groups.
#[derive(Debug)]
pub(crate) struct Expansion {
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Text(String),
    /// The text of the first of these groups that took part in the match;
    /// nothing when none did (or there are none). Go's `expand` loops over
    /// `subexpNames` in order and takes the first group so named whose
    /// match is set (`match[2*i] >= 0`), then breaks.
    FirstTakingPart(Vec<usize>),
}

impl Replacer for &Expansion {
    fn replace_append(&mut self, caps: &Captures<'_>, dst: &mut String) {
        for part in &self.parts {
            match part {
                Part::Text(text) => dst.push_str(text),
                Part::FirstTakingPart(groups) => {
                    if let Some(m) = groups.iter().find_map(|&i| caps.get(i)) {
                        dst.push_str(m.as_str());
                    }
                }
            }
        }
    }

    /// A template without references needs no captures (Go likewise skips
    /// the submatches when the template holds no `$`).
    fn no_expansion(&mut self) -> Option<Cow<'_, str>> {
        match self.parts.as_slice() {
            [] => Some(Cow::Borrowed("")),
            [Part::Text(text)] => Some(Cow::Borrowed(text)),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "go_replace_tests.rs"]
mod tests;
