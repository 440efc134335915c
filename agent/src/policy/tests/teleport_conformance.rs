//! Conformance with Teleport's access decision, case by case, for the
//! rules its own tests cover: `RoleSet.checkAccess`, `CheckLabelsMatch`,
//! `MatchLabels` (lib/services/role.go), `getMFARequired` and
//! `PrivateKeyPolicy` (role.go / access_checker.go), `RequireMFAType.decode`
//! (api/types), `RoleV6.CheckAndSetDefaults` (api/types/role.go),
//! and `FetchRoleList`. Traits, globs and locks: `teleport_traits_and_locks`.

use super::support::{bundle, cap, node, now, role, summary, user, Ask};
use crate::policy::{decide_with_identity, LoginQuery, ServiceClass, User};

fn prod3() -> crate::policy::NodeInfo {
    node("prod3", &[("env", "prod"), ("team", "db")])
}

fn dev1() -> crate::policy::NodeInfo {
    node("dev1", &[("env", "dev")])
}

/// lib/services/role.go `FetchRoleList`: a role of the user that cannot be
/// fetched fails the whole access checker, so the login is refused, not
/// decided on the remaining roles (the missing one could deny or require
/// MFA). Both for the bundle's user record and a certificate's roles.
#[test]
fn a_missing_role_denies_as_fetch_role_list_fails() {
    let text = role(
        "open",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["open", "ghost"], &["jerry"])
        + &user("carol", &["open"], &["carol"]);
    let b = bundle(&text);
    let d = Ask::new(&prod3(), "jerry").user("jerry").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.contains("ghost") && r.contains("FetchRoleList")),
        "{:?}",
        d.reasons
    );
    // The same roles without the missing one allow.
    let d = Ask::new(&prod3(), "jerry").user("carol").decide(&b);
    assert_eq!(summary(&d), "allow off [open]", "{:?}", d.reasons);
    // A certificate naming a role the bundle lacks.
    let n = prod3();
    let identity = User {
        name: "cert-user".into(),
        roles: ["open".into(), "gone".into()].into(),
        traits: Default::default(),
        ..Default::default()
    };
    let q = LoginQuery {
        node: &n,
        login: "jerry",
        user: None,
        class: ServiceClass::Ssh,
        mfa_device: None,
        now: now(),
        lock_view_stale: false,
    };
    let d = decide_with_identity(&b, &q, &identity);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    let identity = User {
        roles: ["open".into()].into(),
        ..identity
    };
    assert_eq!(
        summary(&decide_with_identity(&b, &q, &identity)),
        "allow off [open]"
    );
}

/// lib/services/role.go `RoleSet.checkAccess`: an error from an allow
/// `node_labels` value (`utils.SliceMatchesRegex` on an invalid `^...$`
/// regex) is returned from the check, so another role that would allow
/// does not. A node without the label never reaches the regex (no key, no
/// match, no error).
#[test]
fn an_invalid_allow_regex_fails_the_whole_check() {
    let text = role(
        "ok",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    ) + &role(
        "broken",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {env: '^pro(d$'}",
    ) + &user("jerry", &["ok", "broken"], &["jerry"]);
    let b = bundle(&text);
    let d = Ask::new(&prod3(), "jerry").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    assert!(
        d.reasons.iter().any(|r| r.contains("invalid regex")),
        "{:?}",
        d.reasons
    );
    let bare = node("bare", &[("team", "db")]);
    let d = Ask::new(&bare, "jerry").decide(&b);
    assert_eq!(summary(&d), "allow off [ok]", "{:?}", d.reasons);
    // A value matched before the bad one wins, as SliceMatchesRegex stops
    // at the first match.
    let text = role(
        "r",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {env: [prod, '^pro(d$']}",
    ) + &user("jerry", &["r"], &["jerry"]);
    let d = Ask::new(&prod3(), "jerry").decide(&bundle(&text));
    assert_eq!(summary(&d), "allow off [r]", "{:?}", d.reasons);
}

