//! Verifying a PIV slot attestation chain: slot certificate ← the key's F9
//! attestation certificate ← (intermediates, YubiKey 5.7+) ← a trusted root.
//!
//! As go-piv's `Verify` (which Teleport uses) does, only signatures are
//! checked: not validity dates (F9 certificates carry odd ones), nor CA flags
//! (YubiKey 4 F9 certificates have no basicConstraints). One rule is added:
//! no certificate above the slot certificate may itself be a slot
//! attestation (carry the PIN/touch policy extension), or an attested key
//! could sign a forged "slot certificate" for any other key.

use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::extensions::{self, FormFactor, PinPolicy, TouchPolicy};
use super::roots::TrustedRoots;
use super::signature::verify_signed_by;
use super::slot::PivSlot;

/// Certificates allowed between the F9 certificate and the root (Yubico uses
/// one since firmware 5.7: "Yubico PIV Attestation B 1" under "Yubico
/// Attestation Root 1").
pub const MAX_INTERMEDIATES: usize = 2;

/// What a verified slot attestation says about the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// The key's serial number (extension .3.7), when stated.
    pub serial: Option<u32>,
    /// Firmware version (extension .3.3), when stated.
    pub firmware: Option<(u8, u8, u8)>,
    /// Extension .3.8.
    pub pin_policy: PinPolicy,
    /// Extension .3.8.
    pub touch_policy: TouchPolicy,
    /// Extension .3.9, when stated.
    pub form_factor: Option<FormFactor>,
    /// The slot, from the subject (`CN=YubiKey PIV Attestation 9c`), when it names one.
    pub slot: Option<PivSlot>,
    /// The attested key's SubjectPublicKeyInfo, DER.
    pub public_key_spki: Vec<u8>,
    /// SHA-256 of `public_key_spki`.
    pub public_key_spki_sha256: [u8; 32],
    /// The subject of the root the chain ends at.
    pub root: String,
}

/// Why a chain was refused. The text says which link failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationError(pub String);

impl std::fmt::Display for AttestationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AttestationError {}

fn err(s: impl Into<String>) -> AttestationError {
    AttestationError(s.into())
}

/// The link names used in errors: 0 slot, 1 F9, then intermediates.
fn link_name(i: usize) -> String {
    match i {
        0 => "slot certificate".into(),
        1 => "attestation (F9) certificate".into(),
        n => format!("intermediate certificate {}", n - 1),
    }
}

/// Verifies `chain` (DER: the slot certificate, the F9 attestation
/// certificate, then up to [`MAX_INTERMEDIATES`] intermediates, leaf first;
/// a trailing copy of the root is allowed) against `roots`.
pub fn verify_chain(
    chain: &[Vec<u8>],
    roots: &TrustedRoots,
) -> Result<Attestation, AttestationError> {
    match chain.len() {
        0 => return Err(err("attestation chain is empty")),
        1 => {
            return Err(err(
                "attestation chain has no attestation (F9) certificate after the slot certificate",
            ))
        }
        _ => {}
    }
    let parsed = chain
        .iter()
        .enumerate()
        .map(|(i, der)| match X509Certificate::from_der(der) {
            Ok(([], c)) => Ok(c),
            Ok(_) => Err(err(format!("{} has trailing data", link_name(i)))),
            Err(e) => Err(err(format!("{} does not parse: {e}", link_name(i)))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A trailing copy of a trusted root is the anchor itself; drop it.
    let mut links = parsed.len();
    if links > 2 && roots.roots().iter().any(|r| r.der == chain[links - 1]) {
        links -= 1;
    }
    if links > 2 + MAX_INTERMEDIATES {
        return Err(err(format!(
            "attestation chain has {} intermediates above the F9 certificate (at most {MAX_INTERMEDIATES})",
            links - 2
        )));
    }
    for (i, c) in parsed.iter().enumerate().take(links).skip(1) {
        if extensions::has_policy_extension(c) {
            return Err(err(format!(
                "{} is itself a slot attestation; it cannot attest another key",
                link_name(i)
            )));
        }
    }
    for i in 0..links - 1 {
        verify_signed_by(&parsed[i], parsed[i + 1].public_key()).map_err(|e| {
            err(format!(
                "{} not signed by the {} ({}): {e}",
                link_name(i),
                link_name(i + 1),
                parsed[i + 1].subject()
            ))
        })?;
    }
    let top = &parsed[links - 1];
    let root = anchor(top, roots).map_err(|e| {
        err(format!(
            "{} from an untrusted root (issuer {}): {e}",
            link_name(links - 1),
            top.issuer()
        ))
    })?;

    let slot_cert = &parsed[0];
    let ext = extensions::read(slot_cert).map_err(|e| err(format!("slot certificate: {e}")))?;
    let (pin_policy, touch_policy) = ext.policy.ok_or_else(|| {
        err("slot certificate has no PIN/touch policy extension (1.3.6.1.4.1.41482.3.8)")
    })?;
    let spki = slot_cert.public_key().raw.to_vec();
    Ok(Attestation {
        serial: ext.serial,
        firmware: ext.firmware,
        pin_policy,
        touch_policy,
        form_factor: ext.form_factor,
        slot: slot_from_subject(slot_cert),
        public_key_spki_sha256: Sha256::digest(&spki).into(),
        public_key_spki: spki,
        root,
    })
}

/// The root among `roots` whose key signed `top`: its subject.
fn anchor(top: &X509Certificate<'_>, roots: &TrustedRoots) -> Result<String, String> {
    let mut tried = Vec::new();
    for r in roots.roots() {
        let Ok((_, root)) = X509Certificate::from_der(&r.der) else {
            continue;
        };
        if root.subject().as_raw() != top.issuer().as_raw() {
            continue;
        }
        match verify_signed_by(top, root.public_key()) {
            Ok(()) => return Ok(r.subject.clone()),
            Err(e) => tried.push(format!("{} ({}): {e}", r.subject, r.origin)),
        }
    }
    if tried.is_empty() {
        Err(format!(
            "no trusted root of that name among {}",
            roots.roots().len()
        ))
    } else {
        Err(format!(
            "signature does not verify under {}",
            tried.join("; ")
        ))
    }
}

/// `CN=YubiKey PIV Attestation 9c` → 9c.
fn slot_from_subject(cert: &X509Certificate<'_>) -> Option<PivSlot> {
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
    let word = cn.strip_prefix("YubiKey PIV Attestation ")?;
    PivSlot::parse(word).ok()
}
