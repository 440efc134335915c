//! Where Teleport's outcome depends on the order Go walks a map, through
//! `decide`: the stricter outcome for the side is taken (fail closed).
//! `MatchLabelGetter` (lib/services/role.go) walks a selector's keys in
//! random order and stops at the first that does not match, so another
//! key's invalid regex fails the access check in some orders only;
//! `applyLabelsTraits` writes the keys of a selector in random order, so a
//! label several keys became keeps the values of any one of them.

use super::support::{bundle, node, role, summary, Ask};

/// jerry's login on a node with `labels`: he holds `second`, then `first`
/// (allow `'*': '*'` and his login), and the trait `k: [env]`.
fn decide(second: &str, labels: &[(&str, &str)]) -> crate::policy::Decision {
    let text = role(
        "first",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    ) + &role("second", "v7", second)
        + "---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec:\n  roles: [second, first]\n  traits:\n    logins: [jerry]\n    k: [env]\n";
    Ask::new(&node("n1", labels), "jerry")
        .user("jerry")
        .decide(&bundle(&text))
}

#[test]
fn an_invalid_regex_some_key_order_reaches_denies() {
    let ab = [("a", "x"), ("b", "y")];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        // `a` does not match; Teleport reaches `b`'s regex first in some
        // orders, and the check fails: on allow and on deny
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {a: nomatch, b: '^(bad$'}",
            &ab,
            "deny off []",
        ),
        (
            "  deny:\n    node_labels: {a: nomatch, b: '^(bad$'}",
            &ab,
            "deny off []",
        ),
        // the same with the keys named the other way round
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {b: nomatch, a: '^(bad$'}",
            &ab,
            "deny off []",
        ),
        (
            "  deny:\n    node_labels: {z: nomatch, b: '^(bad$'}",
            &[("z", "x"), ("b", "y")],
            "deny off []",
        ),
        // a node without the regex's label never reaches it
        (
            "  deny:\n    node_labels: {a: nomatch, b: '^(bad$'}",
            &[("a", "x")],
            "allow off [first]",
        ),
    ];
    for (second, labels, want) in cases {
        let d = decide(second, labels);
        assert_eq!(
            summary(&d),
            *want,
            "{second} on {labels:?}: {:?}",
            d.reasons
        );
    }
}

#[test]
fn a_label_several_keys_became_takes_the_stricter_values() {
    let both = "{env: [prod], '{{external.k}}': [dev]}";
    let cases = [
        // deny: a node matching either key's values is denied
        (
            format!("  deny:\n    node_labels: {both}"),
            "prod",
            "deny off []",
        ),
        (
            format!("  deny:\n    node_labels: {both}"),
            "dev",
            "deny off []",
        ),
        (
            format!("  deny:\n    node_labels: {both}"),
            "test",
            "allow off [first]",
        ),
        // allow: the node must match both; `first` still allows
        (
            format!("  allow:\n    logins: [jerry]\n    node_labels: {both}"),
            "prod",
            "allow off [first]",
        ),
        (
            format!("  allow:\n    logins: [jerry]\n    node_labels: {both}"),
            "dev",
            "allow off [first]",
        ),
    ];
    for (second, env, want) in &cases {
        let d = decide(second, &[("env", env)]);
        assert_eq!(summary(&d), *want, "{second} on env={env}: {:?}", d.reasons);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.contains("become one label \"env\"")),
            "{:?}",
            d.reasons
        );
    }
    // Alone, the allow side lets jerry in nowhere: no node has env both
    // prod and dev.
    let text = role(
        "second",
        "v7",
        &format!("  allow:\n    logins: [jerry]\n    node_labels: {both}"),
    ) + "---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec:\n  roles: [second]\n  traits:\n    logins: [jerry]\n    k: [env]\n";
    for env in ["prod", "dev"] {
        let d = Ask::new(&node("n1", &[("env", env)]), "jerry")
            .user("jerry")
            .decide(&bundle(&text));
        assert_eq!(summary(&d), "deny off []", "env={env}: {:?}", d.reasons);
    }
}
