//! Minting YubiKey-shaped attestation chains under a test root with rcgen:
//! root (P-384, CA) → intermediate (P-256, CA, as Yubico's "PIV Attestation
//! B 1") → F9 "Yubico PIV Attestation" (P-256, no basicConstraints, dates in
//! the past, as on real keys) → slot "YubiKey PIV Attestation 9c" with the
//! Yubico extensions.

use rcgen::{
    date_time_ymd, BasicConstraints, Certificate, CertificateParams, CustomExtension,
    DistinguishedName, DnType, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
};

pub(crate) const OID_FIRMWARE: &[u64] = &[1, 3, 6, 1, 4, 1, 41482, 3, 3];
pub(crate) const OID_SERIAL: &[u64] = &[1, 3, 6, 1, 4, 1, 41482, 3, 7];
pub(crate) const OID_POLICY: &[u64] = &[1, 3, 6, 1, 4, 1, 41482, 3, 8];
pub(crate) const OID_FORM_FACTOR: &[u64] = &[1, 3, 6, 1, 4, 1, 41482, 3, 9];

/// A CA certificate and its key.
pub(crate) struct Ca {
    pub cert: Certificate,
    pub key: KeyPair,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name = dn(cn);
    p.is_ca = if ca {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::NoCa
    };
    p
}

/// A self-signed test root.
pub(crate) fn root(cn: &str) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("key");
    let cert = params(cn, true).self_signed(&key).expect("root");
    Ca { cert, key }
}

/// A CA certificate under `issuer`.
pub(crate) fn intermediate(cn: &str, issuer: &Ca) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = params(cn, true)
        .signed_by(&key, &issuer.cert, &issuer.key)
        .expect("intermediate");
    Ca { cert, key }
}

/// An F9 attestation certificate under `issuer`: not CA-flagged, validity
/// long past (neither is checked, as with real keys).
pub(crate) fn f9(issuer: &Ca) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
    let mut p = params("Yubico PIV Attestation", false);
    p.is_ca = IsCa::ExplicitNoCa;
    p.not_before = date_time_ymd(2016, 3, 14);
    p.not_after = date_time_ymd(2017, 3, 14);
    let cert = p.signed_by(&key, &issuer.cert, &issuer.key).expect("f9");
    Ca { cert, key }
}

/// What the slot certificate says.
#[derive(Clone)]
pub(crate) struct Slot {
    pub slot: &'static str,
    pub pin: u8,
    pub touch: u8,
    pub serial: Option<u32>,
    pub firmware: [u8; 3],
    pub form_factor: u8,
}

impl Default for Slot {
    fn default() -> Slot {
        Slot {
            slot: "9c",
            pin: 1,
            touch: 2,
            serial: Some(12_345_678),
            firmware: [5, 7, 1],
            form_factor: 0x03,
        }
    }
}

fn der_integer(n: u32) -> Vec<u8> {
    let mut body: Vec<u8> = n
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    if matches!(body.first(), None | Some(0x80..)) {
        body.insert(0, 0);
    }
    let mut out = vec![0x02, body.len() as u8];
    out.extend(body);
    out
}

/// A slot attestation certificate for a fresh key, signed by `issuer` (the F9).
pub(crate) fn slot_cert(s: &Slot, issuer: &Ca) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
    let mut p = params(&format!("YubiKey PIV Attestation {}", s.slot), false);
    p.not_before = date_time_ymd(2016, 3, 14);
    p.not_after = date_time_ymd(2017, 3, 14);
    p.custom_extensions = vec![
        CustomExtension::from_oid_content(OID_FIRMWARE, s.firmware.to_vec()),
        CustomExtension::from_oid_content(OID_POLICY, vec![s.pin, s.touch]),
        CustomExtension::from_oid_content(OID_FORM_FACTOR, vec![s.form_factor]),
    ];
    if let Some(n) = s.serial {
        p.custom_extensions.push(CustomExtension::from_oid_content(
            OID_SERIAL,
            der_integer(n),
        ));
    }
    let cert = p.signed_by(&key, &issuer.cert, &issuer.key).expect("slot");
    Ca { cert, key }
}

/// A whole minted chain.
pub(crate) struct Minted {
    pub root: Ca,
    pub intermediate: Ca,
    pub f9: Ca,
    pub slot: Ca,
}

impl Minted {
    /// `Slot` under a fresh root, with one intermediate (the 5.7+ shape).
    pub fn new(s: &Slot) -> Minted {
        let root = root("Test PIV Root CA");
        let intermediate = intermediate("Test PIV Attestation B 1", &root);
        let f9 = f9(&intermediate);
        let slot = slot_cert(s, &f9);
        Minted {
            root,
            intermediate,
            f9,
            slot,
        }
    }

    /// slot, F9, intermediate (DER), as a key hands them out.
    pub fn chain(&self) -> Vec<Vec<u8>> {
        [&self.slot, &self.f9, &self.intermediate]
            .iter()
            .map(|c| c.cert.der().to_vec())
            .collect()
    }

    /// The same, PEM.
    pub fn chain_pem(&self) -> Vec<String> {
        [&self.slot, &self.f9, &self.intermediate]
            .iter()
            .map(|c| c.cert.pem())
            .collect()
    }

    /// The roots holding just this chain's root.
    pub fn roots(&self) -> crate::piv::TrustedRoots {
        crate::piv::TrustedRoots::from_pem(&self.root.cert.pem(), "test root").expect("roots")
    }
}
