//! Loading bundles: documents, kinds, versions, errors and their positions
//! (resources: `bundle_resources`; directories: `bundle_directories`).

use sha2::{Digest, Sha256};

use super::support::{bundle, cap, role, user};
use crate::policy::{load_bundle_str, PolicyError, RequireMfa};

fn err(text: &str) -> PolicyError {
    match load_bundle_str(text, "b.yaml") {
        Ok(b) => panic!("loaded, but should not have: {b:?}"),
        Err(e) => e,
    }
}

/// The 1-based number of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in text")) as u64
        + 1
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) const SK_BLOB_1: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
pub(super) const SK_BLOB_2: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AAAAABHNzaDo=";

#[test]
fn multi_document_bundle_with_unknown_kinds_and_fields() {
    let text = "\
# exported with tctl
---
kind: github
version: v3
metadata:
  name: github
spec:
  client_id: abc
---
---
# an empty document above, a comment-only one here
---
kind: role
version: v7
metadata:
  name: access-dev
  revision: 0b6f7f1e
  labels: {team: a}
spec:
  allow:
    logins: ['{{internal.logins}}']
    node_labels: {env: dev}
    rules:
    - resources: [event]
      verbs: [list, read]
    kubernetes_groups: [dev]
  deny: {}
  options:
    max_session_ttl: 30h0m0s
    forward_agent: yes
    record_session: {default: best_effort}
    require_session_mfa: no
---
kind: node
version: v2
metadata: {name: 4f2c}
spec: {hostname: prod3}
...
kind: user
version: v2
metadata:
  name: jerry
spec:
  roles: [access-dev]
  traits:
    logins: [jerry]
    kubernetes_groups: null
  status: {is_locked: false}
  created_by: {time: '2025-08-27T09:12:44Z'}
";
    let b = bundle(text);
    assert_eq!(b.roles().len(), 1);
    assert_eq!(b.roles()["access-dev"].require_session_mfa, RequireMfa::Off);
    assert_eq!(
        b.roles()["access-dev"].allow.logins,
        vec!["{{internal.logins}}"]
    );
    assert_eq!(
        b.users()["jerry"]
            .roles
            .iter()
            .map(|r| &**r)
            .collect::<Vec<_>>(),
        vec!["access-dev"]
    );
    assert_eq!(b.users()["jerry"].logins().to_vec(), vec!["jerry"]);
    assert!(b.users()["jerry"]
        .traits
        .get("kubernetes_groups")
        .unwrap()
        .is_empty());
    assert_eq!(
        super::support::warnings_beside_missing_cap(&b),
        vec![
            format!(
                "test.yaml:{}: skipped unknown kind 'github'",
                line_of(text, "kind: github")
            ),
            format!(
                "test.yaml:{}: skipped unknown kind 'node'",
                line_of(text, "kind: node")
            ),
        ]
    );
    assert_eq!(b.revision, sha256_hex(text.as_bytes()));
}