/// lib/services/role.go `RoleSet.checkAccess` deny side: deny rules are
/// greedy. Matching deny `node_labels` deny every login; deny `logins`
/// deny on every node (the login matcher is consulted whatever the deny
/// labels say, even when they are empty); an empty deny side denies
/// nothing. (role_test.go `TestCheckAccessToServer`.)
#[test]
fn deny_rules_are_greedy() {
    let allow = "  allow:\n    logins: [jerry, root]\n    node_labels: {'*': '*'}\n";
    let cases: &[(&str, &str, &crate::policy::NodeInfo, &str)] = &[
        // (deny side, login, node, expected)
        (
            "  deny:\n    node_labels: {env: prod}",
            "jerry",
            &prod3(),
            "deny off []",
        ),
        (
            "  deny:\n    node_labels: {env: prod}",
            "jerry",
            &dev1(),
            "allow off [r]",
        ),
        (
            "  deny:\n    node_labels: {'*': '*'}",
            "jerry",
            &dev1(),
            "deny off []",
        ),
        (
            "  deny:\n    logins: [root]",
            "root",
            &dev1(),
            "deny off []",
        ),
        (
            "  deny:\n    logins: [root]",
            "jerry",
            &dev1(),
            "allow off [r]",
        ),
        // loginMatcher compares logins exactly: a '*' deny login is no wildcard
        (
            "  deny:\n    logins: ['*']",
            "root",
            &dev1(),
            "allow off [r]",
        ),
        // deny logins are filtered like allow ones (filterInvalidUnixLogins)
        (
            "  deny:\n    logins: ['-root', 'root:x']",
            "root",
            &dev1(),
            "allow off [r]",
        ),
        // the deny labels do not match, but the deny login still denies
        (
            "  deny:\n    logins: [root]\n    node_labels: {env: staging}",
            "root",
            &prod3(),
            "deny off []",
        ),
        // the deny labels match: any login is denied, listed or not
        (
            "  deny:\n    logins: [root]\n    node_labels: {env: prod}",
            "jerry",
            &prod3(),
            "deny off []",
        ),
        (
            "  deny:\n    node_labels: {}",
            "jerry",
            &prod3(),
            "allow off [r]",
        ),
        ("  deny: {}", "root", &prod3(), "allow off [r]"),
        // deny globs and regexes match like allow ones
        (
            "  deny:\n    node_labels: {env: 'pr*'}",
            "jerry",
            &prod3(),
            "deny off []",
        ),
        (
            "  deny:\n    node_labels: {env: '^(dev|prod)$'}",
            "jerry",
            &prod3(),
            "deny off []",
        ),
        (
            "  deny:\n    node_labels: {env: prod, team: web}",
            "jerry",
            &prod3(),
            "allow off [r]",
        ),
    ];
    for (deny, login, n, want) in cases {
        let text =
            role("r", "v7", &format!("{allow}{deny}")) + &user("jerry", &["r"], &["jerry", "root"]);
        let d = Ask::new(n, login).user("jerry").decide(&bundle(&text));
        assert_eq!(
            summary(&d),
            *want,
            "{deny} / {login}@{}: {:?}",
            n.name,
            d.reasons
        );
    }
}

/// lib/services/role.go `getMFARequired` + `checkAccess`: the cap's
/// `require_session_mfa` (any form but off) requires MFA for every login;
/// otherwise only the roles that allow this login on this node count,
/// whichever form they use (bool, string, enum number). `PrivateKeyPolicy`
/// takes the strictest over the cap and every role of the user.
#[test]
fn session_mfa_and_key_policy_for_every_spelling() {
    let cases: &[(&str, &str, &str)] = &[
        // (cap value, allowing role's value, expected on dev1)
        ("0", "0", "allow off [a]"),
        ("false", "1", "allow session [a]"),
        ("'off'", "'yes'", "allow session [a]"),
        ("1", "false", "allow session [a]"),
        ("'on'", "no", "allow session [a]"),
        ("2", "false", "allow hardware_key [a]"),
        ("false", "2", "allow hardware_key [a]"),
        ("false", "3", "allow hardware_key_touch [a]"),
        ("false", "4", "allow hardware_key_pin [a]"),
        ("false", "5", "allow hardware_key_touch_and_pin [a]"),
        (
            "hardware_key_touch",
            "4",
            "allow hardware_key_touch_and_pin [a]",
        ),
        (
            "hardware_key_pin",
            "hardware_key",
            "allow hardware_key_pin [a]",
        ),
        ("''", "''", "allow off [a]"),
    ];
    for (cap_value, role_value, want) in cases {
        let text = cap(&format!("  require_session_mfa: {cap_value}"))
            + &role(
                "a",
                "v7",
                &format!("  options:\n    require_session_mfa: {role_value}\n  allow:\n    logins: [jerry]\n    node_labels: {{env: dev}}"),
            )
            + &user("jerry", &["a"], &["jerry"]);
        let d = Ask::new(&dev1(), "jerry").decide(&bundle(&text));
        assert_eq!(
            summary(&d),
            *want,
            "cap {cap_value} role {role_value}: {:?}",
            d.reasons
        );
    }
    // Session MFA of a role that does not allow this login does not count,
    // even when every role of the user requires it (MFARequiredAlways is
    // only reached with the implicit role's "off" left out; the node's
    // access check still asks only the allowing roles).
    let text = role(
        "a",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {env: dev}",
    ) + &role(
        "b",
        "v7",
        "  options:\n    require_session_mfa: true\n  allow:\n    logins: [jerry]\n    node_labels: {env: prod}",
    ) + &role(
        "c",
        "v7",
        "  options:\n    require_session_mfa: hardware_key_pin\n  allow:\n    logins: [other]\n    node_labels: {'*': '*'}",
    ) + &user("jerry", &["a", "b", "c"], &["jerry"]);
    let b = bundle(&text);
    let d = Ask::new(&dev1(), "jerry").decide(&b);
    assert_eq!(summary(&d), "allow hardware_key_pin [a]", "{:?}", d.reasons);
    assert!(!d.requirement.session, "{:?}", d.reasons);
    let d = Ask::new(&prod3(), "jerry").decide(&b);
    assert!(d.requirement.session, "{:?}", d.reasons);
    // Two allowing roles: the stricter (any requiring) wins, in any order.
    for roles in [["a", "b"], ["b", "a"]] {
        let text = role("a", "v7", "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}")
            + &role("b", "v7", "  options:\n    require_session_mfa: true\n  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}")
            + &user("jerry", &roles, &["jerry"]);
        let d = Ask::new(&dev1(), "jerry").decide(&bundle(&text));
        assert_eq!(
            summary(&d),
            "allow session [a,b]".replace("a,b", &roles.join(",")),
            "{roles:?}"
        );
    }
}

