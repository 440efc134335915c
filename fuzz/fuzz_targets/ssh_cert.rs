//! OpenSSH user certificates (Teleport's, offered to sshd and read by the
//! agent to learn a person's roles and traits). The input is the raw
//! certificate; the harness base64-encodes it and names its type from its
//! own first string, as sshd would report it. Property: no panic; nothing
//! verifies against the fuzz CA unless the CA signed it (the fuzzer cannot
//! forge Ed25519, so only the unmodified seeds may verify).
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use mfa_agent::policy::{load_bundle_str, CertAuthority};
use mfa_agent::verify::ssh_cert::verify_user_cert;

const CA_PUB: &str = include_str!("../testdata/ssh_user_ca.pub");

fn cas() -> &'static [CertAuthority] {
    static CAS: OnceLock<Vec<CertAuthority>> = OnceLock::new();
    CAS.get_or_init(|| {
        let line = CA_PUB
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let text = format!(
            "kind: cert_authority\nversion: v2\nmetadata: {{name: fuzz.example}}\n\
             spec:\n  type: user\n  cluster_name: fuzz.example\n  \
             active_keys:\n    ssh:\n    - public_key: '{line}'\n"
        );
        let bundle = load_bundle_str(&text, "fuzz-ca.yaml").expect("the fuzz CA bundle loads");
        assert_eq!(bundle.cert_authorities().len(), 1);
        bundle.cert_authorities().to_vec()
    })
}

/// The first SSH string of the blob (a certificate's own type name).
fn own_type(blob: &[u8]) -> String {
    let Some(len) = blob.get(..4) else {
        return String::new();
    };
    let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
    blob.get(4..4 + len.min(64))
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    // 2030-01-01, inside the seeds' validity window.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000);
    for cert_type in [
        own_type(data),
        "ssh-ed25519-cert-v01@openssh.com".to_owned(),
    ] {
        for login in ["jerry", "root", ""] {
            let _ = verify_user_cert(&cert_type, &b64, cas(), login, now);
        }
    }
});
