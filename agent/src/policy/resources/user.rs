//! `kind: user` (v2): roles and traits.

use std::sync::Arc;
use std::time::SystemTime;

use serde::Deserialize;

use super::common::{v2, Metadata, StringList};
use super::device::MfaDevice;
use super::local_auth::RawLocalAuth;
use super::shared_names::shared_name;
use super::user_traits::{TraitValues, Traits};

/// A cluster user, or the identity a verified certificate carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    /// `metadata.name`.
    pub name: String,
    /// `spec.roles`, as written (some may be missing from the bundle). The
    /// users of one bundle share each name (see `SharedNames`).
    pub roles: Box<[Arc<str>]>,
    /// `spec.traits` (`logins`, and whatever the identity provider sends).
    pub traits: Traits,
    /// `metadata.expires` and `spec.status`'s lock, when either is set
    /// (boxed: most of a bundle's users have neither).
    pub limits: Option<Box<AccountLimits>>,
    /// What a verified certificate's identity carries; `None` for a
    /// bundle's user (boxed: a bundle's users never carry it).
    pub certificate: Option<Box<CertificateFacts>>,
    /// Set when a `user_login_state` of this name gave `roles` and
    /// `traits` (Teleport's `GetUserOrLoginState`); `None`: they are the
    /// user resource's, or a certificate's.
    pub login_state: Option<Box<LoginStateOrigin>>,
}

/// Where a bundle user's roles and traits came from when a
/// `user_login_state` gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginStateOrigin {
    /// The user resource's own `spec.roles` (for explanations); `None`:
    /// the bundle has the login state and no user resource.
    pub user_resource_roles: Option<Box<[Arc<str>]>>,
    /// The login state's `metadata.expires`.
    pub expires: Option<SystemTime>,
}

/// A user's account limits in the bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountLimits {
    /// `metadata.expires` (else `spec.expires`): from then on the user no
    /// longer exists in Teleport (the backend deletes it) and is denied.
    pub expires: Option<SystemTime>,
    /// `spec.status`: until when the account is locked after too many
    /// failed login (`lock_expires`) or recovery
    /// (`recovery_attempt_lock_expires`) attempts, when `is_locked`.
    pub locked_until: Option<SystemTime>,
}

/// What a verified Teleport certificate says of its holder beside the
/// name, roles and traits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateFacts {
    /// Teleport verified the device (all three device extensions:
    /// `dtauthz.IsSSHDeviceVerified`). A host cannot tell a trusted device
    /// otherwise.
    pub trusted_device: bool,
    /// `teleport-device-id`: lock target `device`.
    pub device_id: Option<String>,
    /// `mfa-verified`: the MFA device the certificate was issued with,
    /// lock target `mfa_device` whatever else authenticated the login.
    pub mfa_device: Option<String>,
    /// Its `private_key_policy` needs a touch or a PIN of the key, which
    /// Teleport counts as MFA (`PrivateKeyPolicy.MFAVerified`).
    pub key_policy_mfa: bool,
    /// The hard deadline: `prev-identity-expires` (a per-session MFA
    /// certificate: when the certificate it was issued from expires), else
    /// its own end. With `disconnect_expired_cert`, the session ends then
    /// (Teleport's `getDisconnectExpiredCertFromSSHIdentity`).
    pub cert_expires: Option<SystemTime>,
    /// A Machine ID bot's certificate.
    pub bot: bool,
    /// `bot-instance-id@goteleport.com`: the bot instance (lock target
    /// `bot_instance_id`).
    pub bot_instance_id: Option<String>,
    /// `join-token@goteleport.com`, as its SHA-256 (lowercase hex): the
    /// join token the bot joined with (lock target `join_token`).
    pub join_token_sha256: Option<String>,
    /// Limited to some resources (a resource access request's
    /// certificate): the nodes of this cluster it may reach, by resource
    /// name (a node's host UUID), each as its request limited it. `None`:
    /// not limited.
    pub allowed_nodes: Option<Vec<AllowedNode>>,
    /// Its active access requests (lock target `access_request`).
    pub access_requests: Vec<String>,
}

/// A node a resource access request's certificate may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedNode {
    /// The node's resource name (its `metadata.name`: the host UUID),
    /// what Teleport's `checkAllowedResources` compares.
    pub name: String,
    /// What the request limited the access to.
    pub limit: NodeLimit,
}

/// What a resource access request limited one node to (its
/// `ResourceConstraints`, RFD 0228).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeLimit {
    /// Nothing: the logins the roles allow.
    Unconstrained,
    /// Only these logins, of those the roles allow (an `ssh` constraint:
    /// lib/services `WithConstraints` on the login matcher).
    Logins(Vec<String>),
    /// A constraint of a kind this agent does not apply (named here): the
    /// node cannot be reached (fail closed).
    Unsupported(String),
}

/// A bundle user's (empty) certificate facts.
static NO_CERTIFICATE: CertificateFacts = CertificateFacts {
    trusted_device: false,
    device_id: None,
    mfa_device: None,
    key_policy_mfa: false,
    cert_expires: None,
    bot: false,
    bot_instance_id: None,
    join_token_sha256: None,
    allowed_nodes: None,
    access_requests: Vec::new(),
};

