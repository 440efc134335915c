//! Stage 2 of a decision: what the policy requires of this login, for the
//! person stage 1 found (or, not known, for the login alone: see
//! `policy::decide`), and the verdict before any evidence counts.

use super::verdict::Verdict;
use super::who::Presented;
use crate::policy::ServiceClass;
use crate::policy::{
    apply_locks, decide, decide_with_identity, Access, Bundle, Decision, LockHolder, LoginQuery,
};
use crate::state::AgentState;

/// The policy's decision for this login and what was presented.
pub(super) fn required(
    state: &AgentState,
    bundle: &Bundle,
    class: ServiceClass,
    login: &str,
    who: &Presented<'_>,
) -> Decision {
    let q = LoginQuery {
        node: &state.node,
        login,
        user: who.person(),
        class,
        mfa_device: who
            .device()
            .map(|d| &*d.id)
            .or(who.cert.as_ref().and_then(|c| c.mfa_verified.as_deref())),
        now: state.now(),
        lock_view_stale: state.lock_view_stale(),
    };
    let mut d = match &who.cert_user {
        Some(u) => decide_with_identity(bundle, &q, u),
        None => decide(bundle, &q),
    };
    if let Some(c) = who.cert.as_ref().filter(|c| !c.unmapped_roles.is_empty()) {
        let roles: Vec<std::sync::Arc<str>> =
            c.unmapped_roles.iter().map(|r| r.as_str().into()).collect();
        let holder = LockHolder {
            user: Some(&c.key_id),
            roles: &roles,
            device: c.device_id.as_deref(),
            cert_mfa_device: c.mfa_verified.as_deref(),
            access_requests: &c.active_requests,
            bot: c.bot,
            bot_instance_id: c.bot_instance_id.as_deref(),
            join_token_sha256: c.join_token_sha256.as_deref(),
            ..LockHolder::default()
        };
        apply_locks(bundle, &q, holder, &mut d);
    }
    d
}

/// The verdict of the decision alone: denied (with the message a person
/// reads), allowed when nothing is required, else not yet allowed.
pub(super) fn first_verdict(
    state: &AgentState,
    login: &str,
    d: &Decision,
    who: &Presented<'_>,
) -> Verdict {
    let node = &state.node.name;
    let mut v = Verdict {
        allow: false,
        message: String::new(),
        user: d.user.clone(),
        requirement: Some(d.requirement),
        evidence: None,
        device: who.device().map(|d| d.id.to_string()),
        reason: d.reasons.join("; "),
        tap_users: Vec::new(),
        identity: who.cert_user.clone(),
        lock_roles: who
            .cert
            .as_ref()
            .map(|c| c.unmapped_roles.clone())
            .unwrap_or_default(),
        connection_key: None,
        tries_spent: false,
    };
    if d.access == Access::Deny {
        // Several cluster users (a shared login): none of them may.
        let who = match (&d.user, d.known_user) {
            (Some(u), _) => u.clone(),
            (None, true) => "any of its cluster users".to_string(),
            (None, false) => login.to_string(),
        };
        v.message = if d.locked {
            let why = d
                .lock_message
                .clone()
                .unwrap_or_else(|| "locked by the cluster".into());
            format!("pam-mfa: access for {who} as {login} on {node} is locked: {why}")
        } else {
            format!(
                "pam-mfa: the cluster policy does not allow {who} to log in as {login} on {node}"
            )
        };
    } else if d.requirement.is_off() {
        v.allow = true;
        v.evidence = Some("none needed".into());
    }
    v
}
