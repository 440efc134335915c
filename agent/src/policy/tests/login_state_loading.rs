//! `user_login_state` documents: read as `tctl get user_login_state`
//! prints them (YAML) and as the publisher writes them (a JSON array),
//! applied to the user of the same name (Teleport's
//! `services.GetUserOrLoginState`), and refused when malformed.

use std::sync::Arc;

use super::support::{bundle, role, user, warnings_beside_missing_cap};
use crate::policy::{load_bundle_str, PolicyError, Traits};

/// What tctl prints for a login state (tool/tctl/common/resources/
/// user_login_state.go marshals `userloginstate.UserLoginState`: the
/// header, then `original_roles`, `original_traits`, `roles`, `traits`,
/// `user_type`).
pub(super) fn login_state(name: &str, roles: &[&str], logins: &[&str]) -> String {
    let list = |v: &[&str]| v.iter().map(|s| format!("\n    - {s}")).collect::<String>();
    format!(
        "---\nkind: user_login_state\nmetadata:\n  expires: \"0001-01-01T00:00:00Z\"\n  labels:\n    teleport.dev/origin: okta\n  name: {name}\n  revision: 4f1c2a\nspec:\n  original_roles:\n  - dev\n  original_traits:\n    logins:\n    - ignored\n  roles:{}\n  traits:\n    logins:{}\n  user_type: sso\nversion: v1\n",
        list(roles).replace("\n    ", "\n  "),
        list(logins)
    )
}

fn err(text: &str) -> PolicyError {
    match load_bundle_str(text, "b.yaml") {
        Ok(b) => panic!("loaded, but should not have: {b:?}"),
        Err(e) => e,
    }
}

fn names(roles: &[Arc<str>]) -> Vec<&str> {
    roles.iter().map(|r| &**r).collect()
}

const ROLES: &str = "  allow:\n    logins: [ubuntu]";

#[test]
fn a_login_state_gives_its_user_roles_and_traits() {
    let text = role("dev", "v7", ROLES)
        + &role("prod", "v7", ROLES)
        + &user("alice", &["dev"], &["alice"])
        + &login_state("alice", &["dev", "prod"], &["alice", "ops"]);
    let b = bundle(&text);
    let alice = &b.users()["alice"];
    assert_eq!(names(&alice.roles), ["dev", "prod"]);
    assert_eq!(alice.logins().to_vec(), ["alice", "ops"]);
    let origin = alice.login_state.as_deref().expect("from the login state");
    assert_eq!(
        origin.user_resource_roles.as_deref().map(names),
        Some(vec!["dev"])
    );
    assert_eq!(origin.expires, None, "Go's zero time is no expiry");
    assert!(
        warnings_beside_missing_cap(&b).is_empty(),
        "{:?}",
        b.warnings
    );

    // The login state first, in another file of the same load: the same.
    let sources = [
        (
            "a.yaml".to_owned(),
            login_state("alice", &["dev", "prod"], &["alice", "ops"]),
        ),
        (
            "b.yaml".to_owned(),
            role("dev", "v7", ROLES)
                + &role("prod", "v7", ROLES)
                + &user("alice", &["dev"], &["alice"]),
        ),
    ];
    let other = crate::policy::load_bundle_sources(&sources).unwrap();
    assert_eq!(other.users()["alice"], *alice);
}

/// The publisher's form: one resource a line, `kind` first.
#[test]
fn the_publishers_json_reads_as_the_yaml() {
    let json = r#"[
{"kind":"role","version":"v7","metadata":{"name":"dev"},"spec":{"allow":{"logins":["ubuntu"]}}},
{"kind":"role","version":"v7","metadata":{"name":"prod"},"spec":{"allow":{"logins":["ubuntu"]}}},
{"kind":"user","version":"v2","metadata":{"name":"alice"},"spec":{"roles":["dev"],"traits":{"logins":["alice"]}}},
{"kind":"user_login_state","version":"v1","metadata":{"name":"alice","expires":"0001-01-01T00:00:00Z"},"spec":{"roles":["dev","prod"],"traits":{"logins":["alice","ops"]}}},
{"version":"v1","kind":"user_login_state","metadata":{"name":"bob"},"spec":{"roles":["prod"],"traits":null}}
]
"#;
    let b = load_bundle_str(json, "p.json").unwrap();
    let yaml = role("dev", "v7", ROLES)
        + &role("prod", "v7", ROLES)
        + &user("alice", &["dev"], &["alice"])
        + &login_state("alice", &["dev", "prod"], &["alice", "ops"]);
    assert_eq!(b.users()["alice"], bundle(&yaml).users()["alice"]);
    // A state with no user resource is a user of its own, marked so.
    let bob = &b.users()["bob"];
    assert_eq!(names(&bob.roles), ["prod"]);
    assert!(bob.has_login_state_only() && bob.traits == Traits::default());
    assert!(!b.users()["alice"].has_login_state_only());
}

