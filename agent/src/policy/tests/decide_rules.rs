//! `decide`, rule by rule.

use std::time::Duration;

use super::support::{bundle, cap, node, now, role, summary, user, Ask};
use crate::policy::{Access, KeyPolicy, ServiceClass};

fn dev1() -> crate::policy::NodeInfo {
    node("dev1", &[("env", "dev")])
}

fn prod3() -> crate::policy::NodeInfo {
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
        ("v3", empty, "deny off []"), // an empty map is not absent
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

#[test]
fn session_mfa_from_cap_and_allowing_roles_only() {
    let dev = role("dev", "v7", "  options:\n    require_session_mfa: false\n  allow:\n    logins: [jerry]\n    node_labels: {env: dev}");
    let prod = role("prod", "v7", "  options:\n    require_session_mfa: true\n  allow:\n    logins: [jerry]\n    node_labels: {env: prod}");
    let jerry = user("jerry", &["dev", "prod"], &["jerry"]);
    let cases = [
        ("false", dev1(), "allow off [dev]"),
        ("false", prod3(), "allow session [prod]"),
        ("true", dev1(), "allow session [dev]"),
        ("true", prod3(), "allow session [prod]"),
        ("hardware_key", dev1(), "allow hardware_key [dev]"),
    ];
    for (cap_value, n, want) in cases {
        let b =
            bundle(&(cap(&format!("  require_session_mfa: {cap_value}")) + &dev + &prod + &jerry));
        let d = Ask::new(&n, "jerry").decide(&b);
        assert_eq!(
            summary(&d),
            want,
            "cap {cap_value} on {}: {:?}",
            n.name,
            d.reasons
        );
        assert!(
            d.reasons
                .iter()
                .any(|r| r.starts_with("cluster_auth_preference require_session_mfa is")),
            "{:?}",
            d.reasons
        );
    }
    // A role that requires MFA but does not match this node does not count,
    // even though it matches the login.
    let b = bundle(&(dev.clone() + &prod + &jerry));
    let d = Ask::new(&dev1(), "jerry").decide(&b);
    assert!(!d.requirement.session, "{:?}", d.reasons);
    // Nor does one that matches the node but not the login.
    let prod_root = role("prod-root", "v7", "  options:\n    require_session_mfa: true\n  allow:\n    logins: [root]\n    node_labels: {'*': '*'}");
    let b = bundle(&(dev + &prod_root + &user("jerry", &["dev", "prod-root"], &["jerry"])));
    let d = Ask::new(&dev1(), "jerry").decide(&b);
    assert_eq!(summary(&d), "allow off [dev]", "{:?}", d.reasons);
}

/// (role name, require_session_mfa, env label it allows).
type RoleSpec = (&'static str, &'static str, &'static str);

#[test]
fn key_policy_comes_from_all_roles() {
    let r = |name: &str, mfa: &str, env: &str| {
        role(
            name,
            "v7",
            &format!("  options:\n    require_session_mfa: {mfa}\n  allow:\n    logins: [jerry]\n    node_labels: {{env: {env}}}"),
        )
    };
    let cases: &[(&[RoleSpec], &str, &str)] = &[
        // touch on the allowing role, pin on a role that does not match dev1
        (
            &[
                ("a", "hardware_key_touch", "dev"),
                ("b", "hardware_key_pin", "prod"),
            ],
            "",
            "allow hardware_key_touch_and_pin [a]",
        ),
        // neither role requiring keys matches dev1: session stays off, key policy still applies
        (
            &[("a", "false", "dev"), ("b", "hardware_key_touch", "prod")],
            "",
            "allow hardware_key_touch [a]",
        ),
        (
            &[("a", "false", "dev"), ("b", "hardware_key", "prod")],
            "",
            "allow hardware_key [a]",
        ),
        (
            &[("a", "false", "dev"), ("b", "true", "prod")],
            "",
            "allow off [a]",
        ),
        (
            &[
                ("a", "hardware_key", "dev"),
                ("b", "hardware_key_pin", "prod"),
            ],
            "",
            "allow hardware_key_pin [a]",
        ),
        (
            &[("a", "false", "dev")],
            "  require_session_mfa: hardware_key_touch",
            "allow hardware_key_touch [a]",
        ),
        (
            &[("a", "hardware_key_pin", "dev")],
            "  require_session_mfa: hardware_key_touch",
            "allow hardware_key_touch_and_pin [a]",
        ),
    ];
    for (roles, cap_spec, want) in cases {
        let mut text = if cap_spec.is_empty() {
            String::new()
        } else {
            cap(cap_spec)
        };
        for (name, mfa, env) in *roles {
            text += &r(name, mfa, env);
        }
        let names: Vec<&str> = roles.iter().map(|(n, _, _)| *n).collect();
        text += &user("jerry", &names, &["jerry"]);
        let b = bundle(&text);
        let d = Ask::new(&dev1(), "jerry").decide(&b);
        assert_eq!(
            summary(&d),
            *want,
            "{roles:?} cap {cap_spec:?}: {:?}",
            d.reasons
        );
    }
    // the session flag and key policy separately
    let text = r("a", "false", "dev")
        + &r("b", "hardware_key_touch", "prod")
        + &user("jerry", &["a", "b"], &["jerry"]);
    let d = Ask::new(&dev1(), "jerry").decide(&bundle(&text));
    assert!(!d.requirement.session);
    assert_eq!(d.requirement.key_policy, KeyPolicy::HardwareKeyTouch);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("hardware key policy hardware_key_touch")),
        "{:?}",
        d.reasons
    );
}

