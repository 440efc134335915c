//! Teleport-issued OpenSSH user certificates, as sshd shows them in
//! `SSH_AUTH_INFO_0` (`publickey ssh-ed25519-cert-v01@openssh.com AAAA...`):
//! verified against the bundle's trusted `user` CAs, independently of sshd,
//! and read for Teleport's identity (key id, logins, roles, traits,
//! `mfa-verified`, `private-key-policy`).
//!
//! What is checked, in this order (the first failure is reported):
//! 1. the key type word names a certificate, the blob is base64 of a
//!    well-formed certificate of that type, encoded canonically (so the
//!    fields read here are exactly the bytes the CA signed);
//! 2. the signing key is a key of a trusted CA of type `user`;
//! 3. the CA's signature over the certificate verifies, with the trusted key;
//! 4. it is a user certificate (not a host certificate);
//! 5. `valid_after <= now < valid_before`;
//! 6. no critical option other than the ones OpenSSH knows (sshd refuses
//!    the others; `source-address` and `force-command` are sshd's to enforce);
//! 7. the login is one of the principals;
//! 8. the key id (the cluster user) is not empty, and Teleport's extensions
//!    parse.
//!
//! Limitation: a certificate valid "forever" (valid_before 2^64-1, what
//! `ssh-keygen -s` gives without `-V`) is refused as malformed: the parser
//! only takes times up to 2^63-1. Teleport always sets an expiry.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;
use signature::Verifier as _;
use ssh_key::certificate::CertType;
use ssh_key::{Certificate, HashAlg, PublicKey};

use crate::policy::CertAuthority;

/// Extension names Teleport sets on user certificates.
pub const EXT_TELEPORT_ROLES: &str = "teleport-roles";
/// See [`EXT_TELEPORT_ROLES`].
pub const EXT_TELEPORT_TRAITS: &str = "teleport-traits";
/// See [`EXT_TELEPORT_ROLES`].
pub const EXT_MFA_VERIFIED: &str = "mfa-verified";
/// See [`EXT_TELEPORT_ROLES`].
pub const EXT_PRIVATE_KEY_POLICY: &str = "private-key-policy";

/// Critical options OpenSSH understands; sshd refuses a certificate with any
/// other, so do we.
const KNOWN_CRITICAL_OPTIONS: &[&str] = &["force-command", "source-address", "verify-required"];

/// Only CAs of this `cert_authority` type sign login certificates.
const USER_CA_TYPE: &str = "user";

const CERT_SUFFIX: &str = "-cert-v01@openssh.com";

/// Who a verified Teleport certificate says the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeleportIdentity {
    /// The certificate's key id: Teleport puts the cluster user name here.
    pub key_id: String,
    /// The valid principals: the logins this user may use.
    pub principals: Vec<String>,
    /// Extension `teleport-roles` (`{"version":"v1","roles":[...]}`); empty
    /// when absent.
    pub roles: Vec<String>,
    /// Extension `teleport-traits` (a JSON object of string lists); empty when
    /// absent or `null`.
    pub traits: BTreeMap<String, Vec<String>>,
    /// Extension `mfa-verified`: the MFA device id, when present and non-empty.
    pub mfa_verified: Option<String>,
    /// Extension `private-key-policy`, when present and non-empty, as written
    /// (`none`, `hardware_key`, `hardware_key_touch`, `hardware_key_pin`,
    /// `hardware_key_touch_and_pin`, or a value newer than this code: a
    /// consumer must treat what it does not know as `none`).
    pub private_key_policy: Option<String>,
    /// Start of the validity window (inclusive).
    pub valid_after: SystemTime,
    /// End of the validity window (exclusive).
    pub valid_before: SystemTime,
    /// `cluster_name` of the trusted CA that signed the certificate.
    pub ca_cluster: String,
    /// The certified key's type, e.g. `ssh-ed25519`, `sk-ssh-ed25519@openssh.com`.
    pub subject_key_type: String,
}

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// The key type word is not a certificate type (a plain key).
    NotACertificate { key_type: String },
    /// Not base64, not a certificate, or not what the type word says.
    Malformed(String),
    /// The signing key is not a key of any trusted user CA.
    UnknownCa {
        /// SHA-256 fingerprint of the signing key.
        fingerprint: String,
        /// Set when the key belongs to a CA of another type (e.g. `host CA of example.com`).
        known_as: Option<String>,
    },
    /// The CA signature does not verify (tampered, or not made by that key).
    BadSignature,
    /// A host certificate, not a user certificate.
    NotUserCertificate,
    /// `now` is before `valid_after`.
    NotYetValid { valid_after: SystemTime },
    /// `now` is at or after `valid_before`.
    Expired { valid_before: SystemTime },
    /// A critical option sshd does not know (sshd would refuse the certificate).
    UnsupportedCriticalOption { name: String },
    /// The login is not one of the certificate's principals.
    LoginNotInPrincipals {
        login: String,
        principals: Vec<String>,
    },
    /// A Teleport extension whose value does not parse.
    BadExtension { name: String, reason: String },
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::NotACertificate { key_type } => {
                write!(f, "not a certificate: the key type is `{key_type}`")
            }
            CertError::Malformed(why) => write!(f, "malformed certificate: {why}"),
            CertError::UnknownCa {
                fingerprint,
                known_as,
            } => {
                write!(
                    f,
                    "certificate signed by a CA that is not trusted (signing key {fingerprint})"
                )?;
                if let Some(what) = known_as {
                    write!(
                        f,
                        "; that key is the {what}, and only user CAs sign login certificates"
                    )?;
                }
                Ok(())
            }
            CertError::BadSignature => {
                write!(f, "bad certificate signature: the certificate was altered or not signed by the CA")
            }
            CertError::NotUserCertificate => {
                write!(f, "not a user certificate (a host certificate)")
            }
            CertError::NotYetValid { valid_after } => {
                write!(
                    f,
                    "certificate not yet valid: valid from {}",
                    show_time(*valid_after)
                )
            }
            CertError::Expired { valid_before } => {
                write!(f, "certificate expired at {}", show_time(*valid_before))
            }
            CertError::UnsupportedCriticalOption { name } => {
                write!(f, "certificate has an unsupported critical option `{name}`")
            }
            CertError::LoginNotInPrincipals { login, principals } => {
                write!(
                    f,
                    "login `{login}` is not in the certificate's principals ({})",
                    if principals.is_empty() {
                        "none".to_owned()
                    } else {
                        principals.join(", ")
                    }
                )
            }
            CertError::BadExtension { name, reason } => {
                write!(f, "certificate extension `{name}` is not valid: {reason}")
            }
        }
    }
}

