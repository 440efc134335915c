//! lib/services/role.go `RoleSet.checkAccess`'s early exit, beside
//! `teleport_check_access_to_server`: with `mfaAllowed && deviceAllowed`
//! (an SSH certificate from a trusted device that is MFA-verified, or no
//! session MFA required by the cap or any of the user's roles), the check
//! returns at the first role that allows the login, so a later role's
//! allow side that cannot be evaluated is never reached. Every deny side
//! is, and so is the allow side of every role before that one.

use super::support::{bundle, cap, node, now, summary};
use crate::policy::{decide_with_identity, Decision, LoginQuery, ServiceClass, User};

/// Allows root on every node.
const OK: &str = "allow: {logins: [root], node_labels: {'*': '*'}}";
/// Allows no root here: its login list does not hold it.
const OTHER_LOGIN: &str = "allow: {logins: [admin], node_labels: {'*': '*'}}";
/// An allow expression that cannot be evaluated: the identity's `email`
/// trait is not an address.
const BROKEN: &str =
    "allow: {logins: [root], node_labels_expression: 'contains(email.local(user.spec.traits[\"email\"]), \"x\")'}";
/// An allow `node_labels` value that cannot be evaluated (not a regex).
const BAD_REGEX: &str = "allow: {logins: [root], node_labels: {env: '^[$'}}";

struct Case {
    name: &'static str,
    /// Each role as `name: spec` (flow style), in the certificate's order.
    roles: &'static [(&'static str, &'static str)],
    /// Roles the certificate names that the bundle does not hold.
    missing: &'static [&'static str],
    cap_mfa: &'static str,
    trusted_device: bool,
    /// The certificate's `mfa-verified` extension.
    mfa_verified: bool,
    /// Its private key policy counts as MFA (touch or PIN).
    key_policy_mfa: bool,
    class: ServiceClass,
    want: &'static str,
}

const BASE: Case = Case {
    name: "",
    roles: &[],
    missing: &[],
    cap_mfa: "false",
    trusted_device: true,
    mfa_verified: false,
    key_policy_mfa: false,
    class: ServiceClass::Ssh,
    want: "",
};

const CASES: &[Case] = &[
    Case {
        name: "trusted device, no MFA required: a later role's error is not reached",
        roles: &[("ok", OK), ("broken", BROKEN)],
        want: "allow off [ok]",
        ..BASE
    },
    Case {
        name: "a later role's invalid regex is not reached either",
        roles: &[("ok", OK), ("bad", BAD_REGEX)],
        want: "allow off [ok]",
        ..BASE
    },
    Case {
        name: "a role that does not allow the login is passed over",
        roles: &[("other", OTHER_LOGIN), ("ok", OK), ("broken", BROKEN)],
        want: "allow off [ok]",
        ..BASE
    },
    Case {
        name: "an error in an earlier role is reached",
        roles: &[("broken", BROKEN), ("ok", OK)],
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "an invalid regex in an earlier role is reached",
        roles: &[("other", OTHER_LOGIN), ("bad", BAD_REGEX), ("ok", OK)],
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "no trusted device: every role's allow side is reached",
        roles: &[("ok", OK), ("broken", BROKEN)],
        trusted_device: false,
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "the allowing role requires session MFA, the certificate is not MFA-verified",
        roles: &[("ok", "allow: {logins: [root], node_labels: {'*': '*'}}\n  options: {require_session_mfa: true}"), ("broken", BROKEN)],
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "the erring role requires session MFA: MFA is required per role, not never",
        roles: &[("ok", OK), ("broken", "allow: {logins: [root], node_labels_expression: 'contains(email.local(user.spec.traits[\"email\"]), \"x\")'}\n  options: {require_session_mfa: true}")],
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "a role's hardware_key_touch requires session MFA",
        roles: &[("ok", "allow: {logins: [root], node_labels: {'*': '*'}}\n  options: {require_session_mfa: hardware_key_touch}"), ("broken", BROKEN)],
        want: "deny hardware_key_touch []",
        ..BASE
    },
    Case {
        name: "the cluster requires session MFA, the certificate is not MFA-verified",
        roles: &[("ok", OK), ("broken", BROKEN)],
        cap_mfa: "true",
        want: "deny session []",
        ..BASE
    },
    Case {
        name: "the cluster requires session MFA and the certificate is MFA-verified",
        roles: &[("ok", OK), ("broken", BROKEN)],
        cap_mfa: "true",
        mfa_verified: true,
        want: "allow session [ok]",
        ..BASE
    },
    Case {
        name: "the allowing role requires session MFA and the certificate is MFA-verified",
        roles: &[("ok", "allow: {logins: [root], node_labels: {'*': '*'}}\n  options: {require_session_mfa: true}"), ("broken", BROKEN)],
        mfa_verified: true,
        want: "allow session [ok]",
        ..BASE
    },
    Case {
        name: "a key policy with touch counts as MFA-verified",
        roles: &[("ok", OK), ("broken", BROKEN)],
        cap_mfa: "true",
        key_policy_mfa: true,
        want: "allow session [ok]",
        ..BASE
    },
    Case {
        name: "MFA-verified without a trusted device",
        roles: &[("ok", OK), ("broken", BROKEN)],
        trusted_device: false,
        mfa_verified: true,
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "a later role's deny side is reached",
        roles: &[("ok", OK), ("denier", "allow: {logins: [root], node_labels: {'*': '*'}}\n  deny: {logins: [root]}")],
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "a later role's deny expression that cannot be evaluated is reached",
        roles: &[("ok", OK), ("deny-broken", "deny: {node_labels_expression: 'contains(email.local(user.spec.traits[\"email\"]), \"x\")'}")],
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "a missing role denies",
        roles: &[("ok", OK), ("broken", BROKEN)],
        missing: &["gone"],
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "no role allows the login",
        roles: &[("other", OTHER_LOGIN), ("broken", BROKEN)],
        want: "deny off []",
        ..BASE
    },
    Case {
        name: "not SSH: sudo is not Teleport's node access, every allow side is reached",
        roles: &[("ok", OK), ("broken", BROKEN)],
        class: ServiceClass::Admin,
        want: "deny off []",
        ..BASE
    },
];

