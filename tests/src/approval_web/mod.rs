//! The browser approval page under test: Debian's nginx serving `web/` (as
//! `mfa_agent::web_assets::write_web_dir` writes it) over HTTPS from
//! loopback with a throwaway certificate, and Debian's chromium driven by
//! playwright-core (`tests/browser/approve.js`) with the DevTools virtual
//! authenticator.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
use serde_json::{json, Value};

use crate::nginx::{Nginx, Site};
use crate::process::run_with_timeout;
use crate::workdir::WorkDir;

/// The Content-Security-Policy header the README tells people to send.
pub const CSP_HEADER: &str = mfa_agent::web_assets::CONTENT_SECURITY_POLICY;

/// nginx serving the approval page over HTTPS on 127.0.0.1 (the shared
/// launcher, [`crate::nginx::Nginx::serve`]), with the headers the README
/// tells people to send and a self-signed certificate for the page's names.
pub struct PageServer {
    nginx: Nginx,
    pub port: u16,
    /// base64 SHA-256 of the server key's SPKI (chromium's
    /// `--ignore-certificate-errors-spki-list`).
    pub spki: String,
    pub dir: PathBuf,
}

impl PageServer {
    /// Serves the page for `hosts` (the certificate's names).
    pub fn start(work: &WorkDir, hosts: &[&str]) -> PageServer {
        let dir = work.subdir("page", 0o755);
        let web = dir.join("web");
        mfa_agent::web_assets::write_web_dir(&web).expect("write the page");
        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>())
                .expect("cert params");
        params.distinguished_name.push(DnType::CommonName, hosts[0]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.self_signed(&key).expect("server cert");
        let spki = STANDARD
            .encode(mfa_agent::sync::spki_sha256(cert.der()).expect("spki of the server cert"));
        let server_lines = format!(
            "        index index.html;\n        add_header Content-Security-Policy \"{CSP_HEADER}\" always;\n        add_header X-Content-Type-Options nosniff always;\n        add_header Referrer-Policy no-referrer always;\n"
        );
        let site = Site {
            chain_pem: &cert.pem(),
            key_pem: &key.serialize_pem(),
            server_lines: &server_lines,
        };
        let nginx = Nginx::serve(work, &web, &site);
        PageServer {
            port: nginx.port,
            nginx,
            spki,
            dir,
        }
    }

    pub fn error_log(&self) -> String {
        self.nginx.log()
    }

    /// The request lines nginx served (no fragment ever reaches it).
    pub fn access_log(&self) -> String {
        self.nginx.access_log()
    }
}

/// A WebAuthn credential whose private key the test holds (fixed seed): the
/// virtual authenticator gets it, the bundle gets its public key.
pub struct TestCredential {
    pub id: Vec<u8>,
    key: p256::SecretKey,
}

impl TestCredential {
    pub fn from_seed(seed: u8) -> TestCredential {
        let key = p256::SecretKey::from_slice(&[seed; 32]).expect("a valid scalar");
        TestCredential {
            id: vec![seed ^ 0x5a; 32],
            key,
        }
    }

    /// The COSE_Key (ES256) of the public key.
    pub fn cose(&self) -> Vec<u8> {
        let p = self.key.public_key().to_encoded_point(false);
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
        out.extend_from_slice(p.x().unwrap());
        out.extend_from_slice(&[0x22, 0x58, 0x20]);
        out.extend_from_slice(p.y().unwrap());
        out
    }

    /// The `mfa_device` document registering it for `user`.
    pub fn device_doc(&self, user: &str) -> String {
        format!(
            "kind: mfa_device\nversion: v1\nmetadata: {{name: {user}-browser-key}}\nspec:\n  user: {user}\n  webauthn:\n    credential_id: {}\n    public_key_cbor: {}\n",
            STANDARD.encode(&self.id),
            STANDARD.encode(self.cose())
        )
    }

    /// What `approve.js` needs: id, PKCS#8, JWK and rp_id.
    pub fn for_browser(&self, rp_id: &str) -> Value {
        let p = self.key.public_key().to_encoded_point(false);
        json!({
            "id": URL_SAFE_NO_PAD.encode(&self.id),
            "pkcs8": STANDARD.encode(self.key.to_pkcs8_der().expect("pkcs8").as_bytes()),
            "jwk": {
                "kty": "EC", "crv": "P-256", "ext": true,
                "x": URL_SAFE_NO_PAD.encode(p.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(p.y().unwrap()),
                "d": URL_SAFE_NO_PAD.encode(self.key.to_bytes()),
            },
            "rpId": rp_id,
            "signCount": 0,
        })
    }

    /// Signs `authenticator_data || SHA-256(client_data)` (DER ECDSA), as
    /// an authenticator would.
    pub fn sign(&self, authenticator_data: &[u8], client_data: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer;
        use sha2::{Digest, Sha256};
        let mut signed = authenticator_data.to_vec();
        signed.extend_from_slice(&Sha256::digest(client_data));
        let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(&self.key).sign(&signed);
        sig.to_der().as_bytes().to_vec()
    }
}

/// `tests/browser/` with playwright-core installed (`npm ci`, once per
/// process: the tests of one binary run in parallel).
pub fn browser_dir() -> PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        let out = run_with_timeout(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
            Duration::from_secs(300),
        );
        assert!(out.success(), "npm ci in {}: {}", dir.display(), out.stderr);
    }
    dir
}

/// Runs `approve.js` with `args`; returns what it printed (the page's state
/// before and after the approve button, its script errors).
pub fn drive_page(args: &Value) -> Value {
    let dir = browser_dir();
    let out = run_with_timeout(
        Command::new("node")
            .arg(dir.join("approve.js"))
            .arg(args.to_string())
            .current_dir(&dir),
        Duration::from_secs(90),
    );
    let line = out.stdout.lines().last().unwrap_or_default().to_string();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
        panic!(
            "approve.js printed no JSON (exit {:?}):\n{}\n{}",
            out.code, out.stdout, out.stderr
        )
    });
    assert!(
        v.get("crash").is_none(),
        "approve.js crashed: {}",
        v["crash"]
    );
    v
}
