//! Lookups a decision needs, built once when a bundle is made, so that the
//! cost of one decision does not grow with the number of users, devices,
//! roles or locks in the bundle.
//!
//! Every index is derived from the bundle's resources by [`BundleIndex::build`]
//! and nothing else; [`super::Bundle`] keeps both private, so they cannot go
//! out of step. Positions (`u32`) point into the bundle's users and roles
//! (name order) and its `devices` and `locks` (bundle order), so lookups
//! return what a scan in that order would.

use std::collections::HashMap;
use std::time::SystemTime;

use super::beside::beside;
use super::by_name::{position, ByName};
use super::key_table::{locator, unlocate, KeyTable};
use super::lock_index::LockIndex;
use super::locks::LockSubject;
use super::resources::{DeviceKind, Lock, MfaDevice, Role, User};
use super::role_positions::RolePositions;
use super::traits::{interpolate, value_shape, ValueShape};

type Positions = Vec<u32>;

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

/// Which users could be allowed a login, without evaluating every user.
///
/// A role allows login L for user U only when L is among its allow `logins`
/// after U's traits are applied. Each value there is a literal (the role's
/// holders), exactly one trait's values (the users whose trait holds L), or
/// another template (expanded here, once, for each of the role's holders).
/// The union is a superset of the users allowed (it ignores labels and deny
/// rules); `decide` says which of them are.
#[derive(Clone, Default)]
struct LoginCandidates {
    /// A role → the users holding it (locator: user, place in its roles).
    holders: KeyTable,
    /// A literal allow login → the roles listing it.
    roles_by_literal: HashMap<String, Vec<String>>,
    /// A trait that a role's allow logins name whole → value → users
    /// (locator: user, the value's place in that trait).
    users_by_trait_value: Vec<(String, KeyTable)>,
    /// Logins that other templates expand to (locator: place here) →
    /// the users they expand for.
    expanded_logins: Box<[Box<str>]>,
    users_by_expanded_login: KeyTable,
}

/// A user's `which`-th value of trait `name`.
fn trait_value<'a>(users: &'a ByName<User>, name: &str, locator: u64) -> &'a str {
    let (u, which) = unlocate(locator);
    users
        .at(u)
        .traits
        .get(name)
        .and_then(|v| v.get(which))
        .unwrap_or_default()
}

impl LoginCandidates {
    fn build(roles: &ByName<Role>, users: &ByName<User>) -> LoginCandidates {
        let mut c = LoginCandidates {
            holders: KeyTable::build(users.values().enumerate().flat_map(|(u, user)| {
                user.roles
                    .iter()
                    .enumerate()
                    .map(move |(k, role)| (&**role, locator(position(u), k), position(u)))
            })),
            ..LoginCandidates::default()
        };
        let mut trait_names: Vec<String> = Vec::new();
        let mut other_templates: HashMap<&str, Vec<&str>> = HashMap::new();
        for role in roles.values() {
            for value in &role.allow.logins {
                match value_shape(value) {
                    ValueShape::Literal => {
                        let list = c.roles_by_literal.entry(value.clone()).or_default();
                        if list.last() != Some(&role.name) {
                            list.push(role.name.clone());
                        }
                    }
                    ValueShape::Trait(name) => {
                        if !trait_names.contains(&name) {
                            trait_names.push(name);
                        }
                    }
                    ValueShape::Other => other_templates
                        .entry(role.name.as_str())
                        .or_default()
                        .push(value.as_str()),
                }
            }
        }
        let mut expanded: HashMap<String, Positions> = HashMap::new();
        for (u, user) in users.values().enumerate() {
            for role in &user.roles {
                for value in other_templates.get(&**role).into_iter().flatten() {
                    // A template that fails expands to nothing: it allows nothing.
                    for login in interpolate(value, &user.traits).unwrap_or_default() {
                        let list = expanded.entry(login).or_default();
                        if list.last() != Some(&position(u)) {
                            list.push(position(u));
                        }
                    }
                }
            }
        }
        let expanded: Vec<(String, Positions)> = expanded.into_iter().collect();
        c.users_by_expanded_login =
            KeyTable::build(expanded.iter().enumerate().flat_map(|(k, (login, list))| {
                list.iter().map(move |&u| (login.as_str(), k as u64, u))
            }));
        c.expanded_logins = expanded
            .into_iter()
            .map(|(l, _)| l.into_boxed_str())
            .collect();
        for name in trait_names {
            let table = KeyTable::build(users.values().enumerate().flat_map(|(u, user)| {
                let values = user.traits.get(&name).unwrap_or_default();
                values
                    .iter()
                    .enumerate()
                    .map(move |(k, v)| (v, locator(position(u), k), position(u)))
            }));
            c.users_by_trait_value.push((name, table));
        }
        c
    }

    fn expanded(&self, login: &str) -> &[u32] {
        self.users_by_expanded_login
            .get(login, |k| &self.expanded_logins[k as usize])
    }

    fn by_trait_value<'a>(
        &'a self,
        users: &'a ByName<User>,
        login: &'a str,
    ) -> impl Iterator<Item = &'a [u32]> + 'a {
        self.users_by_trait_value
            .iter()
            .filter(move |_| !login.is_empty())
            .map(move |(name, table)| table.get(login, |l| trait_value(users, name, l)))
    }

    /// A literal of some role, a trait value that a role's template takes
    /// whole, or what another template expands to for one of its holders.
    fn names(&self, users: &ByName<User>, login: &str) -> bool {
        self.roles_by_literal.contains_key(login)
            || !self.expanded(login).is_empty()
            || self.by_trait_value(users, login).any(|u| !u.is_empty())
    }

    fn candidates(&self, users: &ByName<User>, login: &str) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let roles = self.roles_by_literal.get(login).into_iter().flatten();
        for role in roles {
            out.extend(self.holders.get(role.as_str(), |l| {
                let (u, k) = unlocate(l);
                &*users.at(u).roles[k]
            }));
        }
        out.extend(self.expanded(login));
        for list in self.by_trait_value(users, login) {
            out.extend(list);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}
