//! PIV keys: attestation chains (slot ← F9 ← Yubico or configured roots),
//! what they say (serial, firmware, PIN and touch policy, form factor), the
//! key class Teleport gives them, the cap's `hardware_key` block, and the
//! `piv` form of `mfa_device`.
//!
//! ```no_run
//! use mfa_agent::piv::{PivVerifier, TrustedRoots};
//! # fn f(bundle: &mfa_agent::policy::Bundle, device: &mfa_agent::policy::MfaDevice,
//! #      traits: &mfa_agent::policy::Traits) -> Result<(), String> {
//! let verifier = PivVerifier::new(TrustedRoots::load(true, &["/etc/pam-mfa/piv-roots.pem"])?);
//! let key = verifier.device_class(device, traits, &bundle.cap)?;
//! println!("{} serial {:?}", key.class, key.attestation.serial);
//! # Ok(()) }
//! ```

mod attestation;
mod cap_hardware_key;
pub mod card;
mod device_class;
mod device_form;
pub(crate) mod ec_key;
mod extensions;
mod key_class;
pub(crate) mod pem;
mod roots;
pub(crate) mod signature;
mod slot;
mod ssh_key_match;

#[cfg(test)]
pub(crate) mod tests;

pub use attestation::{verify_chain, Attestation, AttestationError, MAX_INTERMEDIATES};
pub use cap_hardware_key::{HardwareKeySettings, DEFAULT_SERIAL_TRAIT, MAX_PIN_CACHE_TIMEOUT};
pub use device_class::{piv_device_class, AttestedKey, PivVerifier};
pub use device_form::PivDevice;
pub use extensions::{FormFactor, PinPolicy, TouchPolicy};
pub use key_class::{attested_class, key_class, satisfies};
pub use roots::{TrustedRoot, TrustedRoots, YUBICO_PIV_ROOT_SUBJECTS, YUBICO_ROOTS_PEM};
pub use slot::PivSlot;