#[test]
fn admin_actions_follow_webauthn_second_factor() {
    let dev = role(
        "dev",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {env: dev}",
    );
    let jerry = user("jerry", &["dev"], &["jerry"]);
    let cases = [
        (
            "  second_factor: webauthn",
            ServiceClass::Admin,
            "allow session [dev]",
        ),
        (
            "  second_factor: webauthn",
            ServiceClass::Ssh,
            "allow off [dev]",
        ),
        (
            "  second_factor: webauthn",
            ServiceClass::Desktop,
            "allow off [dev]",
        ),
        (
            "  second_factor: 'on'",
            ServiceClass::Admin,
            "allow off [dev]",
        ),
        (
            "  second_factor: on",
            ServiceClass::Admin,
            "allow off [dev]",
        ),
        (
            "  second_factors: [webauthn]",
            ServiceClass::Admin,
            "allow session [dev]",
        ),
        (
            "  second_factors: [SECOND_FACTOR_TYPE_WEBAUTHN]",
            ServiceClass::Admin,
            "allow session [dev]",
        ),
        (
            "  second_factors: [webauthn, otp]",
            ServiceClass::Admin,
            "allow off [dev]",
        ),
    ];
    for (spec, class, want) in cases {
        let b = bundle(&(cap(spec) + &dev + &jerry));
        let d = Ask::new(&dev1(), "jerry").class(class).decide(&b);
        assert_eq!(
            summary(&d),
            want,
            "{spec} {}: {:?}",
            class.name(),
            d.reasons
        );
    }
    // Unknown users too.
    let b = bundle(&cap("  second_factor: webauthn"));
    let d = Ask::new(&dev1(), "nobody")
        .class(ServiceClass::Admin)
        .decide(&b);
    assert_eq!(summary(&d), "allow session []");
}