#[test]
fn json_array_and_single_resource() {
    let text = r#"[
  {"kind": "cluster_auth_preference", "version": "v2",
   "metadata": {"name": "cluster-auth-preference"},
   "spec": {"require_session_mfa": "hardware_key_touch", "second_factor": "webauthn", "webauthn": {"rp_id": "example.com"}}},
  {"kind": "role", "version": "v6", "metadata": {"name": "r", "revision": "x"},
   "spec": {"allow": {"logins": ["jerry"], "node_labels": {"env": ["dev", "prod"]}},
            "options": {"require_session_mfa": true, "max_session_ttl": "8h0m0s"}}},
  {"kind": "user", "version": "v2", "metadata": {"name": "jerry"}, "spec": {"roles": ["r"], "traits": {"logins": ["jerry"]}}},
  {"kind": "windows_desktop", "version": "v3", "metadata": {"name": "w"}}
]"#;
    let b = load_bundle_str(text, "b.json").unwrap();
    assert_eq!(b.cap.require_session_mfa, RequireMfa::HardwareKeyTouch);
    assert_eq!(b.cap.webauthn_rp_id.as_deref(), Some("example.com"));
    assert!(b.cap.admin_actions_require_mfa());
    assert_eq!(b.roles()["r"].allow.node_labels["env"], vec!["dev", "prod"]);
    assert_eq!(b.roles()["r"].require_session_mfa, RequireMfa::Session);
    assert_eq!(
        b.users()["jerry"]
            .roles
            .iter()
            .map(|r| &**r)
            .collect::<Vec<_>>(),
        vec!["r"]
    );
    assert_eq!(
        b.warnings,
        vec!["b.json:9: skipped unknown kind 'windows_desktop'"]
    );

    let one = r#"  {"kind": "role", "version": "v7", "metadata": {"name": "solo"}, "spec": {}}"#;
    let b = load_bundle_str(one, "one.json").unwrap();
    assert!(b.roles().contains_key("solo"));

    // A type error in the second element: the position is in the file.
    let bad = "[{\"kind\": \"role\", \"version\": \"v7\", \"metadata\": {\"name\": \"a\"}},\n {\"kind\": \"role\", \"version\": \"v7\", \"metadata\": {\"name\": \"b\"}, \"spec\": {\"allow\": {\"logins\": {\"x\": 1}}}}]";
    let e = load_bundle_str(bad, "bad.json").unwrap_err();
    assert_eq!(e.file, "bad.json");
    assert_eq!(e.line, Some(2), "{e}");
    let col = e.column.unwrap() as usize;
    let line2 = bad.lines().nth(1).unwrap();
    assert!(
        line2[..col].contains("\"logins\""),
        "column {col} in {line2:?}: {e}"
    );
    // A syntax error.
    let e = load_bundle_str("[\n {\"kind\": \"role\",, }]", "s.json").unwrap_err();
    assert_eq!(
        (e.line, e.to_string().starts_with("s.json:2:")),
        (Some(2), true),
        "{e}"
    );
    // A bad require_session_mfa value in the third element, on line 3.
    let e = load_bundle_str(
        "[{\"kind\": \"x\"},\n{\"kind\": \"y\"},\n  {\"kind\": \"role\", \"version\": \"v7\", \"metadata\": {\"name\": \"r\"}, \"spec\": {\"options\": {\"require_session_mfa\": \"maybe\"}}}]",
        "m.json",
    )
    .unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("\"maybe\""), "{e}");
}

#[test]
fn errors_point_at_the_real_line_in_a_later_document() {
    let docs = [
        role("one", "v7", "  allow:\n    logins: [a]"),
        role("two", "v7", "  allow:\n    logins: [b]"),
        // third document: a syntax error (a flow list that is never closed)
        "---\nkind: role\nversion: v7\nmetadata:\n  name: three\nspec:\n  allow:\n    logins: [c, d\n    node_labels: {env: dev}\n".to_owned(),
    ];
    let text = docs.concat();
    let e = err(&text);
    assert_eq!(e.file, "b.yaml");
    let first_bad = line_of(&text, "logins: [c, d");
    let line = e.line.unwrap();
    assert!(
        line == first_bad || line == first_bad + 1,
        "line {line}, expected ~{first_bad}: {e}"
    );
    assert!(e.column.is_some());
    assert!(e.to_string().starts_with(&format!("b.yaml:{line}:")), "{e}");
    assert!(
        !e.message.contains(" at line "),
        "position is not repeated: {e}"
    );

    // Type errors: the line and column of the offending value.
    let cases: &[(&str, &str, &str)] = &[
        ("  allow:\n    logins: {a: b}", "logins: {a: b}", "logins: "),
        (
            "  options:\n    require_session_mfa: maybe",
            "require_session_mfa: maybe",
            "require_session_mfa: ",
        ),
        (
            "  allow:\n    node_labels: [env]",
            "node_labels: [env]",
            "node_labels: ",
        ),
        (
            "  allow:\n    node_labels: {env: 1.5}",
            "node_labels: {env: 1.5}",
            "node_labels: {env: ",
        ),
    ];
    for (body, needle, before) in cases {
        let text = role("one", "v7", "  allow:\n    logins: [a]")
            + &user("u", &["one"], &["u"])
            + &role("bad", "v7", body);
        let e = err(&text);
        let want_line = line_of(&text, needle);
        let line_text = text.lines().nth(want_line as usize - 1).unwrap();
        let want_col = line_text.find(before).unwrap() as u64 + before.len() as u64 + 1;
        assert_eq!(
            (e.line, e.column),
            (Some(want_line), Some(want_col)),
            "{body}: {e}"
        );
    }

    // Also after `...` and documents starting with a comment.
    let text = "kind: role\nversion: v7\nmetadata: {name: a}\n...\n# c\n\nkind: user\nversion: v2\nmetadata: {name: u}\nspec:\n  roles: {x: 1}\n";
    let e = err(text);
    assert_eq!((e.line, e.column), (Some(11), Some(10)), "{e}");
}

