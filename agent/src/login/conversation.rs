//! The keyboard-interactive conversation of one login: a challenge, the
//! person's answer (from `mfactl tap`), its verification, and for sudo/su
//! inside an SSH session the forwarded ssh-agent instead of a prompt
//! (`forwarded_agent`: its cue, then its signature at the poll).

use pam_mfa_protocol::{PamContext, ResponseBody};

use super::evidence::KeyClass;
use super::key_rules::device_locked;
use super::local_tap;
use super::may_wait::MayWait;
use super::tap::{fresh_challenge, tap_devices, Conversation, Step, TapDevice, TapKind};
use super::tap_match::answering_device;
use super::verdict::{finish, PeerIds, Verdict};
use crate::audit::AuditEvent;
use crate::challenge::Answer;
use crate::policy::{Bundle, ServiceClass};
use crate::state::AgentState;

/// Starts the tap for a login that needs one: a challenge that a
/// registered key of any of `v.tap_users` may answer. A login that would
/// wait for it but may not (`may_wait`) is refused, saying why.
pub(super) fn start(
    state: &AgentState,
    peer: PeerIds,
    ev: AuditEvent,
    mut v: Verdict,
    bundle: &Bundle,
    (login, ctx, class): (&str, &PamContext, ServiceClass),
    may_wait: MayWait,
) -> Step {
    let users = v.tap_users.clone();
    let devices = candidate_devices(state, bundle, login, class, &users, &mut v);
    let Some(requirement) = v.requirement else {
        return Step::Done(finish(state, ev, v));
    };
    let user = tap_label(&users);
    let approval = match super::approval_link::approval_for(state, bundle) {
        Ok(a) => a,
        Err(why) => {
            v.reason = format!("{}; {why}", v.reason);
            None
        }
    };
    let local = local_tap::wanted(state, class, ctx, peer);
    if cannot_tap(state, login, &users, local, devices.is_empty(), &mut v) {
        return Step::Done(finish(state, ev, v));
    }
    if let Err(why) = may_wait {
        v.reason = format!("{}; not started, {why}", v.reason);
        v.message = why.to_string();
        return Step::Done(finish(state, ev, v));
    }
    let conv = Box::new(Conversation {
        challenge: fresh_challenge(state, login),
        user,
        login: login.to_string(),
        requirement,
        devices,
        tries_left: if local {
            1
        } else {
            state.config.challenge.tries
        },
        ev,
        verdict: v,
        service: ctx.service.clone(),
        rhost: ctx.rhost.clone(),
        peer_pid: peer.pid,
        peer_uid: peer.uid,
        class,
        rp_id: bundle.cap.webauthn_rp_id.clone(),
        local: None,
        approval,
        forwarded: None,
    });
    if local {
        return local_tap::begin(state, conv, bundle, local_tap::owner(peer, ctx));
    }
    if class == ServiceClass::Admin {
        if let Some(sock) = ctx.ssh_auth_sock.as_deref().filter(|s| !s.is_empty()) {
            return super::forwarded_agent::begin(state, conv, sock);
        }
    }
    let prompt = conv.prompt(None);
    Step::Ask(conv, prompt)
}

/// Whether the login ends before a tap, and why (written into `v`): a key
/// attached to this host cannot say which of several candidates taps (the
/// PIN cache and the attached-key plan are per person), and a challenge
/// needs a registered key to answer it.
fn cannot_tap(
    state: &AgentState,
    login: &str,
    users: &[String],
    local: bool,
    no_devices: bool,
    v: &mut Verdict,
) -> bool {
    if local && users.len() > 1 {
        v.message = format!(
            "pam-mfa: {login} on {} may be used by {}: a key attached to this host cannot say which; log in to your own account",
            state.node.name,
            tap_label(users)
        );
        v.reason = format!("{}; several candidates for an attached-key tap", v.reason);
        return true;
    }
    if !local && no_devices {
        v.message = format!(
            "{} {} has no registered security key: ask your security team to register one.",
            v.message,
            tap_label(users)
        );
        v.reason = format!("{}; no registered security key to challenge", v.reason);
        return true;
    }
    false
}

/// The registered keys of these users that may answer; a locked device
/// cannot. PIV keys refused are noted in the verdict's reason.
fn candidate_devices(
    state: &AgentState,
    bundle: &Bundle,
    login: &str,
    class: ServiceClass,
    users: &[String],
    v: &mut Verdict,
) -> Vec<TapDevice> {
    let mut devices = Vec::new();
    let mut refused = Vec::new();
    for user in users {
        let (mut theirs, why) = tap_devices(state, bundle, user);
        theirs.retain(|d| !device_locked(state, bundle, login, user, class, &d.id));
        devices.extend(theirs);
        refused.extend(why);
    }
    if !refused.is_empty() {
        v.reason = format!("{}; PIV keys refused: {}", v.reason, refused.join("; "));
    }
    devices
}

/// Whom a tap is for, short enough for a PAM message (512 bytes with the
/// challenge): one user, a few named, or how many.
fn tap_label(users: &[String]) -> String {
    match users {
        [one] => one.clone(),
        several if several.iter().map(|u| u.len() + 2).sum::<usize>() <= 64 => {
            format!("one of {}", several.join(", "))
        }
        several => format!("one of {} cluster users", several.len()),
    }
}

