//! Lookups a decision needs, built once when a bundle is made, so that the
//! cost of one decision does not grow with the number of users, devices,
//! roles or locks in the bundle.
//!
//! Every index is derived from the bundle's resources by [`BundleIndex::build`]
//! and nothing else; [`super::Bundle`] keeps both private, so they cannot go
//! out of step. Positions (`u32`) point into the bundle's users and roles
//! (name order) and its `devices` and `locks` (bundle order), so lookups
//! return what a scan in that order would.

use std::time::SystemTime;

use super::beside::beside;
use super::by_name::{position, ByName};
use super::key_table::{locator, unlocate, KeyTable};
use super::lock_index::LockIndex;
use super::locks::LockSubject;
use super::login_candidates::LoginCandidates;
use super::prefetch::prefetch;
use super::resources::{DeviceKind, Lock, MfaDevice, Role, User};
use super::role_positions::RolePositions;

/// The indices of one bundle. The string-keyed ones ([`KeyTable`]) keep no
/// copy of their keys: each lookup is given the resources they were built
/// from, and reads the keys there.
#[derive(Clone, Default)]
pub(crate) struct BundleIndex {
    /// A login → the users named so or whose `logins` trait holds it
    /// (locator: user, 0 for the name or 1 + the login's place).
    users_by_login: KeyTable,
    /// A user → their devices (locator: a device).
    devices_by_user: KeyTable,
    /// An `ssh_sk` key blob, or a `piv` slot certificate's key in OpenSSH
    /// form → the devices with it (locator: a device; the key type is
    /// compared on lookup).
    devices_by_ssh_blob: KeyTable,
    /// A `piv` slot certificate's key (base64, OpenSSH form) → the devices
    /// with it.
    devices_by_piv_blob: KeyTable,
    /// What may allow a login, for [`BundleIndex::login_candidates`].
    logins: LoginCandidates,
    locks: LockIndex,
    /// Each user's roles by position.
    role_positions: RolePositions,
}

impl std::fmt::Debug for BundleIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleIndex")
            .field("logins", &self.users_by_login.len())
            .field("device_users", &self.devices_by_user.len())
            .field("ssh_keys", &self.devices_by_ssh_blob.len())
            .finish_non_exhaustive()
    }
}

/// The user's name (0) or one of their `logins` (1 + its place).
fn user_login(users: &ByName<User>, locator: u64) -> &str {
    let (u, which) = unlocate(locator);
    let user = users.at(u);
    match which {
        0 => &user.name,
        k => user.logins().get(k - 1).unwrap_or_default(),
    }
}

/// An `ssh_sk` device's key blob.
fn sk_blob(device: &MfaDevice) -> Option<&[u8]> {
    match &device.kind {
        DeviceKind::SshSk { key_blob, .. } => Some(key_blob),
        _ => None,
    }
}

/// A `piv` device's slot key, base64 as in `SSH_AUTH_INFO_0`.
fn piv_blob(device: &MfaDevice) -> Option<&str> {
    match &device.kind {
        DeviceKind::Piv(p) => p.ssh_key.as_ref().map(|(_, b)| b.as_str()),
        _ => None,
    }
}

impl BundleIndex {
    pub(crate) fn build(
        roles: &ByName<Role>,
        users: &ByName<User>,
        locks: &[Lock],
        devices: &[MfaDevice],
    ) -> BundleIndex {
        // Which logins roles may allow, on a second thread for a large bundle.
        let large = users.len() + devices.len() >= 20_000;
        let ((logins, locks), tables) = beside(
            large,
            || {
                (
                    LoginCandidates::build(roles, users),
                    LockIndex::build(locks, roles),
                )
            },
            || {
                let tables = BundleIndex::tables(users, devices);
                (tables, RolePositions::build(roles, users))
            },
        );
        let ((users_by_login, devices_by_user, devices_by_ssh_blob), role_positions) = tables;
        let devices_by_piv_blob = KeyTable::build(
            devices
                .iter()
                .enumerate()
                .filter_map(|(i, d)| piv_blob(d).map(|b| (b, i as u64, position(i)))),
        );
        BundleIndex {
            users_by_login,
            devices_by_user,
            devices_by_ssh_blob,
            devices_by_piv_blob,
            logins,
            locks,
            role_positions,
        }
    }

