//! Teleport's rules for traits and `node_labels_expression`, through
//! `decide`, with cases from Teleport's own tests.

use super::support::{bundle, node, role, summary, user, Ask};

fn prod3() -> crate::policy::NodeInfo {
    node("prod3", &[("env", "prod"), ("team", "db")])
}

/// Traits as Teleport applies them (lib/services/role_test.go
/// `TestApplyTraits`: "invalid unix login", "unsupported internal trait";
/// lib/utils/parse/parse_test.go: constant arguments).
#[test]
fn teleport_trait_rules() {
    let text = role(
        "r",
        "v7",
        "  allow:\n    logins: ['{{internal.logins}}', '{{internal.foo}}', '{{email.local(\"vitor@example.com\")}}', 'bad name', 'ok-literal', '-rf']\n    node_labels: {'*': '*'}\n  deny:\n    logins: ['{{internal.deny_me}}', 'x:y']",
    ) + "---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec:\n  roles: [r]\n  traits:\n    logins: [jerry, 'a/b', 'c d', 'this-login-is-longer-than-32-chars']\n    foo: [foo-login]\n    deny_me: [jerry]\n";
    let b = bundle(&text);
    let n = prod3();
    let cases = [
        ("jerry", "allow off [r]"),
        ("vitor", "allow off [r]"),
        ("ok-literal", "allow off [r]"),
        // internal.foo is not an internal trait Teleport expands
        ("foo-login", "deny off []"),
        // not valid Unix user names: dropped, from traits and literals alike
        ("a/b", "deny off []"),
        ("c d", "deny off []"),
        ("this-login-is-longer-than-32-chars", "deny off []"),
        ("bad name", "deny off []"),
        ("-rf", "deny off []"),
    ];
    for (login, want) in cases {
        let d = Ask::new(&n, login).user("jerry").decide(&b);
        assert_eq!(summary(&d), want, "{login}: {:?}", d.reasons);
    }
    // The deny side's internal.deny_me is dropped too, so it denies nothing.
    let d = Ask::new(&n, "jerry").user("jerry").decide(&b);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("unsupported variable internal.deny_me")),
        "{:?}",
        d.reasons
    );
}

/// `node_labels_expression` as Teleport's `CheckLabelsMatch` applies it
/// (lib/services/role.go; lib/services/role_test.go
/// `TestCheckAccessToServer` label expression cases): allow needs labels AND
/// expression when both are set, either alone decides; deny takes either. An
/// expression that cannot be evaluated denies (Teleport's access check fails).
#[test]
fn node_labels_expression_as_teleport() {
    let team = r#"contains(user.spec.traits[\"team\"], labels[\"team\"])"#;
    let broken = r#"contains(email.local(user.spec.traits[\"email\"]), \"x\")"#;
    let team_lines = r#"contains(\n  user.spec.traits[\"team\"],\n  labels[\"team\"],\n)"#;
    let cases: Vec<(String, &str, &str)> = vec![
        // (role body, jerry's team trait, expected)
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{'*': '*'}}\n    node_labels_expression: \"{team}\""), "db", "allow off [r]"),
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{'*': '*'}}\n    node_labels_expression: \"{team}\""), "web", "deny off []"),
        // the expression alone
        (format!("  allow:\n    logins: [jerry]\n    node_labels_expression: \"{team}\""), "db", "allow off [r]"),
        (format!("  allow:\n    logins: [jerry]\n    node_labels_expression: \"{team}\""), "web", "deny off []"),
        // both set: both must match
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{env: dev}}\n    node_labels_expression: \"{team}\""), "db", "deny off []"),
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{env: prod}}\n    node_labels_expression: \"{team}\""), "db", "allow off [r]"),
        // the expression matches but the login is not allowed
        (format!("  allow:\n    logins: [root]\n    node_labels_expression: \"{team}\""), "db", "deny off []"),
        // Go's trailing comma, needed before a `)` on its own line
        (format!("  allow:\n    logins: [jerry]\n    node_labels_expression: \"{team_lines}\""), "db", "allow off [r]"),
        (format!("  allow:\n    logins: [jerry]\n    node_labels_expression: \"{team_lines}\""), "web", "deny off []"),
        // an allow expression that cannot be evaluated never allows
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{'*': '*'}}\n    node_labels_expression: \"{broken}\""), "db", "deny off []"),
        // deny: either matching denies
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{'*': '*'}}\n  deny:\n    node_labels: {{env: dev}}\n    node_labels_expression: \"{team}\""), "db", "deny off []"),
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{'*': '*'}}\n  deny:\n    node_labels: {{env: dev}}\n    node_labels_expression: \"{team}\""), "web", "allow off [r]"),
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{'*': '*'}}\n  deny:\n    node_labels: {{env: prod}}\n    node_labels_expression: \"{team}\""), "web", "deny off []"),
        // a deny expression that cannot be evaluated denies
        (format!("  allow:\n    logins: [jerry]\n    node_labels: {{'*': '*'}}\n  deny:\n    node_labels_expression: \"{broken}\""), "db", "deny off []"),
    ];
    for (body, team_trait, want) in &cases {
        let text = role("r", "v7", body)
            + &format!("---\nkind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec:\n  roles: [r]\n  traits:\n    logins: [jerry]\n    team: [{team_trait}]\n    email: [not-an-address]\n");
        let b = bundle(&text);
        let warnings = super::support::warnings_beside_missing_cap(&b);
        assert!(warnings.is_empty(), "{warnings:?}");
        let d = Ask::new(&prod3(), "jerry").decide(&b);
        assert_eq!(summary(&d), *want, "{body} / {team_trait}: {:?}", d.reasons);
    }
    // An allow expression that cannot be evaluated fails the whole access
    // check, even when another role would allow (fail closed).
    let text = role("ok", "v7", "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}")
        + &role("r", "v7", &format!("  allow:\n    logins: [jerry]\n    node_labels_expression: \"{broken}\""))
        + "---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec:\n  roles: [ok, r]\n  traits:\n    email: [not-an-address]\n";
    let d = Ask::new(&prod3(), "jerry").decide(&bundle(&text));
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    assert!(
        d.reasons.iter().any(|r| r.contains("cannot be evaluated")),
        "{:?}",
        d.reasons
    );
}

