//! lib/services/role_test.go `TestCheckAccessToServer`, case by case, on
//! our decision. Teleport's `hasAccess` with `mfaVerified: false` is our
//! "allowed and no session MFA required"; with `mfaVerified: true` it is
//! "allowed" (the tap proves the MFA). `deviceVerified` is a certificate
//! identity with a trusted device; every SSH node enables device
//! verification, so the cases with it disabled are left out. Servers in
//! another namespace (`namespace-c`) cannot exist here (a host is in the
//! default namespace): those checks are kept only where the roles match
//! every namespace, as the test's `newRole` does by default.

use super::support::{bundle, cap, node, Ask};
use crate::policy::{Decision, NodeInfo, User};

/// One check: node, login, hasAccess.
type Check = (&'static str, &'static str, bool);

struct Case {
    name: &'static str,
    /// Each role's spec lines under `spec:`; the test's `newRole` sets
    /// `node_labels: {'*': '*'}` and `namespaces: ['*']` unless overridden.
    roles: &'static [&'static str],
    cap_mfa: &'static str,
    mfa_verified: bool,
    device_verified: bool,
    checks: &'static [Check],
}

fn server(name: &str) -> NodeInfo {
    match name {
        "a" => node("a", &[]),
        "b" => node("b", &[("role", "worker"), ("status", "follower")]),
        "c" => node("c", &[("role", "db"), ("status", "follower")]),
        "c2" => node("c2", &[("role", "db01"), ("status", "follower01")]),
        other => panic!("no server {other}"),
    }
}

/// The test's `newRole`: defaults, then `body`'s own lines (a later key of
/// the same name in `allow` wins, so the defaults come only when unset).
fn new_role(i: usize, body: &str) -> String {
    let mut options = String::new();
    let mut allow = String::new();
    for line in body.lines() {
        match line.split_once(": ") {
            Some((k, v)) if k.starts_with("options.") => {
                options.push_str(&format!("    {}: {v}\n", &k["options.".len()..]))
            }
            Some((k, v)) => allow.push_str(&format!("    {k}: {v}\n")),
            None => {}
        }
    }
    for (key, default) in [("node_labels", "{'*': '*'}"), ("namespaces", "['*']")] {
        if !allow.contains(&format!("    {key}:")) {
            allow.push_str(&format!("    {key}: {default}\n"));
        }
    }
    format!(
        "---\nkind: role\nversion: v7\nmetadata:\n  name: r{i}\nspec:\n  options:\n{}  allow:\n{allow}",
        if options.is_empty() { "    {}\n".to_owned() } else { options }
    )
    .replace("  options:\n    {}\n", "")
}

fn decide_case(c: &Case, n: &NodeInfo, login: &str) -> Decision {
    let mut text = cap(&format!("  require_session_mfa: {}", c.cap_mfa));
    let names: Vec<String> = (0..c.roles.len()).map(|i| format!("r{i}")).collect();
    for (i, body) in c.roles.iter().enumerate() {
        text += &new_role(i, body);
    }
    let b = bundle(&text);
    let identity = User {
        name: "alice".into(),
        roles: names.iter().map(|r| r.as_str().into()).collect(),
        ..User::default()
    }
    .with_certificate(|cert| cert.trusted_device = c.device_verified);
    Ask::new(n, login).decide_as(&b, &identity)
}

