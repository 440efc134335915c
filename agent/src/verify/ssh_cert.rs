//! Teleport-issued OpenSSH user certificates, as sshd shows them in
//! `SSH_AUTH_INFO_0` (`publickey ssh-ed25519-cert-v01@openssh.com AAAA...`):
//! verified against the bundle's trusted `user` CAs (and this cluster's
//! `openssh` CA, which signs the certificates Teleport's proxy logs in to
//! agentless nodes with: see [`openssh_ca`]), independently of sshd, and
//! read for Teleport's identity (key id, logins, roles, traits,
//! `mfa-verified`, `private-key-policy`).
//!
//! What is checked, in this order (the first failure is reported):
//! 1. the key type word names a certificate, the blob is base64 of a
//!    well-formed certificate of that type, encoded canonically (so the
//!    fields read here are exactly the bytes the CA signed);
//! 2. the signing key is a key of a trusted CA of type `user`, or of the
//!    `openssh` CA of this cluster (when the caller names this cluster);
//! 3. the CA's signature over the certificate verifies, with the trusted key;
//! 4. it is a user certificate (not a host certificate);
//! 5. valid at some moment sshd could have checked it (see
//!    [`CheckedDuring`]): `valid_after <= now` and `since < valid_before`;
//! 6. no critical option but `source-address` (sshd's to enforce): a
//!    Teleport node checks certificates with x/crypto's `CertChecker` and no
//!    `SupportedCriticalOptions` (lib/srv/authhandlers.go `UserKeyAuth`), and
//!    `CheckCert` refuses every other critical option, `force-command` and
//!    `verify-required` included, though OpenSSH would enforce them;
//! 7. the login is one of the principals;
//! 8. the key id (the cluster user) is not empty, and Teleport's extensions
//!    parse;
//! 9. signed by the `openssh` CA: no extension Teleport never puts there
//!    (`mfa-verified`, a hardware key policy, device, bot or
//!    `prev-identity-expires` ones).
//!
//! Limitation: a certificate valid "forever" (valid_before 2^64-1, what
//! `ssh-keygen -s` gives without `-V`) is refused as malformed: the parser
//! only takes times up to 2^63-1. Teleport always sets an expiry.

use std::time::SystemTime;

use base64::Engine as _;
use signature::Verifier as _;
use ssh_key::certificate::CertType;
use ssh_key::{Certificate, HashAlg, PublicKey};

use crate::policy::CertAuthority;

mod allowed_resources;
mod cert_error;
#[cfg(test)]
mod form_tests;
mod identity;
pub mod openssh_ca;
#[cfg(test)]
mod openssh_ca_tests;
#[cfg(test)]
mod teleport_ext_tests;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod trust_tests;

pub use allowed_resources::{ResourceAccess, ResourceConstraint, ResourceId};
pub use cert_error::CertError;
pub use identity::{
    Issuer, TeleportIdentity, EXT_MFA_VERIFIED, EXT_PRIVATE_KEY_POLICY, EXT_TELEPORT_ROLES,
    EXT_TELEPORT_TRAITS,
};

/// The one critical option a Teleport node lets through (x/crypto's
/// `CheckCert` leaves `source-address` to the connection's address check,
/// which sshd does here); a certificate with any other is refused.
const KNOWN_CRITICAL_OPTIONS: &[&str] = &["source-address"];

/// CAs of this `cert_authority` type sign login certificates (`tsh`'s).
const USER_CA_TYPE: &str = "user";

/// This cluster's CA of this type signs the certificates Teleport's proxy
/// logs in to agentless OpenSSH nodes with (api/types/trust.go
/// `OpenSSHCA`).
const OPENSSH_CA_TYPE: &str = "openssh";

const CERT_SUFFIX: &str = "-cert-v01@openssh.com";

/// When the certificate's validity window must have held: at some moment
/// from `since` (when sshd's connection began, the earliest it could have
/// checked the certificate) to `now`. sshd checks a certificate when it
/// authenticates the key and never again; a certificate that expired since
/// then still authenticated this connection. A single instant is
/// `since == now` (`From<SystemTime>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedDuring {
    pub since: SystemTime,
    pub now: SystemTime,
}

