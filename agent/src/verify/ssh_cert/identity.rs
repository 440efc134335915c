//! Who a verified certificate says the user is: the key id and principals,
//! and Teleport's extensions read from it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Deserialize;
use ssh_key::Certificate;

use super::cert_error::CertError;

/// Extension names Teleport sets on user certificates.
pub const EXT_TELEPORT_ROLES: &str = "teleport-roles";
/// See [`EXT_TELEPORT_ROLES`].
pub const EXT_TELEPORT_TRAITS: &str = "teleport-traits";
/// See [`EXT_TELEPORT_ROLES`].
pub const EXT_MFA_VERIFIED: &str = "mfa-verified";
/// See [`EXT_TELEPORT_ROLES`].
pub const EXT_PRIVATE_KEY_POLICY: &str = "private-key-policy";
/// See [`EXT_TELEPORT_ROLES`].
pub const EXT_PREVIOUS_IDENTITY_EXPIRES: &str = "prev-identity-expires";
/// The certificate's generation (Teleport's `generation`): only checked.
const EXT_GENERATION: &str = "generation";
/// The critical option Teleport pins a login's source IP with.
const OPT_SOURCE_ADDRESS: &str = "source-address";
/// The access requests whose roles the certificate carries:
/// `{"access_requests": [ID, ...]}`.
pub const EXT_ACTIVE_REQUESTS: &str = "teleport-active-requests";
/// A Machine ID bot's certificate names its bot here.
pub const EXT_BOT_NAME: &str = "bot-name@goteleport.com";
/// A Machine ID bot's certificate names its bot instance here (Teleport's
/// `CertExtensionBotInstanceID`, written by lib/sshca `Identity.Encode`).
pub const EXT_BOT_INSTANCE_ID: &str = "bot-instance-id@goteleport.com";
/// The join token a Machine ID bot joined with (Teleport's
/// `CertExtensionJoinToken` in constants.go, written by lib/sshca
/// `Identity.Encode` and read back by `DecodeIdentity` as `JoinToken`).
pub const EXT_JOIN_TOKEN: &str = "join-token@goteleport.com";
/// The device extensions of a certificate issued to a trusted device.
pub const EXT_DEVICE: [&str; 3] = [
    "teleport-device-id",
    "teleport-device-asset-tag",
    "teleport-device-credential-id",
];

/// Which kind of CA signed a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// A `user` CA: the certificates `tsh` logs in with.
    UserCa,
    /// This cluster's `openssh` CA: the certificate Teleport's proxy logs
    /// in to an agentless node with, on the user's behalf, after its own
    /// checks (lib/agentless `createAuthSigner`, lib/auth
    /// `GenerateOpenSSHCert`). It names the user, roles and traits, and
    /// carries no MFA (see [`super::openssh_ca`]).
    OpenSshCa,
}

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
    /// All three device extensions are present and non-empty: Teleport's
    /// `dtauthz.IsSSHDeviceVerified` (a trusted device).
    pub trusted_device: bool,
    /// Extension `teleport-device-id`, when present and non-empty: a lock on
    /// this `device` holds the login (`ComputeLockTargets`).
    pub device_id: Option<String>,
    /// Extension `bot-name@goteleport.com` is set: a Machine ID bot, which
    /// `device_trust_mode: required-for-humans` does not hold.
    pub bot: bool,
    /// Extension `bot-instance-id@goteleport.com`, when present and
    /// non-empty: a lock on this `bot_instance_id` holds the login
    /// (lib/services `SSHAccessLockTargets`).
    pub bot_instance_id: Option<String>,
    /// Extension `join-token@goteleport.com`, when present and non-empty,
    /// as its SHA-256 (lowercase hex, as lock targets keep it): a lock on
    /// this `join_token` holds the login (lib/services
    /// `SSHAccessLockTargets`). The token's name is a secret, so it is not
    /// kept in clear.
    pub join_token_sha256: Option<String>,
    /// Extension `teleport-active-requests`: the access requests this
    /// certificate came from (lock target `access_request`).
    pub active_requests: Vec<String>,
    /// A resource access request's resources (extensions
    /// `teleport-allowed-resource-access-ids` and
    /// `teleport-allowed-resources`, read as lib/sshca `DecodeIdentity`
    /// reads them): when `Some`, only these may be reached with the
    /// certificate, each as its request limited it
    /// (`AccessChecker.CheckAccess` checks them first). `None`: not limited.
    pub allowed_resources: Option<Vec<super::allowed_resources::ResourceAccess>>,
    /// Extension `prev-identity-expires` (RFC 3339): a per-session MFA
    /// certificate's issuing certificate's end. `None` when absent or not a
    /// time (the certificate's own, earlier end then counts).
    pub previous_identity_expires: Option<SystemTime>,
    /// Start of the validity window (inclusive).
    pub valid_after: SystemTime,
    /// End of the validity window (exclusive).
    pub valid_before: SystemTime,
    /// `cluster_name` of the trusted CA that signed the certificate.
    pub ca_cluster: String,
    /// A trusted cluster's certificate: its own roles, once `roles` hold
    /// the ones they map to here. They grant nothing, but a lock on one of
    /// them holds the user (Teleport's `UnmappedRoles` in
    /// `ComputeLockTargets`). Empty for this cluster's certificates.
    pub unmapped_roles: Vec<String>,
    /// Signed by a trusted cluster's user CA: the person is that cluster's
    /// user, whatever this cluster's users are called, so only what the
    /// certificate carries (`mfa-verified`) proves their MFA here.
    pub from_trusted_cluster: bool,
    /// The certified key's type, e.g. `ssh-ed25519`, `sk-ssh-ed25519@openssh.com`.
    pub subject_key_type: String,
    /// Which kind of CA signed it.
    pub issuer: Issuer,
}

