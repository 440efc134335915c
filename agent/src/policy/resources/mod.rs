//! The Teleport resources a bundle holds, and how each is read.
//!
//! Every `*Doc` type is the on-disk shape (unknown fields ignored); its
//! `into_*` turns it into the public type after Teleport's defaults.

mod cap;
mod cert_authority;
mod common;
mod device;
pub(crate) mod go_duration;
mod local_auth;
mod lock;
mod networking;
mod role;
mod role_checks;
mod shared_names;
mod user;
mod user_login_state;
mod user_traits;
mod webauthn_device;

pub use cap::AuthPreference;
pub use cert_authority::{CertAuthority, RoleMapping};
pub use device::{DeviceKind, MfaDevice, SSH_SK_KEY_TYPES};
pub use lock::{join_token_sha256, Lock, LockTarget, WITHHELD};
pub use networking::NetworkingConfig;
pub use role::{Role, RoleConditions};
pub use user::{AccountLimits, AllowedNode, CertificateFacts, LoginStateOrigin, NodeLimit, User};
pub use user_traits::{TraitValues, Traits};
pub use webauthn_device::{WebauthnDevice, WebauthnForm};

pub(crate) use cap::CapDoc;
pub(crate) use cert_authority::CertAuthorityDoc;
pub(crate) use device::{DeviceDoc, DeviceOutcome};
pub(crate) use lock::LockDoc;
pub(crate) use networking::NetworkingDoc;
pub(crate) use role::RoleDoc;
pub(crate) use shared_names::SharedNames;
pub(crate) use user::UserDoc;
pub(crate) use user_login_state::{LoginState, UserLoginStateDoc};