/// lib/services/role.go `ValidateRole` only warns about an expression that
/// does not parse (its comment: so a stricter parser cannot brick a
/// cluster); `matchLabelExpression` parses it again at every access check
/// and fails. So the bundle loads, with a warning at the role, and every
/// login of the role's holders is denied, on either side, while other users
/// decide as before.
#[test]
fn an_expression_that_does_not_parse_denies_its_holders_only() {
    let open = "  allow:\n    logins: [jerry, bob]\n    node_labels: {'*': '*'}";
    for (side, expr, why) in [
        (
            "allow",
            "labels.env ==",
            "unexpected End (at offset 13 in the expression)",
        ),
        ("deny", "contains(labels, \\\"x\\\")", "is a map"),
        // Go syntax (go/parser.ParseExpr): a keyword is not a name, and a
        // line break after a complete operand ends the expression.
        ("deny", "labels.type == \\\"db\\\"", "keyword type"),
        (
            "allow",
            "contains(user.spec.traits[\\\"logins\\\"],\\n labels[\\\"env\\\"]\\n)",
            "missing ',' before newline",
        ),
        (
            "deny",
            "unknown_fn(\\\"x\\\")",
            "unsupported function: unknown_fn",
        ),
        // Blank is set (`LabelMatchers.Empty` tests the length only) and
        // does not parse (go/parser: expected operand).
        ("allow", " ", "empty expression"),
        ("deny", " ", "empty expression"),
        ("allow", "\\t\\n ", "empty expression"),
        ("deny", "\\n", "empty expression"),
    ] {
        let broken =
            format!("  {side}:\n    logins: [jerry]\n    node_labels_expression: \"{expr}\"");
        let text = role("open", "v7", open)
            + &role("broken", "v7", &broken)
            + &user("jerry", &["open", "broken"], &["jerry"])
            + &user("bob", &["open"], &["bob"]);
        let b = bundle(&text);
        assert!(
            b.warnings.iter().any(|w| w.contains("role \"broken\"")
                && w.contains(why)
                && w.contains("does not parse")),
            "{side} {expr}: {:?}",
            b.warnings
        );
        let d = Ask::new(&prod3(), "jerry").user("jerry").decide(&b);
        assert_eq!(summary(&d), "deny off []", "{side} {expr}: {:?}", d.reasons);
        assert!(
            d.reasons.iter().any(|r| r.contains("does not parse")),
            "{:?}",
            d.reasons
        );
        let d = Ask::new(&prod3(), "bob").user("bob").decide(&b);
        assert_eq!(
            summary(&d),
            "allow off [open]",
            "{side} {expr}: {:?}",
            d.reasons
        );
    }
}

/// Only an empty `node_labels_expression` is no expression: Teleport's
/// `LabelMatchers.Empty` and `CheckLabelsMatch` test `len(Expression) == 0`,
/// so the role decides by its `node_labels` alone, with no warning. A blank
/// one is set, and `parseLabelExpression` fails on it: the role loads with a
/// warning and denies its holders, on either side (a deny side with no
/// logins of its own included).
#[test]
fn an_empty_expression_is_absent_and_a_blank_one_denies() {
    let open = "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}";
    let cases = [
        (format!("{open}\n    node_labels_expression: ''"), "allow off [r]"),
        ("  allow:\n    logins: [jerry]\n    node_labels_expression: \"\"".to_owned(), "deny off []"),
        (format!("{open}\n  deny:\n    node_labels_expression: ''"), "allow off [r]"),
        (format!("{open}\n    node_labels_expression: ' '"), "deny off []"),
        (format!("{open}\n  deny:\n    node_labels_expression: ' '"), "deny off []"),
        (format!("{open}\n  deny:\n    node_labels: {{env: dev}}\n    node_labels_expression: \"\\t\""), "deny off []"),
    ];
    for (body, want) in &cases {
        let b = bundle(&(role("r", "v7", body) + &user("jerry", &["r"], &["jerry"])));
        let warnings = super::support::warnings_beside_missing_cap(&b);
        let blank = body.contains("' '") || body.contains("\\t");
        assert_eq!(
            warnings.iter().any(|w| w.contains("does not parse")),
            blank,
            "{body}: {warnings:?}"
        );
        let d = Ask::new(&prod3(), "jerry").user("jerry").decide(&b);
        assert_eq!(summary(&d), *want, "{body}: {:?}", d.reasons);
    }
}
