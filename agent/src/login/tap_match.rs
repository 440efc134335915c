//! Which registered device an answer is from. An answer names its key by a
//! selector (an ssh_sk key's digest, a WebAuthn credential id's or a PIV
//! key's short hash); several devices may share one: a WebAuthn credential
//! id is not secret and Teleport lets users of a cluster register the same
//! one (lib/services/local/users.go `upsertMFADevice` checks it per user
//! only). Teleport's `loginFlow.finish` (lib/auth/webauthn/login.go) finds
//! the credential among the logging-in user's own devices
//! (`GetMFADevices(ctx, user)`, `findDeviceByID`); here a tap may answer
//! for several candidates at once, so every device the selector names is
//! tried, and the answer is the device's whose registered key verifies
//! the signature. When keys of several users verify it (one key registered
//! to each), the tap does not say who logs in and is refused.

use super::tap::{Conversation, TapDevice, TapKind};
use crate::challenge::Answer;
use crate::verify::piv_tap::verify_piv_tap;
use crate::verify::ssh_sk::verify_sk_signature;

/// The position in `conv.devices` of the device that made `answer` over
/// this conversation's challenge: among the devices its selector names,
/// the one whose key verifies its signature, else the first named (whose
/// full check then says why it does not verify). Refused when no device is
/// named, or when the keys of several users verify it.
pub(super) fn answering_device(conv: &Conversation, answer: &Answer) -> Result<usize, String> {
    let named: Vec<usize> = (0..conv.devices.len())
        .filter(|&i| names_device(answer, &conv.devices[i]))
        .collect();
    let Some(&first) = named.first() else {
        return Err(format!(
            "that security key is not registered for {}",
            conv.user
        ));
    };
    if named.len() == 1 {
        return Ok(first);
    }
    let text = conv.challenge.text();
    let signed: Vec<usize> = named
        .into_iter()
        .filter(|&i| signed_by(conv, answer, &conv.devices[i], &text))
        .collect();
    let mut owners: Vec<&str> = signed
        .iter()
        .map(|&i| conv.devices[i].user.as_str())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    if owners.len() > 1 {
        return Err(format!(
            "that security key is registered with the same key to {}, so its tap does not say who logs in: tap a key registered to you alone",
            crate::name_list::first_names(&owners, 5, ", ")
        ));
    }
    Ok(signed.first().copied().unwrap_or(first))
}

/// Whether `answer` names `device` (by its selector; nothing is verified).
pub(super) fn names_device(answer: &Answer, device: &TapDevice) -> bool {
    match (answer, &device.kind) {
        (Answer::SshSk { key_digest, .. }, TapKind::SshSk { digest, .. }) => key_digest == digest,
        (Answer::Webauthn { selector, .. }, TapKind::Webauthn(cred)) => {
            cred.selector() == *selector
        }
        (Answer::Browser(browser), TapKind::Webauthn(cred)) => cred.selector() == browser.selector,
        (Answer::Piv { selector, .. }, TapKind::Piv { selector: s, .. }) => s == selector,
        _ => false,
    }
}

/// Whether `answer` is a valid signature over `text` by `device`'s key
/// (flags and counters are not looked at; the device is not checked to
/// be the one the answer names).
pub(super) fn signed_by(
    conv: &Conversation,
    answer: &Answer,
    device: &TapDevice,
    text: &str,
) -> bool {
    match (answer, &device.kind) {
        (Answer::SshSk { signature, .. }, TapKind::SshSk { key_blob, .. }) => {
            verify_sk_signature(key_blob, signature, text.as_bytes()).is_ok()
        }
        (
            Answer::Webauthn {
                authenticator_data,
                signature,
                ..
            },
            TapKind::Webauthn(cred),
        ) => conv
            .rp_id
            .as_deref()
            .is_some_and(|rp| cred.verify(rp, text, authenticator_data, signature).is_ok()),
        (Answer::Browser(browser), TapKind::Webauthn(cred)) => {
            conv.browser_signed(cred, browser, text)
        }
        (Answer::Piv { signature, .. }, TapKind::Piv { key, .. }) => {
            verify_piv_tap(&key.attestation.public_key_spki, text, signature).is_ok()
        }
        _ => false,
    }
}