impl From<SystemTime> for CheckedDuring {
    fn from(now: SystemTime) -> CheckedDuring {
        CheckedDuring { since: now, now }
    }
}

/// Verify a certificate from `SSH_AUTH_INFO_0` and read Teleport's identity,
/// trusting the `user` CAs in `cas` only: [`verify_login_cert`] without
/// an `openssh` CA.
pub fn verify_user_cert(
    cert_type: &str,
    blob_b64: &str,
    cas: &[CertAuthority],
    login: &str,
    checked: impl Into<CheckedDuring>,
) -> Result<TeleportIdentity, CertError> {
    verify_login_cert(cert_type, blob_b64, cas, None, login, checked)
}

/// Verify a certificate from `SSH_AUTH_INFO_0` and read Teleport's identity.
///
/// `cert_type` is the key type word (`ssh-ed25519-cert-v01@openssh.com`),
/// `blob_b64` the base64 after it. Trusted CAs are those in `cas` of type
/// `user`, and those of type `openssh` whose cluster is `this_cluster`
/// (`None`: none of them). `login` is the account being logged in to: it
/// must be one of the principals (Teleport always lists the logins).
/// `checked` is when the validity window must have held (an instant, or
/// [`CheckedDuring`]).
pub fn verify_login_cert(
    cert_type: &str,
    blob_b64: &str,
    cas: &[CertAuthority],
    this_cluster: Option<&str>,
    login: &str,
    checked: impl Into<CheckedDuring>,
) -> Result<TeleportIdentity, CertError> {
    let (blob, cert) = decode_canonical(cert_type, blob_b64)?;
    let (ca, ca_key, issuer) = trusted_ca(&cert, cas, this_cluster)?;
    let signed = signed_part(&blob, &cert, &ca_key)?;
    // Verified with the trusted key (equal to the certificate's, as checked).
    ca_key
        .key_data()
        .verify(signed, cert.signature())
        .map_err(|_| CertError::BadSignature)?;
    let principals = check_use(&cert, login, checked.into())?;
    if issuer == Issuer::OpenSshCa {
        openssh_ca::check_extensions(&cert)?;
    }
    TeleportIdentity::read(&cert, principals, &ca.cluster_name, issuer)
}

/// Step 1: the type word names a certificate, and the blob is base64 of a
/// well-formed certificate of that type, canonically encoded (so the
/// fields read are exactly the bytes the CA signed). Returns the blob and
/// the certificate.
fn decode_canonical(cert_type: &str, blob_b64: &str) -> Result<(Vec<u8>, Certificate), CertError> {
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
    Ok((blob, cert))
}

/// Steps 4 to 8 but the extensions: a user certificate, valid at some
/// moment of `checked`, no critical option sshd does not know, `login`
/// among the principals, a key id. Returns the principals.
fn check_use(
    cert: &Certificate,
    login: &str,
    checked: CheckedDuring,
) -> Result<Vec<String>, CertError> {
    if cert.cert_type() != CertType::User {
        return Err(CertError::NotUserCertificate);
    }
    let valid_after = cert.valid_after_time();
    let valid_before = cert.valid_before_time();
    // The windows [valid_after, valid_before) and [since, now] meet.
    if checked.now < valid_after {
        return Err(CertError::NotYetValid { valid_after });
    }
    if checked.since.min(checked.now) >= valid_before || valid_after >= valid_before {
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
    Ok(principals)
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

/// The trusted CA (and its key, and what kind of CA it is) whose key
/// signed `cert`: a `user` CA, or the `openssh` CA of `this_cluster`.
fn trusted_ca<'a>(
    cert: &Certificate,
    cas: &'a [CertAuthority],
    this_cluster: Option<&str>,
) -> Result<(&'a CertAuthority, PublicKey, Issuer), CertError> {
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
                return Ok((ca, key, Issuer::UserCa));
            }
            if ca.ca_type == OPENSSH_CA_TYPE && Some(ca.cluster_name.as_str()) == this_cluster {
                return Ok((ca, key, Issuer::OpenSshCa));
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