/// (text, message fragment, (line, column)).
type ErrorCase = (&'static str, &'static str, Option<(u64, u64)>);

#[test]
fn resource_errors() {
    let cases: &[ErrorCase] = &[
        // (text, message fragment, (line, column))
        ("kind: role\nversion: v2\nmetadata: {name: r}\n", "unsupported role version \"v2\"", Some((2, 10))),
        ("kind: role\nversion: v9\nmetadata: {name: r}\n", "unsupported role version \"v9\" (supported: v3, v4, v5, v6, v7, v8)", Some((2, 10))),
        ("kind: role\nmetadata: {name: r}\n", "missing field `version`", None),
        ("kind: user\nversion: v1\nmetadata: {name: u}\n", "unsupported resource version \"v1\"", Some((2, 10))),
        ("kind: cluster_auth_preference\nversion: v3\nmetadata: {name: c}\n", "version \"v3\"", Some((2, 10))),
        ("kind: lock\nversion: v1\nmetadata: {name: l}\nspec: {target: {user: a}}\n", "version \"v1\"", Some((2, 10))),
        ("kind: mfa_device\nversion: v2\nmetadata: {name: d}\n", "version \"v2\"", Some((2, 10))),
        ("kind: cert_authority\nversion: v3\nmetadata: {name: c}\n", "version \"v3\"", Some((2, 10))),
        ("version: v7\nmetadata: {name: r}\n", "resource has no kind", None),
        ("kind: role\nversion: v7\n", "missing field `metadata`", None),
        ("kind: role\nversion: v7\nmetadata: {labels: {}}\n", "missing field `name`", None),
        ("kind: role\nversion: v7\nmetadata: {name: ''}\n", "must not be empty", Some((3, 18))),
        ("- kind: role\n", "mapping", Some((1, 1))),
        ("kind: role\nkind: user\n", "duplicate", Some((2, 1))),
        // api/types/role.go RoleV6.CheckAndSetDefaults "restrict wildcards"
        // (lib/services/role_test.go TestRoleParse: "wildcard matcher is not
        // allowed in logins", "selector *:<val> is not supported").
        ("kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  allow:\n    logins: [root, '*']\n", "wildcard matcher is not allowed in logins", Some((6, 13))),
        ("kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  allow:\n    node_labels: {'*': prod}\n", "selector *:<val> is not supported", Some((6, 18))),
        ("kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  allow:\n    node_labels:\n      '*': ['*', prod]\n", "selector *:<val> is not supported", Some((7, 7))),
        // locks
        ("kind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {}\n", "lock target is empty", Some((5, 11))),
        ("kind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target:\n", "lock target is empty", Some((5, 9))),
        // api/types/lock.go LockV2.CheckAndSetDefaults: "at least one target field must be set"
        ("kind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {user: '', login: ''}\n", "lock target is empty", Some((5, 11))),
        ("kind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  message: x\n", "missing field `target`", None),
        ("kind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {user: a}\n  expires: next tuesday\n", "invalid time \"next tuesday\"", Some((6, 12))),
        ("kind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {user: a}\n  expires: 2023-01-01\n", "RFC 3339", Some((6, 12))),
        // devices
        ("kind: mfa_device\nversion: v1\nmetadata: {name: k}\nspec:\n  user: jerry\n", "has no form", Some((1, 1))),
        ("kind: mfa_device\nversion: v1\nmetadata: {name: k}\nspec:\n  ssh_sk: {public_key: 'sk-ssh-ed25519@openssh.com AAAA x'}\n", "missing field `user`", None),
        ("kind: mfa_device\nversion: v1\nmetadata: {name: k}\nspec:\n  user: ' '\n  webauthn: {}\n", "must not be empty", Some((5, 9))),
        ("kind: mfa_device\nversion: v1\nmetadata: {name: k}\nspec:\n  user: jerry\n  ssh_sk:\n    public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x\n", "not a security key type", Some((7, 17))),
        ("kind: mfa_device\nversion: v1\nmetadata: {name: k}\nspec:\n  user: jerry\n  ssh_sk:\n    public_key: 'sk-ssh-ed25519@openssh.com AA*A'\n", "not valid base64", Some((7, 17))),
        ("kind: mfa_device\nversion: v1\nmetadata: {name: k}\nspec:\n  user: jerry\n  webauthn: {credential_id: x}\n  piv: {slot: 9a}\n", "several forms (webauthn, piv)", Some((1, 1))),
    ];
    for (text, fragment, pos) in cases {
        let e = err(text);
        assert!(e.message.contains(fragment), "{text:?}: {e}");
        assert_eq!(e.file, "b.yaml");
        assert!(e.line.is_some(), "{text:?}: {e}");
        if let Some((line, column)) = pos {
            assert_eq!(e.line, Some(*line), "{text:?}: {e}");
            // document-level errors have a line only
            if *fragment != "has no form" && !fragment.starts_with("several") {
                assert_eq!(e.column, Some(*column), "{text:?}: {e}");
            }
        }
    }
}