    /// `users_by_login`, `devices_by_user` and `devices_by_ssh_blob`.
    fn tables(users: &ByName<User>, devices: &[MfaDevice]) -> (KeyTable, KeyTable, KeyTable) {
        // Users in name order, so every list comes out sorted.
        let users_by_login = KeyTable::build(users.values().enumerate().flat_map(|(u, user)| {
            let mut logins: Vec<(&str, usize)> = vec![(user.name.as_str(), 0)];
            logins.extend(user.logins().iter().enumerate().map(|(k, l)| (l, k + 1)));
            logins.sort_unstable();
            logins.dedup_by(|a, b| a.0 == b.0);
            logins
                .into_iter()
                .map(move |(login, which)| (login, locator(position(u), which), position(u)))
        }));
        let devices_by_user = KeyTable::build(
            devices
                .iter()
                .enumerate()
                .map(|(i, d)| (&*d.user, i as u64, position(i))),
        );
        let devices_by_ssh_blob = KeyTable::build(
            devices
                .iter()
                .enumerate()
                .filter_map(|(i, d)| sk_blob(d).map(|b| (b, i as u64, position(i)))),
        );
        (users_by_login, devices_by_user, devices_by_ssh_blob)
    }

    /// User `u`'s roles as written: a position, or `None` when missing.
    pub(crate) fn role_positions(&self, u: u32) -> impl Iterator<Item = Option<u32>> + '_ {
        self.role_positions.of(u)
    }

    /// The users named `login` or whose `logins` trait holds it.
    pub(crate) fn users_for_login<'a>(&'a self, users: &'a ByName<User>, login: &str) -> &'a [u32] {
        self.users_by_login.get(login, |l| user_login(users, l))
    }

    /// [`BundleIndex::users_for_login`] and [`BundleIndex::login_is_named`]
    /// at once, their reads of cold memory overlapped: every table's slot
    /// is asked of the CPU before the first is probed, and a user found is
    /// asked for where their roles start and for their traits, which the
    /// key's comparison and the decision then read.
    pub(crate) fn login_users_and_named<'a>(
        &'a self,
        users: &'a ByName<User>,
        login: &str,
    ) -> (&'a [u32], bool) {
        let by_login = self.users_by_login.start(login);
        let named = self.logins.start_names(login);
        let found = self.users_by_login.finish(by_login, login, |l| {
            let u = unlocate(l).0;
            self.role_positions.prefetch_start(u);
            let user = users.at(u);
            // Its record's lines side by side, then what they point at.
            prefetch(user);
            prefetch(user.name.as_str());
            user.traits.prefetch();
            user_login(users, l)
        });
        let named = self.logins.finish_names(users, login, named);
        (found, named)
    }

    /// Asks the CPU for the line of user `u`'s role positions.
    pub(crate) fn prefetch_role_positions(&self, u: u32) {
        self.role_positions.prefetch_positions(u);
    }

    pub(crate) fn devices_for_user<'a>(
        &'a self,
        devices: &'a [MfaDevice],
        user: &str,
    ) -> &'a [u32] {
        self.devices_by_user
            .get(user, |d| &devices[d as usize].user)
    }

    /// The `ssh_sk` devices with this key blob.
    pub(crate) fn devices_with_sk_blob<'a>(
        &'a self,
        devices: &'a [MfaDevice],
        blob: &[u8],
    ) -> &'a [u32] {
        self.devices_by_ssh_blob
            .get(blob, |d| sk_blob(&devices[d as usize]).unwrap_or_default())
    }

    /// The `piv` devices whose slot key has this base64 blob.
    pub(crate) fn devices_with_piv_blob<'a>(
        &'a self,
        devices: &'a [MfaDevice],
        blob_b64: &str,
    ) -> &'a [u32] {
        self.devices_by_piv_blob.get(blob_b64, |d| {
            piv_blob(&devices[d as usize]).unwrap_or_default()
        })
    }

    /// The users whose roles could allow `login` (in name order, each once).
    pub(crate) fn login_candidates(&self, users: &ByName<User>, login: &str) -> Vec<u32> {
        self.logins.candidates(users, login)
    }

    /// Whether some role's allow `logins` name `login`, for some user once
    /// templates are applied: a login the cluster manages.
    pub(crate) fn login_is_named(&self, users: &ByName<User>, login: &str) -> bool {
        self.logins.names(users, login)
    }

    /// The position of the first lock (in bundle order) in force at `now`
    /// that matches `subject`.
    pub(crate) fn find_lock(
        &self,
        locks: &[Lock],
        subject: &LockSubject<'_>,
        now: SystemTime,
    ) -> Option<usize> {
        let mut positions = subject.bundle_user.map(|u| self.role_positions.of(u));
        let positions = positions
            .as_mut()
            .map(|p| p as &mut dyn Iterator<Item = Option<u32>>);
        self.locks.find(locks, subject, positions, now)
    }
}