#[test]
fn missing_roles_are_warned_at_the_login_state() {
    let text = role("dev", "v7", ROLES)
        + &user("alice", &["dev"], &[])
        + &login_state("alice", &["dev", "gone"], &[]);
    let b = bundle(&text);
    let at = text
        .lines()
        .position(|l| l == "kind: user_login_state")
        .unwrap()
        + 1;
    assert_eq!(
        warnings_beside_missing_cap(&b),
        [format!(
            "test.yaml:{at}: user_login_state \"alice\" has role \"gone\", which is not in the bundle"
        )]
    );
}

/// Teleport's `UnmarshalUserLoginState`: `roles` is a `[]string` and
/// `traits` a `map[string][]string`; the header needs a name. A version
/// other than v1 is one this agent does not know.
#[test]
fn malformed_login_states_are_errors_at_their_place() {
    let head = "kind: user_login_state\nversion: v1\nmetadata: {name: alice}\n";
    let cases: &[(String, &str, u64)] = &[
        (
            format!("{head}spec:\n  roles: prod\n"),
            "expected sequence",
            5,
        ),
        (
            format!("{head}spec:\n  roles: [dev]\n  traits:\n    logins: alice\n"),
            "expected sequence",
            7,
        ),
        (
            format!("{head}spec:\n  traits: [logins]\n"),
            "expected mapping",
            5,
        ),
        (
            "kind: user_login_state\nversion: v2\nmetadata: {name: a}\n".to_owned(),
            "unsupported resource version \"v2\"",
            2,
        ),
        (
            "kind: user_login_state\nmetadata: {name: a}\n".to_owned(),
            "missing field `version`",
            2,
        ),
        (
            "kind: user_login_state\nversion: v1\nmetadata: {name: ''}\n".to_owned(),
            "must not be empty",
            3,
        ),
    ];
    for (text, fragment, line) in cases {
        let e = err(text);
        assert!(e.message.contains(fragment), "{text}: {e}");
        assert_eq!(
            (e.file.as_str(), e.line),
            ("b.yaml", Some(*line)),
            "{text}: {e}"
        );
    }
    let json = r#"[{"kind":"user_login_state","version":"v1","metadata":{"name":"a"},"spec":{"roles":"prod"}}]"#;
    let e = load_bundle_str(json, "p.json").unwrap_err();
    assert!(e.message.contains("invalid type"), "{e}");
    assert_eq!(e.line, Some(1), "{e}");
}

/// Two states of one user, as two users of one name: refused, naming the
/// first.
#[test]
fn a_second_login_state_of_a_user_is_an_error() {
    let one = login_state("alice", &["dev"], &[]);
    let text = role("dev", "v7", ROLES) + &one + &one;
    let e = err(&text);
    let first = text
        .lines()
        .position(|l| l == "kind: user_login_state")
        .unwrap()
        + 1;
    assert!(
        e.message.contains(&format!(
            "duplicate user_login_state \"alice\" (first defined at b.yaml:{first})"
        )),
        "{e}"
    );
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "kind: user_login_state")
        .nth(1)
        .map(|(i, _)| i as u64 + 1);
    assert_eq!(e.line, second, "{e}");
}

/// A bundle of login states alone is not an empty bundle.
#[test]
fn a_bundle_of_login_states_alone_loads() {
    let b = bundle(&login_state("alice", &["dev"], &[]));
    assert!(b.users()["alice"].has_login_state_only());
}
