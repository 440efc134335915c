//! `decide`'s requirement: session MFA from the cap and the allowing roles,
//! the hardware key policy from all roles, MFA for admin actions.

use super::decide_rules::{dev1, prod3};
use super::support::{bundle, cap, role, summary, user, Ask};
use crate::policy::{KeyPolicy, ServiceClass};

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
            "  second_factor: webauthn\n  webauthn: {rp_id: example.com}",
            ServiceClass::Admin,
            "allow session [dev]",
        ),
        (
            "  second_factor: webauthn\n  webauthn: {rp_id: example.com}",
            ServiceClass::Ssh,
            "allow off [dev]",
        ),
        (
            "  second_factor: webauthn\n  webauthn: {rp_id: example.com}",
            ServiceClass::Desktop,
            "allow off [dev]",
        ),
        (
            "  second_factor: 'on'\n  webauthn: {rp_id: example.com}",
            ServiceClass::Admin,
            "allow off [dev]",
        ),
        // Teleport's CheckAndSetDefaults makes a legacy u2f webauthn.
        (
            "  second_factor: u2f\n  u2f:\n    app_id: https://example.com",
            ServiceClass::Admin,
            "allow session [dev]",
        ),
        (
            "  second_factor: on\n  webauthn: {rp_id: example.com}",
            ServiceClass::Admin,
            "allow off [dev]",
        ),
        (
            "  second_factors: [webauthn]\n  webauthn: {rp_id: example.com}",
            ServiceClass::Admin,
            "allow session [dev]",
        ),
        (
            "  second_factors: [SECOND_FACTOR_TYPE_WEBAUTHN]\n  webauthn: {rp_id: example.com}",
            ServiceClass::Admin,
            "allow session [dev]",
        ),
        (
            "  second_factors: [webauthn, otp]\n  webauthn: {rp_id: example.com}",
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
    let b = bundle(&cap(
        "  second_factor: webauthn\n  webauthn: {rp_id: example.com}",
    ));
    let d = Ask::new(&dev1(), "nobody")
        .class(ServiceClass::Admin)
        .decide(&b);
    assert_eq!(summary(&d), "allow session []");
}
