//! The class of a registered `piv` device: its chain verified against the
//! agent's roots (cached by chain and root set), the slot and serial number
//! checked against the device and the cap.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::attestation::{verify_chain, Attestation, AttestationError};
use super::cap_hardware_key::HardwareKeySettings;
use super::key_class::attested_class;
use super::roots::TrustedRoots;
use crate::policy::{AuthPreference, DeviceKind, KeyPolicy, MfaDevice};

/// Verified chains kept at most (then the cache starts over).
const CACHE_LIMIT: usize = 1024;

/// A registered PIV key whose attestation held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedKey {
    /// Its class (`hardware_key` .. `hardware_key_touch_and_pin`).
    pub class: KeyPolicy,
    /// What the attestation says (serial, policies, the attested public key).
    pub attestation: Attestation,
}

/// Verifies attestation chains against one set of roots, remembering the
/// chains that verified (keyed by the chain's and the roots' SHA-256, so a
/// new root set never reuses an old answer; failures are not cached).
#[derive(Debug)]
pub struct PivVerifier {
    roots: TrustedRoots,
    cache: Mutex<HashMap<[u8; 32], Attestation>>,
}

impl PivVerifier {
    pub fn new(roots: TrustedRoots) -> PivVerifier {
        PivVerifier {
            roots,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn roots(&self) -> &TrustedRoots {
        &self.roots
    }

    /// [`verify_chain`], cached.
    pub fn verify(&self, chain: &[Vec<u8>]) -> Result<Attestation, AttestationError> {
        let mut h = Sha256::new();
        h.update(self.roots.fingerprint());
        for der in chain {
            h.update((der.len() as u64).to_be_bytes());
            h.update(der);
        }
        let key: [u8; 32] = h.finalize().into();
        if let Some(a) = lock(&self.cache).get(&key) {
            return Ok(a.clone());
        }
        let a = verify_chain(chain, &self.roots)?;
        let mut cache = lock(&self.cache);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, a.clone());
        Ok(a)
    }

    /// The class of `device` (a `piv` form) for a user with `user_traits`
    /// under `cap`: the chain must verify, the attested slot must be the
    /// device's `slot` when given, and with the cap's serial number
    /// validation on, the attested serial must be in the user's trait.
    pub fn device_class(
        &self,
        device: &MfaDevice,
        user_traits: &crate::policy::Traits,
        cap: &AuthPreference,
    ) -> Result<AttestedKey, String> {
        let DeviceKind::Piv(piv) = &device.kind else {
            return Err(format!(
                "mfa_device {:?} is a {} device, not piv",
                device.name,
                device.kind.name()
            ));
        };
        let settings = HardwareKeySettings::parse(&cap.raw_hardware_key)?;
        let att = self
            .verify(&piv.chain)
            .map_err(|e| format!("mfa_device {:?}: {e}", device.name))?;
        if let Some(want) = piv.slot {
            if att.slot != Some(want) {
                return Err(format!(
                    "mfa_device {:?}: registered for slot {want}, but the attestation is for slot {}",
                    device.name,
                    att.slot.map(|s| s.name()).unwrap_or("(none named)")
                ));
            }
        }
        settings
            .serial_allowed(att.serial, user_traits)
            .map_err(|e| format!("mfa_device {:?}: {e}", device.name))?;
        Ok(AttestedKey {
            class: attested_class(&att),
            attestation: att,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// [`PivVerifier::device_class`] without a cache: the class of a `piv`
/// device, or why it has none.
pub fn piv_device_class(
    device: &MfaDevice,
    roots: &TrustedRoots,
    user_traits: &crate::policy::Traits,
    cap: &AuthPreference,
) -> Result<KeyPolicy, String> {
    PivVerifier::new(roots.clone())
        .device_class(device, user_traits, cap)
        .map(|k| k.class)
}
