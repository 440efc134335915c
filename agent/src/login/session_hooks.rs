//! `open_session` and `close_session`: the agent's record of live sessions.
//!
//! `open_session` re-checks access under the current policy (deny roles,
//! allow roles, locks): a login locked or no longer allowed since it
//! authenticated gets no session (PAM_SESSION_ERR). It does not ask for MFA
//! again: `auth`/`account` prove it; the session records what they proved
//! (the login key, a certificate, or the tap's grant); the login key is the
//! one sshd named to `auth`/`account` of the same process, never
//! `SSH_AUTH_INFO_0` from the PAM environment at session time (see
//! [`super::recorded_auth`]). From a root peer
//! (sshd's monitor, sudo, login) the session is registered under the
//! peer's pid and start time; a non-root peer (a screen locker) starts no
//! new login, so it gets the same access check and nothing is registered.
//!
//! `close_session` removes the peer's session and always allows: logout is
//! never refused.

use std::sync::Arc;

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::opening::{open_decision, Opened};
use super::recorded_auth::session_context;
use super::verdict::{finish, PeerIds, Verdict};
use crate::audit::AuditEvent;
use crate::policy::{session_terms, Bundle, Decision, SessionTerms};
use crate::sessions::{decision, identify, session_event, Session};
use crate::state::AgentState;

pub(super) fn open_session(state: &AgentState, peer: PeerIds, ctx: &PamContext) -> ResponseBody {
    // Never SSH_AUTH_INFO_0 from the PAM environment (pam_env may have set
    // it from the user's file): what auth/account recorded for this process.
    let ctx = &session_context(state, peer, ctx);
    let Opened {
        class,
        login,
        ev,
        bundle,
        ctx,
        v,
    } = match open_decision(state, peer, PamHook::OpenSession, ctx, "session") {
        Ok(opened) => opened,
        Err(refused) => return *refused,
    };
    let ctx = ctx.as_ref();
    if !v.allow && v.requirement.is_none() {
        // Refused before any policy applied (a certificate not accepted,
        // keys of several users): no session either.
        return finish(state, ev, v);
    }
    let (person, evidence, device) = proved(state, peer, ctx, &login, &v);
    let counted = crate::ipc::session_person(peer.pid, Some(class), ctx);
    let leader = identify(peer.pid);
    let session = Session {
        id: String::new(),
        leader: leader.unwrap_or(crate::sessions::ProcId {
            pid: peer.pid,
            start: 0,
        }),
        account: ctx.user.clone(),
        login: login.clone(),
        class,
        user: person.clone(),
        person: counted.to_string(),
        keys_account: counted.keys_account(),
        identity: v.identity.clone(),
        lock_roles: roles_at_start(&bundle, &v, person.as_deref()),
        terms: terms_at_start(state, &bundle, &v, person.as_deref()),
        device: device.clone(),
        evidence: evidence.clone(),
        service: ctx.service.clone(),
        tty: ctx.tty.clone(),
        rhost: ctx.rhost.clone(),
        opened: state.now(),
        ending: None,
    };
    let d = decision(
        &bundle,
        &state.node,
        &session,
        state.now(),
        state.lock_view_stale(),
    );
    let mut out = session_verdict(&d, &v, person, evidence, device);
    if !out.allow {
        out.message = refusal(state, &login, &d);
        return finish(state, ev, out);
    }
    if peer.uid != 0 {
        out.reason = format!(
            "{}; session not registered: peer uid {} is not root",
            out.reason, peer.uid
        );
        return finish(state, ev, out);
    }
    if leader.is_none() {
        out.allow = false;
        out.message = "pam-mfa: the session could not be registered".into();
        out.reason = format!("{}; process {} is not in /proc", out.reason, peer.pid);
        return finish(state, ev, out);
    }
    register(state, ev, out, session, &bundle)
}

/// The verdict on opening a session, from the session's own decision `d`:
/// `v` is the login's, and `person`, `evidence` and `device` what it proved.
fn session_verdict(
    d: &Decision,
    v: &Verdict,
    person: Option<String>,
    evidence: String,
    device: Option<String>,
) -> Verdict {
    Verdict {
        // A session whose person was not shown is refused when one of those
        // it could be is locked (see `sessions::end_reason`).
        allow: d.is_allowed() && d.locked_candidates.is_empty(),
        message: String::new(),
        user: d.user.clone().or(person),
        requirement: v.requirement,
        evidence: Some(evidence),
        device,
        reason: d.reasons.join("; "),
        tap_users: Vec::new(),
        identity: None,
        lock_roles: Vec::new(),
        connection_key: None,
        tries_spent: false,
    }
}

