//! Stage 1 of a decision: who is logging in, from what sshd verified. A
//! registered security or PIV key names its cluster user; a Teleport
//! certificate, verified against the bundle's user CAs (or this cluster's
//! openssh CA: Teleport's proxy logging in to this host as an agentless
//! node), names the user and carries the roles and traits to decide with.
//! Neither: not known (the policy then decides from the login alone).

use super::auth_info::{accepted_keys, AcceptedKey};
use super::key_rules::cert_key_policy_is_mfa;
use super::remote_cluster::{as_local_identity, this_cluster};
use super::reuse::ConnectionKey;
use super::sshd_connection::SshdConnection;
use super::verdict::Verdict;
use crate::policy::{
    AllowedNode, Bundle, CertificateFacts, MfaDevice, NodeLimit, ServiceClass, User,
};
use crate::state::AgentState;
use crate::verify::ssh_cert::{
    verify_login_cert, CheckedDuring, ResourceAccess, ResourceConstraint, TeleportIdentity,
};

/// What this authentication presented about the person.
pub(super) struct Presented<'b> {
    /// The keys sshd accepted (SSH logins only).
    pub(super) keys: Vec<AcceptedKey>,
    /// Which of them are registered devices.
    pub(super) registered: Vec<(usize, &'b MfaDevice)>,
    /// A verified Teleport certificate.
    pub(super) cert: Option<TeleportIdentity>,
    /// The certificate's identity as a cluster user.
    pub(super) cert_user: Option<User>,
    /// The cluster user the registered keys belong to.
    pub(super) key_user: Option<String>,
}

impl Presented<'_> {
    /// The cluster user named by a certificate or a registered key.
    pub(super) fn person(&self) -> Option<&str> {
        self.cert_user
            .as_ref()
            .map(|u| u.name.as_str())
            .or(self.key_user.as_deref())
    }

    /// The registered keys with the key sshd accepted for each.
    pub(super) fn registered_keys(&self) -> Vec<(&AcceptedKey, &MfaDevice)> {
        self.registered
            .iter()
            .map(|(i, d)| (&self.keys[*i], *d))
            .collect()
    }

    /// The device that identified the person, if a registered key did.
    pub(super) fn device(&self) -> Option<&MfaDevice> {
        self.registered.first().map(|(_, d)| *d)
    }

    /// The key of this connection that identifies `user`: their registered
    /// key sshd accepted, else a verified certificate of this cluster that
    /// names them. A login name, a plain key or a password identify nobody.
    pub(super) fn connection_key(&self, user: &str) -> Option<ConnectionKey> {
        let registered = self
            .registered
            .iter()
            .find(|(_, d)| *d.user == *user)
            .map(|(i, _)| &self.keys[*i]);
        let certificate = self
            .cert
            .as_ref()
            .filter(|c| !c.from_trusted_cluster && c.key_id == user)
            .and_then(|_| self.keys.iter().find(|k| k.is_certificate()));
        registered
            .or(certificate)
            .and_then(|k| ConnectionKey::new(user, &k.blob))
    }
}

/// Who is logging in, or the refusal when the evidence contradicts itself
/// (keys of several users, a certificate not accepted, a certificate and a
/// key of different users). `connection`: sshd's connection, as far as
/// known (see [`super::sshd_connection`]).
pub(super) fn identify<'b>(
    state: &AgentState,
    bundle: &'b Bundle,
    class: ServiceClass,
    login: &str,
    ssh_auth_info: Option<&str>,
    connection: SshdConnection,
) -> Result<Presented<'b>, Box<Verdict>> {
    // Evidence from sshd: only for SSH logins. The key of the SSH session
    // that runs sudo is not a fresh tap for sudo.
    let keys: Vec<AcceptedKey> = match (class, ssh_auth_info) {
        (ServiceClass::Ssh, Some(info)) => accepted_keys(info),
        _ => Vec::new(),
    };
    let registered = registered_devices(bundle, &keys);
    let mut key_users: Vec<&str> = registered.iter().map(|(_, d)| &*d.user).collect();
    key_users.sort_unstable();
    key_users.dedup();
    if key_users.len() > 1 {
        return Err(Box::new(Verdict::deny(
            "pam-mfa: this login used security keys of different cluster users".into(),
            format!(
                "keys of several cluster users authenticated: {}",
                key_users.join(", ")
            ),
        )));
    }
    let key_user = key_users.first().map(|u| u.to_string());
    let cert = certificate(state, bundle, login, &keys, connection)?;
    if let (Some(c), Some(key_user)) = (&cert, &key_user) {
        if c.key_id != *key_user {
            return Err(Box::new(Verdict::deny(
                "pam-mfa: this login used a certificate and a security key of different cluster users".into(),
                format!("certificate of {} with a registered key of {key_user}", c.key_id),
            )));
        }
    }
    let cert_user = cert.as_ref().map(|c| User {
        name: c.key_id.clone(),
        roles: c.roles.iter().map(|r| r.as_str().into()).collect(),
        traits: crate::policy::Traits::from(&c.traits),
        limits: None,
        login_state: None,
        certificate: Some(Box::new(CertificateFacts {
            trusted_device: c.trusted_device,
            device_id: c.device_id.clone(),
            mfa_device: c.mfa_verified.clone(),
            key_policy_mfa: cert_key_policy_is_mfa(c.private_key_policy.as_deref()),
            cert_expires: Some(c.previous_identity_expires.unwrap_or(c.valid_before)),
            bot: c.bot,
            bot_instance_id: c.bot_instance_id.clone(),
            join_token_sha256: c.join_token_sha256.clone(),
            access_requests: c.active_requests.clone(),
            allowed_nodes: allowed_nodes(
                c.allowed_resources.as_deref(),
                this_cluster(
                    bundle.cert_authorities(),
                    state.config.cluster.name.as_deref(),
                ),
            ),
        })),
    });
    Ok(Presented {
        keys,
        registered,
        cert,
        cert_user,
        key_user,
    })
}

