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

use super::by_name::{position, ByName};
use super::locks::LockSubject;
use super::resources::{DeviceKind, Lock, MfaDevice, Role, User};
use super::traits::{interpolate, value_shape, ValueShape};

type Positions = Vec<u32>;

/// The indices of one bundle.
#[derive(Clone, Default)]
pub(crate) struct BundleIndex {
    /// A login → the users named so or whose `logins` trait holds it.
    users_by_login: HashMap<String, Positions>,
    /// A user → their devices.
    devices_by_user: HashMap<String, Positions>,
    /// An `ssh_sk` key blob, or a `piv` slot certificate's key in OpenSSH
    /// form → the devices with it (the key type is compared on lookup).
    devices_by_ssh_blob: HashMap<String, Positions>,
    /// What may allow a login, for [`BundleIndex::login_candidates`].
    logins: LoginCandidates,
    locks: LockIndex,
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

impl BundleIndex {
    pub(crate) fn build(
        roles: &ByName<Role>,
        users: &ByName<User>,
        locks: &[Lock],
        devices: &[MfaDevice],
    ) -> BundleIndex {
        let mut users_by_login: HashMap<String, Positions> = HashMap::new();
        // Users in name order, so every list comes out sorted.
        for (u, user) in users.values().enumerate() {
            let mut logins: Vec<&str> = vec![user.name.as_str()];
            logins.extend(user.logins().iter().map(String::as_str));
            logins.sort_unstable();
            logins.dedup();
            for login in logins {
                users_by_login
                    .entry(login.to_owned())
                    .or_default()
                    .push(position(u));
            }
        }
        let mut devices_by_user: HashMap<String, Positions> = HashMap::new();
        let mut devices_by_ssh_blob: HashMap<String, Positions> = HashMap::new();
        for (i, d) in devices.iter().enumerate() {
            devices_by_user
                .entry(d.user.clone())
                .or_default()
                .push(position(i));
            let blob = match &d.kind {
                DeviceKind::SshSk { key_blob, .. } => Some(key_blob),
                DeviceKind::Piv(p) => p.ssh_key.as_ref().map(|(_, b)| b),
                _ => None,
            };
            if let Some(blob) = blob {
                devices_by_ssh_blob
                    .entry(blob.clone())
                    .or_default()
                    .push(position(i));
            }
        }
        BundleIndex {
            users_by_login,
            devices_by_user,
            devices_by_ssh_blob,
            logins: LoginCandidates::build(roles, users),
            locks: LockIndex::build(locks),
        }
    }

    /// The users named `login` or whose `logins` trait holds it.
    pub(crate) fn users_for_login(&self, login: &str) -> &[u32] {
        self.users_by_login
            .get(login)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub(crate) fn devices_for_user(&self, user: &str) -> &[u32] {
        self.devices_by_user
            .get(user)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub(crate) fn devices_with_ssh_blob(&self, blob: &str) -> &[u32] {
        self.devices_by_ssh_blob
            .get(blob)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The users whose roles could allow `login` (in name order, each once).
    pub(crate) fn login_candidates(&self, login: &str) -> Vec<u32> {
        self.logins.candidates(login)
    }

    /// Whether some role's allow `logins` name `login`, for some user once
    /// templates are applied: a login the cluster manages.
    pub(crate) fn login_is_named(&self, login: &str) -> bool {
        self.logins.names(login)
    }

    /// The position of the first lock (in bundle order) in force at `now`
    /// that matches `subject`.
    pub(crate) fn find_lock(
        &self,
        locks: &[Lock],
        subject: &LockSubject<'_>,
        now: SystemTime,
    ) -> Option<usize> {
        self.locks.find(locks, subject, now)
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
    /// A role → the users holding it.
    holders: HashMap<String, Positions>,
    /// A literal allow login → the roles listing it.
    roles_by_literal: HashMap<String, Vec<String>>,
    /// A trait that a role's allow logins name whole → value → users.
    users_by_trait_value: HashMap<String, HashMap<String, Positions>>,
    /// Logins that other templates expand to → the users they expand for.
    users_by_expanded_login: HashMap<String, Positions>,
}

impl LoginCandidates {
    fn build(roles: &ByName<Role>, users: &ByName<User>) -> LoginCandidates {
        let mut c = LoginCandidates::default();
        let push = |list: &mut Positions, u: u32| {
            if list.last() != Some(&u) {
                list.push(u);
            }
        };
        for (u, user) in users.values().enumerate() {
            for role in &user.roles {
                push(c.holders.entry(role.clone()).or_default(), position(u));
            }
        }
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
                        c.users_by_trait_value.entry(name).or_default();
                    }
                    ValueShape::Other => other_templates
                        .entry(role.name.as_str())
                        .or_default()
                        .push(value.as_str()),
                }
            }
        }
        for (u, user) in users.values().enumerate() {
            for role in &user.roles {
                for value in other_templates.get(role.as_str()).into_iter().flatten() {
                    // A template that fails expands to nothing: it allows nothing.
                    for login in interpolate(value, &user.traits).unwrap_or_default() {
                        push(
                            c.users_by_expanded_login.entry(login).or_default(),
                            position(u),
                        );
                    }
                }
            }
        }
        for (name, by_value) in &mut c.users_by_trait_value {
            for (u, user) in users.values().enumerate() {
                for value in user.traits.get(name).into_iter().flatten() {
                    push(by_value.entry(value.clone()).or_default(), position(u));
                }
            }
        }
        c
    }

