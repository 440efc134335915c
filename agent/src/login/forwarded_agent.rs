//! sudo and su inside an SSH session: the person's forwarded ssh-agent
//! signs the challenge with a registered security key (the key asks for
//! the touch), so no prompt is needed.

use std::time::{Duration, Instant};

use super::evidence::KeyClass;
use super::tap::{Conversation, Step};
use crate::ipc::Person;
use crate::state::AgentState;

/// How long the agent waits for a forwarded ssh-agent to sign (the person
/// touches the key meanwhile); under the module's default 10 s deadline.
const FORWARDED_AGENT_DEADLINE: Duration = Duration::from_secs(8);

/// sudo/su inside an SSH session: ask the person's forwarded ssh-agent to
/// sign the challenge with a registered key (the key asks for the touch).
/// On failure the conversation comes back, with the reason, for a prompt.
pub(super) fn tap(
    state: &AgentState,
    conv: Box<Conversation>,
    sock: &str,
) -> Result<Step, (Box<Conversation>, String)> {
    match sign_with_forwarded_agent(state, &conv, sock) {
        Ok((class, i)) => {
            let device = conv.devices[i].clone();
            Ok(conv.allow(state, class, &device, "forwarded_agent_ssh_sk"))
        }
        Err(why) => Err((conv, why)),
    }
}

fn sign_with_forwarded_agent(
    state: &AgentState,
    conv: &Conversation,
    sock: &str,
) -> Result<(KeyClass, usize), String> {
    let uid = forwarded_agent_owner(conv.peer_pid, conv.peer_uid)?;
    let path = std::path::Path::new(sock);
    let deadline = Instant::now() + FORWARDED_AGENT_DEADLINE;
    let keys =
        crate::ssh_agent::client::list_keys(path, uid, deadline).map_err(|e| e.to_string())?;
    let i = conv
        .devices
        .iter()
        .position(|d| {
            d.sk_blob()
                .is_some_and(|b| keys.iter().any(|k| k.key_blob == b))
        })
        .ok_or_else(|| format!("it holds no registered security key of {}", conv.user))?;
    let text = conv.challenge.text();
    let key_blob = conv.devices[i]
        .sk_blob()
        .ok_or("not a security-key device")?;
    let sig = crate::ssh_agent::client::sign(path, uid, key_blob, text.as_bytes(), deadline)
        .map_err(|e| e.to_string())?;
    let class = conv.verify_sk(state, &conv.devices[i], &sig)?;
    Ok((class, i))
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
