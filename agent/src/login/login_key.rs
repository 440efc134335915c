//! Stage 3 of a decision: what the login key sshd accepted carries. A
//! registered security key's class is what sshd verified for it (the
//! authorized_keys line it matched, sshd's PubkeyAuthOptions); a
//! registered PIV key's is what its attestation says.

use super::auth_info::AcceptedKey;
use super::evidence::KeyClass;
use super::key_rules::key_policy_class;
use super::sshd_connection::SshdConnection;
use crate::policy::{Bundle, DeviceKind, MfaDevice, User};
use crate::state::AgentState;

/// A registered key of the person that sshd accepted, and its class.
pub(super) struct LoginKey<'b> {
    pub(super) device: &'b MfaDevice,
    pub(super) class: KeyClass,
    /// Where the class comes from, for the audit reason.
    pub(super) note: String,
    /// Why a PIV key's attestation does not count, when it does not.
    pub(super) piv_refusal: Option<String>,
}

/// The class of `user`'s registered key among those sshd accepted, if one is.
pub(super) fn login_key<'b>(
    state: &AgentState,
    bundle: &Bundle,
    login: &str,
    registered: &[(&AcceptedKey, &'b MfaDevice)],
    user: &str,
    cert_user: Option<&User>,
    connection: SshdConnection,
) -> Option<LoginKey<'b>> {
    let (key, dev) = registered.iter().find(|(_, dev)| *dev.user == *user)?;
    let (class, note, piv_refusal) = match &dev.kind {
        DeviceKind::Piv(_) => {
            let traits = cert_user
                .map(|u| &u.traits)
                .or_else(|| bundle.users().get(user).map(|u| &u.traits));
            piv_login_key_class(state, bundle, dev, traits)
        }
        _ => {
            let (c, n) = sk_key_class(state, login, key, connection);
            (c, n, None)
        }
    };
    Some(LoginKey {
        device: dev,
        class,
        note,
        piv_refusal,
    })
}

/// The class of a login key that is a registered PIV device: its
/// attestation chain verified against the agent's roots, the slot and the
/// cap's serial number validation (with the user's traits) applied; the
/// class is what the attestation says (touch and PIN policies). A key whose
/// attestation does not hold is a file key, with the reason as the third
/// value.
fn piv_login_key_class(
    state: &AgentState,
    bundle: &Bundle,
    dev: &MfaDevice,
    traits: Option<&crate::policy::Traits>,
) -> (KeyClass, String, Option<String>) {
    let empty = crate::policy::Traits::default();
    match state
        .piv
        .device_class(dev, traits.unwrap_or(&empty), &bundle.cap)
    {
        Ok(k) => (
            key_policy_class(k.class),
            format!(
                "(PIV attestation: serial {}, pin {}, touch {})",
                k.attestation
                    .serial
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "none".into()),
                k.attestation.pin_policy.name(),
                k.attestation.touch_policy.name()
            ),
            None,
        ),
        Err(why) => (
            KeyClass::None,
            format!("(PIV attestation refused: {why})"),
            Some(why),
        ),
    }
}

/// What sshd verified for an accepted security key (see [`super::key_credit`]).
fn sk_key_class(
    state: &AgentState,
    login: &str,
    key: &AcceptedKey,
    connection: SshdConnection,
) -> (KeyClass, String) {
    super::key_credit::sk_key_class(state, login, key, connection)
}
