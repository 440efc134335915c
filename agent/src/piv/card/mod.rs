//! A PIV smart-card client: PC/SC transport, APDUs (chaining, GET RESPONSE),
//! the PIV applet and Yubico's extensions (metadata, version, serial,
//! generate with PIN/touch policy, attest, the F9 certificate).
//!
//! [`PivCard`] is the stable surface other code (host-attached taps,
//! `mfactl enroll`) builds on; [`PcscPivCard`] implements it over pcscd.
//!
//! ```no_run
//! use mfa_agent::piv::card::{KeyAlgorithm, PcscPivCard, PivCard};
//! use mfa_agent::piv::{PinPolicy, PivSlot, TouchPolicy};
//! # fn f() -> Result<(), mfa_agent::piv::card::CardError> {
//! let mut card = PcscPivCard::open(Some("Yubico"))?;
//! card.generate(PivSlot::Signature, KeyAlgorithm::EccP256, PinPolicy::Never, TouchPolicy::Always)?;
//! let slot_cert = card.attest(PivSlot::Signature)?;        // DER
//! let f9 = card.attestation_intermediate()?;              // DER
//! # Ok(()) }
//! ```
//!
//! Secrets: PINs arrive as [`Zeroizing`] and the APDU carrying one is built
//! in zeroized memory; the management key likewise. Neither is ever in an
//! error or a log line.
//!
//! Deadlines: [`PivCard::open`] waits at most [`DEFAULT_CARD_WAIT`] for a
//! card ([`PcscPivCard::open_with`] takes another). A command that needs a
//! touch blocks in `SCardTransmit`, which has no timeout: the card bounds the
//! wait (a YubiKey gives up after 15 s and answers 6982, reported as
//! [`CardError::TouchRequired`]).

mod apdu;
mod client;
mod error;
mod mgmt;
mod pcsc_transport;
mod tlv;

#[cfg(test)]
mod tests;

use zeroize::Zeroizing;

pub use apdu::{exchange, split_response, Command, Transport};
pub use client::{
    certificate_object, parse_metadata, PcscPivCard, PivClient, DEFAULT_CARD_WAIT,
    OBJECT_ATTESTATION, PIV_AID,
};
pub use error::{status_text, CardError};
pub use mgmt::{ManagementKey, DEFAULT_MANAGEMENT_KEY};
pub use pcsc_transport::PcscTransport;

use super::{PinPolicy, PivSlot, TouchPolicy};

/// Key algorithms the client generates and signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 (PIV algorithm 11).
    EccP256,
    /// ECDSA P-384 (PIV algorithm 14).
    EccP384,
}

impl KeyAlgorithm {
    /// The PIV algorithm id.
    pub fn id(self) -> u8 {
        match self {
            KeyAlgorithm::EccP256 => 0x11,
            KeyAlgorithm::EccP384 => 0x14,
        }
    }

    pub fn from_id(id: u8) -> Option<KeyAlgorithm> {
        match id {
            0x11 => Some(KeyAlgorithm::EccP256),
            0x14 => Some(KeyAlgorithm::EccP384),
            _ => None,
        }
    }

    /// The algorithm that signs a digest of `len` bytes (32: P-256 with
    /// SHA-256, 48: P-384 with SHA-384).
    pub fn for_digest(len: usize) -> Option<KeyAlgorithm> {
        match len {
            32 => Some(KeyAlgorithm::EccP256),
            48 => Some(KeyAlgorithm::EccP384),
            _ => None,
        }
    }

    /// `p256`, `p384`.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::EccP256 => "p256",
            KeyAlgorithm::EccP384 => "p384",
        }
    }

    /// Reads `p256`/`eccp256`/`ecdsa-p256` and the P-384 names.
    pub fn parse(text: &str) -> Result<KeyAlgorithm, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "p256" | "eccp256" | "ecdsa-p256" | "p-256" => Ok(KeyAlgorithm::EccP256),
            "p384" | "eccp384" | "ecdsa-p384" | "p-384" => Ok(KeyAlgorithm::EccP384),
            _ => Err(format!("key algorithm {text:?} is not p256 or p384")),
        }
    }

    /// The uncompressed EC point's length (04 || X || Y).
    pub fn point_len(self) -> usize {
        match self {
            KeyAlgorithm::EccP256 => 65,
            KeyAlgorithm::EccP384 => 97,
        }
    }
}