impl std::error::Error for CertError {}

/// RFC 3339 in UTC, or seconds since the epoch when out of range.
fn show_time(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs(),
        Err(_) => return "before 1970".to_owned(),
    };
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}

/// Verify a certificate from `SSH_AUTH_INFO_0` and read Teleport's identity.
///
/// `cert_type` is the key type word (`ssh-ed25519-cert-v01@openssh.com`),
/// `blob_b64` the base64 after it. Trusted CAs are those in `cas` of type
/// `user`. `login` is the account being logged in to: it must be one of the
/// principals (Teleport always lists the logins). `now` is the time to check
/// the validity window against.
pub fn verify_user_cert(
    cert_type: &str,
    blob_b64: &str,
    cas: &[CertAuthority],
    login: &str,
    now: SystemTime,
) -> Result<TeleportIdentity, CertError> {
    let cert_type = cert_type.trim();
    if !cert_type.ends_with(CERT_SUFFIX) {
        return Err(CertError::NotACertificate {
            key_type: cert_type.to_owned(),
        });
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(blob_b64.trim())
        .map_err(|e| CertError::Malformed(format!("not base64: {e}")))?;
    let cert = Certificate::from_bytes(&blob)
        .map_err(|e| CertError::Malformed(format!("cannot parse the certificate: {e}")))?;
    let actual_type = cert.algorithm().to_certificate_type();
    if normalize_cert_type(cert_type) != actual_type {
        return Err(CertError::Malformed(format!(
            "the key type says `{cert_type}` but the certificate is `{actual_type}`"
        )));
    }
    // Read only what was signed: the fields must encode back to the same
    // bytes, so the signed part is the blob minus its signature field.
    let reencoded = cert
        .to_bytes()
        .map_err(|e| CertError::Malformed(format!("cannot encode the certificate: {e}")))?;
    if reencoded != blob {
        return Err(CertError::Malformed("not canonically encoded".to_owned()));
    }

    let (ca, ca_key) = trusted_ca(&cert, cas)?;
    let signed = signed_part(&blob, &cert, &ca_key)?;
    // Verified with the trusted key (equal to the certificate's, as checked).
    ca_key
        .key_data()
        .verify(signed, cert.signature())
        .map_err(|_| CertError::BadSignature)?;

    if cert.cert_type() != CertType::User {
        return Err(CertError::NotUserCertificate);
    }
    let valid_after = cert.valid_after_time();
    let valid_before = cert.valid_before_time();
    if now < valid_after {
        return Err(CertError::NotYetValid { valid_after });
    }
    if now >= valid_before {
        return Err(CertError::Expired { valid_before });
    }
    if let Some(name) = cert
        .critical_options()
        .keys()
        .find(|name| !KNOWN_CRITICAL_OPTIONS.contains(&name.as_str()))
    {
        return Err(CertError::UnsupportedCriticalOption { name: name.clone() });
    }
    let principals = cert.valid_principals().to_vec();
    if login.is_empty() || !principals.iter().any(|p| p == login) {
        return Err(CertError::LoginNotInPrincipals {
            login: login.to_owned(),
            principals,
        });
    }

    if cert.key_id().is_empty() {
        return Err(CertError::Malformed(
            "the key id (the cluster user) is empty".to_owned(),
        ));
    }

    let extensions = cert.extensions();
    let non_empty = |name: &str| extensions.get(name).filter(|v| !v.is_empty()).cloned();
    let roles = match extensions.get(EXT_TELEPORT_ROLES) {
        Some(json) => parse_roles(json)?,
        None => Vec::new(),
    };
    let traits = match extensions.get(EXT_TELEPORT_TRAITS) {
        Some(json) => parse_traits(json)?,
        None => BTreeMap::new(),
    };

    Ok(TeleportIdentity {
        key_id: cert.key_id().to_owned(),
        principals,
        roles,
        traits,
        mfa_verified: non_empty(EXT_MFA_VERIFIED),
        private_key_policy: non_empty(EXT_PRIVATE_KEY_POLICY),
        valid_after,
        valid_before,
        ca_cluster: ca.cluster_name.clone(),
        subject_key_type: cert.public_key().algorithm().as_str().to_owned(),
    })
}

/// sshd names an RSA certificate `ssh-rsa-cert-v01@openssh.com`; take the
/// signature-algorithm spellings of it too.
fn normalize_cert_type(cert_type: &str) -> &str {
    match cert_type {
        "rsa-sha2-256-cert-v01@openssh.com" | "rsa-sha2-512-cert-v01@openssh.com" => {
            "ssh-rsa-cert-v01@openssh.com"
        }
        other => other,
    }
}

/// The trusted user CA (and its key) whose key signed `cert`.
fn trusted_ca<'a>(
    cert: &Certificate,
    cas: &'a [CertAuthority],
) -> Result<(&'a CertAuthority, PublicKey), CertError> {
    let signer = cert.signature_key();
    let mut known_as = None;
    for ca in cas {
        for line in &ca.ssh_public_keys {
            // A key line this parser cannot read cannot have signed anything
            // we accept.
            let Ok(key) = PublicKey::from_openssh(line) else {
                continue;
            };
            if key.key_data() != signer {
                continue;
            }
            if ca.ca_type == USER_CA_TYPE {
                return Ok((ca, key));
            }
            known_as.get_or_insert_with(|| {
                format!("{} CA of {}", display_type(&ca.ca_type), ca.cluster_name)
            });
        }
    }
    Err(CertError::UnknownCa {
        fingerprint: signer.fingerprint(HashAlg::Sha256).to_string(),
        known_as,
    })
}

