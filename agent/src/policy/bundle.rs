//! A loaded bundle: the cluster's resources, as one host needs them.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::resources::{AuthPreference, CertAuthority, DeviceKind, Lock, MfaDevice, Role, User};

/// Everything a bundle says, after parsing and Teleport's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Roles by name.
    pub roles: BTreeMap<String, Role>,
    /// Users by name.
    pub users: BTreeMap<String, User>,
    /// The cluster auth preference (Teleport's defaults when the bundle has none).
    pub cap: AuthPreference,
    /// Locks, in bundle order.
    pub locks: Vec<Lock>,
    /// Registered MFA devices, in bundle order.
    pub devices: Vec<MfaDevice>,
    /// Certificate authorities, in bundle order.
    pub cert_authorities: Vec<CertAuthority>,
    /// Things skipped or worth a look (`FILE:LINE: message`).
    pub warnings: Vec<String>,
    /// Lowercase hex SHA-256 of the input bytes (all files, in order).
    pub revision: String,
}

/// Lowercase hex SHA-256.
pub(crate) fn hex_sha256(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Bundle {
    /// A bundle with nothing in it (the revision of empty input).
    pub fn empty() -> Bundle {
        Bundle {
            roles: BTreeMap::new(),
            users: BTreeMap::new(),
            cap: AuthPreference::default(),
            locks: Vec::new(),
            devices: Vec::new(),
            cert_authorities: Vec::new(),
            warnings: Vec::new(),
            revision: hex_sha256(Sha256::new()),
        }
    }

    /// Users whose `logins` trait holds `login`, or whose name is `login`, by name.
    pub fn users_for_login(&self, login: &str) -> Vec<&User> {
        self.users
            .values()
            .filter(|u| u.name == login || u.logins().iter().any(|l| l == login))
            .collect()
    }

    /// The devices registered to `user`.
    pub fn devices_for_user(&self, user: &str) -> Vec<&MfaDevice> {
        self.devices.iter().filter(|d| d.user == user).collect()
    }

    /// The `ssh_sk` device with this key (type and base64 blob compared
    /// exactly; the comment does not matter).
    pub fn device_by_ssh_key(&self, key_type: &str, key_blob_b64: &str) -> Option<&MfaDevice> {
        self.devices.iter().find(|d| match &d.kind {
            DeviceKind::SshSk {
                key_type: t,
                key_blob: b,
                ..
            } => t == key_type && b == key_blob_b64,
            _ => false,
        })
    }

    /// The user CAs (`type: user`), to verify Teleport SSH user certificates.
    pub fn user_cert_authorities(&self) -> Vec<&CertAuthority> {
        self.cert_authorities
            .iter()
            .filter(|ca| ca.ca_type == "user")
            .collect()
    }
}

impl Default for Bundle {
    fn default() -> Self {
        Bundle::empty()
    }
}
