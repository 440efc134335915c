//! Taps on a key attached to this host (DESIGN.md, "Ways to tap" 4): for
//! desktop-class services, and sudo/su outside an SSH session, the agent
//! runs the challenge itself on a PIV card (pcscd) or a FIDO2 key (hidraw)
//! instead of sending the challenge prompt. The module shows "Tap your
//! security key" (a `wait` step) and polls; the agent answers from the
//! tap's thread, or refuses at `attached_keys.timeout`, or on `cancel`.
//!
//! The PIN of a PIV key whose attested policy needs one is asked through
//! the PAM conversation (echo off) before the card is touched, unless one
//! for this user and card was verified within the cap's
//! `hardware_key.pin_cache_timeout` (at most one hour). PINs are never in a
//! log or an audit event.
//!
//! No registered key attached: a clear refusal (no fallback to the
//! challenge prompt, which a greeter or a console cannot answer).
//!
//! This file decides whether a login taps locally and runs the tap (its
//! thread, the PIN prompt, the polls); `local_tap_piv` and `local_tap_fido`
//! say which devices may tap and what each kind's answer proves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pam_mfa_protocol::{PamContext, Prompt, PromptStyle, ResponseBody};

use super::local_tap_fido::{fido_devices, fido_outcome, fido_tap, FidoAsk};
use super::local_tap_piv::{piv_candidates, piv_outcome};
use super::local_tap_state::{LocalTap, Plan, Running, TapResult};
use super::tap::{Conversation, Step, TapKind};
use super::verdict::{finish, PeerIds};
use crate::attached::{piv_tap, Pin, PivTapOutcome, TapOwner};
use crate::ipc::Person;
use crate::piv::HardwareKeySettings;
use crate::policy::{Bundle, ServiceClass};
use crate::state::AgentState;

/// What the module shows while the agent waits for the key.
pub const TAP_CUE: &str = "pam-mfa: Tap your security key";

/// How often the module polls while the key is being tapped.
const POLL_MS: u32 = 100;

/// Whether this login taps a key attached to this host: desktop-class
/// services, and admin actions (sudo, su) outside an SSH session: no
/// forwarded agent, no `SSH_CONNECTION` or `SSH_CLIENT` in the environment
/// the module saw, nor in the peer's as the agent reads it, no sshd among
/// the peer's ancestors. Each of these only ever says "SSH" (no local tap);
/// a user can hide all of them (unset the variables, `setsid` out of
/// sshd's process tree), which docs/THREAT_MODEL.md weighs.
pub(super) fn wanted(
    state: &AgentState,
    class: ServiceClass,
    ctx: &PamContext,
    peer: PeerIds,
) -> bool {
    if !state.config.attached_keys.enabled {
        return false;
    }
    match class {
        ServiceClass::Desktop => true,
        ServiceClass::Admin => {
            ctx.ssh_auth_sock.as_deref().is_none_or(str::is_empty)
                && !ctx.ssh_connection_env
                && !in_ssh_session(peer.pid)
        }
        ServiceClass::Ssh => false,
    }
}

/// Whether `pid` runs inside an SSH session: `SSH_CONNECTION` in its
/// environment, or an `sshd` process among its ancestors. The environment
/// cannot be read for sudo under the packaged unit (sudo is setuid, so not
/// dumpable, and the agent has no CAP_SYS_PTRACE): the module's
/// [`PamContext::ssh_connection_env`] says it then.
fn in_ssh_session(pid: i32) -> bool {
    if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
        if env
            .split(|b| *b == 0)
            .any(|v| v.starts_with(b"SSH_CONNECTION=") || v.starts_with(b"SSH_CLIENT="))
        {
            return true;
        }
    }
    let mut p = pid;
    for _ in 0..64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            return false;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            return false;
        };
        if stat[open + 1..close].starts_with("sshd") {
            return true;
        }
        let ppid = stat[close + 1..]
            .split_ascii_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<i32>().ok())
            .unwrap_or(0);
        if ppid <= 1 {
            return false;
        }
        p = ppid;
    }
    false
}

/// Whom a tap asked by `peer` for the login `ctx` counts against: the
/// invoking person (`crate::ipc::tap_person`).
pub(super) fn owner(peer: PeerIds, ctx: &PamContext) -> TapOwner {
    match crate::ipc::tap_person(peer.uid, peer.real_uid, ctx) {
        Person::Uid(uid) => TapOwner::Uid(uid),
        Person::Login(name) => TapOwner::Name(name),
        // Not given for a tap (its login is never SSH's); the account's.
        Person::LoginWith { login, .. } => TapOwner::Name(login),
        // Not given for a tap (its login is never SSH's, and no login is
        // the system's); all such together, as the budgets do.
        Person::SshWithoutKey(_) | Person::System | Person::Unknown => {
            TapOwner::Name(String::new())
        }
    }
}

