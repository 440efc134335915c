//! Label selectors against a node's labels: Teleport's `MatchLabels`.

use std::collections::BTreeMap;

use super::regex_cache::cached_regex;

/// A label selector: key → accepted values (OR). All keys must match (AND).
pub type Labels = BTreeMap<String, Vec<String>>;

/// The wildcard, as a key or as a value.
pub const WILDCARD: &str = "*";

/// The outcome of matching one selector against one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelMatch {
    /// The selector matches; the text says how.
    Matched(String),
    /// The selector does not match; the text says why.
    NotMatched(String),
    /// A value could not be evaluated (an invalid `^...$` regex).
    Invalid(String),
}

impl LabelMatch {
    /// Whether the selector matched.
    pub fn is_match(&self) -> bool {
        matches!(self, LabelMatch::Matched(_))
    }
}

/// Teleport's `MatchLabelGetter` (lib/services/role.go), failing closed
/// where its outcome depends on Go's random map order:
/// - an empty selector matches nothing;
/// - a `'*'` key whose only value is `'*'` matches every node, even one
///   without labels;
/// - otherwise every key must be a label of the node, and either one of its
///   values is `*`, or one value matches the node's value (see
///   [`match_value`]). Values are tried in order (`utils.SliceMatchesRegex`):
///   an invalid regex met before a match is an error, which fails
///   Teleport's access check. Teleport walks the keys in random order and
///   stops at the first that does not match, so whether it meets another
///   key's invalid regex depends on the order: the selector is
///   [`LabelMatch::Invalid`] whenever some order meets one.
pub fn match_labels(selector: &Labels, node: &BTreeMap<String, String>) -> LabelMatch {
    if selector.is_empty() {
        return LabelMatch::NotMatched("empty node_labels match no node".to_owned());
    }
    if selector.get(WILDCARD).is_some_and(|v| is_every_node(v)) {
        return LabelMatch::Matched("node_labels '*': '*' match every node".to_owned());
    }
    let mut invalid = None;
    let mut missed = None;
    for (key, values) in selector {
        match match_key(key, values, node) {
            KeyMatch::Yes => {}
            KeyMatch::NoLabel => {
                missed.get_or_insert_with(|| format!("the node has no label {key:?}"));
            }
            KeyMatch::NoValue(actual) => {
                missed.get_or_insert_with(|| format!("the node has {key}={actual}"));
            }
            KeyMatch::Invalid(why) => {
                invalid.get_or_insert(why);
            }
        }
    }
    if let Some(why) = invalid {
        return LabelMatch::Invalid(match missed {
            Some(m) => format!("{why} (Teleport walks the keys in Go's random map order, and may reach it before it finds that {m})"),
            None => why,
        });
    }
    match missed {
        None => LabelMatch::Matched(format!("node_labels {} matched", describe(selector))),
        Some(m) => LabelMatch::NotMatched(format!(
            "node_labels {} did not match: {m}",
            describe(selector)
        )),
    }
}

/// Whether a value list is `'*'` alone: under the `'*'` key, every node.
fn is_every_node(values: &[String]) -> bool {
    matches!(values, [only] if only == WILDCARD)
}

/// One key of a selector with one value list against the node.
enum KeyMatch {
    Yes,
    NoLabel,
    /// The node's value, which no value of the list matches.
    NoValue(String),
    /// An invalid regex met before a match.
    Invalid(String),
}

/// One key of Teleport's `MatchLabelGetter` loop: the node must have the
/// label (an empty key is no label); a `*` value matches any value;
/// otherwise `utils.SliceMatchesRegex`, values in order.
fn match_key(key: &str, values: &[String], node: &BTreeMap<String, String>) -> KeyMatch {
    let Some(actual) = node.get(key).filter(|_| !key.is_empty()) else {
        return KeyMatch::NoLabel;
    };
    if values.iter().any(|v| v == WILDCARD) {
        return KeyMatch::Yes;
    }
    for value in values {
        match match_value(value, actual) {
            Ok(true) => return KeyMatch::Yes,
            Ok(false) => {}
            Err(e) => return KeyMatch::Invalid(format!("node_labels {key}: {e}")),
        }
    }
    KeyMatch::NoValue(actual.clone())
}

/// One selector value against one label value: `^...$` is a regex (anchored
/// as written); anything else is a glob where `*` is any run of characters
/// but a newline, anchored at both ends (Teleport's `utils.GlobToRegexp`
/// turns `*` into the regex `(.*)`, and `.` does not match `\n`).
pub fn match_value(pattern: &str, value: &str) -> Result<bool, String> {
    if is_regex(pattern) {
        return cached_regex(pattern).map(|re| re.is_match(value));
    }
    if value.contains('\n') && pattern.contains('*') {
        let parts: Vec<String> = pattern.split('*').map(regex::escape).collect();
        let anchored = format!("^{}$", parts.join("(.*)"));
        return cached_regex(&anchored).map(|re| re.is_match(value));
    }
    Ok(glob_match(pattern, value))
}

/// Whether a selector value is a regex (`^...$`) rather than a glob.
fn is_regex(pattern: &str) -> bool {
    pattern.len() >= 2 && pattern.starts_with('^') && pattern.ends_with('$')
}

/// The error a value would give, whatever it is matched against: an
/// invalid `^...$` regex (a glob is always valid). Teleport's
/// `utils.RegexMatchesAny` compiles before looking at its inputs.
pub(crate) fn check_value_pattern(pattern: &str) -> Result<(), String> {
    if is_regex(pattern) {
        cached_regex(pattern)?;
    }
    Ok(())
}

/// `*` matches any run of characters (none included); everything else is
/// literal; the whole value must match.
fn glob_match(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle.split_last() else {
        return rest.is_empty(); // no `*` at all: an exact match
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `env=prod, team=[a, b]`, for messages.
pub fn describe(selector: &Labels) -> String {
    if selector.is_empty() {
        return "{}".to_owned();
    }
    selector
        .iter()
        .map(|(k, v)| match v.as_slice() {
            [one] => format!("{k}={one}"),
            many => format!("{k}=[{}]", many.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "labels_tests.rs"]
mod tests;
