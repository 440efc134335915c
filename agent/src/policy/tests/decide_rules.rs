//! `decide`, rule by rule: which logins the roles allow and deny (the
//! requirement: `decide_requirements`; identities and locks:
//! `decide_identity_and_locks`).

use super::support::{bundle, node, role, summary, user, Ask};
use crate::policy::Access;

pub(super) fn dev1() -> crate::policy::NodeInfo {
    node("dev1", &[("env", "dev")])
}

pub(super) fn prod3() -> crate::policy::NodeInfo {
    node("prod3", &[("env", "prod"), ("team", "db")])
}

/// jerry with one role whose body is given.
fn one_role(body: &str) -> String {
    role("r", "v7", body) + &user("jerry", &["r"], &["jerry"])
}

#[test]
fn labels_and_logins_through_decide() {
    let cases: &[(&str, &str, &str)] = &[
        // (role body, login on prod3, expected summary)
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {env: prod}",
            "jerry",
            "allow off [r]",
        ),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {env: 'prod*'}",
            "jerry",
            "allow off [r]",
        ),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {env: 'prod-*'}",
            "jerry",
            "deny off []",
        ),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {env: '^pr[a-z]+$'}",
            "jerry",
            "allow off [r]",
        ),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {env: [dev, prod]}",
            "jerry",
            "allow off [r]",
        ),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {env: prod, team: web}",
            "jerry",
            "deny off []",
        ),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {env: prod, region: '*'}",
            "jerry",
            "deny off []",
        ),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
            "jerry",
            "allow off [r]",
        ),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {}",
            "jerry",
            "deny off []",
        ),
        ("  allow:\n    logins: [jerry]", "jerry", "deny off []"),
        (
            "  allow:\n    logins: [jerry]\n    node_labels: {env: prod}",
            "root",
            "deny off []",
        ),
        (
            "  allow:\n    logins: [jerry, root]\n    node_labels: {env: prod}",
            "root",
            "allow off [r]",
        ),
        (
            "  allow:\n    node_labels: {env: prod}",
            "jerry",
            "deny off []",
        ),
    ];
    let n = prod3();
    for (body, login, want) in cases {
        let b = bundle(&one_role(body));
        // the user is given, so that logins other than jerry are jerry's too
        let d = Ask::new(&n, login).user("jerry").decide(&b);
        assert_eq!(summary(&d), *want, "{body} / {login}: {:?}", d.reasons);
    }
}

#[test]
fn v3_defaults_node_labels_but_v4_and_later_do_not() {
    let body = "  allow:\n    logins: [jerry]";
    let empty = "  allow:\n    logins: [jerry]\n    node_labels: {}";
    let no_logins = "  allow:\n    node_labels_expression: ''";
    let cases = [
        ("v3", body, "allow off [r]"),
        // An empty map reaches a node as nil (gRPC, backend JSON), and is
        // defaulted there.
        ("v3", empty, "allow off [r]"),
        ("v3", no_logins, "deny off []"),
        ("v4", body, "deny off []"),
        ("v5", body, "deny off []"),
        ("v6", body, "deny off []"),
        ("v7", body, "deny off []"),
        ("v8", body, "deny off []"),
    ];
    let n = node("bare", &[]);
    for (version, body, want) in cases {
        let b = bundle(&(role("r", version, body) + &user("jerry", &["r"], &["jerry"])));
        let d = Ask::new(&n, "jerry").decide(&b);
        assert_eq!(summary(&d), want, "{version} {body}: {:?}", d.reasons);
    }
    let b = bundle(&role("r", "v3", body));
    assert_eq!(b.roles()["r"].allow.node_labels["*"], vec!["*".to_owned()]);
    let b = bundle(&role("r", "v4", body));
    assert!(b.roles()["r"].allow.node_labels.is_empty());
}

#[test]
fn trait_templates_in_logins_and_labels() {
    let text = role(
        "r",
        "v7",
        "  allow:\n    logins: ['{{internal.logins}}', 'adm-{{external.username}}', '{{email.local(external.email)}}', '{{internal.missing}}', '{{bad']\n    node_labels:\n      env: '{{external.env}}'\n      '{{external.label_key}}': db",
    ) + "---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec:\n  roles: [r]\n  traits:\n    logins: [jerry, deploy]\n    username: [jsmith]\n    email: [jerry.smith@example.com]\n    env: [dev, prod]\n    label_key: [team]\n";
    let b = bundle(&text);
    let n = prod3();
    let cases = [
        ("jerry", "allow off [r]"),
        ("deploy", "allow off [r]"),
        ("adm-jsmith", "allow off [r]"),
        ("jerry.smith", "allow off [r]"),
        ("{{internal.missing}}", "deny off []"),
        ("{{bad", "deny off []"),
        ("root", "deny off []"),
    ];
    for (login, want) in cases {
        let d = Ask::new(&n, login).user("jerry").decide(&b);
        assert_eq!(summary(&d), want, "{login}: {:?}", d.reasons);
    }
    let d = Ask::new(&n, "jerry").decide(&b);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("missing") && r.contains("dropped")),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons.iter().any(|r| r.contains("invalid template")),
        "{:?}",
        d.reasons
    );
    // env expands to [dev, prod]; on a staging node the labels do not match.
    let d = Ask::new(&node("s1", &[("env", "stage"), ("team", "db")]), "jerry").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    // A label key whose trait is missing makes the selector unmatchable.
    let text = role(
        "r",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels:\n      '{{external.nope}}': '*'",
    ) + &user("jerry", &["r"], &["jerry"]);
    let d = Ask::new(&n, "jerry").decide(&bundle(&text));
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
}