/// Puts an allowed session in the registry, and judges it again when a
/// policy was installed meanwhile.
fn register(
    state: &AgentState,
    mut ev: AuditEvent,
    mut out: Verdict,
    session: Session,
    bundle: &Arc<Bundle>,
) -> ResponseBody {
    match state.sessions.open(session) {
        Ok(id) => {
            ev.session = Some(id.clone());
            // A policy installed while this was decided: its check may have
            // run before the session was in the registry. Judge it again.
            if let Some(now_bundle) = state.store.current() {
                if !Arc::ptr_eq(&now_bundle, bundle) {
                    if let Some(why) = recheck(state, &now_bundle, &id) {
                        state.sessions.remove(&id);
                        out.allow = false;
                        out.message = format!("pam-mfa: session refused: {why}");
                        out.reason = format!("{}; policy changed while opening: {why}", out.reason);
                        ev.policy_revision = now_bundle.revision.clone();
                        return finish(state, ev, out);
                    }
                }
            }
            out.reason = format!("{}; session {id} registered", out.reason);
            finish(state, ev, out)
        }
        Err(e) => {
            out.allow = false;
            out.message = "pam-mfa: the session could not be registered".into();
            out.reason = format!("{}; {e}", out.reason);
            finish(state, ev, out)
        }
    }
}

/// The roles a session's locks read besides the current decision's, fixed
/// when it starts as Teleport's lock targets are (`ComputeLockTargets`): a
/// trusted cluster certificate's own roles, or the roles the bundle gave
/// the person (a certificate's identity is kept whole with the session).
fn roles_at_start(bundle: &Bundle, v: &Verdict, person: Option<&str>) -> Vec<String> {
    if !v.lock_roles.is_empty() || v.identity.is_some() {
        return v.lock_roles.clone();
    }
    person
        .and_then(|name| bundle.users().get(name))
        .map(|u| u.roles.iter().map(|r| r.to_string()).collect())
        .unwrap_or_default()
}

/// The terms the session keeps from now (`policy::session_terms`), for
/// the person shown: a certificate's identity, else the bundle's user;
/// none when nobody was shown.
fn terms_at_start(
    state: &AgentState,
    bundle: &Bundle,
    v: &Verdict,
    person: Option<&str>,
) -> Option<SessionTerms> {
    let user = v
        .identity
        .as_ref()
        .or_else(|| person.and_then(|p| bundle.users().get(p)))?;
    Some(session_terms(bundle, user, state.now()))
}

/// What this login proved: the evidence at hand, else the tap verified
/// during its authentication (the grant, by any of the users whose tap
/// could satisfy the login: it says who logged in), else nothing pam-mfa
/// saw. Returns the person, the evidence and the device.
fn proved(
    state: &AgentState,
    peer: PeerIds,
    ctx: &PamContext,
    login: &str,
    v: &Verdict,
) -> (Option<String>, String, Option<String>) {
    if v.allow {
        return (
            v.user.clone(),
            v.evidence.clone().unwrap_or_else(|| "none needed".into()),
            v.device.clone(),
        );
    }
    let granted = v.tap_users.iter().find_map(|user| {
        state.grants.evidence_for(
            &ctx.service,
            login,
            user,
            ctx.rhost.as_deref(),
            peer.pid,
            state.now(),
        )
    });
    match granted {
        Some(g) => (
            v.user.clone().or(Some(g.user)),
            format!("grant_{}", g.evidence),
            g.device.or(v.device.clone()),
        ),
        None => (
            v.user.clone(),
            "none (not verified by pam-mfa)".into(),
            v.device.clone(),
        ),
    }
}

fn recheck(state: &AgentState, bundle: &Bundle, id: &str) -> Option<String> {
    let s = state.sessions.list().into_iter().find(|s| s.id == id)?;
    crate::sessions::end_reason(
        bundle,
        &state.node,
        &s,
        state.now(),
        state.lock_view_stale(),
    )
}

fn refusal(state: &AgentState, login: &str, d: &Decision) -> String {
    let who = d.user.clone().unwrap_or_else(|| login.to_string());
    let node = &state.node.name;
    if d.locked {
        let why = d
            .lock_message
            .clone()
            .unwrap_or_else(|| "locked by the cluster".into());
        format!("pam-mfa: access for {who} as {login} on {node} is locked: {why}")
    } else if !d.locked_candidates.is_empty() {
        format!(
            "pam-mfa: a session as {login} on {node} whose person was not shown could be that of a locked user ({})",
            d.locked_candidates_named()
        )
    } else {
        format!("pam-mfa: the cluster policy does not allow {who} to log in as {login} on {node}")
    }
}

pub(super) fn close_session(state: &AgentState, peer: PeerIds, ctx: &PamContext) -> ResponseBody {
    if peer.uid == 0 {
        if let Some(leader) = identify(peer.pid) {
            let revision = state.revision();
            for s in state.sessions.close(leader, &ctx.service, &ctx.user) {
                let why = match &s.ending {
                    Some(w) => format!("closed by close_session while being ended ({w})"),
                    None => "closed by close_session".into(),
                };
                let ev = session_event(state, "session_closed", "ok", &s, &revision, why);
                state.audit(&ev);
            }
        }
    }
    ResponseBody::Allow { message: None }
}
