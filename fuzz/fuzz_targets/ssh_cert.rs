//! OpenSSH user certificates (Teleport's, offered to sshd and read by the
//! agent to learn a person's roles and traits). The input is the raw
//! certificate; the harness base64-encodes it and names its type from its
//! own first string, as sshd would report it. Both entry points run:
//! `verify_user_cert` (the `user` CAs only) and `verify_login_cert` naming
//! this cluster (whose `openssh` CA, Teleport's agentless path, is trusted
//! too) or another cluster (whose openssh CA is not in the bundle).
//! Properties: no panic; only a committed seed, signed by a fuzz CA, ever
//! verifies (the fuzzer cannot forge Ed25519); an `openssh` CA certificate
//! verifies only when this cluster is named, and never claims MFA, a
//! trusted device, a bot or a hardware key; a `user` CA certificate reads
//! the same whichever cluster is named.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use mfa_agent::policy::{load_bundle_str, CertAuthority};
use mfa_agent::verify::ssh_cert::{
    openssh_ca::OPENSSH_KEY_POLICIES, verify_login_cert, verify_user_cert, Issuer, TeleportIdentity,
};

const USER_CA_PUB: &str = include_str!("../testdata/ssh_user_ca.pub");
const OPENSSH_CA_PUB: &str = include_str!("../testdata/ssh_openssh_ca.pub");
const THIS_CLUSTER: &str = "fuzz.example";
const OTHER_CLUSTER: &str = "other.example";

/// The certificates the fuzz CAs signed: nothing else may verify.
const SIGNED: [&[u8]; 5] = [
    include_bytes!("../seeds/ssh_cert/user-cert"),
    include_bytes!("../seeds/ssh_cert/user2-cert"),
    include_bytes!("../seeds/ssh_cert/openssh-cert"),
    include_bytes!("../seeds/ssh_cert/openssh-mfa-verified-cert"),
    include_bytes!("../seeds/ssh_cert/openssh-hardware-key-cert"),
];

fn key_line(pub_file: &str) -> String {
    pub_file
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ca_doc(name: &str, ca_type: &str, cluster: &str, key: &str) -> String {
    format!(
        "kind: cert_authority\nversion: v2\nmetadata: {{name: {name}}}\n\
         spec:\n  type: {ca_type}\n  cluster_name: {cluster}\n  \
         active_keys:\n    ssh:\n    - public_key: '{key}'\n"
    )
}

/// This cluster's `user` and `openssh` CAs.
fn cas() -> &'static [CertAuthority] {
    static CAS: OnceLock<Vec<CertAuthority>> = OnceLock::new();
    CAS.get_or_init(|| {
        let text = [
            ca_doc(THIS_CLUSTER, "user", THIS_CLUSTER, &key_line(USER_CA_PUB)),
            ca_doc(
                "fuzz-openssh",
                "openssh",
                THIS_CLUSTER,
                &key_line(OPENSSH_CA_PUB),
            ),
        ]
        .join("---\n");
        let bundle = load_bundle_str(&text, "fuzz-ca.yaml").expect("the fuzz CA bundle loads");
        assert_eq!(bundle.cert_authorities().len(), 2);
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

/// What an `openssh` CA certificate that verified may say.
fn check_openssh_identity(id: &TeleportIdentity) {
    assert_eq!(id.ca_cluster, THIS_CLUSTER);
    assert_eq!(
        id.mfa_verified, None,
        "an openssh CA certificate claims MFA"
    );
    assert!(!id.trusted_device && !id.bot, "{id:?}");
    if let Some(policy) = &id.private_key_policy {
        assert!(OPENSSH_KEY_POLICIES.contains(&policy.as_str()), "{id:?}");
    }
}

/// 2030-01-01, inside the seeds' validity windows.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000)
}

/// Once: the seeds reach both paths (a user CA certificate, and an
/// openssh CA one that verifies only with this cluster named, while those
/// claiming MFA or a hardware key are refused), so the target fuzzes them.
fn seeds_reach_both_paths() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        let ty = "ssh-ed25519-cert-v01@openssh.com";
        let login =
            |d: &[u8], cluster| verify_login_cert(ty, &b64(d), cas(), cluster, "jerry", now());
        assert_eq!(login(SIGNED[0], None).unwrap().issuer, Issuer::UserCa);
        let agentless = login(SIGNED[2], Some(THIS_CLUSTER)).unwrap();
        assert_eq!(agentless.issuer, Issuer::OpenSshCa);
        assert!(login(SIGNED[2], None).is_err());
        assert!(login(SIGNED[2], Some(OTHER_CLUSTER)).is_err());
        assert!(login(SIGNED[3], Some(THIS_CLUSTER)).is_err());
        assert!(login(SIGNED[4], Some(THIS_CLUSTER)).is_err());
    });
}

fuzz_target!(|data: &[u8]| {
    seeds_reach_both_paths();
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let now = now();
    for cert_type in [
        own_type(data),
        "ssh-ed25519-cert-v01@openssh.com".to_owned(),
    ] {
        for login in ["jerry", "root", ""] {
            let user = verify_user_cert(&cert_type, &b64, cas(), login, now);
            let here = verify_login_cert(&cert_type, &b64, cas(), Some(THIS_CLUSTER), login, now);
            let other = verify_login_cert(&cert_type, &b64, cas(), Some(OTHER_CLUSTER), login, now);
            for id in [&user, &here, &other].into_iter().flatten() {
                assert!(
                    SIGNED.contains(&data),
                    "a certificate no fuzz CA signed verified: {id:?}"
                );
            }
            // Without this cluster named, only the user CA is trusted.
            for id in [&user, &other].into_iter().flatten() {
                assert_eq!(id.issuer, Issuer::UserCa, "{id:?}");
            }
            match &here {
                Ok(id) if id.issuer == Issuer::OpenSshCa => {
                    check_openssh_identity(id);
                    assert!(user.is_err() && other.is_err());
                }
                // The openssh CA only adds: a user CA certificate is read
                // the same whichever cluster is named.
                _ => {
                    assert_eq!(user.as_ref().ok(), here.as_ref().ok());
                    assert_eq!(user.as_ref().ok(), other.as_ref().ok());
                }
            }
        }
    }
});
