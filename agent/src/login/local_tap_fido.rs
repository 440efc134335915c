//! Local taps on a FIDO2 key (hidraw, or the software authenticator in test
//! builds): which of the user's WebAuthn credentials it may answer for, the
//! assertion, and what the answer proves. `local_tap` runs the tap.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::evidence::KeyClass;
use super::tap::{Conversation, TapDevice, TapKind};
use crate::fido2::{GetAssertionRequest, GetAssertionResponse};
use crate::state::AgentState;
use crate::verify::webauthn::client_data_json;

/// The user's WebAuthn devices (positions in `conv.devices`) a FIDO2 key on
/// this host may answer for.
pub(super) fn fido_devices(conv: &Conversation) -> Vec<usize> {
    if conv.rp_id.is_none() {
        return Vec::new();
    }
    conv.devices
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d.kind, TapKind::Webauthn(_)))
        .map(|(i, _)| i)
        .collect()
}

/// What a FIDO2 tap asks (`rp_id`, `challenge`, the registered
/// credentials by their position among the login's devices, `uv`).
pub(super) struct FidoAsk<'a> {
    pub(super) rp_id: &'a str,
    pub(super) challenge: &'a str,
    pub(super) devices: &'a [(usize, Vec<u8>)],
    pub(super) uv: bool,
}

/// A FIDO2 assertion from a key attached to this host (hidraw, or the
/// software authenticator in test builds), for one of the registered
/// credentials; the wait ends at `deadline`, or once `cancelled` is set
/// (the login ended: the tap's slot is freed then, not at the deadline).
pub(super) fn fido_tap(
    source: &crate::attached::FidoSource,
    ask: &FidoAsk<'_>,
    deadline: Instant,
    cancelled: &Arc<AtomicBool>,
) -> Result<(usize, GetAssertionResponse), String> {
    let FidoAsk {
        rp_id,
        challenge,
        devices,
        uv,
    } = *ask;
    use sha2::{Digest, Sha256};
    let req = GetAssertionRequest {
        rp_id: rp_id.to_owned(),
        client_data_hash: Sha256::digest(client_data_json(challenge, rp_id).as_bytes()).into(),
        allow_credentials: devices.iter().map(|(_, id)| id.clone()).collect(),
        user_verification: uv,
        // A key attached to this host gives UV by itself (biometric, PIN pad);
        // a ClientPIN PIN asked through the PAM conversation is not wired yet.
        pin_uv_auth: None,
    };
    let keys = source().map_err(|e| e.to_string())?;
    if keys.is_empty() {
        return Err("no security key is attached to this host".into());
    }
    let mut last = String::new();
    for mut key in keys {
        if cancelled.load(Ordering::SeqCst) {
            return Err(crate::fido2::Fido2Error::Cancelled.to_string());
        }
        key.stop_when(cancelled.clone());
        match key.get_assertion(&req, deadline) {
            Ok(resp) => {
                let i = devices
                    .iter()
                    .find(|(_, id)| *id == resp.credential_id)
                    .map(|(i, _)| *i)
                    .ok_or("the key answered with a credential that is not registered")?;
                return Ok((i, resp));
            }
            Err(e) => last = format!("{}: {e}", key.name()),
        }
    }
    Err(last)
}

/// What a FIDO2 tap's answer proves: the class and the device whose
/// credential signed (the assertion verified as a WebAuthn one), or why the
/// login is refused.
pub(super) fn fido_outcome(
    state: &AgentState,
    conv: &Conversation,
    answer: Result<(usize, GetAssertionResponse), String>,
) -> Result<(KeyClass, TapDevice), String> {
    let (i, resp) =
        answer.map_err(|why| format!("no registered security key answered on this host: {why}"))?;
    let device = conv.devices[i].clone();
    let TapKind::Webauthn(cred) = &device.kind else {
        return Err("not a FIDO2 device".into());
    };
    let class = conv.verify_webauthn(
        state,
        &device,
        cred,
        &resp.authenticator_data,
        &resp.signature,
    )?;
    Ok((class, device))
}
