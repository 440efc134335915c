//! Local taps on a PIV card (pcscd): which of the user's PIV devices may
//! tap, and what a card's answer means (the signature checked against the
//! attested key, a wrong PIN, no card). `local_tap` runs the tap.

use std::time::Instant;

use super::evidence::{check, KeyClass};
use super::key_rules::key_policy_class;
use super::local_tap_state::Running;
use super::tap::{Conversation, TapDevice, TapKind};
use crate::attached::{PivCandidate, PivTapOutcome};
use crate::policy::{Bundle, DeviceKind};
use crate::state::AgentState;
use crate::verify::piv_tap::verify_piv_tap;

/// The user's PIV devices whose verified attestation meets what the tap
/// must prove, added to `conv.devices`; why the others do not, beside.
pub(super) fn piv_candidates(
    state: &AgentState,
    conv: &mut Conversation,
    bundle: &Bundle,
) -> (Vec<PivCandidate>, Vec<String>) {
    let need = conv.tap_requirement();
    let traits = bundle
        .users()
        .get(&conv.user)
        .map(|u| u.traits.clone())
        .unwrap_or_default();
    let mut piv = Vec::new();
    let mut refused = Vec::new();
    for dev in bundle.devices_for_user(&conv.user) {
        if !matches!(dev.kind, DeviceKind::Piv(_)) || conv.is_locked(state, bundle, &dev.id) {
            continue;
        }
        match state.piv.device_class(dev, &traits, &bundle.cap) {
            Ok(attested) => {
                let class = key_policy_class(attested.class);
                if let Err(missing) = check(&need, class) {
                    refused.push(format!(
                        "{}: {missing} (attested {})",
                        dev.name,
                        class.name()
                    ));
                    continue;
                }
                let Some(slot) = attested.attestation.slot else {
                    refused.push(format!("{}: the attestation names no slot", dev.name));
                    continue;
                };
                conv.devices.push(TapDevice {
                    user: dev.user.to_string(),
                    id: dev.id.to_string(),
                    name: dev.name.to_string(),
                    kind: TapKind::Piv {
                        selector: crate::verify::piv_tap::selector_of_hash(
                            &attested.attestation.public_key_spki_sha256,
                        ),
                        key: Box::new(attested.clone()),
                    },
                });
                piv.push(PivCandidate {
                    device: conv.devices.len() - 1,
                    attested,
                    slot,
                });
            }
            Err(why) => refused.push(why),
        }
    }
    (piv, refused)
}

/// What a PIV tap's outcome proves: the class and the device that signed,
/// or why the login is refused. A wrong PIN forgets a remembered one.
pub(super) fn piv_outcome(
    state: &AgentState,
    conv: &Conversation,
    running: &Running,
    outcome: PivTapOutcome,
) -> Result<(KeyClass, TapDevice), String> {
    match outcome {
        PivTapOutcome::Signed {
            candidate,
            serial,
            signature,
            pin_used,
        } => piv_signed(state, conv, running, candidate, serial, &signature, pin_used),
        PivTapOutcome::WrongPin { serial, left } => {
            state.attached.pins.forget(&conv.user, serial);
            let cached = if running.pin_from_cache {
                " (the remembered PIN was refused)"
            } else {
                ""
            };
            Err(format!(
                "wrong PIN for your security key{cached}, {left} tries left"
            ))
        }
        PivTapOutcome::NoKey(why) => Err(format!("no registered security key of yours is attached to this host ({why}); insert it and try again")),
        PivTapOutcome::Failed(why) => Err(format!("your security key did not sign: {why}")),
    }
}

/// A PIV card signed: the signature checked against the attested key, the
/// attested class against what the tap must prove; a PIN that worked is
/// remembered (desktop logins).
fn piv_signed(
    state: &AgentState,
    conv: &Conversation,
    running: &Running,
    candidate: usize,
    serial: u32,
    signature: &[u8],
    pin_used: Option<crate::attached::Pin>,
) -> Result<(KeyClass, TapDevice), String> {
    let cand = &running.plan.piv[candidate];
    verify_piv_tap(
        &cand.attested.attestation.public_key_spki,
        &conv.challenge.text(),
        signature,
    )?;
    let class = key_policy_class(cand.attested.class);
    let need = conv.tap_requirement();
    if let Err(missing) = check(&need, class) {
        return Err(format!(
            "{missing}; the key's attestation says {}",
            class.name()
        ));
    }
    if let Some(pin) = pin_used {
        if !running.plan.pin_cache_timeout.is_zero() {
            state
                .attached
                .pins
                .put(&conv.user, serial, &pin, Instant::now());
        }
    }
    Ok((class, conv.devices[cand.device].clone()))
}
