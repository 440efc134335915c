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
//! (Teleport's `client_idle_timeout` is `idle`'s: it needs the terminal.)
//! Nothing else ends a
//! session: a role change, a deny rule or a removed user that would refuse
//! a new login leaves the open session alone, as Teleport's monitor does:
//! access is checked when a session starts. A raised MFA requirement does
//! not end it either.

use std::time::SystemTime;

use super::session::Session;
use crate::policy::{
    apply_locks, decide, decide_with_identity, expired_certificate_ends, Bundle, Decision,
    LockHolder, LoginQuery, NodeInfo, SessionTerms,
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
/// certificate's end under `disconnect_expired_cert`. A known person's
/// session is judged by its terms fixed at its start ([`by_start_terms`]).
pub fn end_reason(
    bundle: &Bundle,
    node: &NodeInfo,
    s: &Session,
    now: SystemTime,
    lock_view_stale: bool,
) -> Option<String> {
    if let Some(terms) = s.terms.filter(|_| s.user.is_some() || s.identity.is_some()) {
        return by_start_terms(bundle, node, s, terms, now, lock_view_stale);
    }
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
            d.locked_candidates_named()
        ));
    }
    let identity = s.identity.as_ref()?;
    let q = query(node, s, now, lock_view_stale);
    expired_certificate_ends(bundle, &q, identity).map(|why| format!("certificate expired: {why}"))
}

/// Teleport's monitor as configured when the session started
/// (`MonitorConfig`): the lock targets then (the person, the login, this
/// node, the roles held then, the devices and access requests of the
/// certificate, the MFA device used), the locking mode then, and the
/// certificate's end if `disconnect_expired_cert` held then. Roles granted,
/// taken away or changed since change none of them.
fn by_start_terms(
    bundle: &Bundle,
    node: &NodeInfo,
    s: &Session,
    terms: SessionTerms,
    now: SystemTime,
    lock_view_stale: bool,
) -> Option<String> {
    let q = query(node, s, now, false);
    let mut roles: Vec<std::sync::Arc<str>> =
        s.lock_roles.iter().map(|r| r.as_str().into()).collect();
    for role in s.identity.iter().flat_map(|u| u.roles.iter()) {
        if !roles.contains(role) {
            roles.push(role.clone());
        }
    }
    let holder = LockHolder {
        user: q.user,
        roles: &roles,
        ..s.identity.as_ref().map(LockHolder::of).unwrap_or_default()
    };
    let mut d = Decision::unlocked();
    apply_locks(bundle, &q, holder, &mut d);
    if d.locked {
        let message = d.lock_message.as_deref();
        return Some(format!(
            "locked: {}",
            message.unwrap_or("a lock in force matches")
        ));
    }
    if lock_view_stale && terms.strict {
        return Some(
            "locked: the cluster's locks cannot be confirmed and the session's locking mode is strict"
                .to_owned(),
        );
    }
    let end = terms.ends_at.filter(|end| *end <= now)?;
    let ago = now.duration_since(end).unwrap_or_default().as_secs();
    Some(format!(
        "certificate expired: it ended {ago}s ago and disconnect_expired_cert was set when the session started"
    ))
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
#[path = "assess_tests.rs"]
mod tests;
