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
//! user_type}`). Only `roles`, `traits` and `metadata.expires` are read.

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

impl UserLoginStateDoc {
    pub(crate) fn into_login_state(self) -> LoginState {
        let spec = self.spec.unwrap_or_default();
        let traits: BTreeMap<String, Vec<String>> = spec
            .traits
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
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
    /// (`GetUserOrLoginState`): the state's roles and traits; the user
    /// resource's own roles are kept for explanations. What the state does
    /// not carry (the account's expiry and lock, the registered devices)
    /// stays the user resource's.
    pub(crate) fn apply_to(self, user: &mut User) {
        let own_roles = std::mem::replace(&mut user.roles, self.roles);
        user.traits = self.traits;
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