fn display_type(ca_type: &str) -> &str {
    if ca_type.is_empty() {
        "untyped"
    } else {
        ca_type
    }
}

/// The bytes the CA signed: everything before the final `string signature`
/// field, which must end with the trusted CA key as `string signature key`.
/// (The blob is canonical, so the signature field's length follows from it.)
fn signed_part<'b>(
    blob: &'b [u8],
    cert: &Certificate,
    ca_key: &PublicKey,
) -> Result<&'b [u8], CertError> {
    let sig = cert.signature();
    let algorithm = sig.algorithm();
    let sig_name = algorithm.as_str();
    // string(string(algorithm) || string(data)); for sk signatures the data's
    // flags and counter trail the inner string, which is the same length.
    let inner_len = 4 + sig_name.len() + 4 + sig.as_bytes().len();
    let tbs_len = blob
        .len()
        .checked_sub(4 + inner_len)
        .ok_or_else(|| CertError::Malformed("signature field does not fit".to_owned()))?;
    let (tbs, sig_field) = blob.split_at(tbs_len);
    let declared = u32::from_be_bytes([sig_field[0], sig_field[1], sig_field[2], sig_field[3]]);
    if usize::try_from(declared).ok() != Some(inner_len) {
        return Err(CertError::Malformed(
            "signature field length mismatch".to_owned(),
        ));
    }
    let ca_blob = ca_key
        .to_bytes()
        .map_err(|e| CertError::Malformed(format!("cannot encode the CA key: {e}")))?;
    let mut ca_field = u32::try_from(ca_blob.len())
        .map_err(|_| CertError::Malformed("CA key too long".to_owned()))?
        .to_be_bytes()
        .to_vec();
    ca_field.extend_from_slice(&ca_blob);
    if !tbs.ends_with(&ca_field) {
        return Err(CertError::Malformed(
            "signed part does not end with the signing key".to_owned(),
        ));
    }
    Ok(tbs)
}

/// `teleport-roles`: `{"version":"v1","roles":[...]}` (`null` for none).
fn parse_roles(json: &str) -> Result<Vec<String>, CertError> {
    #[derive(Deserialize)]
    struct CertRoles {
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        roles: Option<Vec<String>>,
    }
    let bad = |reason: String| CertError::BadExtension {
        name: EXT_TELEPORT_ROLES.to_owned(),
        reason,
    };
    // An object only (serde would also take a positional array).
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    if value.is_null() {
        return Ok(Vec::new());
    }
    if !value.is_object() {
        return Err(bad("not a JSON object".to_owned()));
    }
    let parsed: CertRoles = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    match parsed.version.as_deref() {
        None | Some("v1") => {}
        Some(other) => return Err(bad(format!("unknown version `{other}` (expected v1)"))),
    }
    Ok(parsed.roles.unwrap_or_default())
}

