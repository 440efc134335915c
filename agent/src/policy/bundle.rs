//! A loaded bundle: the cluster's resources, as one host needs them.
//!
//! The resources are private and read through accessors: the lookups a
//! decision makes go through indices built once, with the bundle
//! ([`BundleIndex`]), and a bundle cannot be changed after it is made, so the
//! indices always describe what it holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::by_name::ByName;
use super::index::BundleIndex;
use super::locks::LockSubject;
use super::node_label_cache::{NodeLabelCache, RoleLabels};
use super::query::NodeInfo;
use super::resources::{
    AuthPreference, CertAuthority, DeviceKind, Lock, MfaDevice, NetworkingConfig, Role, User,
    WebauthnDevice,
};
use super::vanished::{InstalledVanished, VanishedUsers};

/// Everything a bundle says, after parsing and Teleport's defaults.
#[derive(Debug, Clone)]
pub struct Bundle {
    roles: ByName<Role>,
    users: ByName<User>,
    /// The cluster auth preference (Teleport's defaults when the bundle has none).
    pub cap: AuthPreference,
    /// The cluster networking settings hosts use (Teleport's defaults when
    /// the bundle has none).
    pub networking: NetworkingConfig,
    locks: Vec<Lock>,
    devices: Vec<MfaDevice>,
    cert_authorities: Vec<CertAuthority>,
    /// Things skipped or worth a look (`FILE:LINE: message`).
    pub warnings: Vec<String>,
    /// Lowercase hex SHA-256 of the input bytes (all files, in order).
    pub revision: String,
    /// Derived from the fields above, never set on its own.
    index: BundleIndex,
    /// Some role's `options.lock` is `strict` (derived, as `index`): asked
    /// on every decision, so not found by walking every role each time.
    strict_role: bool,
    /// Some role has a `metadata.expires` (derived, as `index`): when none
    /// has, a decision reads no role's record to find out.
    role_expires: bool,
    /// The roles' literal node_labels matched against this node (derived,
    /// filled on demand).
    role_labels: NodeLabelCache,
    /// The users earlier bundles held and this one does not: not part of
    /// what the bundle says (loading never sets it), but what the agent
    /// remembers and installs with it ([`Bundle::set_vanished`]).
    vanished: InstalledVanished,
}

/// The resources a bundle is made of (see [`Bundle::from_parts`]).
#[derive(Debug, Clone, Default)]
pub struct BundleParts {
    /// Roles by name.
    pub roles: BTreeMap<String, Role>,
    /// Users by name.
    pub users: BTreeMap<String, User>,
    pub cap: AuthPreference,
    pub networking: NetworkingConfig,
    /// Locks, in bundle order.
    pub locks: Vec<Lock>,
    /// Registered MFA devices, in bundle order.
    pub devices: Vec<MfaDevice>,
    /// Certificate authorities, in bundle order.
    pub cert_authorities: Vec<CertAuthority>,
    pub warnings: Vec<String>,
    pub revision: String,
}

/// Two bundles are equal when they hold the same resources (the indices
/// follow from them; the vanished users are the agent's, not the bundle's).
impl PartialEq for Bundle {
    fn eq(&self, other: &Self) -> bool {
        self.roles == other.roles
            && self.users == other.users
            && self.cap == other.cap
            && self.networking == other.networking
            && self.locks == other.locks
            && self.devices == other.devices
            && self.cert_authorities == other.cert_authorities
            && self.warnings == other.warnings
            && self.revision == other.revision
    }
}

