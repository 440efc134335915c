//! Ending live sessions: locks, stale lock views, certificates, terms fixed
//! at the start.

use super::*;
use crate::policy::{load_bundle_str, User};
use crate::sessions::registry::tests::session;
use std::collections::BTreeMap;
use std::time::Duration;

const BASE: &str = r#"
kind: role
version: v7
metadata: { name: access-prod }
spec:
  allow:
    node_labels: { env: prod }
    logins: ["{{internal.logins}}"]
---
kind: role
version: v7
metadata: { name: access-dev }
spec:
  allow:
    node_labels: { env: dev }
    logins: ["{{internal.logins}}"]
---
kind: user
version: v2
metadata: { name: jerry }
spec:
  roles: [access-prod]
  traits: { logins: [jerry] }
---
kind: user
version: v2
metadata: { name: tom }
spec:
  roles: [access-prod]
  traits: { logins: [tom] }
"#;

fn node() -> NodeInfo {
    NodeInfo {
        name: "prod3".into(),
        id: None,
        labels: BTreeMap::from([("env".to_string(), "prod".to_string())]),
    }
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn with(extra: &str) -> Bundle {
    load_bundle_str(&format!("{BASE}---\n{extra}"), "t.yaml").unwrap()
}

fn lock(target: &str, expires: Option<&str>) -> String {
    let exp = expires
        .map(|e| format!("  expires: \"{e}\"\n"))
        .unwrap_or_default();
    format!("kind: lock\nversion: v2\nmetadata: {{ name: l }}\nspec:\n  target: {target}\n  message: go away\n{exp}")
}

fn sessions() -> Vec<Session> {
    let mut j = session(10, 10, "jerry");
    j.id = "j".into();
    j.device = Some("dev-j".into());
    let mut t = session(11, 11, "tom");
    t.id = "t".into();
    vec![j, t]
}

fn ids(b: &Bundle) -> Vec<String> {
    select(b, &node(), &sessions(), now(), false)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn locks_end_only_what_they_target() {
    let base = load_bundle_str(BASE, "t.yaml").unwrap();
    assert!(ids(&base).is_empty());
    assert_eq!(ids(&with(&lock("{ user: jerry }", None))), ["j"]);
    assert_eq!(ids(&with(&lock("{ login: tom }", None))), ["t"]);
    assert_eq!(ids(&with(&lock("{ node: prod3 }", None))), ["j", "t"]);
    assert!(ids(&with(&lock("{ node: prod4 }", None))).is_empty());
    assert_eq!(ids(&with(&lock("{ role: access-prod }", None))), ["j", "t"]);
    assert_eq!(ids(&with(&lock("{ mfa_device: dev-j }", None))), ["j"]);
    // Expired: no longer in force.
    assert!(ids(&with(&lock(
        "{ user: jerry }",
        Some("2020-01-01T00:00:00Z")
    )))
    .is_empty());
    assert_eq!(
        ids(&with(&lock(
            "{ user: jerry }",
            Some("2099-01-01T00:00:00Z")
        ))),
        ["j"]
    );
    let (_, why) = &select(
        &with(&lock("{ user: jerry }", None)),
        &node(),
        &sessions(),
        now(),
        false,
    )[0];
    assert!(why.starts_with("locked: go away"), "{why}");
}

/// A session whose person was never shown, on a login two users may
/// have: a lock on either ends it (the person could be them).
#[test]
fn a_lock_on_whom_an_unshown_person_could_be_ends_the_session() {
    let ops = "kind: role\nversion: v7\nmetadata: { name: ops }\nspec:\n  allow:\n    node_labels: { env: prod }\n    logins: [deploy]\n---\nkind: user\nversion: v2\nmetadata: { name: ann }\nspec: { roles: [ops] }\n---\nkind: user\nversion: v2\nmetadata: { name: ben }\nspec: { roles: [ops] }\n";
    let mut s = session(12, 12, "deploy");
    s.user = None;
    let end = |extra: &str| end_reason(&with(&(ops.to_owned() + extra)), &node(), &s, now(), false);
    assert_eq!(end(""), None);
    let why = end(&format!("---\n{}", lock("{ user: ben }", None))).unwrap();
    assert!(why.contains("ben"), "{why}");
}

/// Teleport's monitor (lib/srv/monitor.go) ends a session on a lock,
/// a strict stale lock view or its certificate's end, never because a
/// new login would now be refused: a role change, a deny rule or a
/// removed user leave the open session alone (new logins are refused).
#[test]
fn a_role_change_that_removes_access_leaves_the_session() {
    let moved = BASE.replace(
        "metadata: { name: tom }\nspec:\n  roles: [access-prod]",
        "metadata: { name: tom }\nspec:\n  roles: [access-dev]",
    );
    let denied = format!(
        "{BASE}---\nkind: role\nversion: v7\nmetadata: {{ name: no-prod }}\nspec:\n  deny:\n    node_labels: {{ env: prod }}\n"
    )
    .replace("roles: [access-prod]", "roles: [access-prod, no-prod]");
    let removed = BASE.replace("metadata: { name: tom }", "metadata: { name: tim }");
    for text in [moved, denied, removed] {
        let b = load_bundle_str(&text, "t.yaml").unwrap();
        let tom = &sessions()[1];
        assert!(!decision(&b, &node(), tom, now(), false).is_allowed());
        assert_eq!(select(&b, &node(), &sessions(), now(), false), []);
    }
}

/// Teleport's `RoleSet.LockingMode` per person: on a stale lock view
/// only the sessions whose locking mode is strict end.
#[test]
fn a_stale_lock_view_ends_only_strict_sessions() {
    let cap = |mode: &str| {
        format!("kind: cluster_auth_preference\nversion: v2\nmetadata: {{ name: cluster-auth-preference }}\nspec: {{ locking_mode: {mode} }}\n")
    };
    let stale = |b: &Bundle| -> Vec<String> {
        select(b, &node(), &sessions(), now(), true)
            .into_iter()
            .map(|(id, why)| {
                assert!(why.starts_with("locked: this host cannot confirm"), "{why}");
                id
            })
            .collect()
    };
    assert!(stale(&with(&cap("best_effort"))).is_empty());
    assert_eq!(stale(&with(&cap("strict"))), ["j", "t"]);
    // tom's role says best_effort: his session stays.
    let text = BASE
        .replacen(
            "metadata: { name: access-dev }\nspec:\n",
            "metadata: { name: access-dev }\nspec:\n  options: { lock: best_effort }\n",
            1,
        )
        .replace(
            "metadata: { name: tom }\nspec:\n  roles: [access-prod]",
            "metadata: { name: tom }\nspec:\n  roles: [access-prod, access-dev]",
        );
    let b = load_bundle_str(&format!("{text}---\n{}", cap("strict")), "t.yaml").unwrap();
    assert_eq!(stale(&b), ["j"]);
}

/// A certificate's session under `disconnect_expired_cert` ends at the
/// certificate's hard deadline, not before.
#[test]
fn an_expired_certificate_ends_its_session_under_disconnect_expired_cert() {
    let text = BASE.replacen(
        "metadata: { name: access-prod }\nspec:\n",
        "metadata: { name: access-prod }\nspec:\n  options: { disconnect_expired_cert: true }\n",
        1,
    );
    let b = load_bundle_str(&text, "t.yaml").unwrap();
    let mut s = session(12, 12, "ops");
    s.identity = Some(
        User {
            name: "carol".into(),
            roles: ["access-prod".into()].into(),
            traits: crate::policy::Traits::from([("logins", &["ops"][..])]),
            ..Default::default()
        }
        .with_certificate(|c| c.cert_expires = Some(now() + Duration::from_secs(60))),
    );
    assert_eq!(end_reason(&b, &node(), &s, now(), false), None);
    let later = now() + Duration::from_secs(60);
    let why = end_reason(&b, &node(), &s, later, false).unwrap();
    assert!(why.contains("disconnect_expired_cert"), "{why}");
    // Without the option the session outlives its certificate.
    let b = load_bundle_str(BASE, "t.yaml").unwrap();
    assert_eq!(end_reason(&b, &node(), &s, later, false), None);
}

/// An account locked after failed attempts cannot log in again, but
/// its live sessions go on (Teleport's `WithUserLock` stops
/// authentication only).
#[test]
fn a_login_locked_user_keeps_live_sessions() {
    let text = BASE.replacen(
        "metadata: { name: jerry }\nspec:\n",
        "metadata: { name: jerry }\nspec:\n  status: { is_locked: true, lock_expires: \"2030-01-01T00:00:00Z\" }\n",
        1,
    );
    let b = load_bundle_str(&text, "t.yaml").unwrap();
    assert_eq!(end_reason(&b, &node(), &sessions()[0], now(), false), None);
    let q = LoginQuery {
        node: &node(),
        login: "jerry",
        user: Some("jerry"),
        class: crate::policy::ServiceClass::Ssh,
        mfa_device: None,
        now: now(),
        lock_view_stale: false,
    };
    assert!(!decide(&b, &q).is_allowed());
}

#[test]
fn ending_sessions_are_not_selected_again() {
    let b = with(&lock("{ user: jerry }", None));
    let mut s = sessions();
    s[0].ending = Some("locked".into());
    assert!(select(&b, &node(), &s, now(), false).is_empty());
}

#[test]
fn a_certificate_identity_decides_with_its_own_roles() {
    let b = load_bundle_str(BASE, "t.yaml").unwrap();
    let mut s = session(12, 12, "ops");
    s.id = "c".into();
    s.user = Some("carol".into());
    s.identity = Some(User {
        name: "carol".into(),
        roles: ["access-prod".into()].into(),
        traits: crate::policy::Traits::from([("logins", &["ops"][..])]),
        ..Default::default()
    });
    assert_eq!(end_reason(&b, &node(), &s, now(), false), None);
    // Its roles no longer allow a login here: the session stays.
    s.identity.as_mut().unwrap().roles = ["access-dev".into()].into();
    assert_eq!(end_reason(&b, &node(), &s, now(), false), None);
    // A lock on the certificate's user ends it too.
    s.identity.as_mut().unwrap().roles = ["access-prod".into()].into();
    let locked = with(&lock("{ user: carol }", None));
    assert!(end_reason(&locked, &node(), &s, now(), false)
        .unwrap()
        .starts_with("locked"));
}

/// Teleport configures a session's monitor once, when it starts
/// (`MonitorConfig` in `NewServerContext`): the roles held then are its
/// lock targets, its locking mode is theirs, and `disconnect_expired_cert`
/// is read then. Changes to the roles afterwards change none of these.
#[test]
fn a_known_persons_session_keeps_the_terms_of_its_start() {
    let at_start = load_bundle_str(BASE, "t.yaml").unwrap();
    let mut s = sessions().remove(0); // jerry, role access-prod
    s.lock_roles = vec!["access-prod".into()];
    s.terms = Some(SessionTerms {
        strict: false,
        ends_at: None,
        idle_timeout: None,
    });
    // Since the start, jerry was given access-dev, a strict role that
    // disconnects on expired certificates; and access-dev is locked.
    let granted = BASE.replacen(
        "  roles: [access-prod]\n  traits: { logins: [jerry] }",
        "  roles: [access-prod, access-dev]\n  traits: { logins: [jerry] }",
        1,
    );
    let strict_dev = granted.replacen(
        "metadata: { name: access-dev }\nspec:\n",
        "metadata: { name: access-dev }\nspec:\n  options: { lock: strict }\n",
        1,
    );
    let later = load_bundle_str(
        &format!("{strict_dev}---\n{}", lock("{ role: access-dev }", None)),
        "t.yaml",
    )
    .unwrap();
    assert_eq!(
        end_reason(&later, &node(), &s, now(), false),
        None,
        "a lock on a role granted since"
    );
    assert_eq!(
        end_reason(&later, &node(), &s, now(), true),
        None,
        "best-effort at its start"
    );
    // Its start's role is still a lock target, and a strict start ends it
    // on a stale view whatever the roles say now.
    let locked = with(&lock("{ role: access-prod }", None));
    assert!(end_reason(&locked, &node(), &s, now(), false).is_some());
    s.terms = Some(SessionTerms {
        strict: true,
        ends_at: Some(now() + Duration::from_secs(60)),
        idle_timeout: None,
    });
    assert!(end_reason(&at_start, &node(), &s, now(), true).is_some());
    // The certificate's end fixed at the start ends it, whatever the
    // options say now.
    let at_end = now() + Duration::from_secs(60);
    let why = end_reason(&at_start, &node(), &s, at_end, false).unwrap();
    assert!(why.starts_with("certificate expired"), "{why}");
}

/// What `open_session` fixes: the locking mode of the person's roles then
/// and, under disconnect_expired_cert, the certificate's end.
#[test]
fn the_terms_come_from_the_roles_at_the_start() {
    let strict = BASE.replacen(
        "metadata: { name: access-prod }\nspec:\n",
        "metadata: { name: access-prod }\nspec:\n  options: { lock: strict, disconnect_expired_cert: true }\n",
        1,
    );
    let b = load_bundle_str(&strict, "t.yaml").unwrap();
    let jerry = b.users().get("jerry").unwrap();
    assert_eq!(
        crate::policy::session_terms(&b, jerry, now()),
        SessionTerms {
            strict: true,
            ends_at: None,
            idle_timeout: None,
        },
        "no certificate: nothing ends it"
    );
    let end = now() + Duration::from_secs(600);
    let carol = User {
        name: "carol".into(),
        roles: ["access-prod".into()].into(),
        ..Default::default()
    }
    .with_certificate(|c| c.cert_expires = Some(end));
    assert_eq!(
        crate::policy::session_terms(&b, &carol, now()),
        SessionTerms {
            strict: true,
            ends_at: Some(end),
            idle_timeout: None,
        }
    );
    let plain = load_bundle_str(BASE, "t.yaml").unwrap();
    assert_eq!(
        crate::policy::session_terms(&plain, &carol, now()),
        SessionTerms {
            strict: false,
            ends_at: None,
            idle_timeout: None,
        }
    );
}
