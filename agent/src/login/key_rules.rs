//! Rules about keys and taps that several stages share: what a tap can
//! prove, key classes from certificates and PIV attestations, and the
//! decision for one identified person (their roles, their locks).

use super::evidence::KeyClass;
use crate::policy::{decide, decide_with_identity, Bundle, Decision, KeyPolicy, LoginQuery};
use crate::policy::{Requirement, ServiceClass, User};
use crate::state::AgentState;

/// The touch/PIN parts of a key policy: what a tap adds on an SSH login
/// whose login key or certificate already met the hardware-key part.
pub(super) fn tap_key_policy(kp: KeyPolicy) -> KeyPolicy {
    use KeyPolicy as K;
    match (kp.needs_touch(), kp.needs_pin()) {
        (true, true) => K::HardwareKeyTouchAndPin,
        (true, false) => K::HardwareKeyTouch,
        (false, true) => K::HardwareKeyPin,
        (false, false) => K::None,
    }
}

/// What a tap itself must prove for a login of `class` that requires `req`.
///
/// An SSH login is offered a tap only once its login key or certificate met
/// the hardware-key policy (`ask::tap_or_key`): the tap adds the session's
/// MFA and the touch/PIN parts ([`tap_key_policy`]). sudo, su and desktop
/// logins have no login key, so the tap stands for the whole key policy,
/// plain `hardware_key` included: Teleport meets every `hardware_key*`
/// policy only with a hardware key (`keys.IsRequiredPolicyMet` →
/// `PrivateKeyPolicy.IsHardwareKeyPolicy`, api/utils/keys), never with a
/// synced passkey.
pub(super) fn tap_requirement(req: Requirement, class: ServiceClass) -> Requirement {
    let key_policy = match class {
        ServiceClass::Ssh => tap_key_policy(req.key_policy),
        ServiceClass::Admin | ServiceClass::Desktop => req.key_policy,
    };
    Requirement {
        session: req.session,
        key_policy,
    }
}

/// Whether a lock in force covers this device (or anything else of this
/// login) under the given bundle.
pub(super) fn device_locked(
    state: &AgentState,
    bundle: &Bundle,
    login: &str,
    user: &str,
    class: ServiceClass,
    device: &str,
) -> bool {
    let q = LoginQuery {
        node: &state.node,
        login,
        user: Some(user),
        class,
        mfa_device: Some(device),
        now: state.now(),
        lock_view_stale: state.lock_view_stale(),
    };
    decide(bundle, &q).locked
}

/// The decision for one identified person alone: `user`, or the
/// certificate's `identity` when one decided, with the device used (its
/// locks count).
pub(super) fn decide_for_person(
    state: &AgentState,
    bundle: &Bundle,
    login: &str,
    user: &str,
    identity: Option<&User>,
    class: ServiceClass,
    device: Option<&str>,
) -> Decision {
    let q = LoginQuery {
        node: &state.node,
        login,
        user: Some(user),
        class,
        mfa_device: device,
        now: state.now(),
        lock_view_stale: state.lock_view_stale(),
    };
    match identity.filter(|u| u.name == user) {
        Some(u) => decide_with_identity(bundle, &q, u),
        None => decide(bundle, &q),
    }
}

/// A certificate's `private-key-policy` as a key class; what this code does
/// not know counts as a file key.
pub(super) fn cert_key_class(policy: Option<&str>) -> KeyClass {
    match policy {
        Some("hardware_key") => KeyClass::Hardware,
        Some("hardware_key_touch") => KeyClass::Touch,
        Some("hardware_key_pin") => KeyClass::Pin,
        Some("hardware_key_touch_and_pin") => KeyClass::TouchAndPin,
        _ => KeyClass::None,
    }
}

/// Whether a certificate's `private_key_policy` counts as MFA (Teleport's
/// `PrivateKeyPolicy.MFAVerified`: its key needs a touch or a PIN).
pub(super) fn cert_key_policy_is_mfa(policy: Option<&str>) -> bool {
    cert_key_class(policy).counts_as_session_mfa()
}

/// How to make a login key that meets `req`.
pub(super) fn hint(req: &Requirement) -> String {
    if req.key_policy.needs_pin() {
        "Use a key made with `ssh-keygen -t ed25519-sk -O verify-required`, registered with the cluster.".into()
    } else {
        "Use a key made with `ssh-keygen -t ed25519-sk`, registered with the cluster.".into()
    }
}

/// A PIV key class (Teleport's private key policy) as a login key class.
pub(super) fn key_policy_class(p: KeyPolicy) -> KeyClass {
    match p {
        KeyPolicy::None => KeyClass::None,
        KeyPolicy::HardwareKey => KeyClass::Hardware,
        KeyPolicy::HardwareKeyTouch => KeyClass::Touch,
        KeyPolicy::HardwareKeyPin => KeyClass::Pin,
        KeyPolicy::HardwareKeyTouchAndPin => KeyClass::TouchAndPin,
    }
}

#[cfg(test)]
mod tests {
    use super::cert_key_policy_is_mfa;

    #[test]
    fn a_certificate_key_policy_with_touch_or_pin_counts_as_mfa() {
        for (policy, mfa) in [
            (None, false),
            (Some("none"), false),
            (Some("web_session"), false),
            (Some("hardware_key"), false),
            (Some("hardware_key_touch"), true),
            (Some("hardware_key_pin"), true),
            (Some("hardware_key_touch_and_pin"), true),
        ] {
            assert_eq!(cert_key_policy_is_mfa(policy), mfa, "{policy:?}");
        }
    }
}