const CASES: &[Case] = &[
    Case {
        name: "empty role set has access to nothing",
        roles: &[],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", false), ("b", "root", false), ("c", "root", false)],
    },
    Case {
        name: "role is limited to default namespace",
        roles: &["logins: [admin]\nnamespaces: [default]"],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", false), ("a", "admin", true), ("b", "root", false), ("b", "admin", true)],
    },
    Case {
        name: "role is limited to labels in default namespace",
        roles: &["logins: [admin]\nnode_labels: {role: worker}"],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[
            ("a", "root", false),
            ("a", "admin", false),
            ("b", "root", false),
            ("b", "admin", true),
            ("c", "root", false),
            ("c", "admin", false),
        ],
    },
    Case {
        name: "role matches any label out of multiple labels",
        roles: &["logins: [admin]\nnode_labels: {role: [worker2, worker]}"],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "admin", false), ("b", "root", false), ("b", "admin", true), ("c", "admin", false)],
    },
    Case {
        name: "node_labels with empty list value matches nothing",
        roles: &["logins: [admin]\nnode_labels: {role: []}"],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "admin", false), ("b", "admin", false), ("c", "admin", false)],
    },
    Case {
        name: "one role is more permissive than another",
        roles: &[
            "logins: [admin]\nnamespaces: [default]\nnode_labels: {role: worker}",
            "logins: [root, admin]",
        ],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[
            ("a", "root", true),
            ("a", "admin", true),
            ("b", "root", true),
            ("b", "admin", true),
            ("c", "root", true),
            ("c", "admin", true),
        ],
    },
    Case {
        name: "one role needs to access servers sharing the partially same label value",
        roles: &["logins: [admin]\nnode_labels: {role: ['^db(.*)$'], status: ['follow*']}"],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[
            ("a", "admin", false),
            ("b", "admin", false),
            ("c", "root", false),
            ("c", "admin", true),
            ("c2", "root", false),
            ("c2", "admin", true),
        ],
    },
    Case {
        name: "no logins means no access",
        roles: &["logins: []"],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", false), ("b", "admin", false), ("c", "root", false)],
    },
    Case {
        name: "one role requires MFA but MFA was not verified",
        roles: &[
            "logins: [root]\nnode_labels: {role: worker}\noptions.require_session_mfa: true",
            "logins: [root]\noptions.require_session_mfa: false",
        ],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", true), ("b", "root", false), ("c", "root", true)],
    },
    Case {
        name: "one role requires MFA and MFA was verified",
        roles: &[
            "logins: [root]\nnode_labels: {role: worker}\noptions.require_session_mfa: true",
            "logins: [root]\noptions.require_session_mfa: false",
        ],
        cap_mfa: "false",
        mfa_verified: true,
        device_verified: false,
        checks: &[("a", "root", true), ("b", "root", true), ("c", "root", true)],
    },
    Case {
        name: "cluster requires MFA but MFA was not verified",
        roles: &["logins: [root]"],
        cap_mfa: "true",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", false), ("b", "root", false), ("c", "root", false)],
    },
    Case {
        name: "cluster requires MFA and MFA was verified",
        roles: &["logins: [root]"],
        cap_mfa: "true",
        mfa_verified: true,
        device_verified: false,
        checks: &[("a", "root", true), ("b", "root", true), ("c", "root", true)],
    },
    Case {
        name: "role requires trusted device, device not verified",
        roles: &["logins: [root]\noptions.device_trust_mode: required"],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", false), ("b", "root", false), ("c", "root", false)],
    },
    Case {
        name: "role requires trusted device, device verified",
        roles: &["logins: [root]\noptions.device_trust_mode: required"],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: true,
        checks: &[("a", "root", true), ("b", "root", true), ("c", "root", true)],
    },
    Case {
        name: "role requires trusted device for specific label, device not verified",
        roles: &[
            "logins: [root]",
            "logins: [root]\nnode_labels: {role: worker}\noptions.device_trust_mode: required",
        ],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", true), ("b", "root", false), ("c", "root", true)],
    },
    Case {
        name: "role requires trusted device for specific label, device verified",
        roles: &[
            "logins: [root]",
            "logins: [root]\nnode_labels: {role: worker}\noptions.device_trust_mode: required",
        ],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: true,
        checks: &[("a", "root", true), ("b", "root", true), ("c", "root", true)],
    },
    Case {
        name: "restrictive role device mode takes precedence",
        roles: &[
            "logins: [root]\noptions.device_trust_mode: \"off\"",
            "logins: [root]\noptions.device_trust_mode: optional",
            "logins: [root]\noptions.device_trust_mode: required",
        ],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", false), ("b", "root", false), ("c", "root", false)],
    },
    Case {
        name: "MFA and device required, fails MFA",
        roles: &[
            "logins: [root]\noptions.require_session_mfa: true",
            "logins: [root]\noptions.device_trust_mode: required",
        ],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: true,
        checks: &[("a", "root", false), ("b", "root", false), ("c", "root", false)],
    },
    Case {
        name: "MFA and device required, fails device",
        roles: &[
            "logins: [root]\noptions.require_session_mfa: true",
            "logins: [root]\noptions.device_trust_mode: required",
        ],
        cap_mfa: "false",
        mfa_verified: true,
        device_verified: false,
        checks: &[("a", "root", false), ("b", "root", false), ("c", "root", false)],
    },
    Case {
        name: "MFA and device required, passes all",
        roles: &[
            "logins: [root]\noptions.require_session_mfa: true",
            "logins: [root]\noptions.device_trust_mode: required",
        ],
        cap_mfa: "false",
        mfa_verified: true,
        device_verified: true,
        checks: &[("a", "root", true), ("b", "root", true), ("c", "root", true)],
    },
    Case {
        name: "label expressions",
        roles: &[
            "logins: [root]\nnode_labels: {}\nnode_labels_expression: 'labels.role == \"worker\" && labels.status == \"follower\"'",
        ],
        cap_mfa: "false",
        mfa_verified: false,
        device_verified: false,
        checks: &[("a", "root", false), ("b", "root", true), ("c", "root", false)],
    },
];

#[test]
fn check_access_to_server_cases() {
    // The cap's hardware key values are session MFA for access, as
    // "cluster requires MFA" (the test's "MFA with private key policy").
    let mut cases: Vec<Case> = Vec::new();
    for value in [
        "hardware_key",
        "hardware_key_touch",
        "hardware_key_pin",
        "hardware_key_touch_and_pin",
    ] {
        for mfa_verified in [false, true] {
            cases.push(Case {
                name: "cluster requires a hardware key",
                roles: &["logins: [root]"],
                cap_mfa: value,
                mfa_verified,
                device_verified: false,
                checks: if mfa_verified {
                    &[
                        ("a", "root", true),
                        ("b", "root", true),
                        ("c", "root", true),
                    ]
                } else {
                    &[
                        ("a", "root", false),
                        ("b", "root", false),
                        ("c", "root", false),
                    ]
                },
            });
        }
    }
    for c in CASES.iter().chain(cases.iter()) {
        for &(server_name, login, has_access) in c.checks {
            let d = decide_case(c, &server(server_name), login);
            let got = if c.mfa_verified {
                d.is_allowed()
            } else {
                d.is_allowed() && !d.requirement.session
            };
            assert_eq!(
                got, has_access,
                "{} (cap {}): {login}@{server_name}: {:?}",
                c.name, c.cap_mfa, d.reasons
            );
        }
    }
}
