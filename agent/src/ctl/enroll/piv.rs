//! `mfactl enroll --piv`: generate (when asked) a key with the policies the
//! cap needs, read its attestation, verify it as the agent will, refuse it
//! with the reason when it falls short.

use std::path::PathBuf;

use zeroize::Zeroizing;

use super::device_doc::{DeviceDoc, DeviceForm};
use super::{EnrollArgs, EnrollContext, Enrolled};
use crate::piv::card::{KeyAlgorithm, ManagementKey, PivCard};
use crate::piv::{
    attested_class, satisfies, Attestation, HardwareKeySettings, PinPolicy, PivSlot, PivVerifier,
    TouchPolicy,
};
use crate::policy::{load_bundle_str, KeyPolicy};

/// `--piv` and its options.
#[derive(Debug, Clone, Default)]
pub struct PivEnrollArgs {
    /// `--slot`; else the cap's `hardware_key.piv_slot`, else the default
    /// slot of the requirement (9a, 9c, 9d, 9e).
    pub slot: Option<PivSlot>,
    /// `--generate`: make a new key in the slot (overwrites it).
    pub generate: bool,
    /// `--reader`: part of the reader's name.
    pub reader: Option<String>,
    /// `--algorithm` for `--generate`.
    pub algorithm: Option<KeyAlgorithm>,
    /// `--management-key-file`: the card's management key (else the
    /// factory default).
    pub management_key_file: Option<PathBuf>,
    /// `--serial-trait`: the serial numbers the user's trait will list
    /// (comma-separated), checked instead of the bundle's user when the
    /// cap's serial number validation is on.
    pub serial_trait: Option<String>,
}

/// The PIN and touch policy a key generated for `required` gets (as
/// Teleport's `tsh` generates them: touch cached, PIN once; never
/// otherwise).
pub fn piv_policies_for(required: KeyPolicy) -> (PinPolicy, TouchPolicy) {
    let pin = if required.needs_pin() {
        PinPolicy::Once
    } else {
        PinPolicy::Never
    };
    let touch = if required.needs_touch() {
        TouchPolicy::Cached
    } else {
        TouchPolicy::Never
    };
    (pin, touch)
}

/// The checks beyond the chain: the attested slot, the key's class against
/// what the user's logins require, and the serial number when the cap
/// validates serial numbers. `Err` is the reason to refuse.
pub fn check_piv_attestation(
    att: &Attestation,
    slot: PivSlot,
    required: KeyPolicy,
    settings: &HardwareKeySettings,
    traits: &crate::policy::Traits,
) -> Result<KeyPolicy, String> {
    if att.slot != Some(slot) {
        return Err(format!(
            "the attestation is for slot {}, not {slot}",
            att.slot.map(PivSlot::name).unwrap_or("(none named)")
        ));
    }
    let class = attested_class(att);
    if !satisfies(class, required) {
        return Err(format!(
            "the key in slot {slot} has PIN policy {} and touch policy {}, a {class} key, weaker than the {required} the cluster requires; generate one with --generate",
            att.pin_policy.name(),
            att.touch_policy.name()
        ));
    }
    settings.serial_allowed(att.serial, traits).map_err(|e| {
        format!("{e} (serial number validation is on; add the serial to the trait, or pass --serial-trait)")
    })?;
    Ok(class)
}

fn card_err(e: crate::piv::card::CardError) -> String {
    e.to_string()
}

/// The EC point inside an SPKI (its BIT STRING's content ends with it).
fn spki_holds_point(spki: &[u8], point: &[u8]) -> bool {
    spki.ends_with(point)
}