impl CertificateFacts {
    /// Teleport's `IsMFAVerified` for the certificate: issued after a
    /// per-session MFA check (`mfa-verified`), or its key's policy counts as
    /// MFA. Teleport's SSH node sets the access state's `MFAVerified` from it.
    pub fn is_mfa_verified(&self) -> bool {
        self.mfa_device.is_some() || self.key_policy_mfa
    }
}

impl User {
    /// Whether the user no longer exists at `now` (`metadata.expires`).
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.limits
            .as_ref()
            .and_then(|l| l.expires)
            .is_some_and(|e| e <= now)
    }

    /// Whether the account is locked at `now` after too many failed
    /// attempts (Teleport's `WithUserLock`: `is_locked` and a lock end
    /// after `now`).
    pub fn is_login_locked(&self, now: SystemTime) -> bool {
        self.limits
            .as_ref()
            .and_then(|l| l.locked_until)
            .is_some_and(|until| until > now)
    }

    /// Whether the bundle has a `user_login_state` of this name and no
    /// user resource.
    pub fn has_login_state_only(&self) -> bool {
        self.login_state
            .as_ref()
            .is_some_and(|o| o.user_resource_roles.is_none())
    }

    /// Whether the `user_login_state` that gave the roles and traits no
    /// longer exists at `now` (`metadata.expires`).
    pub fn is_login_state_expired(&self, now: SystemTime) -> bool {
        self.login_state
            .as_ref()
            .and_then(|o| o.expires)
            .is_some_and(|e| e <= now)
    }

    /// What a certificate says of this identity (all empty for a bundle's
    /// user).
    pub fn cert(&self) -> &CertificateFacts {
        self.certificate.as_deref().unwrap_or(&NO_CERTIFICATE)
    }

    /// This identity with its certificate facts changed by `f` (tests and
    /// callers building an identity).
    pub fn with_certificate(mut self, f: impl FnOnce(&mut CertificateFacts)) -> User {
        f(self.certificate.get_or_insert_with(Default::default));
        self
    }

    /// The user's `logins` trait.
    pub fn logins(&self) -> TraitValues<'_> {
        self.traits.get("logins").unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserDoc {
    #[serde(rename = "version", deserialize_with = "v2")]
    _version: String,
    metadata: Metadata,
    #[serde(default)]
    spec: Option<RawUserSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct RawUserSpec {
    #[serde(default)]
    roles: Option<StringList>,
    #[serde(default)]
    traits: Option<Traits>,
    /// Teleport's own MFA devices (`--with-secrets`); only `mfa` is read.
    #[serde(default)]
    local_auth: Option<RawLocalAuth>,
    #[serde(default)]
    status: Option<RawLoginStatus>,
    /// The older place of the user's expiry, read when `metadata.expires`
    /// is not set (Teleport's `UserV2.Expiry`); tctl prints Go's zero time
    /// here for users that do not expire.
    #[serde(default, deserialize_with = "super::common::go_time")]
    expires: Option<SystemTime>,
}

/// `spec.status` (Teleport's `LoginStatus`).
#[derive(Debug, Default, Deserialize)]
struct RawLoginStatus {
    /// A plain protobuf bool in Teleport (`LoginStatus.IsLocked`): anything
    /// else is a load error, never "not locked".
    #[serde(default)]
    is_locked: bool,
    #[serde(default, deserialize_with = "super::common::go_time")]
    lock_expires: Option<SystemTime>,
    #[serde(default, deserialize_with = "super::common::go_time")]
    recovery_attempt_lock_expires: Option<SystemTime>,
}

impl RawLoginStatus {
    fn locked_until(self) -> Option<SystemTime> {
        if !self.is_locked {
            return None;
        }
        match (self.lock_expires, self.recovery_attempt_lock_expires) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

impl UserDoc {
    /// The user, and the WebAuthn/U2F devices of their `local_auth` (an
    /// error names the device that is malformed; `warnings` get what was
    /// read as unknown, each naming its device).
    pub(crate) fn into_user(
        self,
        warnings: &mut Vec<String>,
    ) -> Result<(User, Vec<MfaDevice>), String> {
        let spec = self.spec.unwrap_or_default();
        let name = self.metadata.name;
        let devices = spec
            .local_auth
            .unwrap_or_default()
            .into_devices(&name, warnings)?;
        let user = User {
            name,
            roles: spec
                .roles
                .unwrap_or_default()
                .0
                .into_iter()
                .map(shared_name)
                .collect(),
            traits: spec.traits.unwrap_or_default(),
            limits: {
                let limits = AccountLimits {
                    expires: self.metadata.expires.or(spec.expires),
                    locked_until: spec.status.and_then(RawLoginStatus::locked_until),
                };
                (limits != AccountLimits::default()).then(|| Box::new(limits))
            },
            certificate: None,
            login_state: None,
        };
        Ok((user, devices))
    }
}