/// `teleport-traits`: a JSON object of string lists (`null` for none).
fn parse_traits(json: &str) -> Result<BTreeMap<String, Vec<String>>, CertError> {
    let parsed: Option<BTreeMap<String, Option<Vec<String>>>> = serde_json::from_str(json)
        .map_err(|e| CertError::BadExtension {
            name: EXT_TELEPORT_TRAITS.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(parsed
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// Fixed validity window for the test certificates (2029-07-18, one hour).
    const VA: u64 = 0x7000_0000;
    const VB: u64 = VA + 3600;
    const ROLES: &str = r#"{"version":"v1","roles":["access-prod"]}"#;
    const TRAITS: &str = r#"{"logins":["jerry"]}"#;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn inside() -> SystemTime {
        at(VA + 60)
    }

    fn window() -> String {
        format!("0x{VA:x}:0x{VB:x}")
    }

    /// A scratch directory, removed on drop.
    struct Scratch {
        dir: PathBuf,
        n: AtomicUsize,
    }

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            static SEQ: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "mfa-agent-ssh-cert-{}-{}-{}",
                std::process::id(),
                tag,
                SEQ.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch {
                dir,
                n: AtomicUsize::new(0),
            }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.join(name)
        }

        /// `ssh-keygen -t ... -N '' -f NAME`; returns the public key line.
        fn keygen(&self, name: &str, key_args: &[&str]) -> String {
            run(Command::new("ssh-keygen")
                .args(["-q", "-N", "", "-C", name])
                .args(key_args)
                .arg("-f")
                .arg(self.path(name)));
            read_line(&self.path(&format!("{name}.pub")))
        }

        /// Writes a public key line as a file, for signing.
        fn write_pub(&self, name: &str, line: &str) {
            std::fs::write(self.path(&format!("{name}.pub")), format!("{line}\n")).unwrap();
        }

        /// Signs `subject.pub` with the CA key `ca`; returns (type word, base64).
        fn sign(&self, ca: &str, subject: &str, args: &[&str]) -> (String, String) {
            let n = self.n.fetch_add(1, Ordering::SeqCst);
            let copy = format!("cert{n}");
            std::fs::copy(
                self.path(&format!("{subject}.pub")),
                self.path(&format!("{copy}.pub")),
            )
            .unwrap();
            run(Command::new("ssh-keygen")
                .arg("-q")
                .arg("-s")
                .arg(self.path(ca))
                .args(args)
                .arg(self.path(&format!("{copy}.pub"))));
            let line = read_line(&self.path(&format!("{copy}-cert.pub")));
            let mut parts = line.split_whitespace();
            (
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().to_owned(),
            )
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn run(cmd: &mut Command) {
        let out = cmd.output().expect("ssh-keygen must be installed");
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn read_line(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap().trim().to_owned()
    }

    fn ca(ca_type: &str, cluster: &str, key_line: &str) -> CertAuthority {
        CertAuthority {
            cluster_name: cluster.to_owned(),
            ca_type: ca_type.to_owned(),
            ssh_public_keys: vec![key_line.to_owned()],
        }
    }

    /// The Teleport-like options for `ssh-keygen -s`.
    fn teleport_args(window: &str) -> Vec<String> {
        [
            "-I",
            "jerry",
            "-n",
            "jerry,root",
            "-V",
            window,
            "-O",
            &format!("extension:teleport-roles={ROLES}"),
            "-O",
            &format!("extension:teleport-traits={TRAITS}"),
            "-O",
            "extension:mfa-verified=device-1",
            "-O",
            "extension:private-key-policy=hardware_key_touch",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn strs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    /// A scratch dir with CA `ca` (ed25519), user key `user`, and the trusted CA list.
    fn setup(tag: &str) -> (Scratch, Vec<CertAuthority>) {
        let s = Scratch::new(tag);
        let ca_line = s.keygen("ca", &["-t", "ed25519"]);
        s.keygen("user", &["-t", "ed25519"]);
        let cas = vec![ca("user", "example.com", &ca_line)];
        (s, cas)
    }

    fn teleport_cert(s: &Scratch, ca: &str) -> (String, String) {
        s.sign(ca, "user", &strs(&teleport_args(&window())))
    }

    #[test]
    fn ssh_cert_valid_teleport_cert() {
        let (s, cas) = setup("valid");
        let (ty, b64) = teleport_cert(&s, "ca");
        assert_eq!(ty, "ssh-ed25519-cert-v01@openssh.com");
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        assert_eq!(id.key_id, "jerry");
        assert_eq!(id.principals, ["jerry", "root"]);
        assert_eq!(id.roles, ["access-prod"]);
        assert_eq!(
            id.traits,
            BTreeMap::from([("logins".to_owned(), vec!["jerry".to_owned()])])
        );
        assert_eq!(id.mfa_verified.as_deref(), Some("device-1"));
        assert_eq!(id.private_key_policy.as_deref(), Some("hardware_key_touch"));
        assert_eq!(id.valid_after, at(VA));
        assert_eq!(id.valid_before, at(VB));
        assert_eq!(id.ca_cluster, "example.com");
        assert_eq!(id.subject_key_type, "ssh-ed25519");
        // Any principal will do; so will the edges of the window.
        assert!(verify_user_cert(&ty, &b64, &cas, "root", inside()).is_ok());
        assert!(verify_user_cert(&ty, &b64, &cas, "jerry", at(VA)).is_ok());
        assert!(
            verify_user_cert(&ty, &b64, &cas, "jerry", at(VB) - Duration::from_millis(1)).is_ok()
        );
    }

    #[test]
    fn ssh_cert_untrusted_ca_refused() {
        let (s, cas) = setup("untrusted");
        s.keygen("other", &["-t", "ed25519"]);
        let (ty, b64) = teleport_cert(&s, "other");
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        assert!(
            matches!(err, CertError::UnknownCa { known_as: None, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("signed by a CA that is not trusted"),
            "{err}"
        );
        // No CAs at all: the same.
        let err = verify_user_cert(&ty, &b64, &[], "jerry", inside()).unwrap_err();
        assert!(matches!(err, CertError::UnknownCa { .. }), "{err:?}");
    }

    #[test]
    fn ssh_cert_host_ca_refused() {
        let (s, user_cas) = setup("hostca");
        let ca_line = &user_cas[0].ssh_public_keys[0];
        let (ty, b64) = teleport_cert(&s, "ca");
        let cas = [ca("host", "example.com", ca_line)];
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        match &err {
            CertError::UnknownCa { known_as, .. } => {
                assert_eq!(known_as.as_deref(), Some("host CA of example.com"))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string()
                .contains("signed by a CA that is not trusted"),
            "{err}"
        );
        assert!(err.to_string().contains("host CA of example.com"), "{err}");
        // The same key listed also as a user CA (after the host one) is trusted.
        let both = [cas[0].clone(), ca("user", "leaf.example.com", ca_line)];
        let id = verify_user_cert(&ty, &b64, &both, "jerry", inside()).unwrap();
        assert_eq!(id.ca_cluster, "leaf.example.com");
    }

    #[test]
    fn ssh_cert_trusted_key_among_several() {
        let (s, mut cas) = setup("several");
        let other = s.keygen("other", &["-t", "ed25519"]);
        let (ty, b64) = teleport_cert(&s, "other");
        // A CA with a rotated key set: an unparseable line, the old key, the new key.
        cas.push(CertAuthority {
            cluster_name: "second.example.com".to_owned(),
            ca_type: "user".to_owned(),
            ssh_public_keys: vec![
                "ssh-ed25519 %%%not-base64".to_owned(),
                cas[0].ssh_public_keys[0].clone(),
                other,
            ],
        });
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        assert_eq!(id.ca_cluster, "second.example.com");
    }

    #[test]
    fn ssh_cert_expired_refused() {
        let (s, cas) = setup("expired");
        let (ty, b64) = teleport_cert(&s, "ca");
        for now in [at(VB), at(VB + 1), at(VB + 86_400)] {
            let err = verify_user_cert(&ty, &b64, &cas, "jerry", now).unwrap_err();
            assert_eq!(
                err,
                CertError::Expired {
                    valid_before: at(VB)
                }
            );
            assert!(err.to_string().contains("expired"), "{err}");
        }
        // A window wholly in the past, checked against the real clock.
        let (ty, b64) = s.sign(
            "ca",
            "user",
            &["-I", "jerry", "-n", "jerry", "-V", "0x10000000:0x10000E10"],
        );
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", SystemTime::now()).unwrap_err();
        assert!(matches!(err, CertError::Expired { .. }), "{err:?}");
        assert!(err.to_string().contains("1978-07-04T22:24:16Z"), "{err}");
    }

    #[test]
    fn ssh_cert_not_yet_valid_refused() {
        let (s, cas) = setup("notyet");
        let (ty, b64) = teleport_cert(&s, "ca");
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", at(VA - 1)).unwrap_err();
        assert_eq!(
            err,
            CertError::NotYetValid {
                valid_after: at(VA)
            }
        );
        assert!(err.to_string().contains("not yet valid"), "{err}");
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", at(VA) - Duration::from_millis(1))
            .unwrap_err();
        assert!(matches!(err, CertError::NotYetValid { .. }), "{err:?}");
    }

    #[test]
    fn ssh_cert_login_not_in_principals_refused() {
        let (s, cas) = setup("principals");
        let (ty, b64) = teleport_cert(&s, "ca");
        for login in ["alice", "", "jerr", "jerry,root"] {
            let err = verify_user_cert(&ty, &b64, &cas, login, inside()).unwrap_err();
            assert!(
                matches!(err, CertError::LoginNotInPrincipals { .. }),
                "{login}: {err:?}"
            );
        }
        let err = verify_user_cert(&ty, &b64, &cas, "alice", inside()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "login `alice` is not in the certificate's principals (jerry, root)"
        );
        // No principals at all: valid for no login (unlike an OpenSSH wildcard).
        let (ty, b64) = s.sign("ca", "user", &["-I", "jerry", "-V", &window()]);
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        assert!(
            matches!(err, CertError::LoginNotInPrincipals { .. }),
            "{err:?}"
        );
    }

    fn decode(b64: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    fn encode(blob: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(blob)
    }

    #[test]
    fn ssh_cert_tampered_refused() {
        let (s, cas) = setup("tampered");
        let (ty, b64) = teleport_cert(&s, "ca");
        let blob = decode(&b64);
        // A byte of the nonce (after the 4+32-byte type string and the nonce's length).
        let mut nonce = blob.clone();
        nonce[4 + 32 + 4 + 3] ^= 0x01;
        // The key id: jerry -> jerrz.
        let at_id = blob.windows(5).position(|w| w == b"jerry").unwrap();
        let mut key_id = blob.clone();
        key_id[at_id + 4] = b'z';
        // The role inside the extension: access-prod -> access-prog.
        let at_role = blob.windows(11).position(|w| w == b"access-prod").unwrap();
        let mut role = blob.clone();
        role[at_role + 10] = b'g';
        // The last byte of the signature itself.
        let mut sig = blob.clone();
        *sig.last_mut().unwrap() ^= 0x80;
        for (what, bad) in [
            ("nonce", nonce),
            ("key id", key_id),
            ("role", role),
            ("sig", sig),
        ] {
            let err = verify_user_cert(&ty, &encode(&bad), &cas, "jerry", inside()).unwrap_err();
            assert_eq!(err, CertError::BadSignature, "{what}");
            assert!(
                err.to_string().contains("bad certificate signature"),
                "{err}"
            );
        }
        // Truncated, extended, or not base64: malformed.
        let truncated = encode(&blob[..blob.len() - 10]);
        let mut longer = blob.clone();
        longer.push(0);
        for bad in [
            truncated,
            encode(&longer),
            "AAAA!!".to_owned(),
            String::new(),
        ] {
            let err = verify_user_cert(&ty, &bad, &cas, "jerry", inside()).unwrap_err();
            assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
            assert!(
                err.to_string().starts_with("malformed certificate"),
                "{err}"
            );
        }
    }

    /// Reads one SSH `string` at `*pos`; returns its (start, end) and moves past it.
    fn skip_string(blob: &[u8], pos: &mut usize) -> (usize, usize) {
        let len = u32::from_be_bytes(blob[*pos..*pos + 4].try_into().unwrap()) as usize;
        let start = *pos + 4;
        *pos = start + len;
        (start, start + len)
    }

    #[test]
    fn ssh_cert_non_canonical_or_duplicate_refused() {
        let (s, cas) = setup("canonical");
        let (ty, b64) = s.sign(
            "ca",
            "user",
            &[
                "-I",
                "jerry",
                "-n",
                "jerry",
                "-V",
                &window(),
                "-O",
                "clear",
                "-O",
                "extension:permit-pty",
            ],
        );
        let blob = decode(&b64);
        assert!(verify_user_cert(&ty, &b64, &cas, "jerry", inside()).is_ok());
        // Walk an ed25519 certificate to its extensions.
        let mut pos = 0;
        for _ in 0..3 {
            skip_string(&blob, &mut pos); // type, nonce, key
        }
        pos += 8 + 4; // serial, type
        skip_string(&blob, &mut pos); // key id
        skip_string(&blob, &mut pos); // principals
        pos += 16; // valid after, valid before
        skip_string(&blob, &mut pos); // critical options
        let ext_at = pos;
        let (start, end) = skip_string(&blob, &mut pos);
        assert_eq!(&blob[start..end], b"\0\0\0\x0apermit-pty\0\0\0\0");
        // The empty value spelled as a string holding "": same meaning, other bytes.
        let mut odd = blob[..ext_at].to_vec();
        odd.extend_from_slice(&22u32.to_be_bytes());
        odd.extend_from_slice(b"\0\0\0\x0apermit-pty\0\0\0\x04\0\0\0\0");
        odd.extend_from_slice(&blob[end..]);
        let err = verify_user_cert(&ty, &encode(&odd), &cas, "jerry", inside()).unwrap_err();
        assert_eq!(
            err,
            CertError::Malformed("not canonically encoded".to_owned())
        );
        // The same extension twice: refused by the parser.
        let mut twice = blob[..ext_at].to_vec();
        twice.extend_from_slice(&36u32.to_be_bytes());
        twice.extend_from_slice(&blob[start..end]);
        twice.extend_from_slice(&blob[start..end]);
        twice.extend_from_slice(&blob[end..]);
        let err = verify_user_cert(&ty, &encode(&twice), &cas, "jerry", inside()).unwrap_err();
        assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn ssh_cert_empty_key_id_refused() {
        let (s, cas) = setup("emptyid");
        let (ty, b64) = s.sign("ca", "user", &["-I", "", "-n", "jerry", "-V", &window()]);
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
        assert!(err.to_string().contains("key id"), "{err}");
    }

    #[test]
    fn ssh_cert_host_certificate_refused() {
        let (s, cas) = setup("hostcert");
        let mut args = teleport_args(&window());
        args.insert(0, "-h".to_owned());
        let (ty, b64) = s.sign("ca", "user", &strs(&args));
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        assert_eq!(err, CertError::NotUserCertificate);
        assert!(err.to_string().contains("not a user certificate"), "{err}");
    }

    #[test]
    fn ssh_cert_missing_extensions() {
        let (s, cas) = setup("noext");
        let (ty, b64) = s.sign(
            "ca",
            "user",
            &["-I", "jerry", "-n", "jerry", "-V", &window(), "-O", "clear"],
        );
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        assert_eq!(id.key_id, "jerry");
        assert!(id.roles.is_empty());
        assert!(id.traits.is_empty());
        assert_eq!(id.mfa_verified, None);
        assert_eq!(id.private_key_policy, None);
        // Present but empty values count as absent; null traits and roles are empty.
        let (ty, b64) = s.sign(
            "ca",
            "user",
            &[
                "-I",
                "jerry",
                "-n",
                "jerry",
                "-V",
                &window(),
                "-O",
                "extension:mfa-verified",
                "-O",
                "extension:private-key-policy",
                "-O",
                "extension:teleport-traits=null",
                "-O",
                r#"extension:teleport-roles={"version":"v1","roles":null}"#,
            ],
        );
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        assert!(id.roles.is_empty());
        assert!(id.traits.is_empty());
        assert_eq!(id.mfa_verified, None);
        assert_eq!(id.private_key_policy, None);
        let (ty, b64) = s.sign(
            "ca",
            "user",
            &[
                "-I",
                "jerry",
                "-n",
                "jerry",
                "-V",
                &window(),
                "-O",
                "extension:teleport-roles=null",
            ],
        );
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        assert!(id.roles.is_empty());
    }

    #[test]
    fn ssh_cert_bad_extension_json_refused() {
        let (s, cas) = setup("badjson");
        let cases = [
            ("teleport-roles", r#"{"version":"v1","roles":["a""#),
            ("teleport-roles", r#"{"version":"v1","roles":"access"}"#),
            ("teleport-roles", r#"{"version":"v9","roles":["a"]}"#),
            ("teleport-roles", "[]"),
            ("teleport-traits", r#"{"logins":"jerry"}"#),
            ("teleport-traits", r#"{"logins":[1]}"#),
            ("teleport-traits", "not json"),
        ];
        for (name, value) in cases {
            let ext = format!("extension:{name}={value}");
            let (ty, b64) = s.sign(
                "ca",
                "user",
                &["-I", "jerry", "-n", "jerry", "-V", &window(), "-O", &ext],
            );
            let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
            match &err {
                CertError::BadExtension { name: got, .. } => assert_eq!(got, name, "{value}"),
                other => panic!("{name}={value}: {other:?}"),
            }
            assert!(err.to_string().contains(name), "{err}");
        }
        // Traits with a null list and unknown role fields are fine.
        let (ty, b64) = s.sign(
            "ca",
            "user",
            &[
                "-I",
                "jerry",
                "-n",
                "jerry",
                "-V",
                &window(),
                "-O",
                r#"extension:teleport-traits={"logins":null,"kubernetes_groups":["a","b"]}"#,
                "-O",
                r#"extension:teleport-roles={"roles":["r1","r2"],"extra":1}"#,
            ],
        );
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        assert_eq!(id.roles, ["r1", "r2"]);
        assert_eq!(id.traits["logins"], Vec::<String>::new());
        assert_eq!(id.traits["kubernetes_groups"], ["a", "b"]);
    }

    #[test]
    fn ssh_cert_plain_key_refused() {
        let (s, cas) = setup("plain");
        let line = read_line(&s.path("user.pub"));
        let mut parts = line.split_whitespace();
        let (ty, b64) = (parts.next().unwrap(), parts.next().unwrap());
        let err = verify_user_cert(ty, b64, &cas, "jerry", inside()).unwrap_err();
        assert_eq!(
            err,
            CertError::NotACertificate {
                key_type: "ssh-ed25519".to_owned()
            }
        );
        assert!(err.to_string().contains("not a certificate"), "{err}");
        // A plain key claimed to be a certificate.
        let err = verify_user_cert(
            "ssh-ed25519-cert-v01@openssh.com",
            b64,
            &cas,
            "jerry",
            inside(),
        )
        .unwrap_err();
        assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn ssh_cert_type_word_must_match() {
        let (s, cas) = setup("typeword");
        let (_, b64) = teleport_cert(&s, "ca");
        let err = verify_user_cert(
            "ssh-rsa-cert-v01@openssh.com",
            &b64,
            &cas,
            "jerry",
            inside(),
        )
        .unwrap_err();
        assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
        assert!(
            err.to_string().contains("ssh-ed25519-cert-v01@openssh.com"),
            "{err}"
        );
    }

    #[test]
    fn ssh_cert_critical_options() {
        let (s, cas) = setup("critical");
        let base = ["-I", "jerry", "-n", "jerry", "-V", &window()];
        // Known to OpenSSH (and enforced by sshd): accepted.
        let mut args = base.to_vec();
        args.extend([
            "-O",
            "source-address=10.0.0.0/8",
            "-O",
            "force-command=/bin/true",
        ]);
        let (ty, b64) = s.sign("ca", "user", &args);
        assert!(verify_user_cert(&ty, &b64, &cas, "jerry", inside()).is_ok());
        // Unknown: sshd would refuse it, so do we.
        let mut args = base.to_vec();
        args.extend(["-O", "critical:frobnicate=yes"]);
        let (ty, b64) = s.sign("ca", "user", &args);
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        assert_eq!(
            err,
            CertError::UnsupportedCriticalOption {
                name: "frobnicate".to_owned()
            }
        );
    }

    #[test]
    fn ssh_cert_forever_is_refused_as_malformed() {
        let (s, cas) = setup("forever");
        let (ty, b64) = s.sign("ca", "user", &["-I", "jerry", "-n", "jerry"]);
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn ssh_cert_sk_subject_key() {
        let (s, cas) = setup("sk");
        // An sk-ssh-ed25519 public key, made by hand (no token needed to certify it).
        let mut blob = Vec::new();
        for field in [
            &b"sk-ssh-ed25519@openssh.com"[..],
            &[7u8; 32][..],
            &b"ssh:"[..],
        ] {
            blob.extend_from_slice(&u32::try_from(field.len()).unwrap().to_be_bytes());
            blob.extend_from_slice(field);
        }
        s.write_pub(
            "sk",
            &format!("sk-ssh-ed25519@openssh.com {} sk", encode(&blob)),
        );
        let (ty, b64) = s.sign("ca", "sk", &strs(&teleport_args(&window())));
        assert_eq!(ty, "sk-ssh-ed25519-cert-v01@openssh.com");
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        assert_eq!(id.subject_key_type, "sk-ssh-ed25519@openssh.com");
        assert_eq!(id.mfa_verified.as_deref(), Some("device-1"));
    }

    fn check_ca_kind(tag: &str, key_args: &[&str]) {
        let s = Scratch::new(tag);
        let ca_line = s.keygen("ca", key_args);
        s.keygen("user", &["-t", "ecdsa", "-b", "256"]);
        let cas = [ca("user", "example.com", &ca_line)];
        let (ty, b64) = teleport_cert(&s, "ca");
        assert_eq!(ty, "ecdsa-sha2-nistp256-cert-v01@openssh.com");
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        assert_eq!(id.key_id, "jerry");
        assert_eq!(id.roles, ["access-prod"]);
        assert_eq!(id.subject_key_type, "ecdsa-sha2-nistp256");
        // Tampered: refused.
        let mut blob = decode(&b64);
        let at_id = blob.windows(5).position(|w| w == b"jerry").unwrap();
        blob[at_id + 4] = b'z';
        let err = verify_user_cert(&ty, &encode(&blob), &cas, "jerry", inside()).unwrap_err();
        assert_eq!(err, CertError::BadSignature, "{tag}");
        // Another CA of the same kind: untrusted.
        s.keygen("other", key_args);
        let (ty, b64) = teleport_cert(&s, "other");
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        assert!(matches!(err, CertError::UnknownCa { .. }), "{tag}: {err:?}");
    }

    #[test]
    fn ssh_cert_rsa_ca() {
        check_ca_kind("rsa", &["-t", "rsa", "-b", "2048"]);
    }

    #[test]
    fn ssh_cert_ecdsa_ca() {
        check_ca_kind("p256", &["-t", "ecdsa", "-b", "256"]);
        check_ca_kind("p384", &["-t", "ecdsa", "-b", "384"]);
        check_ca_kind("p521", &["-t", "ecdsa", "-b", "521"]);
    }

    #[test]
    fn ssh_cert_rsa_type_word_spellings() {
        assert_eq!(
            normalize_cert_type("rsa-sha2-512-cert-v01@openssh.com"),
            "ssh-rsa-cert-v01@openssh.com"
        );
        assert_eq!(
            normalize_cert_type("ssh-ed25519-cert-v01@openssh.com"),
            "ssh-ed25519-cert-v01@openssh.com"
        );
    }
}