impl Eq for Bundle {}

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
        Bundle::from_parts(BundleParts {
            revision: hex_sha256(Sha256::new()),
            ..BundleParts::default()
        })
    }

    /// Makes a bundle and its indices. The loader is the usual way
    /// ([`super::load_bundle_str`], [`super::load_bundle_path`]).
    pub fn from_parts(mut parts: BundleParts) -> Bundle {
        let roles = ByName::from_map(std::mem::take(&mut parts.roles));
        let users = ByName::from_map(std::mem::take(&mut parts.users));
        Bundle::from_indexed(roles, users, parts)
    }

    /// [`Bundle::from_parts`] with the roles and users already by name
    /// (those of `parts` are not read).
    pub(crate) fn from_indexed(
        roles: ByName<Role>,
        users: ByName<User>,
        mut parts: BundleParts,
    ) -> Bundle {
        // Kept for the bundle's life: no room for more (a list grown by
        // pushes holds up to twice what it needs).
        parts.devices.shrink_to_fit();
        parts.locks.shrink_to_fit();
        parts.cert_authorities.shrink_to_fit();
        let index = BundleIndex::build(&roles, &users, &parts.locks, &parts.devices);
        let strict_role = roles.values().any(|r| r.lock == "strict");
        let role_expires = roles.values().any(|r| r.expires.is_some());
        let role_labels = NodeLabelCache::new(roles.len());
        Bundle {
            roles,
            users,
            cap: parts.cap,
            networking: parts.networking,
            locks: parts.locks,
            devices: parts.devices,
            cert_authorities: parts.cert_authorities,
            warnings: parts.warnings,
            revision: parts.revision,
            index,
            strict_role,
            role_expires,
            role_labels,
            vanished: InstalledVanished::default(),
        }
    }

    /// The users that earlier bundles held and this one does not, as the
    /// agent remembers them (none for a bundle read offline).
    pub fn vanished(&self) -> Arc<VanishedUsers> {
        self.vanished.get()
    }

    /// Installs the agent's vanished users with this bundle (shared or
    /// not: the set is swapped whole, the bundle never copied); decisions
    /// read them from here, never from a file. Returns whether the set
    /// changed (the same `Arc` again is no change).
    pub fn set_vanished(&self, vanished: Arc<VanishedUsers>) -> bool {
        self.vanished.set(vanished)
    }

    /// The outcome of `role`'s literal node_labels on a node with these
    /// labels, worked out once (`None` when `role` is not one of this
    /// bundle's or the outcomes are kept for another node).
    pub(super) fn role_labels_on(
        &self,
        role: &Role,
        node: &BTreeMap<String, String>,
    ) -> Option<&RoleLabels> {
        let position = self.roles.position_of(role)?;
        self.role_labels.get(position, role, node)
    }

    /// Asks the CPU for the line of [`Bundle::role_labels_on`]'s outcome.
    pub(super) fn prefetch_role_labels(&self, role: &Role) {
        if let Some(position) = self.roles.position_of(role) {
            self.role_labels.prefetch(position);
        }
    }

    /// Matches every role's literal node_labels against `node` now, so that
    /// no decision on that node has to (the agent does this for its own node
    /// before it installs a bundle). Decisions on another node stay correct:
    /// they match the labels themselves.
    pub fn prepare_for_node(&self, node: &NodeInfo) {
        self.role_labels.fill(&self.roles, &node.labels);
    }

    /// Whether some role has a `metadata.expires`.
    pub(super) fn some_role_expires(&self) -> bool {
        self.role_expires
    }

    /// Roles by name.
    pub fn roles(&self) -> &ByName<Role> {
        &self.roles
    }

    /// Users by name.
    pub fn users(&self) -> &ByName<User> {
        &self.users
    }

    /// The locking mode this node enforces: `strict` when the cap's
    /// `locking_mode` or any role's `options.lock` is strict, else the
    /// cap's. Teleport's `RoleSet.LockingMode` makes a user strict when one
    /// of their roles is; a host that judges the lock view once for every
    /// login takes the strictest any user could have (fail closed).
    pub fn locking_mode(&self) -> &str {
        if self.strict_role {
            "strict"
        } else {
            &self.cap.locking_mode
        }
    }

    /// Locks, in bundle order.
    pub fn locks(&self) -> &[Lock] {
        &self.locks
    }

    /// Registered MFA devices, in bundle order.
    pub fn devices(&self) -> &[MfaDevice] {
        &self.devices
    }

    /// Certificate authorities, in bundle order.
    pub fn cert_authorities(&self) -> &[CertAuthority] {
        &self.cert_authorities
    }

    /// `user`'s roles (when it is one of this bundle's users) as written:
    /// each one's position in [`Bundle::roles`], or `None` when missing.
    pub(crate) fn user_role_positions(
        &self,
        user: &User,
    ) -> Option<impl Iterator<Item = Option<u32>> + '_> {
        let u = self.users.position_of(user)?;
        Some(self.index.role_positions(u))
    }

    /// Users whose `logins` trait holds `login`, or whose name is `login`, by name.
    pub fn users_for_login(&self, login: &str) -> Vec<&User> {
        self.index
            .users_for_login(&self.users, login)
            .iter()
            .map(|&u| self.users.at(u))
            .collect()
    }

    /// [`Bundle::users_for_login`] and [`Bundle::login_is_managed`], their
    /// lookups side by side (on a large bundle, cold memory read at once
    /// rather than one line after another).
    pub(super) fn users_and_management_of_login(&self, login: &str) -> (Vec<&User>, bool) {
        let (found, managed) = self.index.login_users_and_named(&self.users, login);
        let users = found.iter().map(|&u| self.users.at(u)).collect();
        for &u in found.iter().take(PREFETCH_USERS_AT_MOST) {
            self.index.prefetch_role_positions(u);
        }
        (users, managed)
    }

    /// The users whose roles could allow `login` on some node, by name: a
    /// superset of those [`super::decide`] allows (each must still be
    /// decided), found without looking at every user.
    pub fn users_who_may_have_login(&self, login: &str) -> Vec<&User> {
        self.index
            .login_candidates(&self.users, login)
            .into_iter()
            .map(|u| self.users.at(u))
            .collect()
    }

    /// Whether `login` is cluster-managed: some role's allow `logins` name it
    /// (a literal, or a template once a user's traits are applied). Such a
    /// login is decided for the users whose roles could give it, never by
    /// the cluster's requirement alone.
    pub fn login_is_managed(&self, login: &str) -> bool {
        self.index.login_is_named(&self.users, login)
    }

    /// The devices registered to `user`, in bundle order.
    pub fn devices_for_user(&self, user: &str) -> Vec<&MfaDevice> {
        self.index
            .devices_for_user(&self.devices, user)
            .iter()
            .map(|&i| &self.devices[i as usize])
            .collect()
    }

    /// `user`'s WebAuthn devices (Teleport's WebAuthn and U2F ones, and
    /// `mfa_device` documents of the `webauthn` form) that can answer for
    /// the cluster's `webauthn.rp_id`, most recent first (the later of
    /// Teleport's `addedAt` and `lastUsed`; devices without either come last,
    /// in bundle order). None without an rp_id. Teleport's login flow leaves
    /// out devices recorded under another rp_id (`credentialRpId`); so does this.
    pub fn webauthn_devices(&self, user: &str) -> Vec<(&MfaDevice, &WebauthnDevice)> {
        let Some(rp_id) = self.cap.webauthn_rp_id.as_deref() else {
            return Vec::new();
        };
        let mut devices: Vec<_> = self
            .devices_for_user(user)
            .into_iter()
            .filter_map(|d| match &d.kind {
                DeviceKind::Webauthn(w) if w.serves_rp_id(rp_id) && !w.credential_id.is_empty() => {
                    Some((d, w))
                }
                _ => None,
            })
            .collect();
        devices.sort_by_key(|(_, w)| std::cmp::Reverse(w.last_active));
        devices
    }

    /// The credential ids of [`Bundle::webauthn_devices`], most recent
    /// first: what a FIDO2 key is asked about (its allowList), by `mfactl
    /// tap` through the challenge prompt and by the approval page.
    pub fn webauthn_credential_ids(&self, user: &str) -> Vec<&[u8]> {
        self.webauthn_devices(user)
            .into_iter()
            .map(|(_, w)| &*w.credential_id)
            .collect()
    }

    /// The `ssh_sk` device with this key (type and blob compared exactly;
    /// the blob in base64, as sshd writes it: one that does not decode
    /// names no device).
    pub fn device_by_ssh_key(&self, key_type: &str, key_blob_b64: &str) -> Option<&MfaDevice> {
        let blob = base64::engine::general_purpose::STANDARD
            .decode(key_blob_b64)
            .ok()?;
        self.index
            .devices_with_sk_blob(&self.devices, &blob)
            .iter()
            .map(|&i| &self.devices[i as usize])
            .find(|d| match &d.kind {
                DeviceKind::SshSk {
                    key_type: t,
                    key_blob: b,
                    ..
                } => *t == key_type && **b == *blob,
                _ => false,
            })
    }

    /// The `piv` device whose slot certificate holds this key (OpenSSH type
    /// and base64 blob, as in `SSH_AUTH_INFO_0`). Its chain is not verified
    /// here: [`crate::piv::PivVerifier::device_class`] does that.
    pub fn device_by_piv_key(&self, key_type: &str, key_blob_b64: &str) -> Option<&MfaDevice> {
        self.index
            .devices_with_piv_blob(&self.devices, key_blob_b64)
            .iter()
            .map(|&i| &self.devices[i as usize])
            .find(|d| match &d.kind {
                DeviceKind::Piv(p) => p
                    .ssh_key
                    .as_ref()
                    .is_some_and(|(t, b)| t == key_type && b == key_blob_b64),
                _ => false,
            })
    }

    /// The first lock (in bundle order) in force at `now` that matches
    /// `subject`: what [`super::find_lock`] finds in [`Bundle::locks`].
    pub fn find_lock(&self, subject: &LockSubject<'_>, now: SystemTime) -> Option<&Lock> {
        self.index
            .find_lock(&self.locks, subject, now)
            .map(|i| &self.locks[i])
    }

    /// The user CAs (`type: user`), to verify Teleport SSH user certificates.
    pub fn user_cert_authorities(&self) -> Vec<&CertAuthority> {
        self.cert_authorities
            .iter()
            .filter(|ca| ca.ca_type == "user")
            .collect()
    }
}

/// How many of a login's users [`Bundle::users_and_management_of_login`]
/// asks the CPU about ahead (a login shared by thousands is not worth it).
const PREFETCH_USERS_AT_MOST: usize = 4;

impl Default for Bundle {
    fn default() -> Self {
        Bundle::empty()
    }
}
