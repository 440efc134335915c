//! The software authenticator as a legacy U2F device: its public key in
//! the form Teleport keeps a U2F device's `pubKey` (DER SubjectPublicKeyInfo).

use super::soft::SoftAuthenticator;

/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) ...
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl SoftAuthenticator {
    /// The credential's public key as DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(point.as_bytes());
        der
    }
}
