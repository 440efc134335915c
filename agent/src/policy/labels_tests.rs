//! Tests of `labels`: values, globs, selectors and their outcomes.

use super::*;

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
        LabelMatch::NotMatched("node_labels env=prod did not match: the node has env=dev".into())
    );
    let got = match_labels(&sel(&[("env", &["dev", "stage"])]), &n);
    assert_eq!(
        got,
        LabelMatch::Matched("node_labels env=[dev, stage] matched".into())
    );
}

/// What a selector gives, in short: `match`, `no` or `invalid`.
fn outcome(got: &LabelMatch) -> &'static str {
    match got {
        LabelMatch::Matched(_) => "match",
        LabelMatch::NotMatched(_) => "no",
        LabelMatch::Invalid(_) => "invalid",
    }
}

/// Teleport's `MatchLabelGetter` walks the selector in Go's random map
/// order and returns at the first key that does not match: whether it
/// reaches another key's invalid regex (`utils.SliceMatchesRegex`, values
/// in order) depends on the order. It is invalid whenever some order
/// reaches one, whatever the keys are named; the `'*': '*'` and empty
/// selector rules come first.
#[test]
fn an_invalid_regex_some_key_order_reaches_is_invalid() {
    let xy = node(&[("a", "x"), ("b", "y"), ("z", "x")]);
    let bad = "^(bad$";
    let cases: &[(Labels, &BTreeMap<String, String>, &str)] = &[
        // the key that does not match sorts before or after the bad one
        (sel(&[("a", &["nomatch"]), ("b", &[bad])]), &xy, "invalid"),
        (sel(&[("z", &["nomatch"]), ("b", &[bad])]), &xy, "invalid"),
        (sel(&[("a", &[bad]), ("b", &["nomatch"])]), &xy, "invalid"),
        // a key the node does not have, before the bad one
        (sel(&[("0", &["x"]), ("b", &[bad])]), &xy, "invalid"),
        // the bad key is not the node's: never reached
        (sel(&[("a", &["nomatch"]), ("c", &[bad])]), &xy, "no"),
        (sel(&[("a", &["x"]), ("c", &[bad])]), &xy, "no"),
        // a value before it matches, or a '*' among them: never reached
        (sel(&[("a", &["nomatch"]), ("b", &["y", bad])]), &xy, "no"),
        (sel(&[("a", &["nomatch"]), ("b", &[bad, "*"])]), &xy, "no"),
        (sel(&[("a", &["x"]), ("b", &["y", bad])]), &xy, "match"),
        // reached after a value that does not match
        (
            sel(&[("a", &["nomatch"]), ("b", &["n", bad])]),
            &xy,
            "invalid",
        ),
        // '*': '*' matches first
        (sel(&[("*", &["*"]), ("b", &[bad])]), &xy, "match"),
    ];
    for (selector, n, want) in cases {
        let got = match_labels(selector, n);
        assert_eq!(outcome(&got), *want, "{selector:?} vs {n:?}: {got:?}");
        for side in [Side::Allow, Side::Deny] {
            let applied = AppliedLabels::from(selector.clone());
            assert_eq!(outcome(&match_applied(&applied, n, side)), *want);
        }
    }
    let got = match_labels(&sel(&[("a", &["nomatch"]), ("b", &[bad])]), &xy);
    assert!(
        matches!(&got, LabelMatch::Invalid(m) if m.starts_with("node_labels b: invalid regex") && m.contains("the node has a=x")),
        "{got:?}"
    );
}

/// A selector with other value lists for some labels.
fn applied(pairs: &[(&str, &[&str])], others: &[(&str, &[&[&str]])]) -> AppliedLabels {
    let list = |l: &[&str]| l.iter().map(|v| v.to_string()).collect();
    AppliedLabels {
        selector: sel(pairs),
        alternatives: others
            .iter()
            .map(|(k, lists)| (k.to_string(), lists.iter().map(|l| list(l)).collect()))
            .collect(),
    }
}

/// Teleport's `applyLabelsTraits` keeps one of the value lists of the keys
/// that became one label, whichever it writes last (random map order):
/// on allow every list must match, on deny one matching is enough; one
/// that is invalid is invalid on either side.
#[test]
fn a_label_with_several_value_lists_takes_the_stricter_outcome() {
    let prod = node(&[("env", "prod"), ("tier", "web")]);
    let dev = node(&[("env", "dev"), ("tier", "web")]);
    let test = node(&[("env", "test"), ("tier", "web")]);
    let bare = node(&[]);
    let env = |first: &[&str], others: &[&[&str]]| applied(&[("env", first)], &[("env", others)]);
    // (selector, node, outcome on allow, on deny)
    let cases: &[(AppliedLabels, &BTreeMap<String, String>, &str, &str)] = &[
        (env(&["prod"], &[&["dev"]]), &prod, "no", "match"),
        (env(&["prod"], &[&["dev"]]), &dev, "no", "match"),
        (env(&["prod"], &[&["dev"]]), &test, "no", "no"),
        (env(&["prod"], &[&["dev"], &["pr*"]]), &prod, "no", "match"),
        (env(&["prod"], &[&["pr*"]]), &prod, "match", "match"),
        (env(&["prod"], &[&["*"]]), &prod, "match", "match"),
        (env(&["prod"], &[&["*"]]), &bare, "no", "no"),
        (env(&["prod"], &[&["^(bad$"]]), &prod, "invalid", "invalid"),
        (env(&["x"], &[&["^(bad$"]]), &prod, "invalid", "invalid"),
        // '*': '*' as one of the lists: every node with that one only
        (
            applied(&[("*", &["*"])], &[("*", &[&["x"]])]),
            &prod,
            "no",
            "match",
        ),
        // beside another key, which must match too
        (
            applied(
                &[("env", &["prod"]), ("tier", &["web"])],
                &[("env", &[&["dev"]])],
            ),
            &dev,
            "no",
            "match",
        ),
        (
            applied(
                &[("env", &["prod"]), ("tier", &["db"])],
                &[("env", &[&["dev"]])],
            ),
            &dev,
            "no",
            "no",
        ),
    ];
    for (a, n, allow, deny) in cases {
        for (side, want) in [(Side::Allow, allow), (Side::Deny, deny)] {
            let got = match_applied(a, n, side);
            assert_eq!(outcome(&got), *want, "{side:?} {a:?} vs {n:?}: {got:?}");
        }
    }
    assert_eq!(
        match_applied(&env(&["prod"], &[&["dev"]]), &prod, Side::Allow),
        LabelMatch::NotMatched(
            "node_labels env=prod or env=dev did not match: the node has env=prod, which env=dev does not match".into()
        )
    );
}
