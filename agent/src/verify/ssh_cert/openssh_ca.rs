//! Certificates of the cluster's `openssh` CA: what Teleport's proxy logs
//! in to an agentless OpenSSH node with, on the user's behalf.
//!
//! What Teleport puts in them (lib/auth/auth.go `GenerateOpenSSHCert` →
//! `generateOpenSSHCert` → `generateCert(..., types.OpenSSHCA)`, encoded by
//! lib/sshca `Identity.Encode` in the `standard` format it asks for): the
//! key id (the user), the principals (the logins the roles give, and
//! `-teleport-internal-join`), a validity of the session's TTL, the
//! `permit-*` extensions, `teleport-roles`, `teleport-traits`,
//! `teleport-route-to-cluster`, `disallow-reissue`, the roles'
//! `cert_extensions`, GitHub identity extensions, and `private-key-policy`
//! (`none`, or `web_session`: the proxy holds the key,
//! `NewWebSessionAttestationData`). Its `certRequest` sets no
//! `mfaVerified`, no `previousIdentityExpires`, no device extensions, no
//! bot, and `generateCert` pins no source address for this CA type. The
//! proxy does its RBAC and per-session MFA before it asks, but nothing in
//! the certificate says so: it is no evidence of a tap.
//!
//! So such a certificate names the cluster user (key id, roles, traits),
//! and one carrying an extension Teleport never puts there is refused: it
//! was not made the way Teleport makes them, and its claim (MFA, a hardware
//! key, a trusted device, a bot, a longer session) must not count.

use ssh_key::Certificate;

use super::cert_error::CertError;
use super::identity::{
    EXT_BOT_INSTANCE_ID, EXT_BOT_NAME, EXT_DEVICE, EXT_JOIN_TOKEN, EXT_MFA_VERIFIED,
    EXT_PREVIOUS_IDENTITY_EXPIRES, EXT_PRIVATE_KEY_POLICY,
};

/// Extensions Teleport never signs in an `openssh` CA certificate, each of
/// would count for something here: MFA, a trusted device, a bot (which
/// `device_trust_mode: required-for-humans` does not hold), a session's
/// end. (Access requests and allowed resources, which Teleport does not
/// put there either, only add lock targets or limit the nodes: they are
/// read as in any certificate.)
pub const NEVER_IN_OPENSSH_CERTS: [&str; 8] = [
    EXT_MFA_VERIFIED,
    EXT_PREVIOUS_IDENTITY_EXPIRES,
    EXT_DEVICE[0],
    EXT_DEVICE[1],
    EXT_DEVICE[2],
    EXT_BOT_NAME,
    EXT_BOT_INSTANCE_ID,
    EXT_JOIN_TOKEN,
];

/// The `private-key-policy` values an `openssh` CA certificate may carry:
/// `none` (no policy required), `web_session` (the proxy's own key,
/// attested as a web session's). Neither is a hardware key.
pub const OPENSSH_KEY_POLICIES: [&str; 2] = ["none", "web_session"];

/// How much of an unexpected value an error shows.
const SHOWN_AT_MOST: usize = 64;

/// Refuses an `openssh` CA certificate with an extension Teleport never
/// puts there, or a key policy other than [`OPENSSH_KEY_POLICIES`].
pub(super) fn check_extensions(cert: &Certificate) -> Result<(), CertError> {
    let extensions = cert.extensions();
    if let Some(name) = NEVER_IN_OPENSSH_CERTS
        .iter()
        .find(|name| extensions.contains_key(**name))
    {
        return Err(CertError::NotFromOpenSshCa {
            name: (*name).to_owned(),
            value: String::new(),
        });
    }
    match extensions.get(EXT_PRIVATE_KEY_POLICY) {
        Some(policy) if !OPENSSH_KEY_POLICIES.contains(&policy.as_str()) => {
            Err(CertError::NotFromOpenSshCa {
                name: EXT_PRIVATE_KEY_POLICY.to_owned(),
                value: policy.chars().take(SHOWN_AT_MOST).collect(),
            })
        }
        _ => Ok(()),
    }
}
