//! PIV attestation tests: chains minted with rcgen under a test root, and
//! Yubico's real roots.

pub(crate) mod chain;
pub(crate) mod device;
pub(crate) mod fake_card;
mod verify;
mod yubico_roots;