#[test]
fn duplicates_are_errors() {
    let r = role("r", "v7", "  allow:\n    logins: [a]");
    let cases: Vec<(String, &str)> = vec![
        (r.clone() + &r, "duplicate role \"r\" (first defined at b.yaml:2)"),
        (user("u", &[], &[]) + &user("u", &[], &[]), "duplicate user \"u\""),
        (cap("  type: local") + &cap("  type: local"), "a second cluster_auth_preference (the first is at b.yaml:2)"),
        (
            "---\nkind: lock\nversion: v2\nmetadata: {name: l}\nspec: {target: {user: a}}\n".repeat(2),
            "duplicate lock \"l\"",
        ),
        (
            format!("---\nkind: mfa_device\nversion: v1\nmetadata: {{name: k}}\nspec: {{user: a, ssh_sk: {{public_key: 'sk-ssh-ed25519@openssh.com {SK_BLOB_1}'}}}}\n---\nkind: mfa_device\nversion: v1\nmetadata: {{name: k}}\nspec: {{user: a, ssh_sk: {{public_key: 'sk-ssh-ed25519@openssh.com {SK_BLOB_2}'}}}}\n"),
            "duplicate mfa_device \"k\" of user \"a\"",
        ),
        (
            format!("---\nkind: mfa_device\nversion: v1\nmetadata: {{name: k1}}\nspec: {{user: a, ssh_sk: {{public_key: 'sk-ssh-ed25519@openssh.com {SK_BLOB_1} one'}}}}\n---\nkind: mfa_device\nversion: v1\nmetadata: {{name: k2}}\nspec: {{user: b, ssh_sk: {{public_key: 'sk-ssh-ed25519@openssh.com {SK_BLOB_1} two'}}}}\n"),
            "this ssh_sk key is already registered at b.yaml:2",
        ),
    ];
    for (text, fragment) in cases {
        let e = err(&text);
        assert!(e.message.contains(fragment), "{e}");
        // positioned at the second document
        let second = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("kind:"))
            .nth(1)
            .map(|(i, _)| i as u64 + 1);
        assert_eq!(e.line, second, "{e}");
    }
    // Same-named devices of different users are fine.
    let text = "---\nkind: mfa_device\nversion: v1\nmetadata: {name: yubikey}\nspec: {user: a, webauthn: {}}\n---\nkind: mfa_device\nversion: v1\nmetadata: {name: yubikey}\nspec: {user: b, webauthn: {}}\n";
    assert_eq!(bundle(text).devices().len(), 2);
}
