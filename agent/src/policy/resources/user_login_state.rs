//! `kind: user_login_state` (v1): the roles and traits Teleport builds a
//! user's certificates and sessions from on clusters with Access Lists or
//! login rules.
//!
//! Teleport's `services.GetUserOrLoginState` (lib/services/user_login_state.go)
//! returns the login state named after the user when there is one, and the
//! user resource only when there is none; its `GetRoles`/`GetTraits` (the
//! login state's `spec.roles`/`spec.traits`, api/types/userloginstate) are
//! then the user's roles and traits. The shape is what `tctl get
//! user_login_state` prints (tool/tctl/common/resources/user_login_state.go
//! marshals `userloginstate.UserLoginState`: `kind`, `version: v1`,
//! `metadata`, `spec.{original_roles, original_traits, roles, traits,
//! user_type}`). Read: `roles`, `traits`, `original_roles`,
//! `original_traits` and `metadata.expires`.
//!
//! Teleport's generator (lib/auth/userloginstate/generator.go `Generate`)
//! starts a state from the user resource's roles and traits (kept as
//! `original_*`) and only adds what Access Lists grant; it runs again at
//! each Teleport login. A host that OpenSSH reaches sees no such login, so
//! a state can be older than its user resource: what the user resource
//! has now is kept, and only the state's grants (its roles and trait
//! values beyond its originals) are added, which is what the next
//! `Generate` gives. A role taken off the user resource (to revoke it) is
//! then gone, and a role added to it (a deny, an MFA role) applies.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Deserialize;

use super::common::{v1, Metadata};
use super::shared_names::shared_name;
use super::user::{LoginStateOrigin, User};
use super::user_traits::Traits;

/// One `user_login_state`, after its checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginState {
    /// `metadata.name`: the user it stands for.
    pub name: String,
    /// `spec.roles`.
    pub roles: Box<[Arc<str>]>,
    /// `spec.traits`.
    pub traits: Traits,
    /// `spec.original_roles`: the user resource's roles when the state was
    /// made; `None` when absent (a publisher before 2026-12 left it out:
    /// then every role of the state counts as granted).
    pub original_roles: Option<Vec<String>>,
    /// `spec.original_traits`, likewise.
    pub original_traits: Option<BTreeMap<String, Vec<String>>>,
    /// `metadata.expires`: the backend deletes the state then, and Teleport
    /// goes back to the user resource.
    pub expires: Option<SystemTime>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserLoginStateDoc {
    #[serde(rename = "version", deserialize_with = "v1")]
    _version: String,
    metadata: Metadata,
    #[serde(default)]
    spec: Option<RawLoginStateSpec>,
}

/// `userloginstate.Spec`: `roles` is a Go `[]string` and `traits` a
/// `map[string][]string` (`trait.Traits`), so a lone string where a list
/// belongs is an error, as Teleport's unmarshalling makes it; `null` is
/// an empty list.
#[derive(Debug, Default, Deserialize)]
struct RawLoginStateSpec {
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    traits: Option<BTreeMap<String, Option<Vec<String>>>>,
    #[serde(default)]
    original_roles: Option<Vec<String>>,
    #[serde(default)]
    original_traits: Option<BTreeMap<String, Option<Vec<String>>>>,
}

fn trait_map(t: Option<BTreeMap<String, Option<Vec<String>>>>) -> BTreeMap<String, Vec<String>> {
    t.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

impl UserLoginStateDoc {
    pub(crate) fn into_login_state(self) -> LoginState {
        let spec = self.spec.unwrap_or_default();
        let traits = trait_map(spec.traits);
        let original_traits = spec.original_traits.map(|t| trait_map(Some(t)));
        LoginState {
            original_roles: spec.original_roles,
            original_traits,
            name: self.metadata.name,
            roles: spec
                .roles
                .unwrap_or_default()
                .into_iter()
                .map(shared_name)
                .collect(),
            traits: Traits::from(traits),
            expires: self.metadata.expires,
        }
    }
}

impl LoginState {
    /// `user`, as Teleport sees them while this state exists
    /// (`GetUserOrLoginState`), made as the next `Generate` would: the user
    /// resource's roles and traits now, plus the state's grants. The user
    /// resource's own roles are kept for explanations. What the state does
    /// not carry (the account's expiry and lock, the registered devices)
    /// stays the user resource's.
    pub(crate) fn apply_to(self, user: &mut User) {
        let granted_roles: Vec<Arc<str>> = self
            .roles
            .iter()
            .filter(|r| {
                let original = self.original_roles.as_ref();
                !original.is_some_and(|o| o.iter().any(|x| x.as_str() == &***r))
            })
            .filter(|r| !user.roles.contains(r))
            .cloned()
            .collect();
        let mut roles = user.roles.to_vec();
        roles.extend(granted_roles);
        let own_roles = std::mem::replace(&mut user.roles, roles.into_boxed_slice());
        user.traits =
            with_granted_traits(&user.traits, &self.traits, self.original_traits.as_ref());
        user.login_state = Some(Box::new(LoginStateOrigin {
            user_resource_roles: Some(own_roles),
            expires: self.expires,
        }));
    }

    /// A user of whom the bundle has this state and no user resource.
    pub(crate) fn into_user(self) -> User {
        User {
            name: self.name,
            roles: self.roles,
            traits: self.traits,
            login_state: Some(Box::new(LoginStateOrigin {
                user_resource_roles: None,
                expires: self.expires,
            })),
            ..User::default()
        }
    }
}

/// The user resource's traits, plus each value of the state's that its
/// originals do not hold (all of the state's when they are unknown).
fn with_granted_traits(
    own: &Traits,
    state: &Traits,
    original: Option<&BTreeMap<String, Vec<String>>>,
) -> Traits {
    let mut merged = own.to_map();
    for (name, values) in state.iter() {
        let before = original.and_then(|o| o.get(name));
        let list = merged.entry(name.to_owned()).or_default();
        for v in values.iter() {
            let was_original = before.is_some_and(|b| b.iter().any(|x| x == v));
            if !was_original && !list.iter().any(|x| x == v) {
                list.push(v.to_owned());
            }
        }
    }
    Traits::from(merged)
}
