//! Attestation certificates, shaped like Yubico's: a root signs the card's F9
//! attestation certificate ("Yubico PIV Attestation"), which signs one certificate
//! per attested slot carrying Yubico's extensions:
//! `1.3.6.1.4.1.41482.3.3` firmware (3 raw bytes), `.7` serial (DER INTEGER),
//! `.8` PIN and touch policy (2 raw bytes), `.9` form factor (1 raw byte).

use super::der;
use super::keys::{Algorithm, KeyPair, SlotKey};
use base64::Engine;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use sha2::{Digest, Sha256};

pub const OID_FIRMWARE: &str = "1.3.6.1.4.1.41482.3.3";
pub const OID_SERIAL: &str = "1.3.6.1.4.1.41482.3.7";
pub const OID_POLICY: &str = "1.3.6.1.4.1.41482.3.8";
pub const OID_FORM_FACTOR: &str = "1.3.6.1.4.1.41482.3.9";

const NOT_BEFORE: &str = "240101000000Z";
const NOT_AFTER: &str = "99991231235959Z";

/// A certificate and its P-256 key that signs others (the test root, or a card's F9).
#[derive(Debug, Clone)]
pub struct Authority {
    pub cert_der: Vec<u8>,
    pub key: KeyPair,
    /// DER Name of the certificate's subject (the issuer of what it signs).
    subject: Vec<u8>,
}

/// What the card reports about itself in slot attestations.
#[derive(Debug, Clone, Copy)]
pub struct DeviceInfo {
    pub firmware: [u8; 3],
    pub serial: u32,
    pub form_factor: u8,
}

impl Authority {
    /// A self-signed test root whose key and certificate follow from `seed`.
    pub fn test_root(seed: &str) -> Authority {
        let key = KeyPair::from_seed(Algorithm::EccP256, format!("root:{seed}").as_bytes());
        let subject = der::name_cn(&format!("pam-mfa Test PIV Root CA {seed}"));
        let cert_der = build(
            &key,
            &subject,
            &subject,
            &serial_from(&["root", seed]),
            &key.spki(),
            &ca_extensions(),
        );
        Authority {
            cert_der,
            key,
            subject,
        }
    }

    /// The F9 attestation certificate of card `serial`, signed by this root; its key
    /// follows from the root's certificate and the serial.
    pub fn issue_attestation_ca(&self, serial: u32) -> Authority {
        let mut seed = b"f9:".to_vec();
        seed.extend_from_slice(&Sha256::digest(&self.cert_der));
        seed.extend_from_slice(&serial.to_be_bytes());
        let key = KeyPair::from_seed(Algorithm::EccP256, &seed);
        let subject = der::name_cn(&format!("Yubico PIV Attestation (test) {serial}"));
        let cert_der = build(
            &self.key,
            &self.subject,
            &subject,
            &serial_from(&["f9", &serial.to_string()]),
            &key.spki(),
            &ca_extensions(),
        );
        Authority {
            cert_der,
            key,
            subject,
        }
    }

    /// The attestation certificate of the key in `slot`, signed by this (F9) authority.
    pub fn attest(&self, slot: u8, key: &SlotKey, info: &DeviceInfo) -> Vec<u8> {
        let subject = der::name_cn(&format!("YubiKey PIV Attestation {slot:02x}"));
        let exts = [
            extension(OID_FIRMWARE, false, &info.firmware),
            extension(OID_SERIAL, false, &der::uint(&info.serial.to_be_bytes())),
            extension(OID_POLICY, false, &[key.pin as u8, key.touch as u8]),
            extension(OID_FORM_FACTOR, false, &[info.form_factor]),
        ];
        let mut serial_seed = key.key.public_point();
        serial_seed.push(slot);
        build(
            &self.key,
            &self.subject,
            &subject,
            &serial_from(&[&hex(&serial_seed)]),
            &key.key.spki(),
            &exts.concat(),
        )
    }

    /// The certificate as PEM.
    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert_der)
    }

    /// The private key as PKCS#8 PEM (test material only).
    pub fn key_pem(&self) -> String {
        let KeyPair::P256(k) = &self.key else {
            unreachable!("authorities are P-256")
        };
        k.to_pkcs8_pem(LineEnding::LF)
            .expect("encode PKCS#8")
            .to_string()
    }

    /// Loads a certificate and its P-256 PKCS#8 key (both PEM). The certificate must
    /// be one this card can issue under: its subject is taken as the issuer name.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Authority, String> {
        let cert_der = pem_decode(cert_pem, "CERTIFICATE")?;
        let key = p256::SecretKey::from_pkcs8_pem(key_pem)
            .map_err(|e| format!("attestation key: not a P-256 PKCS#8 PEM key: {e}"))?;
        let subject = subject_of(&cert_der).ok_or("attestation certificate: bad DER")?;
        let key = KeyPair::P256(key);
        let spki = spki_of(&cert_der).ok_or("attestation certificate: bad DER")?;
        if spki != key.spki() {
            return Err("attestation key does not match the certificate's public key".into());
        }
        Ok(Authority {
            cert_der,
            key,
            subject,
        })
    }
}

