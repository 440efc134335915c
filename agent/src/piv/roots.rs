//! The roots a PIV attestation chain must end at: Yubico's, shipped with the
//! agent, plus the files `piv.attestation_roots` in agent.yaml names.

use std::path::Path;

use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Yubico's device attestation roots, as Yubico publishes them in
/// <https://developers.yubico.com/PKI/yubico-ca-certs.txt> (update of
/// 2025-02-03; copied from the project's `shared/data/yubico-ca-certs.pem`):
/// U2F Root CA Serial 457200631, PIV Root CA Serial 263751, FIDO Root CA
/// Serial 450203556, Attestation Root 1. Public certificates.
pub const YUBICO_ROOTS_PEM: &str = include_str!("yubico-ca-certs.pem");

/// The Yubico roots that issue PIV attestation chains: the PIV root (F9
/// certificates of keys before firmware 5.7.4) and the all-applications root
/// (5.7.4 and later, through "Yubico PIV Attestation B 1"). The U2F and FIDO
/// roots attest FIDO keys only; a PIV chain under them is not trusted.
pub const YUBICO_PIV_ROOT_SUBJECTS: [&str; 2] = [
    "CN=Yubico PIV Root CA Serial 263751",
    "CN=Yubico Attestation Root 1",
];

/// One trusted root certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedRoot {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its subject, as text (e.g. `CN=Yubico PIV Root CA Serial 263751`).
    pub subject: String,
    /// Where it came from (`yubico` or a file path).
    pub origin: String,
}

/// The set of roots attestation chains are checked against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedRoots {
    roots: Vec<TrustedRoot>,
    /// SHA-256 over the DER of every root, in order: names this set (cache keys).
    fingerprint: [u8; 32],
}

impl TrustedRoots {
    /// Every Yubico root shipped (PIV and FIDO).
    pub fn yubico() -> TrustedRoots {
        TrustedRoots::from_pem(YUBICO_ROOTS_PEM, "yubico").expect("the shipped Yubico roots parse")
    }

    /// The Yubico roots PIV attestation chains end at
    /// ([`YUBICO_PIV_ROOT_SUBJECTS`]).
    pub fn yubico_piv() -> TrustedRoots {
        let mut set = TrustedRoots::yubico();
        set.roots
            .retain(|r| YUBICO_PIV_ROOT_SUBJECTS.contains(&r.subject.as_str()));
        set.refresh_fingerprint();
        set
    }

    /// Every certificate in `pem` (text outside PEM blocks is ignored; a
    /// block that is not a certificate is an error naming `origin`).
    pub fn from_pem(pem: &str, origin: &str) -> Result<TrustedRoots, String> {
        let mut set = TrustedRoots::default();
        set.add_pem(pem, origin)?;
        Ok(set)
    }

    /// Yubico's PIV roots ([`TrustedRoots::yubico_piv`]) when
    /// `include_yubico`, plus every certificate in each file.
    pub fn load(include_yubico: bool, files: &[impl AsRef<Path>]) -> Result<TrustedRoots, String> {
        let mut set = if include_yubico {
            TrustedRoots::yubico_piv()
        } else {
            TrustedRoots::default()
        };
        for f in files {
            let path = f.as_ref();
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!("{}: cannot read PIV attestation root: {e}", path.display())
            })?;
            let before = set.roots.len();
            set.add_pem(&text, &path.display().to_string())?;
            if set.roots.len() == before {
                return Err(format!(
                    "{}: no PEM certificate in the file",
                    path.display()
                ));
            }
        }
        Ok(set)
    }

    fn add_pem(&mut self, pem: &str, origin: &str) -> Result<(), String> {
        for der in super::pem::certificates(pem).map_err(|e| format!("{origin}: {e}"))? {
            let (_, cert) = X509Certificate::from_der(&der)
                .map_err(|e| format!("{origin}: a certificate does not parse: {e}"))?;
            let subject = cert.subject().to_string();
            if !self.roots.iter().any(|r| r.der == der) {
                self.roots.push(TrustedRoot {
                    der,
                    subject,
                    origin: origin.to_owned(),
                });
            }
        }
        self.refresh_fingerprint();
        Ok(())
    }

    fn refresh_fingerprint(&mut self) {
        let mut h = Sha256::new();
        for r in &self.roots {
            h.update((r.der.len() as u64).to_be_bytes());
            h.update(&r.der);
        }
        self.fingerprint = h.finalize().into();
    }

    /// The roots, in load order.
    pub fn roots(&self) -> &[TrustedRoot] {
        &self.roots
    }

    /// Names this exact set of roots.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}
