//! `kind: user` (v2): roles and traits.

use std::sync::Arc;

use serde::Deserialize;

use super::common::{v2, Metadata, StringList};
use super::device::MfaDevice;
use super::local_auth::RawLocalAuth;
use super::shared_names::shared_name;
use super::user_traits::{TraitValues, Traits};

/// A cluster user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `metadata.name`.
    pub name: String,
    /// `spec.roles`, as written (some may be missing from the bundle). The
    /// users of one bundle share each name (see `SharedNames`).
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
                .map(shared_name)
                .collect(),
            traits: spec.traits.unwrap_or_default(),
        };
        Ok((user, devices))
    }
}