fn decide_case(c: &Case) -> Decision {
    let mut text = cap(&format!("  require_session_mfa: {}", c.cap_mfa));
    for (name, spec) in c.roles {
        text +=
            &format!("---\nkind: role\nversion: v7\nmetadata: {{name: {name}}}\nspec:\n  {spec}\n");
    }
    let b = bundle(&text);
    let identity = User {
        name: "alice".into(),
        roles: c
            .roles
            .iter()
            .map(|(name, _)| *name)
            .chain(c.missing.iter().copied())
            .map(Into::into)
            .collect(),
        traits: crate::policy::Traits::from([("email", &["not-an-address"][..])]),
        ..User::default()
    }
    .with_certificate(|cert| {
        cert.trusted_device = c.trusted_device;
        cert.mfa_device = c.mfa_verified.then(|| "yubikey".to_owned());
        cert.key_policy_mfa = c.key_policy_mfa;
    });
    let n = node("a", &[("env", "prod")]);
    let q = LoginQuery {
        node: &n,
        login: "root",
        user: None,
        class: c.class,
        mfa_device: None,
        now: now(),
        lock_view_stale: false,
    };
    decide_with_identity(&b, &q, &identity)
}

#[test]
fn check_access_early_exit_cases() {
    let mut wrong = Vec::new();
    for c in CASES {
        let d = decide_case(c);
        // An error that is not reached is said, never hidden.
        let unreached = d.reasons.iter().any(|r| r.contains("never evaluates it"));
        if summary(&d) != c.want || unreached != d.is_allowed() {
            wrong.push(format!(
                "{}: want {}, got {} {:?}",
                c.name,
                c.want,
                summary(&d),
                d.reasons
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Decided without a trusted device's certificate (as `mfactl explain`
/// decides), a denial by a role's allow side that an earlier allowing role
/// would keep Teleport from reaching says what certificate would pass.
#[test]
fn a_denial_a_trusted_device_would_avoid_says_so() {
    let note = "would pass Teleport's checkAccess: it stops at role ok";
    for (name, roles, class, cap_mfa, want) in [
        (
            "later error",
            &[("ok", OK), ("broken", BROKEN)][..],
            ServiceClass::Ssh,
            "false",
            Some("from a trusted device, would"),
        ),
        (
            "MFA required",
            &[("ok", OK), ("broken", BROKEN)][..],
            ServiceClass::Ssh,
            "true",
            Some("from a trusted device and MFA-verified, would"),
        ),
        (
            "earlier error",
            &[("broken", BROKEN), ("ok", OK)][..],
            ServiceClass::Ssh,
            "false",
            None,
        ),
        (
            "a deny side",
            &[
                ("ok", OK),
                ("broken", BROKEN),
                ("denier", "deny: {logins: [root]}"),
            ][..],
            ServiceClass::Ssh,
            "false",
            None,
        ),
        (
            "sudo",
            &[("ok", OK), ("broken", BROKEN)][..],
            ServiceClass::Admin,
            "false",
            None,
        ),
    ] {
        let d = decide_case(&Case {
            name,
            roles,
            cap_mfa,
            trusted_device: false,
            class,
            ..BASE
        });
        assert_eq!(
            summary(&d),
            if cap_mfa == "true" {
                "deny session []"
            } else {
                "deny off []"
            },
            "{name}"
        );
        let said = d.reasons.iter().find(|r| r.contains(note));
        assert_eq!(said.is_some(), want.is_some(), "{name}: {:?}", d.reasons);
        if let (Some(said), Some(want)) = (said, want) {
            assert!(
                said.contains(want) && said.contains("before it reaches role broken"),
                "{name}: {said}"
            );
        }
    }
}
