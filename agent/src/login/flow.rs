//! One PAM hook's decision: `auth` and `account` go through the decision
//! pipeline (`opening`, `pipeline`); in `auth` a login a tap could still
//! satisfy gets a challenge (`conversation`); in `account` the tap
//! verified during `auth` of the same login counts, for the person it
//! identified, and outside SSH a login with none gets its challenge there
//! (sudo with NOPASSWD runs no auth stack). `open_session` and `close_session` go to `session_hooks`.

use pam_mfa_protocol::{PamContext, PamHook};

use super::conversation::start;
use super::key_rules::decide_for_person;
use super::may_wait::MayWait;
use super::opening::{open_decision, Opened};
use super::session_hooks::{close_session, open_session};
use super::tap::Step;
use super::verdict::{finish, PeerIds, Verdict};
use crate::policy::{Bundle, ServiceClass};
use crate::state::AgentState;

/// Handles `Begin`: decides from the evidence at hand; in `auth`, a login
/// that a tap could still satisfy gets a challenge (see [`super::conversation`]),
/// if it `may_wait`; in `account`, the tap verified during `auth` of the
/// same login counts.
pub fn handle_begin(
    state: &AgentState,
    peer: PeerIds,
    hook: PamHook,
    ctx: &PamContext,
    may_wait: MayWait,
) -> Step {
    match hook {
        PamHook::OpenSession => return Step::Done(open_session(state, peer, ctx)),
        PamHook::CloseSession => return Step::Done(close_session(state, peer, ctx)),
        PamHook::Auth | PamHook::Account => super::recorded_auth::remember(state, peer, ctx),
    }
    let Opened {
        class,
        login,
        ev,
        bundle,
        ctx,
        mut v,
    } = match open_decision(state, peer, hook, ctx, "login") {
        Ok(opened) => opened,
        Err(refused) => return Step::Done(*refused),
    };
    let ctx = ctx.as_ref();
    if !v.allow && !v.tap_users.is_empty() {
        match hook {
            PamHook::Auth => {
                let (login, ctx) = (login.as_str(), ctx);
                return start(state, peer, ev, v, &bundle, (login, ctx, class), may_wait);
            }
            PamHook::Account => {
                account_grant(state, peer, &bundle, class, &login, ctx, &mut v);
                // No tap in `auth` to count: sudo with NOPASSWD skips the auth
                // stack and comes straight here. Ask for the tap now, where
                // there is a conversation (sshd's account phase has none).
                if !v.allow && class != ServiceClass::Ssh {
                    let (login, ctx) = (login.as_str(), ctx);
                    return start(state, peer, ev, v, &bundle, (login, ctx, class), may_wait);
                }
            }
            _ => {}
        }
    }
    Step::Done(finish(state, ev, v))
}

/// `account` after a tap in `auth`: the grant counts when it is by one of
/// the users whose tap could satisfy this login, and the login is decided
/// again for that person alone (their roles, their locks, the device's).
fn account_grant(
    state: &AgentState,
    peer: PeerIds,
    bundle: &Bundle,
    class: ServiceClass,
    login: &str,
    ctx: &PamContext,
    v: &mut Verdict,
) {
    let Some(g) = state.grants.take(
        &ctx.service,
        login,
        ctx.rhost.as_deref(),
        peer.pid,
        state.now(),
    ) else {
        return;
    };
    if !v.tap_users.contains(&g.user) {
        return;
    }
    let d = decide_for_person(
        state,
        bundle,
        login,
        &g.user,
        v.identity.as_ref(),
        class,
        g.device.as_deref(),
    );
    if !d.is_allowed() {
        return;
    }
    v.allow = true;
    v.evidence = Some(format!("grant_{}", g.evidence));
    v.device = g.device;
    if v.user.as_deref() != Some(g.user.as_str()) {
        v.reason = format!(
            "{}; the tap identified cluster user {}, decided again for them alone: {}",
            v.reason,
            g.user,
            d.reasons.join("; ")
        );
        v.user = Some(g.user);
        v.requirement = Some(d.requirement);
    }
    v.reason = format!(
        "{}; the tap verified during authentication of this login counts",
        v.reason
    );
}
