//! `kind: user` (v2): roles and traits.

use std::cell::RefCell;
use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Deserialize;

use super::common::{v2, Metadata, StringList};
use super::device::MfaDevice;
use super::local_auth::RawLocalAuth;
use super::user_traits::{TraitValues, Traits};

/// A cluster user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `metadata.name`.
    pub name: String,
    /// `spec.roles`, as written (some may be missing from the bundle). The
    /// users of one bundle share each name (see [`SharedRoleNames`]).
    pub roles: Box<[Arc<str>]>,
    /// `spec.traits` (`logins`, and whatever the identity provider sends).
    pub traits: Traits,
}

impl User {
    /// The user's `logins` trait.
    pub fn logins(&self) -> TraitValues<'_> {
        self.traits.get("logins").unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserDoc {
    #[serde(rename = "version", deserialize_with = "v2")]
    _version: String,
    metadata: Metadata,
    #[serde(default)]
    spec: Option<RawUserSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct RawUserSpec {
    #[serde(default)]
    roles: Option<StringList>,
    #[serde(default)]
    traits: Option<Traits>,
    /// Teleport's own MFA devices (`--with-secrets`); only `mfa` is read.
    #[serde(default)]
    local_auth: Option<RawLocalAuth>,
}

impl UserDoc {
    /// The user, and the WebAuthn/U2F devices of their `local_auth` (an
    /// error names the device that is malformed).
    pub(crate) fn into_user(self) -> Result<(User, Vec<MfaDevice>), String> {
        let spec = self.spec.unwrap_or_default();
        let name = self.metadata.name;
        let devices = spec.local_auth.unwrap_or_default().into_devices(&name)?;
        let user = User {
            name,
            roles: spec
                .roles
                .unwrap_or_default()
                .0
                .into_iter()
                .map(role_name)
                .collect(),
            traits: spec.traits.unwrap_or_default(),
        };
        Ok((user, devices))
    }
}

thread_local! {
    /// How many [`SharedRoleNames`] are alive on this thread, and the
    /// role names users converted meanwhile share.
    static ROLE_NAMES: RefCell<(usize, HashSet<Arc<str>>)> = RefCell::new((0, HashSet::new()));
}

/// While one is alive, the users converted on this thread share each role
/// name (a bundle of 100,000 users names a few thousand roles); the names
/// are let go when the last one is dropped. A loader holds one.
pub(crate) struct SharedRoleNames(PhantomData<*const ()>);

impl Default for SharedRoleNames {
    fn default() -> Self {
        ROLE_NAMES.with(|r| r.borrow_mut().0 += 1);
        SharedRoleNames(PhantomData)
    }
}

impl Drop for SharedRoleNames {
    fn drop(&mut self) {
        ROLE_NAMES.with(|r| {
            let mut r = r.borrow_mut();
            r.0 -= 1;
            if r.0 == 0 {
                r.1 = HashSet::new();
            }
        });
    }
}

/// `name`, shared with the users converted before it while a
/// [`SharedRoleNames`] is alive.
fn role_name(name: String) -> Arc<str> {
    ROLE_NAMES.with(|r| {
        let mut r = r.borrow_mut();
        if r.0 == 0 {
            return Arc::from(name);
        }
        if let Some(shared) = r.1.get(name.as_str()) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        r.1.insert(shared.clone());
        shared
    })
}
