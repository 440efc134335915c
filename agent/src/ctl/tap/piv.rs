//! `mfactl tap` with a PIV card through pcscd.

use std::time::Duration;

use super::Terminal;
use crate::challenge::{Answer, ParsedChallenge};

/// Names the PC/SC reader `mfactl tap` uses for PIV (part of its name);
/// unset: the first reader holding a card.
pub const PIV_READER_ENV: &str = "MFACTL_PIV_READER";

/// How long `mfactl tap` waits for a PIV card to be inserted.
const PIV_CARD_WAIT: Duration = Duration::from_secs(3);

/// Answers with a PIV card through pcscd.
pub(super) fn answer_with_pcsc(
    c: &ParsedChallenge,
    slots: &str,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    use crate::piv::card::PcscPivCard;
    let reader = std::env::var(PIV_READER_ENV).ok().filter(|r| !r.is_empty());
    let mut card = PcscPivCard::open_with(reader.as_deref(), PIV_CARD_WAIT)
        .map_err(|e| format!("PIV: {e}"))?;
    answer_with_piv(&mut card, c, slots, tty).map_err(|e| format!("PIV: {e}"))
}

/// The slots a `piv=` word names (`any`: the four PIV key slots).
fn piv_slots(list: &str) -> Result<Vec<crate::piv::PivSlot>, String> {
    use crate::piv::PivSlot;
    if list == "any" {
        return Ok(vec![
            PivSlot::Authentication,
            PivSlot::Signature,
            PivSlot::KeyManagement,
            PivSlot::CardAuthentication,
        ]);
    }
    list.split(',').map(PivSlot::parse).collect()
}

/// Signs the challenge's tap digest ([`crate::verify::piv_tap`]) with the
/// key in the first of `slots` that holds one: the PIN is asked (hidden,
/// never logged, wiped) unless the slot's policy says never or the card
/// has it verified already; "Tap your security key" is shown unless the
/// slot's touch policy says never. The card bounds the wait for the touch
/// (a YubiKey gives up after 15 s).
pub(crate) fn answer_with_piv(
    card: &mut dyn crate::piv::card::PivCard,
    c: &ParsedChallenge,
    slots: &str,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    use crate::piv::card::CardError;
    use crate::piv::{PinPolicy, TouchPolicy};
    use crate::verify::piv_tap::{digest_len, selector, tap_digest};
    use x509_parser::prelude::{FromDer, X509Certificate};
    let mut last_err = "the card holds no key in the registered slots".to_string();
    for slot in piv_slots(slots)? {
        // The slot's public key, as its attestation states it (what the
        // registered chain holds), and its policies.
        let cert = match card.attest(slot) {
            Ok(der) => der,
            Err(e @ CardError::NotFound { .. }) => {
                last_err = e.to_string();
                continue;
            }
            Err(e) => {
                last_err = format!("slot {}: {e}", slot.name());
                continue;
            }
        };
        let spki = X509Certificate::from_der(&cert)
            .map_err(|_| format!("slot {}: the attestation does not parse", slot.name()))?
            .1
            .public_key()
            .raw
            .to_vec();
        let len = digest_len(&spki).map_err(|e| format!("slot {}: {e}", slot.name()))?;
        let digest = tap_digest(&c.text, len).ok_or("no digest for this key")?;
        let (pin_policy, touch_policy) = match card.metadata(slot) {
            Ok(m) => (m.pin_policy, m.touch_policy),
            // Older keys: unknown, so ask what may be needed.
            Err(_) => (PinPolicy::Default, TouchPolicy::Default),
        };
        if pin_policy != PinPolicy::Never {
            match card.pin_tries_left().map_err(|e| e.to_string())? {
                None => {}
                Some(0) => return Err("the card's PIN is blocked (reset it with the PUK)".into()),
                Some(n) => {
                    let left = if n <= 3 {
                        format!(" ({n} {} left)", if n == 1 { "try" } else { "tries" })
                    } else {
                        String::new()
                    };
                    let pin = tty.ask_hidden(&format!(
                        "pam-mfa: {}@{} requires your PIV key's PIN. Enter the PIN of slot {}{left}: ",
                        c.login,
                        c.node,
                        slot.name()
                    ))?;
                    if pin.is_empty() {
                        return Err("no PIN was entered".into());
                    }
                    card.verify_pin(&pin).map_err(|e| e.to_string())?;
                }
            }
        }
        let with = format!("the PIV key in slot {}", slot.name());
        tty.say(&if touch_policy == TouchPolicy::Never {
            super::cue::no_touch_cue(c, &with)
        } else {
            super::cue::touch_cue(c, &with)
        })?;
        let signature = card.sign(slot, &digest).map_err(|e| e.to_string())?;
        return Ok(Answer::Piv {
            selector: selector(&spki),
            signature,
        }
        .encode());
    }
    Err(last_err)
}