impl TeleportIdentity {
    /// Reads the identity of a verified certificate: its key id, the
    /// `principals` already checked, Teleport's extensions, and the
    /// `cluster_name` and kind of the CA that signed it.
    pub(super) fn read(
        cert: &Certificate,
        principals: Vec<String>,
        ca_cluster: &str,
        issuer: Issuer,
    ) -> Result<TeleportIdentity, CertError> {
        check_decodable(cert)?;
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
            trusted_device: EXT_DEVICE.iter().all(|e| non_empty(e).is_some()),
            device_id: non_empty(EXT_DEVICE[0]),
            bot: non_empty(EXT_BOT_NAME).is_some(),
            bot_instance_id: non_empty(EXT_BOT_INSTANCE_ID),
            join_token_sha256: non_empty(EXT_JOIN_TOKEN)
                .map(|t| crate::policy::join_token_sha256(&t)),
            active_requests: match non_empty(EXT_ACTIVE_REQUESTS) {
                Some(json) => parse_active_requests(&json)?,
                None => Vec::new(),
            },
            allowed_resources: super::allowed_resources::decode(
                extensions
                    .get(super::allowed_resources::EXT_ALLOWED_RESOURCES)
                    .map(String::as_str),
                extensions
                    .get(super::allowed_resources::EXT_ALLOWED_RESOURCE_ACCESS_IDS)
                    .map(String::as_str),
            )?,
            previous_identity_expires: non_empty(EXT_PREVIOUS_IDENTITY_EXPIRES).and_then(|t| {
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(SystemTime::from)
            }),
            valid_after: cert.valid_after_time(),
            valid_before: cert.valid_before_time(),
            ca_cluster: ca_cluster.to_owned(),
            unmapped_roles: Vec::new(),
            from_trusted_cluster: false,
            subject_key_type: cert.public_key().algorithm().as_str().to_owned(),
            issuer,
        })
    }
}

/// What Teleport's `DecodeIdentity` (lib/sshca/identity.go) parses and
/// refuses the certificate over when malformed, beyond what is read here:
/// `prev-identity-expires` must be an RFC 3339 time (present, even empty),
/// `generation` a decimal uint64 (`strconv.ParseUint`), and the
/// `source-address` critical option one address and prefix
/// (`strings.Split(v, "/")` giving two parts; sshd enforces the address).
fn check_decodable(cert: &Certificate) -> Result<(), CertError> {
    let extensions = cert.extensions();
    let bad = |name: &str, reason: &str| CertError::BadExtension {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(t) = extensions.get(EXT_PREVIOUS_IDENTITY_EXPIRES) {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|_| bad(EXT_PREVIOUS_IDENTITY_EXPIRES, "not an RFC 3339 time"))?;
    }
    if let Some(g) = extensions.get(EXT_GENERATION) {
        if g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()) || g.parse::<u64>().is_err() {
            return Err(bad(EXT_GENERATION, "not a decimal uint64"));
        }
    }
    if let Some(v) = cert.critical_options().get(OPT_SOURCE_ADDRESS) {
        if v.split('/').count() != 2 {
            return Err(CertError::Malformed(format!(
                "critical option {OPT_SOURCE_ADDRESS} {v:?} is not one address and prefix (Teleport's DecodeIdentity reads it as a CIDR)"
            )));
        }
    }
    Ok(())
}

/// `teleport-active-requests`: `{"access_requests": [...]}` (Teleport's
/// `RequestIDs`); anything else refuses the certificate, as Teleport's
/// `parseAccessRequestIDs` does.
fn parse_active_requests(json: &str) -> Result<Vec<String>, CertError> {
    #[derive(Deserialize)]
    struct RequestIds {
        #[serde(default)]
        access_requests: Option<Vec<String>>,
    }
    serde_json::from_str::<RequestIds>(json)
        .map(|r| r.access_requests.unwrap_or_default())
        .map_err(|e| CertError::BadExtension {
            name: EXT_ACTIVE_REQUESTS.to_owned(),
            reason: e.to_string(),
        })
}

/// `teleport-roles`: `{"version":"v1","roles":[...]}` (`null` for none).
/// Any `version` is read as Teleport's `UnmarshalCertRoles` reads it: only
/// the roles count.
fn parse_roles(json: &str) -> Result<Vec<String>, CertError> {
    #[derive(Deserialize)]
    struct CertRoles {
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
