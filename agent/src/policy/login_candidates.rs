//! Which users could be allowed a login, and whether a login is one the
//! cluster manages, for [`super::index::BundleIndex`].

use std::collections::HashMap;

use super::by_name::{position, ByName};
use super::key_table::{locator, unlocate, KeyTable, Lookup};
use super::resources::{Role, User};
use super::traits::{interpolate, value_shape, ValueShape};

type Positions = Vec<u32>;

/// Which users could be allowed a login, without evaluating every user.
///
/// A role allows login L for user U only when L is among its allow `logins`
/// after U's traits are applied. Each value there is a literal (the role's
/// holders), exactly one trait's values (the users whose trait holds L), or
/// another template (expanded here, once, for each of the role's holders).
/// The union is a superset of the users allowed (it ignores labels and deny
/// rules); `decide` says which of them are.
#[derive(Clone, Default)]
pub(super) struct LoginCandidates {
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

/// How many trait tables a started lookup covers ([`NamesLookup`]); any
/// others are looked up when it is finished.
const STARTED_TRAITS: usize = 4;

/// [`LoginCandidates::names`] started: the login hashed in each table.
pub(super) struct NamesLookup {
    expanded: Lookup,
    traits: [Option<Lookup>; STARTED_TRAITS],
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
    pub(super) fn build(roles: &ByName<Role>, users: &ByName<User>) -> LoginCandidates {
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
    pub(super) fn names(&self, users: &ByName<User>, login: &str) -> bool {
        self.finish_names(users, login, self.start_names(login))
    }

    /// The first half of [`LoginCandidates::names`]: `login` hashed in
    /// the tables it probes, the lines of their first slots asked of the
    /// CPU (so that they arrive side by side, and beside other lookups).
    pub(super) fn start_names(&self, login: &str) -> NamesLookup {
        let mut traits = [None; STARTED_TRAITS];
        if !login.is_empty() {
            for (lookup, (_, table)) in traits.iter_mut().zip(&self.users_by_trait_value) {
                *lookup = Some(table.start(login));
            }
        }
        NamesLookup {
            expanded: self.users_by_expanded_login.start(login),
            traits,
        }
    }

    /// [`LoginCandidates::names`] for `login`, [`LoginCandidates::start_names`]ed.
    pub(super) fn finish_names(
        &self,
        users: &ByName<User>,
        login: &str,
        started: NamesLookup,
    ) -> bool {
        let expanded = self
            .users_by_expanded_login
            .finish(started.expanded, login, |k| {
                &self.expanded_logins[k as usize]
            });
        let by_trait_value = |(i, (name, table)): (usize, &(String, KeyTable))| {
            let lookup = started.traits.get(i).copied().flatten();
            let lookup = lookup.unwrap_or_else(|| table.start(login));
            !table
                .finish(lookup, login, |l| trait_value(users, name, l))
                .is_empty()
        };
        self.roles_by_literal.contains_key(login)
            || !expanded.is_empty()
            || (!login.is_empty()
                && self
                    .users_by_trait_value
                    .iter()
                    .enumerate()
                    .any(by_trait_value))
    }

    pub(super) fn candidates(&self, users: &ByName<User>, login: &str) -> Vec<u32> {
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
