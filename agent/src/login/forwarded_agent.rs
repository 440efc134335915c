//! sudo and su inside an SSH session: the person's forwarded ssh-agent
//! signs the challenge with a registered security key (the key asks for
//! the touch), so no challenge prompt is needed. Two steps: at `begin` the
//! agent lists the forwarded agent's keys (no touch) and, holding a
//! registered one, shows the cue naming it (a `wait` step, which the module
//! shows under PAM_SILENT too); at the module's `poll` it asks for the
//! signature. Without the cue, sudo showed only its password prompt while
//! the key blinked for up to [`FORWARDED_AGENT_DEADLINE`].

use std::path::Path;
use std::time::{Duration, Instant};

use pam_mfa_protocol::ResponseBody;

use super::evidence::KeyClass;
use super::tap::{Conversation, ForwardedSign, Step};
use super::verdict::finish;
use crate::ipc::Person;
use crate::state::AgentState;

/// How long the agent waits for a forwarded ssh-agent, listing its keys and
/// signing together (the person touches the key meanwhile); under the
/// module's default 10 s deadline, against which the signature counts.
const FORWARDED_AGENT_DEADLINE: Duration = Duration::from_secs(8);

/// The pause the module makes after showing the cue before it polls: none
/// beyond its own least; the signature is asked for at the poll.
const POLL_AT_ONCE_MS: u32 = 0;

/// sudo/su inside an SSH session: when the person's forwarded ssh-agent at
/// `sock` holds a registered key, the cue to touch it (the signature is
/// asked for at the next poll: [`sign`]); else the challenge prompt, with
/// the reason in the audit.
pub(super) fn begin(state: &AgentState, mut conv: Box<Conversation>, sock: &str) -> Step {
    let started = Instant::now();
    match registered_key_held(&conv, sock, started + FORWARDED_AGENT_DEADLINE) {
        Ok((owner_uid, device)) => {
            let message = cue(state, &conv, device);
            conv.forwarded = Some(ForwardedSign {
                socket: sock.into(),
                owner_uid,
                device,
                time_left: FORWARDED_AGENT_DEADLINE.saturating_sub(started.elapsed()),
            });
            let wait = ResponseBody::Wait {
                after_ms: POLL_AT_ONCE_MS,
                message: Some(message),
            };
            Step::Ask(conv, wait)
        }
        Err(why) => fall_back_to_prompt(conv, &why),
    }
}

/// The cue: which key to touch, through what, for what and where.
fn cue(state: &AgentState, conv: &Conversation, device: usize) -> String {
    format!(
        "pam-mfa: Tap your security key {} (through your forwarded ssh-agent) for {} on {}",
        conv.devices[device].name.replace(char::is_control, " "),
        conv.service,
        state.node.name
    )
}

/// The module's poll after the cue: the forwarded agent's signature, then
/// the login allowed for the key's owner, or the challenge prompt with the
/// reason.
pub(super) fn sign(state: &AgentState, mut conv: Box<Conversation>) -> Step {
    let Some(ask) = conv.forwarded.take() else {
        return fall_back_to_prompt(conv, "the agent was not waiting for it");
    };
    match signed_by_registered_key(state, &conv, &ask) {
        Ok(class) => {
            let device = conv.devices[ask.device].clone();
            conv.allow(state, class, &device, "forwarded_agent_ssh_sk")
        }
        Err(why) => fall_back_to_prompt(conv, &why),
    }
}

/// An answer while the agent waits to ask the forwarded agent (the module
/// polls after a `wait`): a client that does not follow the protocol; the
/// login is refused.
pub(super) fn refuse_answer(state: &AgentState, conv: Box<Conversation>) -> Step {
    let Conversation {
        ev, mut verdict, ..
    } = *conv;
    let why = "an answer came while the agent waited to ask the forwarded ssh-agent";
    verdict.message = format!("pam-mfa: {why}; login refused");
    verdict.reason = format!("{}; forwarded ssh-agent: {why}", verdict.reason);
    Step::Done(finish(state, ev, verdict))
}

/// The challenge prompt, the forwarded agent's failure noted in the audit.
fn fall_back_to_prompt(mut conv: Box<Conversation>, why: &str) -> Step {
    conv.verdict.reason = format!("{}; forwarded ssh-agent: {why}", conv.verdict.reason);
    let prompt = conv.prompt(None);
    Step::Ask(conv, prompt)
}

/// Whose the forwarded agent must be, and the first registered key it
/// holds (an index into the conversation's devices).
fn registered_key_held(
    conv: &Conversation,
    sock: &str,
    deadline: Instant,
) -> Result<(u32, usize), String> {
    let uid = forwarded_agent_owner(conv.peer_pid, conv.peer_uid)?;
    let keys = crate::ssh_agent::client::list_keys(Path::new(sock), uid, deadline)
        .map_err(|e| e.to_string())?;
    let i = conv
        .devices
        .iter()
        .position(|d| {
            d.sk_blob()
                .is_some_and(|b| keys.iter().any(|k| k.key_blob == b))
        })
        .ok_or_else(|| format!("it holds no registered security key of {}", conv.user))?;
    Ok((uid, i))
}

fn signed_by_registered_key(
    state: &AgentState,
    conv: &Conversation,
    ask: &ForwardedSign,
) -> Result<KeyClass, String> {
    let device = &conv.devices[ask.device];
    let key_blob = device.sk_blob().ok_or("not a security-key device")?;
    let text = conv.challenge.text();
    let deadline = Instant::now() + ask.time_left;
    let sig = crate::ssh_agent::client::sign(
        &ask.socket,
        ask.owner_uid,
        key_blob,
        text.as_bytes(),
        deadline,
    )
    .map_err(|e| e.to_string())?;
    conv.verify_sk(state, device, &sig)
}

/// Whose forwarded ssh-agent a sudo or su may ask: the invoking person's,
/// as the kernel tells it (the peer's real uid, else its login uid or an
/// ancestor's: `ipc::invoking_person`), root's own when no person is
/// behind a root caller. Not the account PAM names: su's PAM_USER is its
/// target, so `su bob` with SSH_AUTH_SOCK at bob's forwarded agent would
/// have asked bob's key, on bob's laptop, to let someone else in as bob.
fn forwarded_agent_owner(peer_pid: i32, peer_uid: u32) -> Result<u32, String> {
    match crate::ipc::invoking_person(peer_uid, peer_pid) {
        Person::Uid(uid) => Ok(uid),
        Person::System => Ok(0),
        other => Err(format!(
            "whose it is cannot be told (the caller counts as {other})"
        )),
    }
}

#[cfg(test)]
mod tests {
    /// The owner asked for is the invoking process's real user, whatever
    /// account the login is for: a setuid-root caller run by uid 65534.
    #[test]
    fn the_forwarded_agent_is_the_invoking_persons() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root to run a process with another real uid");
            return;
        }
        let mut child = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "sleep", "30"])
            .spawn()
            .expect("setpriv");
        let pid = i32::try_from(child.id()).expect("pid");
        // setpriv has exec'd sleep once /proc shows sleep's name.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim() != "sleep")
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let owner = super::forwarded_agent_owner(pid, 0);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(owner, Ok(65534));
    }
}
