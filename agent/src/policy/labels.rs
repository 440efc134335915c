//! Label selectors against a node's labels: Teleport's `MatchLabels`.

use std::collections::BTreeMap;

use super::regex_cache::cached_regex;

/// A label selector: key → accepted values (OR). All keys must match (AND).
pub type Labels = BTreeMap<String, Vec<String>>;

/// For a label several keys of a selector became: its other value lists.
pub type Alternatives = BTreeMap<String, Vec<Vec<String>>>;

/// The wildcard, as a key or as a value.
pub const WILDCARD: &str = "*";

/// The side of a role a selector is on. Where Teleport's outcome depends on
/// the order Go walks a map, the outcome taken is the stricter one for the
/// side (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Allow,
    Deny,
}

impl Side {
    /// The selector's field, for notes: `allow node_labels`.
    pub fn field(self) -> &'static str {
        match self {
            Side::Allow => "allow node_labels",
            Side::Deny => "deny node_labels",
        }
    }
}

/// A role's selector with a user's traits applied (Teleport's
/// `applyLabelsTraits`, see `label_traits`). When templates turn several
/// keys of the role's selector into one label, Teleport keeps the values of
/// whichever key it writes last, in Go's random map order: every value list
/// it may keep is here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedLabels {
    /// Each label with one value list it may get.
    pub selector: Labels,
    /// For a label several keys became: the other value lists it may get.
    pub alternatives: Alternatives,
}

impl From<Labels> for AppliedLabels {
    fn from(selector: Labels) -> AppliedLabels {
        AppliedLabels {
            selector,
            alternatives: Alternatives::new(),
        }
    }
}

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

/// Teleport's `MatchLabels`, for a selector whose keys each have one value
/// list (the same on either side): see [`match_applied`]. The tests' way
/// in; decisions go through [`match_applied`] (`node_label_cache`).
#[cfg(test)]
fn match_labels(selector: &Labels, node: &BTreeMap<String, String>) -> LabelMatch {
    match_selector(selector, &Alternatives::new(), node, Side::Allow)
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
///   [`LabelMatch::Invalid`] whenever some order meets one;
/// - a label with several value lists ([`AppliedLabels`]) takes the
///   stricter outcome for `side`: on allow every list must match, on deny
///   one matching is enough.
pub fn match_applied(
    applied: &AppliedLabels,
    node: &BTreeMap<String, String>,
    side: Side,
) -> LabelMatch {
    match_selector(&applied.selector, &applied.alternatives, node, side)
}

/// [`match_applied`]'s work, `alternatives` holding the other value lists
/// of the labels that have several.
fn match_selector(
    selector: &Labels,
    alternatives: &Alternatives,
    node: &BTreeMap<String, String>,
    side: Side,
) -> LabelMatch {
    if selector.is_empty() {
        return LabelMatch::NotMatched("empty node_labels match no node".to_owned());
    }
    // Whether `'*': '*'` may be the wildcard key's list (`shortcut`), and
    // whether another one may (so that Teleport walks the keys).
    let (shortcut, walk) = match selector.get_key_value(WILDCARD) {
        None => (false, true),
        Some((key, first)) => lists(alternatives, key, first).fold((false, false), |(s, w), l| {
            (s || is_every_node(l), w || !is_every_node(l))
        }),
    };
    let every_node = || LabelMatch::Matched("node_labels '*': '*' match every node".to_owned());
    if !walk {
        return every_node();
    }
    let mut invalid = None;
    let mut missed = None;
    let mut every_key_matches = true;
    for (key, first) in selector {
        let mut key_matches = false;
        for values in lists(alternatives, key, first) {
            if key == WILDCARD && is_every_node(values) {
                continue; // that list takes the shortcut above
            }
            match match_key(key, values, node) {
                KeyMatch::Yes => key_matches = true,
                KeyMatch::NoLabel => {
                    missed.get_or_insert_with(|| format!("the node has no label {key:?}"));
                }
                KeyMatch::NoValue(actual) => {
                    missed.get_or_insert_with(|| match alternatives.contains_key(key) {
                        true => format!(
                            "the node has {key}={actual}, which {} does not match",
                            describe_list(key, values)
                        ),
                        false => format!("the node has {key}={actual}"),
                    });
                }
                KeyMatch::Invalid(why) => {
                    invalid.get_or_insert(why);
                }
            }
        }
        every_key_matches &= key_matches;
    }
    if let Some(why) = invalid {
        return LabelMatch::Invalid(match missed {
            Some(m) => format!("{why} (Teleport walks the keys in Go's random map order, and may reach it before it finds that {m})"),
            None => why,
        });
    }
    let described = || describe(selector, alternatives);
    match (side, missed) {
        (Side::Allow, None) => LabelMatch::Matched(format!("node_labels {} matched", described())),
        (Side::Deny, _) if shortcut => every_node(),
        (Side::Deny, _) if every_key_matches => {
            LabelMatch::Matched(format!("node_labels {} matched", described()))
        }
        (_, m) => LabelMatch::NotMatched(format!(
            "node_labels {} did not match: {}",
            described(),
            m.unwrap_or_default()
        )),
    }
}

/// Every value list `key` (a key of a selector, whose list there is
/// `first`) may get.
fn lists<'a>(
    alternatives: &'a Alternatives,
    key: &'a str,
    first: &'a [String],
) -> impl Iterator<Item = &'a [String]> + 'a {
    let others = alternatives.get(key).into_iter().flatten();
    std::iter::once(first).chain(others.map(Vec::as_slice))
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

/// `env=prod, team=[a, b]`, for messages; a label with several value lists
/// reads `env=prod or env=dev`.
fn describe(selector: &Labels, alternatives: &Alternatives) -> String {
    if selector.is_empty() {
        return "{}".to_owned();
    }
    selector
        .iter()
        .map(|(k, first)| {
            lists(alternatives, k, first)
                .map(|values| describe_list(k, values))
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `env=prod` or `team=[a, b]`.
fn describe_list(key: &str, values: &[String]) -> String {
    match values {
        [one] => format!("{key}={one}"),
        many => format!("{key}=[{}]", many.join(", ")),
    }
}

#[cfg(test)]
#[path = "labels_tests.rs"]
mod tests;
