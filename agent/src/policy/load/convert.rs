//! A decoded resource turned into its public type (Teleport's defaults,
//! the checks of its own fields): the part of loading that needs no other
//! resource, so that it can run on any thread.

use super::super::documents::Document;
use super::super::error::PolicyError;
use super::super::json_stream::Resource;
use super::super::resources::{
    AuthPreference, CertAuthority, DeviceOutcome, Lock, LoginState, MfaDevice, NetworkingConfig,
    Role, User,
};
use super::doc_error;

/// A resource after Teleport's defaults, not yet claimed by name.
/// (The kinds a bundle holds few of are boxed: many users and devices
/// may wait in a list, each as large as the largest kind.)
pub(super) enum Converted {
    Role(Box<Role>),
    /// A user, the devices of their `local_auth`, and warnings about them
    /// (not yet placed in the file).
    User(User, Vec<MfaDevice>, Vec<String>),
    Cap(Box<AuthPreference>),
    Lock(Box<Lock>),
    Device(DeviceOutcome),
    CertAuthority(Box<CertAuthority>),
    Networking(Box<NetworkingConfig>),
    LoginState(Box<LoginState>),
    /// A kind this agent does not read.
    Unknown(String),
}

/// `resource`, from `doc` in `origin` (errors name the document).
pub(super) fn convert(
    resource: Resource,
    doc: &Document<'_>,
    origin: &str,
) -> Result<Converted, PolicyError> {
    Ok(match resource {
        Resource::Role(role) => Converted::Role(Box::new(role.into_role())),
        Resource::User(user) => {
            let mut warnings = Vec::new();
            let (user, devices) = user
                .into_user(&mut warnings)
                .map_err(|e| doc_error(doc, origin, e))?;
            Converted::User(user, devices, warnings)
        }
        Resource::Cap(cap) => Converted::Cap(Box::new(cap.into_cap())),
        Resource::Lock(lock) => Converted::Lock(Box::new(lock.into_lock())),
        Resource::Device(device) => Converted::Device(
            device
                .into_device()
                .map_err(|e| doc_error(doc, origin, e.0))?,
        ),
        Resource::CertAuthority(ca) => Converted::CertAuthority(Box::new(ca.into_cert_authority())),
        Resource::Networking(n) => Converted::Networking(Box::new(n.into_config())),
        Resource::LoginState(s) => Converted::LoginState(Box::new(s.into_login_state())),
        Resource::Unknown(kind) => Converted::Unknown(kind),
    })
}