fn ca_extensions() -> Vec<u8> {
    let basic = der::seq(&[&der::boolean(true)]);
    // keyUsage: keyCertSign | cRLSign
    let usage = [0x03, 0x02, 0x01, 0x06];
    [
        extension("2.5.29.19", true, &basic),
        extension("2.5.29.15", true, &usage),
    ]
    .concat()
}

fn extension(oid: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    if critical {
        der::seq(&[&der::oid(oid), &der::boolean(true), &der::octets(value)])
    } else {
        der::seq(&[&der::oid(oid), &der::octets(value)])
    }
}

fn build(
    signer: &KeyPair,
    issuer: &[u8],
    subject: &[u8],
    serial: &[u8],
    spki: &[u8],
    exts: &[u8],
) -> Vec<u8> {
    let (sig_oid, _) = signer.sign_message(b"");
    let alg = der::seq(&[&der::oid(sig_oid)]);
    let validity = der::seq(&[
        &der::utc_time(NOT_BEFORE),
        &der::generalized_time(NOT_AFTER),
    ]);
    let tbs = der::seq(&[
        &der::explicit(0, &der::uint(&[2])),
        &der::uint(serial),
        &alg,
        issuer,
        &validity,
        subject,
        spki,
        &der::explicit(3, &der::seq(&[exts])),
    ]);
    let (_, sig) = signer.sign_message(&tbs);
    der::seq(&[&tbs, &alg, &der::bits(&sig)])
}

/// A positive 16-byte serial number from the parts.
fn serial_from(parts: &[&str]) -> Vec<u8> {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let mut s = h.finalize()[..16].to_vec();
    s[0] &= 0x7F;
    s[0] |= 0x01;
    s
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// PEM armour with 64-column lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first `label` PEM block.
pub fn pem_decode(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| format!("no {begin} block"))?
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| format!("no {end} line"))?
        + start;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("{label}: bad base64: {e}"))
}

/// The TBSCertificate's fields (version, serial, alg, issuer, validity, subject, spki, ...).
fn tbs_fields(cert: &[u8]) -> Option<Vec<Vec<u8>>> {
    let outer = super::tlv::parse(cert)?;
    let cert_body = super::tlv::find(&outer, &[0x30])?;
    let parts = super::tlv::parse(cert_body)?;
    let (tag, tbs) = parts.first()?;
    if tag != &[0x30] {
        return None;
    }
    let fields = super::tlv::parse(tbs)?;
    Some(
        fields
            .into_iter()
            .map(|(t, v)| {
                let mut out = t.clone();
                super::tlv::put_len(&mut out, v.len());
                out.extend_from_slice(v);
                out
            })
            .collect(),
    )
}

fn subject_of(cert: &[u8]) -> Option<Vec<u8>> {
    tbs_fields(cert)?.get(5).cloned()
}

fn spki_of(cert: &[u8]) -> Option<Vec<u8>> {
    tbs_fields(cert)?.get(6).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piv_card::keys::{Origin, PinPolicy, TouchPolicy};

    #[test]
    fn roots_repeat_and_reload_from_pem() {
        let a = Authority::test_root("t");
        let b = Authority::test_root("t");
        assert_eq!(a.cert_der, b.cert_der);
        let back = Authority::from_pem(&a.cert_pem(), &a.key_pem()).unwrap();
        assert_eq!(back.subject, a.subject);
        let other = Authority::test_root("u");
        assert!(Authority::from_pem(&a.cert_pem(), &other.key_pem()).is_err());
        let f9 = a.issue_attestation_ca(7);
        let slot = SlotKey {
            key: KeyPair::generate(Algorithm::EccP256),
            pin: PinPolicy::Once,
            touch: TouchPolicy::Always,
            origin: Origin::Generated,
        };
        let info = DeviceInfo {
            firmware: [5, 4, 3],
            serial: 7,
            form_factor: 1,
        };
        let cert = f9.attest(0x9c, &slot, &info);
        assert_eq!(spki_of(&cert), Some(slot.key.spki()));
        assert_eq!(subject_of(&f9.cert_der), subject_of(&f9.cert_der));
    }
}
