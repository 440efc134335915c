//! The few ssh-agent messages this client speaks (draft-miller-ssh-agent §3,
//! §4.4, §4.5): request encoding and strict answer parsing.

use ssh_encoding::{Decode, Encode, Reader};

use super::agent_key::AgentKey;
use super::transport::MAX_MESSAGE;
use super::AgentError;

pub(super) const SSH_AGENT_FAILURE: u8 = 5;
pub(super) const SSH_AGENTC_REQUEST_IDENTITIES: u8 = 11;
pub(super) const SSH_AGENT_IDENTITIES_ANSWER: u8 = 12;
pub(super) const SSH_AGENTC_SIGN_REQUEST: u8 = 13;
pub(super) const SSH_AGENT_SIGN_RESPONSE: u8 = 14;

pub(super) fn request_identities() -> Vec<u8> {
    vec![SSH_AGENTC_REQUEST_IDENTITIES]
}

/// `byte 13, string key blob, string data, uint32 flags` (no flags: the
/// key's default algorithm, which is the only one sk keys have).
pub(super) fn sign_request(key_blob: &[u8], data: &[u8]) -> Result<Vec<u8>, AgentError> {
    let mut msg = vec![SSH_AGENTC_SIGN_REQUEST];
    let encoded = key_blob
        .encode(&mut msg)
        .and_then(|()| data.encode(&mut msg))
        .and_then(|()| 0u32.encode(&mut msg));
    encoded.map_err(|e| AgentError::Protocol(format!("cannot encode the request: {e}")))?;
    if msg.len() > MAX_MESSAGE {
        return Err(AgentError::TooLarge {
            len: msg.len(),
            limit: MAX_MESSAGE,
        });
    }
    Ok(msg)
}

pub(super) fn parse_identities(payload: &[u8]) -> Result<Vec<AgentKey>, AgentError> {
    let mut r = expect_type(payload, SSH_AGENT_IDENTITIES_ANSWER)?;
    let count = u32::decode(&mut r).map_err(|e| bad("key count", e))?;
    // Each key takes at least 8 bytes (two empty strings): a count that
    // cannot fit is refused before anything is allocated for it.
    if count as usize > r.len() / 8 {
        return Err(AgentError::Protocol(format!(
            "{count} keys announced in {} bytes",
            r.len()
        )));
    }
    let mut keys = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let key_blob = Vec::<u8>::decode(&mut r).map_err(|e| bad("key blob", e))?;
        let comment = Vec::<u8>::decode(&mut r).map_err(|e| bad("key comment", e))?;
        keys.push(AgentKey {
            key_blob,
            comment: String::from_utf8_lossy(&comment).into_owned(),
        });
    }
    finish(r)?;
    Ok(keys)
}

pub(super) fn parse_sign_response(payload: &[u8]) -> Result<Vec<u8>, AgentError> {
    let mut r = expect_type(payload, SSH_AGENT_SIGN_RESPONSE)?;
    let signature = Vec::<u8>::decode(&mut r).map_err(|e| bad("signature", e))?;
    finish(r)?;
    Ok(signature)
}

/// The body after the message type, when the type is `expected`.
fn expect_type(payload: &[u8], expected: u8) -> Result<&[u8], AgentError> {
    match payload.split_first() {
        Some((&t, body)) if t == expected => Ok(body),
        Some((&SSH_AGENT_FAILURE, _)) => Err(AgentError::Refused),
        Some((&t, _)) => Err(AgentError::Protocol(format!(
            "message type {t} (expected {expected})"
        ))),
        None => Err(AgentError::Protocol("an empty message".into())),
    }
}

fn finish(r: &[u8]) -> Result<(), AgentError> {
    if r.is_finished() {
        Ok(())
    } else {
        Err(AgentError::Protocol(format!(
            "{} bytes after the message",
            r.remaining_len()
        )))
    }
}

fn bad(what: &str, e: ssh_encoding::Error) -> AgentError {
    AgentError::Protocol(format!("{what}: {e}"))
}