#[test]
fn identity_resolution() {
    let text = cap("  require_session_mfa: false")
        + &role("dev", "v7", "  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {env: dev}")
        + &role("strict", "v7", "  options:\n    require_session_mfa: true\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {'*': '*'}")
        + &user("jerry", &["dev"], &["jerry", "deploy"])
        + &user("alice", &["strict"], &["alice", "deploy"])
        + &user("bob", &["dev"], &["shared"])
        + &user("carol", &["dev", "ghost"], &["carol", "shared"]);
    let b = bundle(&text);
    // The user document's first line ("kind: user") is where the warning points.
    let carol_line = text.lines().position(|l| l == "  name: carol").unwrap() - 2;
    assert_eq!(
        b.warnings,
        vec![format!(
            "test.yaml:{carol_line}: user \"carol\" has role \"ghost\", which is not in the bundle"
        )]
    );
    let n = dev1();

    // one user by login trait
    let d = Ask::new(&n, "jerry").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref(), d.known_user),
        ("allow off [dev]".into(), Some("jerry"), true)
    );
    // by name (alice's name is also her login)
    let d = Ask::new(&n, "alice").decide(&b);
    assert_eq!(summary(&d), "allow session [strict]");
    // unknown login: allowed, the cap's requirement, no roles
    let d = Ask::new(&n, "postgres").decide(&b);
    assert_eq!(
        (summary(&d), d.user.clone(), d.known_user),
        ("allow off []".into(), None, false)
    );
    assert!(
        d.reasons[0].contains("maps to no cluster user"),
        "{:?}",
        d.reasons
    );
    // user given: used as is, even for a login that maps to someone else
    let d = Ask::new(&n, "deploy").user("jerry").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref()),
        ("allow off [dev]".into(), Some("jerry"))
    );
    let d = Ask::new(&n, "alice").user("jerry").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    // user given but not in the bundle: unknown, named; no roles, so a
    // login that roles name (deploy, through the traits) is not theirs, and
    // one no role names gets the cap's requirement
    let d = Ask::new(&n, "deploy").user("mallory").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref(), d.known_user),
        ("deny off []".into(), Some("mallory"), false)
    );
    let d = Ask::new(&n, "postgres").user("mallory").decide(&b);
    assert_eq!(
        (summary(&d), d.user.as_deref(), d.known_user),
        ("allow off []".into(), Some("mallory"), false)
    );
    // several users: allowed if one is, strictest requirement of those allowed
    let d = Ask::new(&n, "deploy").decide(&b);
    assert_eq!(
        (summary(&d), d.user.clone()),
        ("allow session [strict,dev]".into(), None)
    );
    assert!(
        d.reasons[0].contains("2 cluster users (alice, jerry)"),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons.iter().any(|r| r.starts_with("jerry: ")),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons.last().unwrap().contains("strictest"),
        "{:?}",
        d.reasons
    );
    // on prod only alice is allowed: her requirement
    let d = Ask::new(&prod3(), "deploy").decide(&b);
    assert_eq!(summary(&d), "allow session [strict]", "{:?}", d.reasons);
    // several users, none allowed
    let d = Ask::new(&prod3(), "shared").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    // a role that is missing denies (Teleport's FetchRoleList fails)
    let d = Ask::new(&n, "carol").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("role(s) ghost of carol not in the bundle")),
        "{:?}",
        d.reasons
    );
    // no role allows: the reason says which roles failed and why
    let d = Ask::new(&prod3(), "jerry").decide(&b);
    let last = d.reasons.last().unwrap();
    assert!(
        last.starts_with(
            "no role of jerry allows login jerry on prod3 (dev: node_labels env=dev did not match"
        ),
        "{last}"
    );
}

#[test]
fn reasons_read_like_sentences() {
    let text = role("access-prod", "v7", "  options:\n    require_session_mfa: true\n  allow:\n    logins: [jerry]\n    node_labels: {env: prod}")
        + &user("jerry", &["access-prod"], &["jerry"]);
    let d = Ask::new(&node("prod3", &[("env", "prod")]), "jerry").decide(&bundle(&text));
    assert_eq!(
        d.reasons,
        vec![
            "login jerry maps to cluster user jerry",
            "role access-prod allows login jerry on prod3 (node_labels env=prod matched) and requires session MFA",
            "cluster_auth_preference require_session_mfa is off",
            "requirement: session",
        ]
    );
    let d = Ask::new(&node("prod3", &[("env", "prod")]), "root")
        .user("jerry")
        .decide(&bundle(&text));
    assert_eq!(
        d.reasons.last().map(String::as_str),
        Some("no role of jerry allows login root on prod3 (access-prod: login root is not in its logins [jerry])")
    );
}

fn lock(name: &str, target: &str, extra: &str) -> String {
    format!("---\nkind: lock\nversion: v2\nmetadata:\n  name: {name}\nspec:\n  target: {target}\n{extra}")
}

