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
//! user_type}`). Read: `roles`, `traits` and `metadata.expires`.
//!
//! Teleport's generator (lib/auth/userloginstate/generator.go `Generate`)
//! starts a state from the user resource's roles and traits and adds what
//! Access Lists grant; it runs again at Teleport logins and as Access Lists
//! change, which this host does not see. So a state can be older than its
//! user resource, and neither side alone is what Teleport will use next:
//! the user's roles and traits here are both, the user resource's as they
//! are now and the state's. No role either names is dropped: a deny or an
//! MFA role added to the user resource since applies, and so does one an
//! Access List grants that the user resource also held and lost (its
//! `original_roles` cannot tell those apart from plain ones). A role taken
//! off the user resource stays while the state names it, as Teleport's
//! current state does until it is made again.

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
        LoginState {
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
    /// (`GetUserOrLoginState`), made safe against a stale state: the user
    /// resource's roles and traits now, and every role and trait value of
    /// the state besides. The user resource's own roles are kept for
    /// explanations. What the state does not carry (the account's expiry
    /// and lock, the registered devices) stays the user resource's.
    pub(crate) fn apply_to(self, user: &mut User) {
        let mut roles = user.roles.to_vec();
        for role in self.roles.iter() {
            if !roles.contains(role) {
                roles.push(role.clone());
            }
        }
        let own_roles = std::mem::replace(&mut user.roles, roles.into_boxed_slice());
        user.traits = with_state_traits(&user.traits, &self.traits);
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

/// The user resource's traits, plus each value of the state's they do not
/// hold.
fn with_state_traits(own: &Traits, state: &Traits) -> Traits {
    let mut merged = own.to_map();
    for (name, values) in state.iter() {
        let list = merged.entry(name.to_owned()).or_default();
        for v in values.iter() {
            if !list.iter().any(|x| x == v) {
                list.push(v.to_owned());
            }
        }
    }
    Traits::from(merged)
}
