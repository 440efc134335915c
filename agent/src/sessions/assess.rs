//! Whether a live session ends, as Teleport's session monitor decides it
//! (lib/srv/monitor.go `StartMonitor` and `Monitor.start`): only
//! - a lock in force that matches the session (on user, login, node, role,
//!   mfa_device, device, access request; expired locks do not count),
//! - a lock view that is not known to be current, when the session's
//!   locking mode is strict (Teleport's `OpUnreliable` under
//!   `LockingModeStrict`),
//! - its certificate's end under `disconnect_expired_cert`
//!   (`disconnectClientOnExpiredCert`).
//!
//! (Teleport's idle timeout is sshd's business here.) Nothing else ends a
//! session: a role change, a deny rule or a removed user that would refuse
//! a new login leaves the open session alone, as Teleport's monitor does:
//! access is checked when a session starts. A raised MFA requirement does
//! not end it either.

use std::time::SystemTime;

use super::session::Session;
use crate::policy::{
    apply_locks, decide, decide_with_identity, expired_certificate_ends, Bundle, Decision,
    LockHolder, LoginQuery, NodeInfo,
};

fn query<'a>(
    node: &'a NodeInfo,
    s: &'a Session,
    now: SystemTime,
    lock_view_stale: bool,
) -> LoginQuery<'a> {
    LoginQuery {
        node,
        login: &s.login,
        user: s
            .identity
            .as_ref()
            .map(|u| u.name.as_str())
            .or(s.user.as_deref()),
        class: s.class,
        mfa_device: s.device.as_deref(),
        now,
        lock_view_stale,
    }
}

/// The decision a new login of the session's identity would get under
/// `bundle` at `now`, with the locks that hold the session's own roles.
pub fn decision(
    bundle: &Bundle,
    node: &NodeInfo,
    s: &Session,
    now: SystemTime,
    lock_view_stale: bool,
) -> Decision {
    let q = query(node, s, now, lock_view_stale);
    let mut d = match &s.identity {
        Some(u) => decide_with_identity(bundle, &q, u),
        None => decide(bundle, &q),
    };
    if !s.lock_roles.is_empty() {
        let roles: Vec<std::sync::Arc<str>> =
            s.lock_roles.iter().map(|r| r.as_str().into()).collect();
        // The certificate's device and access requests, with the roles
        // the session was opened with.
        let holder = LockHolder {
            user: q.user,
            roles: &roles,
            ..s.identity.as_ref().map(LockHolder::of).unwrap_or_default()
        };
        apply_locks(bundle, &q, holder, &mut d);
    }
    d
}

/// `Some(reason)` when the session must end under `bundle` at `now`: a
/// matching lock (or a stale lock view under strict locking), or its
/// certificate's end under `disconnect_expired_cert`.
pub fn end_reason(
    bundle: &Bundle,
    node: &NodeInfo,
    s: &Session,
    now: SystemTime,
    lock_view_stale: bool,
) -> Option<String> {
    let d = decision(bundle, node, s, now, lock_view_stale);
    if d.locked {
        return Some(format!(
            "locked: {}",
            d.lock_message
                .as_deref()
                .unwrap_or("a lock in force matches")
        ));
    }
    // A session whose person was never shown (no tap, key or certificate
    // told them apart): a lock on one of those it could be ends it, as a
    // new login would have to show it is not theirs.
    if !d.locked_candidates.is_empty() {
        return Some(format!(
            "locked: a lock holds {}, whom this session's person could be",
            d.locked_candidates.join(", ")
        ));
    }
    let identity = s.identity.as_ref()?;
    let q = query(node, s, now, lock_view_stale);
    expired_certificate_ends(bundle, &q, identity).map(|why| format!("certificate expired: {why}"))
}

/// The sessions to end, with why: those not already ending that a lock
/// holds or whose certificate has ended (see [`end_reason`]).
pub fn select(
    bundle: &Bundle,
    node: &NodeInfo,
    sessions: &[Session],
    now: SystemTime,
    lock_view_stale: bool,
) -> Vec<(String, String)> {
    sessions
        .iter()
        .filter(|s| s.ending.is_none())
        .filter_map(|s| {
            end_reason(bundle, node, s, now, lock_view_stale).map(|why| (s.id.clone(), why))
        })
        .collect()
}

#[cfg(test)]
mod tests {
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
        let end =
            |extra: &str| end_reason(&with(&(ops.to_owned() + extra)), &node(), &s, now(), false);
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
}