/// Starts a local tap for `conv` (its devices: the user's sk and WebAuthn
/// keys; PIV devices come from `bundle`), counted against `owner`.
pub(super) fn begin(
    state: &AgentState,
    mut conv: Box<Conversation>,
    bundle: &Bundle,
    owner: TapOwner,
) -> Step {
    let (piv, refused) = piv_candidates(state, &mut conv, bundle);
    let fido = fido_devices(&conv);
    if piv.is_empty() && fido.is_empty() {
        let why = if refused.is_empty() {
            "no registered PIV or FIDO2 key".to_string()
        } else {
            refused.join("; ")
        };
        conv.verdict.message = format!(
            "pam-mfa: {} requires MFA ({}) for {}, and none of your registered keys can tap here: {why}",
            conv.service,
            conv.requirement.name(),
            conv.user
        );
        conv.verdict.reason = format!("{}; attached key: {why}", conv.verdict.reason);
        let Conversation { ev, verdict, .. } = *conv;
        return Step::Done(finish(state, ev, verdict));
    }
    // The PIN cache serves desktop logins only. Whether sudo/su runs outside
    // an SSH session is read from the caller's environment and process tree,
    // which a remote user can hide (setsid, a cleared environment): a cached
    // PIN would then let a PIN-only key sign with nobody at the host.
    let pin_cache_timeout = match HardwareKeySettings::parse(&bundle.cap.raw_hardware_key) {
        Ok(settings) if conv.class == ServiceClass::Desktop => settings.pin_cache_timeout,
        Ok(_) => Duration::ZERO,
        // A block this agent cannot use (the load refuses what Teleport
        // refuses; a retired `piv_slot` remains): `piv_candidates` refused
        // every PIV key with its reason, so no PIN is asked; none is kept.
        Err(_) => Duration::ZERO,
    };
    let plan = Plan {
        piv,
        pin_cache_timeout,
        owner,
    };
    let pin_serial = plan
        .piv
        .iter()
        .find(|c| c.needs_pin())
        .map(|c| c.serial().unwrap_or(0));
    match pin_serial {
        None => run(state, conv, plan, None, false),
        Some(serial) => match state.attached.pins.get(
            &conv.user,
            serial,
            plan.pin_cache_timeout,
            Instant::now(),
        ) {
            Some(pin) => run(state, conv, plan, Some((serial, pin)), true),
            None => {
                let text = if serial == 0 {
                    "PIN of your security key: ".to_string()
                } else {
                    format!("PIN of your security key (serial {serial}): ")
                };
                conv.local = Some(LocalTap::AskingPin(plan, serial));
                Step::Ask(
                    conv,
                    ResponseBody::Prompt {
                        prompts: vec![Prompt {
                            style: PromptStyle::EchoOff,
                            text,
                        }],
                    },
                )
            }
        },
    }
}

/// The answer to the PIN prompt.
pub(super) fn pin_answer(
    state: &AgentState,
    mut conv: Box<Conversation>,
    answers: &[String],
) -> Step {
    let Some(LocalTap::AskingPin(plan, serial)) = conv.local.take() else {
        return refuse(state, conv, "the agent was not waiting for a PIN".into());
    };
    match answers.first().filter(|a| !a.is_empty()) {
        Some(pin) => run(
            state,
            conv,
            plan,
            Some((serial, Pin::new(pin.clone()))),
            false,
        ),
        None => refuse(state, conv, "no PIN was given".into()),
    }
}

