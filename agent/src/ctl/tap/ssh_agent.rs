//! `mfactl tap` with a security key held by the local ssh-agent.

use std::path::PathBuf;
use std::time::Instant;

use super::{Terminal, TOUCH_DEADLINE};
use crate::challenge::{key_digest, Answer, ParsedChallenge};
use crate::ssh_agent::client::{list_keys, sign};

/// Signs the challenge with a security key held by the local ssh-agent.
pub(super) fn answer_challenge(
    c: &ParsedChallenge,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    let sock = std::env::var_os("SSH_AUTH_SOCK")
        .map(PathBuf::from)
        .ok_or("no ssh-agent (SSH_AUTH_SOCK is not set): add your security key with ssh-add")?;
    let uid = rustix::process::getuid().as_raw();
    let deadline = Instant::now() + TOUCH_DEADLINE;
    let keys = list_keys(&sock, uid, deadline).map_err(|e| format!("ssh-agent: {e}"))?;
    let sk: Vec<_> = keys
        .iter()
        .filter(|k| key_type(&k.key_blob).starts_with("sk-"))
        .collect();
    if sk.is_empty() {
        return Err(
            "the ssh-agent holds no security key (ed25519-sk/ecdsa-sk): add yours with ssh-add"
                .into(),
        );
    }
    let mut last_err = String::new();
    for k in sk {
        tty.say(&super::cue::touch_cue(c, &k.comment))?;
        match sign(&sock, uid, &k.key_blob, c.text.as_bytes(), deadline) {
            Ok(signature) => {
                return Ok(Answer::SshSk {
                    key_digest: key_digest(&k.key_blob),
                    signature,
                }
                .encode());
            }
            Err(e) => last_err = format!("{}: {e}", k.comment),
        }
    }
    Err(format!("no security key signed the challenge ({last_err})"))
}

/// The key type name at the start of an SSH wire-format key blob.
pub(super) fn key_type(blob: &[u8]) -> String {
    let Some(len) = blob
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    else {
        return String::new();
    };
    blob.get(4..4 + len)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default()
}
