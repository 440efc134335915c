//! A throwaway PKI: a CA and a leaf for 127.0.0.1 and localhost.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

pub struct TestPki {
    pub ca_pem: String,
    pub ca_der: Vec<u8>,
    pub leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

impl TestPki {
    pub fn generate() -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "pam-mfa e2e policy CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
        let leaf_key = KeyPair::generate().expect("leaf key");
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).expect("leaf params");
        leaf.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        leaf.distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .expect("leaf cert");
        TestPki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().to_vec(),
            leaf_der: leaf_cert.der().to_vec(),
            leaf_key_der: leaf_key.serialize_der(),
        }
    }

    /// `sha256:HEX` of the CA's SubjectPublicKeyInfo (a Teleport-style CA pin).
    pub fn ca_pin(&self) -> String {
        pin_of(&self.ca_der)
    }

    /// `sha256:HEX` of the leaf's SubjectPublicKeyInfo.
    pub fn leaf_pin(&self) -> String {
        pin_of(&self.leaf_der)
    }

    /// The leaf then the CA, PEM: a web server's certificate chain file.
    pub fn chain_pem(&self) -> String {
        format!(
            "{}{}",
            pem("CERTIFICATE", &self.leaf_der),
            pem("CERTIFICATE", &self.ca_der)
        )
    }

    /// The leaf's private key, PKCS#8 PEM (for a web server's key file).
    pub fn leaf_key_pem(&self) -> String {
        pem("PRIVATE KEY", &self.leaf_key_der)
    }

    /// The server sends the leaf and the CA.
    pub(crate) fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let chain = vec![
            CertificateDer::from(self.leaf_der.clone()),
            CertificateDer::from(self.ca_der.clone()),
        ];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_der.clone()));
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server cert");
        Arc::new(cfg)
    }
}

/// `sha256:HEX` of a certificate's SubjectPublicKeyInfo, computed with the
/// agent's own parser.
pub fn pin_of(cert_der: &[u8]) -> String {
    let h = mfa_agent::sync::spki_sha256(cert_der).expect("parse certificate");
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A pin that matches nothing the server sends.
pub fn unrelated_pin() -> String {
    let h = Sha256::digest(b"some other key");
    format!(
        "sha256:{}",
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}