/// `--generate`: a new key in `slot` with the PIN and touch policies
/// `required` needs (after `--management-key-file`'s key, if given).
/// Returns its public point and a note saying what was made.
fn generate<C: PivCard>(
    card: &mut C,
    p: &PivEnrollArgs,
    slot: PivSlot,
    required: KeyPolicy,
) -> Result<(Vec<u8>, String), String> {
    if let Some(f) = &p.management_key_file {
        let text = Zeroizing::new(
            std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?,
        );
        let key = ManagementKey::parse(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        card.set_management_key(key);
    }
    let (pin, touch) = piv_policies_for(required);
    let alg = p.algorithm.unwrap_or(KeyAlgorithm::EccP256);
    let point = card.generate(slot, alg, pin, touch).map_err(card_err)?;
    let note = format!(
        "generated a {} key in slot {slot} with PIN policy {} and touch policy {}",
        alg.name(),
        pin.name(),
        touch.name()
    );
    Ok((point, note))
}

pub fn enroll_piv<C: PivCard>(
    ctx: &EnrollContext,
    args: &EnrollArgs,
    p: &PivEnrollArgs,
) -> Result<Enrolled, String> {
    let settings = HardwareKeySettings::parse(&ctx.bundle.cap.raw_hardware_key)?;
    let required = if ctx.required == KeyPolicy::None {
        KeyPolicy::HardwareKey
    } else {
        ctx.required
    };
    let slot = p.slot.unwrap_or_else(|| settings.slot_for(required));
    let verifier = PivVerifier::new(ctx.piv_roots()?);
    let mut notes = vec![format!(
        "the cluster requires {} for {}'s logins ({}); slot {slot}",
        ctx.required, args.user, ctx.bundle_origin
    )];
    if !ctx.user_known {
        notes.push(format!(
            "warning: user {:?} is not in the bundle; only the cap was consulted",
            args.user
        ));
    }

    let mut card = C::open(p.reader.as_deref()).map_err(card_err)?;
    let mut generated = None;
    if p.generate {
        let (point, note) = generate(&mut card, p, slot, required)?;
        notes.push(note);
        generated = Some(point);
    }
    let slot_cert = card.attest(slot).map_err(card_err)?;
    let f9 = card.attestation_intermediate().map_err(card_err)?;
    let chain = vec![slot_cert, f9];
    let att = verifier
        .verify(&chain)
        .map_err(|e| format!("refusing the key in slot {slot}: {e}"))?;
    if let Some(point) = &generated {
        if !spki_holds_point(&att.public_key_spki, point) {
            return Err(format!(
                "refusing the key in slot {slot}: the attestation is not for the key just generated"
            ));
        }
    }
    let traits = match &p.serial_trait {
        Some(list) => {
            crate::policy::Traits::from([(settings.serial_trait.as_str(), &[list.as_str()][..])])
        }
        None => ctx.traits.clone(),
    };
    let class = check_piv_attestation(&att, slot, required, &settings, &traits)
        .map_err(|e| format!("refusing the key in slot {slot}: {e}"))?;
    notes.push(format!(
        "attested by {} (serial {}, firmware {}): a {class} key",
        att.root,
        att.serial
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown".into()),
        att.firmware
            .map(|(a, b, c)| format!("{a}.{b}.{c}"))
            .unwrap_or_else(|| "unknown".into()),
    ));
    let serial = att
        .serial
        .map(|s| s.to_string())
        .unwrap_or_else(|| "key".into());
    let device = DeviceDoc {
        name: args
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-piv-{serial}-{slot}", args.user)),
        user: args.user.clone(),
        form: DeviceForm::Piv { slot, chain },
    };
    self_check(&device, &verifier, ctx, &traits)?;
    Ok(Enrolled { device, notes })
}

/// The printed resource must load in a bundle with the cap and verify as
/// the agent will verify it; otherwise printing it would be a lie.
fn self_check(
    device: &DeviceDoc,
    verifier: &PivVerifier,
    ctx: &EnrollContext,
    traits: &crate::policy::Traits,
) -> Result<(), String> {
    let b = load_bundle_str(&device.to_yaml(), "the printed mfa_device")
        .map_err(|e| format!("internal error: the printed resource does not load: {e}"))?;
    let d = b
        .devices()
        .first()
        .ok_or("internal error: the printed resource holds no device")?;
    verifier
        .device_class(d, traits, &ctx.bundle.cap)
        .map(|_| ())
        .map_err(|e| format!("internal error: the printed resource does not verify: {e}"))
}