/// Starts the tap's thread and answers `wait` with the cue.
fn run(
    state: &AgentState,
    mut conv: Box<Conversation>,
    plan: Plan,
    pin: Option<(u32, Pin)>,
    pin_from_cache: bool,
) -> Step {
    let slot = match state.attached.active.slot(&plan.owner) {
        Ok(slot) => slot,
        Err(why) => return refuse(state, conv, why),
    };
    let (tx, rx) = mpsc::channel();
    let cancelled = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + state.config.attached_keys.timeout;
    let challenge = conv.challenge.text();
    let host = state.attached.piv.clone();
    let fido_source = state.attached.fido.clone();
    let reader = state.attached_reader();
    let piv = plan.piv.clone();
    let fido: Vec<(usize, Vec<u8>)> = fido_devices(&conv)
        .into_iter()
        .filter_map(|i| match &conv.devices[i].kind {
            TapKind::Webauthn(c) => Some((i, c.credential_id.clone())),
            _ => None,
        })
        .collect();
    let rp_id = conv.rp_id.clone();
    let uv = conv.tap_requirement().key_policy.needs_pin();
    let stop = cancelled.clone();
    let spawned = std::thread::Builder::new()
        .name("attached-tap".into())
        .spawn(move || {
            let _slot = slot;
            let mut result = None;
            if !piv.is_empty() {
                let out = piv_tap(host.as_ref(), reader.as_deref(), &piv, pin, &challenge);
                let try_fido = matches!(out, PivTapOutcome::NoKey(_)) && !fido.is_empty();
                if !try_fido {
                    result = Some(TapResult::Piv(out));
                }
            }
            let result = match (result, rp_id) {
                (Some(r), _) => r,
                (None, Some(rp_id)) if !stop.load(Ordering::SeqCst) => {
                    let ask = FidoAsk {
                        rp_id: &rp_id,
                        challenge: &challenge,
                        devices: &fido,
                        uv,
                    };
                    TapResult::Fido(fido_tap(&fido_source, &ask, deadline, &stop))
                }
                _ => TapResult::Piv(PivTapOutcome::NoKey(
                    "no FIDO2 key can answer (no rp_id)".into(),
                )),
            };
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return refuse(
            state,
            conv,
            format!("the agent could not start the tap: {e}"),
        );
    }
    conv.local = Some(LocalTap::Running(Running {
        rx,
        cancelled,
        deadline,
        plan,
        pin_from_cache,
    }));
    Step::Ask(conv, wait())
}

fn wait() -> ResponseBody {
    ResponseBody::Wait {
        after_ms: POLL_MS,
        message: Some(TAP_CUE.into()),
    }
}

/// A `poll`: the tap's result, or another `wait`, or a refusal at the
/// deadline.
pub fn poll(state: &AgentState, mut conv: Box<Conversation>) -> Step {
    let Some(LocalTap::Running(running)) = conv.local.take() else {
        return refuse(state, conv, "the agent was not waiting for a key".into());
    };
    match running.rx.try_recv() {
        Ok(result) => settle(state, conv, running, result),
        Err(mpsc::TryRecvError::Empty) if Instant::now() < running.deadline => {
            conv.local = Some(LocalTap::Running(running));
            Step::Ask(conv, wait())
        }
        Err(mpsc::TryRecvError::Empty) => {
            let secs = state.config.attached_keys.timeout.as_secs();
            refuse(
                state,
                conv,
                format!("your security key was not touched within {secs} s"),
            )
        }
        Err(mpsc::TryRecvError::Disconnected) => {
            refuse(state, conv, "the tap ended without a result".into())
        }
    }
}

/// The tap's result: allowed for the device that answered (the login
/// decided again for its owner), or refused. A PIV card that refuses the
/// PIN with no tries left has blocked it: nothing more this login could ask
/// would work, so the refusal says its tries are spent (PAM_MAXTRIES);
/// every other refusal leaves the application free to ask again.
fn settle(
    state: &AgentState,
    mut conv: Box<Conversation>,
    running: Running,
    result: TapResult,
) -> Step {
    conv.verdict.tries_spent = matches!(
        result,
        TapResult::Piv(PivTapOutcome::WrongPin { left: 0, .. })
    );
    let outcome = match result {
        TapResult::Piv(out) => {
            piv_outcome(state, &conv, &running, out).map(|(c, d)| (c, d, "attached_piv"))
        }
        TapResult::Fido(answer) => {
            fido_outcome(state, &conv, answer).map(|(c, d)| (c, d, "attached_fido2"))
        }
    };
    match outcome {
        Ok((class, device, how)) => conv.allow(state, class, &device, how),
        Err(why) => refuse(state, conv, why),
    }
}

/// Ends the login with a refusal saying `why`.
fn refuse(state: &AgentState, conv: Box<Conversation>, why: String) -> Step {
    let Conversation {
        ev, mut verdict, ..
    } = *conv;
    verdict.message = format!("pam-mfa: {why}; login refused");
    verdict.reason = format!("{}; attached key: {why}", verdict.reason);
    Step::Done(finish(state, ev, verdict))
}
