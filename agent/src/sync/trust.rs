//! Whom an HTTPS source must be: a CA file (the system bundle by default),
//! or `sha256:` pins of a certificate's SubjectPublicKeyInfo.
//!
//! A pin matches when the server's leaf certificate, or any certificate the
//! server sends in its chain, has that SubjectPublicKeyInfo:
//! - the leaf's key pinned: that key is trusted as it is (names and dates are
//!   not checked; the TLS handshake still proves the server holds the key);
//! - a chain certificate's key pinned (a CA, as Teleport prints CA pins): the
//!   leaf must chain to that certificate, with the usual name and validity
//!   checks, as if it were the only trusted root.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::config::CaPin;

/// Where distributions keep the system's CA bundle.
const SYSTEM_CA_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// SHA-256 of a DER certificate's SubjectPublicKeyInfo.
pub fn spki_sha256(cert_der: &[u8]) -> Result<[u8; 32], String> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| format!("cannot parse a server certificate: {e}"))?;
    Ok(Sha256::digest(cert.tbs_certificate.subject_pki.raw).into())
}

/// The TLS client configuration for `ca_file` or `pins` (pins win when set;
/// neither: the system's CA bundle).
pub fn tls_config(ca_file: Option<&Path>, pins: &[CaPin]) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    if !pins.is_empty() {
        let verifier = PinVerifier {
            pins: pins.iter().map(|p| p.0).collect(),
            provider: provider(),
        };
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth());
    }
    let file = match ca_file {
        Some(f) => f.to_path_buf(),
        None => SYSTEM_CA_FILES
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
            .ok_or("no cluster.ca_file and no system CA bundle found")?
            .to_path_buf(),
    };
    let roots = load_roots(&file)?;
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

fn load_roots(file: &Path) -> Result<RootCertStore, String> {
    let shown = file.display();
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(file).map_err(|e| format!("{shown}: {e}"))?;
    for c in certs {
        let c = c.map_err(|e| format!("{shown}: {e}"))?;
        roots
            .add(c)
            .map_err(|e| format!("{shown}: a certificate is not usable as a CA: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{shown}: no PEM certificates in it"));
    }
    Ok(roots)
}

#[derive(Debug)]
struct PinVerifier {
    pins: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl PinVerifier {
    fn pinned(&self, cert: &CertificateDer<'_>) -> bool {
        spki_sha256(cert).is_ok_and(|h| self.pins.contains(&h))
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned(end_entity) {
            return Ok(ServerCertVerified::assertion());
        }
        let mut last = None;
        for ca in intermediates.iter().filter(|c| self.pinned(c)) {
            let mut roots = RootCertStore::empty();
            if roots.add(ca.clone().into_owned()).is_err() {
                continue;
            }
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                    .build()
                    .map_err(|e| rustls::Error::General(e.to_string()))?;
            match verifier.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(v) => return Ok(v),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            rustls::Error::General(
                "pin mismatch: no certificate the server sent has a key in cluster.ca_pins".into(),
            )
        }))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
