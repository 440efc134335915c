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

/// Teleport's `MatchLabels`:
/// - an empty selector matches nothing;
/// - a `'*'` key whose only value is `'*'` matches every node, even one
///   without labels;
/// - otherwise every key must be a label of the node, and either one of its
///   values is `*`, or one value matches the node's value (see
///   [`match_value`]). Values are tried in order; an invalid regex met before
///   a match makes the whole selector invalid.
pub fn match_labels(selector: &Labels, node: &BTreeMap<String, String>) -> LabelMatch {
    if selector.is_empty() {
        return LabelMatch::NotMatched("empty node_labels match no node".to_owned());
    }
    if let Some(values) = selector.get(WILDCARD) {
        if values.len() == 1 && values[0] == WILDCARD {
            return LabelMatch::Matched("node_labels '*': '*' match every node".to_owned());
        }
    }
    for (key, values) in selector {
        let Some(actual) = node.get(key).filter(|_| !key.is_empty()) else {
            return LabelMatch::NotMatched(format!(
                "node_labels {} did not match: the node has no label {key:?}",
                describe(selector)
            ));
        };
        if values.iter().any(|v| v == WILDCARD) {
            continue;
        }
        let mut matched = false;
        for value in values {
            match match_value(value, actual) {
                Ok(true) => {
                    matched = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => return LabelMatch::Invalid(format!("node_labels {key}: {e}")),
            }
        }
        if !matched {
            return LabelMatch::NotMatched(format!(
                "node_labels {} did not match: the node has {key}={actual}",
                describe(selector)
            ));
        }
    }
    LabelMatch::Matched(format!("node_labels {} matched", describe(selector)))
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

#[cfg(test)]
mod glob_tests {
    use super::{cached_regex, glob_match};

    /// Go RE2's ASCII Perl classes and word boundaries (lib/utils
    /// `SliceMatchesRegex` compiles label regexes with Go's `regexp`).
    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        let cases: &[(&str, &str, bool)] = &[
            (r"^\d+$", "123", true),
            (r"^\d+$", "\u{663}\u{664}", false),
            (r"^\D+$", "\u{663}", true),
            (r"^\w+$", "ab_9", true),
            (r"^\w+$", "\u{e9}t\u{e9}", false),
            (r"^\W$", "\u{e9}", true),
            (r"^a\sb$", "a b", true),
            (r"^a\sb$", "a\u{a0}b", false),
            (r"^a\Sb$", "a\u{a0}b", true),
            (r"^\bab\b$", "ab", true),
            // é is no ASCII word character: x|é is a boundary in Go
            (r"^x\B\x{e9}$", "x\u{e9}", false),
            (r"^x\b\x{e9}$", "x\u{e9}", true),
            (r"^[\d_]+$", "1_2", true),
            (r"^[\d_]+$", "\u{663}", false),
            (r"^[^\d]+$", "a", true),
            (r"^\\d$", "\\d", true),
            (r"^\.\*$", ".*", true),
            (r"^\p{L}+$", "\u{e9}", true),
        ];
        for (pattern, value, want) in cases {
            let re = cached_regex(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(re.is_match(value), *want, "{pattern} vs {value:?}");
        }
    }

    #[test]
    fn globs() {
        let cases = [
            ("prod", "prod", true),
            ("prod", "prod1", false),
            ("prod-*", "prod-1", true),
            ("prod-*", "prod-", true),
            ("prod-*", "dev-1", false),
            ("*", "", true),
            ("*", "anything", true),
            ("*-eu-*", "db-eu-1", true),
            ("*-eu-*", "db-us-1", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("*.example.com", "db.example.com", true),
            ("*.example.com", "db.exampleXcom", false),
            ("a.c", "abc", false),
        ];
        for (p, v, want) in cases {
            assert_eq!(glob_match(p, v), want, "{p} vs {v}");
        }
    }
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
mod tests {
    use super::*;

    fn sel(pairs: &[(&str, &[&str])]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn node(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values() {
        let cases: &[(&str, &str, bool)] = &[
            ("prod", "prod", true),
            ("prod", "prod3", false),
            ("prod", "Prod", false),
            ("prod-*", "prod-1", true),
            ("prod-*", "prod-", true),
            ("prod-*", "prod", false),
            ("prod-*", "xprod-1", false),
            ("*", "", true),
            ("*", "anything", true),
            ("*-db-*", "eu-db-1", true),
            ("a.b", "axb", false),
            ("a.b", "a.b", true),
            ("a+b*", "a+bc", true),
            ("(x)", "(x)", true),
            ("^prod-[0-9]+$", "prod-12", true),
            ("^prod-[0-9]+$", "prod-x", false),
            ("^prod-[0-9]+$", "xprod-1", false),
            ("^prod", "prod", false), // no trailing $: a glob, literal '^'
            ("^prod", "^prod", true),
            ("^(dev|stage)$", "stage", true),
            ("^$", "", true),
            // Go's regexp syntax, as Teleport compiles it (go_regex).
            (r"^a\<b$", "a<b", true),
            (r"^a\<b$", "ab", false),
            (r"^\Qprod.eu\E$", "prod.eu", true),
            (r"^\Qprod.eu\E$", "prodXeu", false),
            (r"^\141pp$", "app", true),
            (r"^[a[b]+$", "a[b", true),
        ];
        for (pattern, value, want) in cases {
            assert_eq!(
                match_value(pattern, value),
                Ok(*want),
                "{pattern} vs {value}"
            );
        }
        assert!(match_value("^prod-[0-9+$", "prod-1")
            .unwrap_err()
            .contains("invalid regex"));
        for go_refuses in [r"^(a)\1$", r"^\8$", r"^\C$", r"^a**$"] {
            assert!(
                match_value(go_refuses, "a").is_err(),
                "{go_refuses} is valid in Rust's syntax, not in Go's"
            );
        }
    }

    #[test]
    fn selectors() {
        let prod = node(&[("env", "prod"), ("team", "db")]);
        let none = node(&[]);
        let cases: &[(Labels, &BTreeMap<String, String>, bool)] = &[
            (sel(&[("env", &["prod"])]), &prod, true),
            (sel(&[("env", &["dev"])]), &prod, false),
            (sel(&[("env", &["prod-*"])]), &prod, false),
            (sel(&[("env", &["pr*"])]), &prod, true),
            (sel(&[("env", &["*"])]), &prod, true),
            (sel(&[("env", &["dev", "prod"])]), &prod, true), // value lists are OR
            (sel(&[("env", &["dev", "*"])]), &prod, true),
            (sel(&[("env", &["^pro[a-z]$"])]), &prod, true),
            (sel(&[("env", &["prod"]), ("team", &["db"])]), &prod, true), // keys are AND
            (sel(&[("env", &["prod"]), ("team", &["web"])]), &prod, false),
            (sel(&[("env", &["prod"]), ("region", &["*"])]), &prod, false), // missing key
            (sel(&[("region", &["*"])]), &none, false),
            (sel(&[("*", &["*"])]), &none, true),
            (sel(&[("*", &["*"])]), &prod, true),
            (sel(&[("*", &["*"]), ("env", &["dev"])]), &prod, true), // '*': '*' wins
            (sel(&[("*", &["*", "x"])]), &prod, false),              // not the single '*'
            (sel(&[("*", &["prod"])]), &prod, false),                // no label named '*'
            (sel(&[]), &prod, false),
            (sel(&[]), &none, false),
            (sel(&[("", &["*"])]), &node(&[("", "x")]), false), // empty key never matches
            (sel(&[("env", &[])]), &prod, false),
        ];
        for (selector, n, want) in cases {
            let got = match_labels(selector, n);
            assert_eq!(got.is_match(), *want, "{selector:?} vs {n:?}: {got:?}");
        }
    }

    #[test]
    fn invalid_regex_is_reported_not_matched() {
        let n = node(&[("env", "prod")]);
        let got = match_labels(&sel(&[("env", &["^pro(d$"])]), &n);
        assert!(
            matches!(got, LabelMatch::Invalid(ref m) if m.contains("invalid regex")),
            "{got:?}"
        );
        // A match before the bad value wins, as in Teleport.
        let got = match_labels(&sel(&[("env", &["prod", "^pro(d$"])]), &n);
        assert!(got.is_match());
    }

    #[test]
    fn reasons_name_the_labels() {
        let n = node(&[("env", "dev")]);
        let got = match_labels(&sel(&[("env", &["prod"])]), &n);
        assert_eq!(
            got,
            LabelMatch::NotMatched(
                "node_labels env=prod did not match: the node has env=dev".into()
            )
        );
        let got = match_labels(&sel(&[("env", &["dev", "stage"])]), &n);
        assert_eq!(
            got,
            LabelMatch::Matched("node_labels env=[dev, stage] matched".into())
        );
    }
}