#[test]
fn deny_rules() {
    let allow = "  allow:\n    logins: [jerry, root]\n    node_labels: {'*': '*'}\n";
    let cases: &[(&str, &str, &str, &str)] = &[
        // (deny body, login, expected, reason fragment)
        (
            "  deny:\n    node_labels: {env: prod}",
            "jerry",
            "deny",
            "denies access to prod3 (deny node_labels env=prod matched)",
        ),
        ("  deny:\n    node_labels: {env: dev}", "jerry", "allow", ""),
        (
            "  deny:\n    node_labels: {'*': '*'}",
            "jerry",
            "deny",
            "denies access",
        ),
        (
            "  deny:\n    logins: [root]",
            "root",
            "deny",
            "denies login root",
        ),
        ("  deny:\n    logins: [root]", "jerry", "allow", ""),
        (
            "  deny:\n    logins: ['{{internal.logins}}']",
            "jerry",
            "deny",
            "denies login jerry",
        ),
        (
            "  deny:\n    node_labels: {env: '^pro(d$'}",
            "jerry",
            "deny",
            "denied to be safe",
        ),
        (
            "  deny:\n    node_labels_expression: 'labels.env == \"prod\"'",
            "jerry",
            "deny",
            "deny node_labels_expression \"labels.env == \\\"prod\\\"\" matched",
        ),
        (
            "  deny:\n    node_labels_expression: 'labels.env == \"dev\"'",
            "jerry",
            "allow",
            "",
        ),
        ("  deny: {}", "jerry", "allow", ""),
    ];
    let n = prod3();
    for (deny, login, want, fragment) in cases {
        let b = bundle(&one_role(&format!("{allow}{deny}")));
        let d = Ask::new(&n, login).user("jerry").decide(&b);
        let got = if d.access == Access::Allow {
            "allow"
        } else {
            "deny"
        };
        assert_eq!(got, *want, "{deny} / {login}: {:?}", d.reasons);
        if !fragment.is_empty() {
            assert!(
                d.reasons.iter().any(|r| r.contains(fragment)),
                "{deny}: {:?}",
                d.reasons
            );
        }
        if *want == "deny" {
            assert!(d.roles.is_empty());
            assert!(!d.locked);
        }
    }
}

#[test]
fn deny_in_one_role_wins_over_allow_in_another() {
    let text = role(
        "open",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    ) + &role("no-prod", "v7", "  deny:\n    node_labels: {env: prod}")
        + &role("no-root", "v7", "  deny:\n    logins: [root]")
        + &user("jerry", &["open", "no-prod", "no-root"], &["jerry", "root"]);
    let b = bundle(&text);
    let cases = [
        (dev1(), "jerry", "allow off [open]", ""),
        (
            prod3(),
            "jerry",
            "deny off []",
            "role no-prod denies access to prod3",
        ),
        (
            dev1(),
            "root",
            "deny off []",
            "role no-root denies login root",
        ),
    ];
    for (n, login, want, fragment) in cases {
        let d = Ask::new(&n, login).decide(&b);
        assert_eq!(summary(&d), want, "{login}@{}: {:?}", n.name, d.reasons);
        assert!(
            d.reasons.iter().any(|r| r.contains(fragment)),
            "{:?}",
            d.reasons
        );
    }
}

#[test]
fn deny_never_looks_at_mfa() {
    let text = role(
        "r",
        "v7",
        "  options:\n    require_session_mfa: true\n  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}\n  deny:\n    logins: [jerry]",
    ) + &user("jerry", &["r"], &["jerry"]);
    let d = Ask::new(&prod3(), "jerry").decide(&bundle(&text));
    assert_eq!(d.access, Access::Deny);
    assert!(!d.requirement.session, "no allowing role, so no role MFA");
}

#[test]
fn invalid_allow_regex_does_not_match() {
    let b = bundle(&one_role(
        "  allow:\n    logins: [jerry]\n    node_labels: {env: '^pro(d$'}",
    ));
    let d = Ask::new(&prod3(), "jerry").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    assert!(
        d.reasons.iter().any(|r| r.contains("invalid regex")),
        "{:?}",
        d.reasons
    );
}