#[test]
fn locks() {
    let base = role(
        "dev",
        "v7",
        "  allow:\n    logins: [jerry, root]\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["dev"], &["jerry"]);
    let n = dev1();
    let cases: &[(&str, &str, bool)] = &[
        ("{user: jerry}", "", true),
        ("{user: olga}", "", false),
        ("{role: dev}", "", true),
        ("{role: prod}", "", false),
        ("{login: jerry}", "", true),
        ("{login: root}", "", false),
        ("{node: dev1}", "", true),
        ("{node: prod3}", "", false),
        ("{server_id: dev1}", "", true),
        ("{server_id: prod3}", "", false),
        ("{mfa_device: key-1}", "", true),
        ("{mfa_device: key-2}", "", false),
        ("{user: jerry, node: dev1, login: jerry}", "", true),
        // Several fields: any one that names the session locks it
        // (Teleport's ComputeLockTargets + LockTarget.Match).
        ("{user: jerry, node: prod3}", "", true),
        ("{login: root, server_id: dev1}", "", true),
        ("{login: jerry, server_id: prod3}", "", true),
        ("{login: root, server_id: prod3}", "", false),
        ("{user: olga, role: prod, mfa_device: key-2}", "", false),
        ("{user: jerry, windows_desktop: desk1}", "", true),
        ("{windows_desktop: desk1}", "", false),
        ("{access_request: 0b8f}", "", false),
        ("{user: jerry}", "  expires: 2023-12-31T23:59:59Z\n", false),
        (
            "{user: jerry}",
            "  expires: '2024-01-01T00:00:00Z'\n",
            false,
        ),
        ("{user: jerry}", "  expires: 2024-01-01T00:00:01Z\n", true),
        (
            "{user: jerry}",
            "  expires: 2024-01-01T00:59:59.5+01:00\n",
            false,
        ),
        (
            "{user: jerry}",
            "  expires: 2024-01-01T01:00:00.5+01:00\n",
            true,
        ),
        (
            "{user: jerry}",
            "  expires: 2024-01-01T02:00:00+01:00\n",
            true,
        ),
        ("{user: jerry, login: ''}", "", true), // empty string = absent
    ];
    for (target, extra, want) in cases {
        let b = bundle(
            &(base.clone()
                + &lock(
                    "l1",
                    target,
                    &format!("  message: Locked for review\n{extra}"),
                )),
        );
        let d = Ask::new(&n, "jerry").device("key-1").decide(&b);
        assert_eq!(d.locked, *want, "{target} {extra}: {:?}", d.reasons);
        if *want {
            assert_eq!(d.access, Access::Deny);
            assert_eq!(d.lock_message.as_deref(), Some("Locked for review"));
            assert!(
                d.reasons.last().unwrap().starts_with("lock l1 ("),
                "{:?}",
                d.reasons
            );
        } else {
            assert_eq!(summary(&d), "allow off [dev]", "{target}");
        }
    }
    // an injected clock: the same lock before and after it expires
    let b = bundle(
        &(base.clone() + &lock("l1", "{login: jerry}", "  expires: 2024-06-01T00:00:00Z\n")),
    );
    let before = Ask::new(&n, "jerry")
        .at(now() + Duration::from_secs(86_400))
        .decide(&b);
    let after = Ask::new(&n, "jerry")
        .at(now() + Duration::from_secs(400 * 86_400))
        .decide(&b);
    assert!(before.locked && !after.locked);
    assert_eq!(before.lock_message, None);
}

#[test]
fn locks_for_unknown_and_ambiguous_users() {
    let text = role(
        "dev",
        "v7",
        "  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["dev"], &["jerry", "deploy"])
        + &user("alice", &["dev"], &["alice", "deploy"]);
    let n = dev1();
    // unknown login: a user target does not match, a login target does
    let b = bundle(&(text.clone() + &lock("u", "{user: postgres}", "")));
    assert!(!Ask::new(&n, "postgres").decide(&b).locked);
    let b = bundle(&(text.clone() + &lock("l", "{login: postgres}", "")));
    assert!(Ask::new(&n, "postgres").decide(&b).locked);
    // a user given but unknown: a user target on that name matches
    let b = bundle(&(text.clone() + &lock("u", "{user: mallory}", "")));
    assert!(Ask::new(&n, "postgres").user("mallory").decide(&b).locked);
    // a lock on any of the users a login maps to denies it
    let b = bundle(&(text.clone() + &lock("u", "{user: alice}", "  message: gone\n")));
    let d = Ask::new(&n, "deploy").decide(&b);
    assert_eq!(
        (d.access, d.locked, d.lock_message.as_deref()),
        (Access::Deny, true, Some("gone"))
    );
    assert!(!Ask::new(&n, "jerry").decide(&b).locked);
}