/// What GET METADATA says about a key slot (YubiKey 5.3 and later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotMetadata {
    /// The key's algorithm, when one this client knows.
    pub algorithm: Option<KeyAlgorithm>,
    /// The raw algorithm id (RSA and others too).
    pub algorithm_id: u8,
    pub pin_policy: PinPolicy,
    pub touch_policy: TouchPolicy,
    /// Generated on the card (`Some(true)`) or imported (`Some(false)`).
    pub generated: Option<bool>,
    /// The public EC point (04 || X || Y), when stated.
    pub public_point: Option<Vec<u8>>,
}

/// The operations on a PIV key the product needs. Stable: host-attached taps
/// and `mfactl enroll` use it; add methods with defaults rather than change
/// these.
pub trait PivCard {
    /// Connects to the card in the reader whose name contains `reader` (any
    /// reader holding a card when `None`), waiting up to
    /// [`DEFAULT_CARD_WAIT`] for one, and selects the PIV applet.
    fn open(reader: Option<&str>) -> Result<Self, CardError>
    where
        Self: Sized;

    /// The management key [`PivCard::generate`] authenticates with (the
    /// factory default 3DES key until set).
    fn set_management_key(&mut self, key: ManagementKey);

    /// The firmware version (YubiKey GET VERSION).
    fn version(&mut self) -> Result<(u8, u8, u8), CardError>;

    /// The serial number (YubiKey GET SERIAL).
    fn serial(&mut self) -> Result<u32, CardError>;

    /// VERIFY PIN. A wrong PIN is [`CardError::WrongPin`] with the tries
    /// left; a PIN outside 6..8 characters is refused before it is sent.
    fn verify_pin(&mut self, pin: &Zeroizing<String>) -> Result<(), CardError>;

    /// The PIN tries left, or `None` when the PIN is verified already.
    fn pin_tries_left(&mut self) -> Result<Option<u8>, CardError>;

    /// GET METADATA of a key slot: algorithm, PIN and touch policy, origin,
    /// public key.
    fn metadata(&mut self, slot: PivSlot) -> Result<SlotMetadata, CardError>;

    /// Generates a key in `slot` with the given policies (`Default`: the
    /// card's default for the slot), after authenticating with the
    /// management key (the factory default unless set). Returns the public
    /// EC point (04 || X || Y).
    fn generate(
        &mut self,
        slot: PivSlot,
        alg: KeyAlgorithm,
        pin_policy: PinPolicy,
        touch_policy: TouchPolicy,
    ) -> Result<Vec<u8>, CardError>;

    /// The slot's attestation certificate (YubiKey ATTEST, `F9`), DER:
    /// signed by the F9 key, stating the policies, serial and firmware.
    fn attest(&mut self, slot: PivSlot) -> Result<Vec<u8>, CardError>;

    /// The F9 attestation certificate (object `5FFF01`), DER: the link
    /// between slot attestations and Yubico's (or a configured) root.
    fn attestation_intermediate(&mut self) -> Result<Vec<u8>, CardError>;

    /// The certificate stored for `slot`, DER.
    fn certificate(&mut self, slot: PivSlot) -> Result<Vec<u8>, CardError>;

    /// Signs a prehashed `digest` with the key in `slot` (GENERAL
    /// AUTHENTICATE): 32 bytes for P-256, 48 for P-384. Returns the DER
    /// ECDSA signature. May block for a touch (see the module docs).
    fn sign(&mut self, slot: PivSlot, digest: &[u8]) -> Result<Vec<u8>, CardError>;
}

/// Fills `buf` from the kernel's random source (errors as text).
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), String> {
    random(buf).map_err(|e| format!("no randomness: {e}"))
}

/// Fills `buf` from the kernel's random source.
pub(crate) fn random(buf: &mut [u8]) -> Result<(), String> {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}