    /// A literal of some role, a trait value that a role's template takes
    /// whole, or what another template expands to for one of its holders.
    fn names(&self, login: &str) -> bool {
        self.roles_by_literal.contains_key(login)
            || self.users_by_expanded_login.contains_key(login)
            || (!login.is_empty()
                && self
                    .users_by_trait_value
                    .values()
                    .any(|by_value| by_value.contains_key(login)))
    }

    fn candidates(&self, login: &str) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let roles = self.roles_by_literal.get(login).into_iter().flatten();
        for role in roles {
            if let Some(h) = self.holders.get(role) {
                out.extend(h);
            }
        }
        if let Some(users) = self.users_by_expanded_login.get(login) {
            out.extend(users);
        }
        if !login.is_empty() {
            for by_value in self.users_by_trait_value.values() {
                if let Some(users) = by_value.get(login) {
                    out.extend(users);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Locks by their target fields: a lock sits in the list of EVERY field it
/// sets (any one of them locks a session, as in Teleport), so a lookup
/// visits only locks that name something the login has.
#[derive(Clone, Default)]
struct LockIndex {
    by_user: HashMap<String, Positions>,
    by_role: HashMap<String, Positions>,
    by_login: HashMap<String, Positions>,
    by_node: HashMap<String, Positions>,
    by_server_id: HashMap<String, Positions>,
    by_mfa_device: HashMap<String, Positions>,
}

impl LockIndex {
    fn build(locks: &[Lock]) -> LockIndex {
        let mut ix = LockIndex::default();
        for (i, lock) in locks.iter().enumerate() {
            let t = &lock.target;
            for (field, map) in [
                (&t.user, &mut ix.by_user),
                (&t.role, &mut ix.by_role),
                (&t.login, &mut ix.by_login),
                (&t.node, &mut ix.by_node),
                (&t.server_id, &mut ix.by_server_id),
                (&t.mfa_device, &mut ix.by_mfa_device),
            ] {
                if let Some(v) = field {
                    let list = map.entry(v.clone()).or_default();
                    if list.last() != Some(&position(i)) {
                        list.push(position(i));
                    }
                }
            }
            // `<host UUID>.<cluster>` (HostFQDN) also sits under each
            // prefix before a dot, where a lookup by the node's UUID finds it.
            for (field, map) in [
                (&t.node, &mut ix.by_node),
                (&t.server_id, &mut ix.by_server_id),
            ] {
                let Some(v) = field else { continue };
                for (dot, _) in v.match_indices('.') {
                    let list = map.entry(v[..dot].to_owned()).or_default();
                    if list.last() != Some(&position(i)) {
                        list.push(position(i));
                    }
                }
            }
        }
        ix
    }

    fn find(&self, locks: &[Lock], subject: &LockSubject<'_>, now: SystemTime) -> Option<usize> {
        fn list<'m>(map: &'m HashMap<String, Positions>, key: Option<&str>) -> &'m [u32] {
            key.and_then(|k| map.get(k))
                .map(Vec::as_slice)
                .unwrap_or(&[])
        }
        let by_role = subject
            .roles
            .iter()
            .map(String::as_str)
            .chain([super::locks::IMPLICIT_ROLE])
            .flat_map(|r| list(&self.by_role, Some(r)));
        let by_node = subject.node_names().flat_map(|n| {
            list(&self.by_node, Some(n))
                .iter()
                .chain(list(&self.by_server_id, Some(n)))
        });
        list(&self.by_user, subject.user)
            .iter()
            .chain(by_role)
            .chain(list(&self.by_login, Some(subject.login)))
            .chain(by_node)
            .chain(list(&self.by_mfa_device, subject.mfa_device))
            .map(|&p| p as usize)
            .filter(|&p| locks[p].is_in_force(now) && locks[p].matches(subject))
            .min()
    }
}