/// A `poll` after a `wait`: the forwarded ssh-agent's signature after its
/// cue, else the tap on a key attached to this host.
pub fn poll(state: &AgentState, conv: Box<Conversation>) -> Step {
    if conv.forwarded.is_some() {
        return super::forwarded_agent::sign(state, conv);
    }
    local_tap::poll(state, conv)
}

/// Handles the answers to the last prompt.
pub fn answer(state: &AgentState, mut conv: Box<Conversation>, answers: &[String]) -> Step {
    if conv.forwarded.is_some() {
        return super::forwarded_agent::refuse_answer(state, conv);
    }
    if conv.local.is_some() {
        return local_tap::pin_answer(state, conv, answers);
    }
    let outcome = match answers.first() {
        None => Err("no answer was given".to_string()),
        Some(_) if conv.challenge.is_expired(state.now()) => {
            Err("the challenge expired".to_string())
        }
        Some(text) => match super::answer_origin::refuse_other_challenge(state, &conv, text) {
            Some(why) => Err(why),
            None => check_answer(state, &conv, text),
        },
    };
    match outcome {
        Ok((class, i)) => {
            let device = conv.devices[i].clone();
            let how = match device.kind {
                TapKind::SshSk { .. } => "tap_ssh_sk",
                TapKind::Webauthn(_) => "tap_webauthn",
                TapKind::Piv { .. } => "tap_piv",
            };
            conv.allow(state, class, &device, how)
        }
        Err(why) => {
            let mut ev = conv.ev.clone();
            ev.event = "answer_refused".into();
            ev.result = "deny".into();
            // The refused answer says no one: the login's own person when it
            // had one, else nobody (one candidate left after the locked
            // ones is no person shown).
            ev.user = conv.verdict.user.clone();
            ev.requirement = Some(conv.requirement.name().into());
            ev.reason = why.clone();
            ev.time = crate::audit::now_rfc3339();
            state.audit(&ev);
            conv.tries_left = conv.tries_left.saturating_sub(1);
            if conv.tries_left == 0 {
                // The reason for this refusal, then what would have worked.
                let guidance = conv
                    .verdict
                    .message
                    .trim_start_matches("pam-mfa: ")
                    .to_string();
                conv.verdict.message = format!("pam-mfa: {why}; no tries left.\n{guidance}");
                conv.verdict.reason =
                    format!("{}; last answer refused: {why}", conv.verdict.reason);
                // The last try is spent: the module returns PAM_MAXTRIES, so
                // sshd ends the connection instead of asking again.
                conv.verdict.tries_spent = true;
                let Conversation { ev, verdict, .. } = *conv;
                return Step::Done(finish(state, ev, verdict));
            }
            // Every try gets a fresh challenge: an answer is never good twice.
            conv.challenge = fresh_challenge(state, &conv.login);
            let prompt = conv.prompt(Some(&format!(
                "{why}; try again ({} left)",
                conv.tries_left
            )));
            Step::Ask(conv, prompt)
        }
    }
}

/// Verifies an answer: by the device whose key signed it among those its
/// selector names ([`answering_device`]), refused when keys of several
/// users verify it.
fn check_answer(
    state: &AgentState,
    conv: &Conversation,
    text: &str,
) -> Result<(KeyClass, usize), String> {
    let answer = Answer::parse(text)?;
    let i = answering_device(conv, &answer)?;
    let device = &conv.devices[i];
    let class = match (&answer, &device.kind) {
        (Answer::SshSk { signature, .. }, TapKind::SshSk { .. }) => {
            conv.verify_sk(state, device, signature)?
        }
        (
            Answer::Webauthn {
                authenticator_data,
                signature,
                ..
            },
            TapKind::Webauthn(cred),
        ) => conv.verify_webauthn(state, device, cred, authenticator_data, signature)?,
        (Answer::Browser(browser), TapKind::Webauthn(cred)) => {
            conv.verify_browser(state, device, cred, browser)?
        }
        (Answer::Piv { signature, .. }, TapKind::Piv { key, .. }) => {
            conv.verify_piv(device, key, signature)?
        }
        _ => {
            return Err(format!(
                "that security key is not registered for {}",
                conv.user
            ))
        }
    };
    Ok((class, i))
}

/// The person gave up, or the module hit its deadline.
pub fn cancel(state: &AgentState, mut conv: Box<Conversation>) -> ResponseBody {
    // A local tap's thread is left to end on its own; its result is dropped.
    let local = conv.local.take().is_some();
    let Conversation {
        ev, mut verdict, ..
    } = *conv;
    verdict.reason = format!("{}; the tap was cancelled", verdict.reason);
    verdict.message = if local {
        "pam-mfa: the tap was cancelled; login refused".into()
    } else {
        "pam-mfa: cancelled".into()
    };
    finish(state, ev, verdict)
}

#[cfg(test)]
mod tests {
    use super::tap_label;

    #[test]
    fn the_tap_label_stays_short() {
        let names = |n: usize| -> Vec<String> { (0..n).map(|i| format!("user{i:02}")).collect() };
        assert_eq!(tap_label(&names(1)), "user00");
        assert_eq!(tap_label(&names(2)), "one of user00, user01");
        assert_eq!(tap_label(&names(500)), "one of 500 cluster users");
        let long = vec!["x".repeat(200), "y".repeat(200)];
        assert_eq!(tap_label(&long), "one of 2 cluster users");
    }
}