/// Registered keys among those sshd accepted: sk keys, and PIV keys
/// (matched by their slot certificate's key; the chain is verified when
/// the class is asked for).
fn registered_devices<'b>(bundle: &'b Bundle, keys: &[AcceptedKey]) -> Vec<(usize, &'b MfaDevice)> {
    keys.iter()
        .enumerate()
        .filter_map(|(i, k)| {
            if k.is_security_key() {
                bundle.device_by_ssh_key(&k.key_type, &k.blob)
            } else if k.is_certificate() {
                None
            } else {
                bundle.device_by_piv_key(&k.key_type, &k.blob)
            }
            .map(|d| (i, d))
        })
        .collect()
}

/// The nodes of this cluster a certificate of a resource access request
/// may reach, by resource name, each as its request limited it; `None`
/// when the certificate is not limited (no list, or lists of nothing: see
/// `verify::ssh_cert` for how they are read). As Teleport's
/// `accessChecker.checkAllowedResources`, a resource counts for a node only
/// when its cluster is this cluster (`here`, compared exactly) and its kind
/// `node`; when this cluster's name is not known, none does (fail closed).
fn allowed_nodes(
    resources: Option<&[ResourceAccess]>,
    here: Option<&str>,
) -> Option<Vec<AllowedNode>> {
    let resources = resources?;
    Some(
        resources
            .iter()
            .filter(|r| r.id.kind == "node" && Some(r.id.cluster.as_str()) == here)
            .map(|r| AllowedNode {
                name: r.id.name.clone(),
                limit: match &r.constraint {
                    None => NodeLimit::Unconstrained,
                    Some(ResourceConstraint::SshLogins(logins)) => {
                        NodeLimit::Logins(logins.clone())
                    }
                    Some(ResourceConstraint::Other(kind)) => {
                        NodeLimit::Unsupported(format!("a constraint of kind {kind}"))
                    }
                },
            })
            .collect(),
    )
}

/// A Teleport certificate among the keys, verified. sshd checked its
/// validity when it authenticated the connection, as Teleport's nodes do
/// (`UserKeyAuth`), and never after: it must have been valid at some
/// moment since sshd's connection began (`connection.age` ago; unknown,
/// now), so a short-lived per-session certificate that expires during a
/// keyboard-interactive step or before the session opens still counts. How
/// long the session may last is the policy's (`disconnect_expired_cert`).
///
/// Trusted: the user CAs, and this cluster's `openssh` CA (the certificate
/// Teleport's proxy logs in to an agentless node with; another cluster's
/// is refused, as is one of this cluster when which cluster is this one is
/// not known). Such a certificate names the user, roles and traits and
/// carries no MFA (`verify::ssh_cert::openssh_ca`).
fn certificate(
    state: &AgentState,
    bundle: &Bundle,
    login: &str,
    keys: &[AcceptedKey],
    connection: SshdConnection,
) -> Result<Option<TeleportIdentity>, Box<Verdict>> {
    let Some(k) = keys.iter().find(|k| k.is_certificate()) else {
        return Ok(None);
    };
    let cas = bundle.cert_authorities();
    let local_cluster = state.config.cluster.name.as_deref();
    let now = state.now();
    let checked = CheckedDuring {
        since: connection
            .age
            .and_then(|age| now.checked_sub(age))
            .unwrap_or(now),
        now,
    };
    let here = this_cluster(cas, local_cluster);
    verify_login_cert(&k.key_type, &k.blob, cas, here, login, checked)
        .map_err(|e| e.to_string())
        .and_then(|id| as_local_identity(id, cas, local_cluster))
        .map(Some)
        .map_err(|e| {
            Box::new(Verdict::deny(
                format!("pam-mfa: your certificate is not accepted: {e}"),
                format!("certificate refused: {e}"),
            ))
        })
}

#[cfg(test)]
#[path = "who_tests.rs"]
mod tests;