/// api/types/role.go `RoleV6.CheckAndSetDefaults`: only v3 roles default
/// `node_labels` to `'*': '*'`, when the field is absent and the raw logins
/// (templates included) are not empty.
#[test]
fn v3_defaults_use_the_raw_logins() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "v3",
            "  allow:\n    logins: ['{{internal.logins}}']",
            "allow off [r]",
        ),
        (
            "v3",
            "  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: null",
            "allow off [r]",
        ),
        ("v3", "  allow:\n    logins: []", "deny off []"),
        (
            "v3",
            "  allow:\n    logins: [jerry]\n    node_labels: {env: dev}",
            "deny off []",
        ),
        (
            "v4",
            "  allow:\n    logins: ['{{internal.logins}}']",
            "deny off []",
        ),
        (
            "v8",
            "  allow:\n    logins: ['{{internal.logins}}']",
            "deny off []",
        ),
    ];
    for (version, body, want) in cases {
        let text = role("r", version, body) + &user("jerry", &["r"], &["jerry"]);
        let d = Ask::new(&prod3(), "jerry").decide(&bundle(&text));
        assert_eq!(summary(&d), *want, "{version} {body}: {:?}", d.reasons);
    }
}

/// api/types/role.go `checkAndSetRoleConditionNamespaces` (nil means
/// `[default]`; only `default` and `*` validate). An explicit empty list
/// never reaches a node as such: gRPC and the backend's JSON (`omitempty`)
/// turn it into nil, which is then `[default]`. So it allows and denies as
/// `[default]` does (a deny side that ignored it let root in).
#[test]
fn role_namespaces() {
    let cases: &[(&str, &str)] = &[
        ("  allow:\n    namespaces: [default]\n    logins: [jerry]\n    node_labels: {'*': '*'}", "allow off [r]"),
        ("  allow:\n    namespaces: ['*']\n    logins: [jerry]\n    node_labels: {'*': '*'}", "allow off [r]"),
        ("  allow:\n    namespaces: null\n    logins: [jerry]\n    node_labels: {'*': '*'}", "allow off [r]"),
        ("  allow:\n    namespaces: []\n    logins: [jerry]\n    node_labels: {'*': '*'}", "allow off [r]"),
        ("  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}\n  deny:\n    namespaces: []\n    logins: [jerry]", "deny off []"),
        ("  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}\n  deny:\n    namespaces: [default]\n    logins: [jerry]", "deny off []"),
        ("  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}\n  deny:\n    logins: [jerry]", "deny off []"),
    ];
    for (body, want) in cases {
        let text = role("r", "v7", body) + &user("jerry", &["r"], &["jerry"]);
        let d = Ask::new(&prod3(), "jerry").decide(&bundle(&text));
        assert_eq!(summary(&d), *want, "{body}: {:?}", d.reasons);
    }
    for side in ["allow", "deny"] {
        let text = role("r", "v7", &format!("  {side}:\n    namespaces: [system]"));
        let err = crate::policy::load_bundle_str(&text, "t.yaml").unwrap_err();
        assert!(
            err.message.contains("invalid namespace \"system\""),
            "{err}"
        );
        assert!(err.line.is_some(), "{err}");
    }
}
