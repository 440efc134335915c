//! Verifying a tap's answer: what was signed (flags, counter), by which
//! registered key, for this conversation's challenge.

use super::evidence::{check, KeyClass};
use super::key_rules::tap_requirement;
use super::tap::{Conversation, TapDevice};
use super::tap_credential::TapCredential;
use crate::audit::Throttled;
use crate::piv::AttestedKey;
use crate::policy::Requirement;
use crate::state::AgentState;
use crate::verify::piv_tap::verify_piv_tap;
use crate::verify::ssh_sk::verify_sk_signature;
use crate::verify::webauthn::WebauthnAssertion;

impl Conversation {
    /// What the tap itself must prove (see [`tap_requirement`]): on sudo,
    /// su and desktop logins every `hardware_key*` policy, plain
    /// `hardware_key` included.
    pub(super) fn tap_requirement(&self) -> Requirement {
        tap_requirement(self.requirement, self.class)
    }

    /// Checks a security-key signature of this conversation's challenge:
    /// the flags and counter that were signed, not the ones that were asked.
    pub(super) fn verify_sk(
        &self,
        state: &AgentState,
        device: &TapDevice,
        signature: &[u8],
    ) -> Result<KeyClass, String> {
        let text = self.challenge.text();
        let key_blob = device.sk_blob().ok_or("not a security-key device")?;
        let signed = verify_sk_signature(key_blob, signature, text.as_bytes())
            .map_err(|e| format!("the signature by {} does not verify: {e}", device.name))?;
        let class = tap_class(signed.user_present(), signed.user_verified(), &device.name)?;
        self.accept_flags(state, device, class, signed.counter)
    }

    /// Checks a WebAuthn assertion of this conversation's challenge for the
    /// cluster's rp_id (a U2F device: signed for the cap's app id); flags and
    /// counter come from the signed authenticator data. As Teleport's login
    /// flow, the touch (UP) is required, and a counter that does not move
    /// past the one Teleport last saw (or the last one seen here) is a clone
    /// warning, logged, not a refusal.
    pub(super) fn verify_webauthn(
        &self,
        state: &AgentState,
        device: &TapDevice,
        cred: &TapCredential,
        authenticator_data: &[u8],
        signature: &[u8],
    ) -> Result<KeyClass, String> {
        let rp_id = self
            .rp_id
            .as_deref()
            .ok_or("the cluster has no WebAuthn rp_id")?;
        let signed = cred
            .verify(rp_id, &self.challenge.text(), authenticator_data, signature)
            .map_err(|e| {
                format!(
                    "the WebAuthn assertion by {} does not verify: {e}",
                    device.name
                )
            })?;
        self.accept_webauthn(state, &signed, cred, device)
    }

    /// What every verified WebAuthn answer (`mfactl tap`'s, the approval
    /// page's, or an attached key's) must show besides its signature: the
    /// backup-eligible flag Teleport recorded, if any (see
    /// [`TapCredential::backup_eligibility_mismatch`]), the touch (user presence),
    /// the flags the login needs, and where the tap stands for a hardware
    /// key (any `hardware_key*` policy on sudo, su or a desktop login; the
    /// touch or PIN ones on SSH) a credential bound to its key: Teleport
    /// meets every such policy only with a hardware key, never a synced
    /// passkey (`keys.IsRequiredPolicyMet`). Its counter is checked as
    /// Teleport's `loginFlow.finish` checks it (lib/auth/webauthn/login.go):
    /// one that does not move on is a clone warning, logged; the login goes
    /// on and the counter kept stays (two logins tapped at once with one key
    /// may answer in either order).
    pub(super) fn accept_webauthn(
        &self,
        state: &AgentState,
        signed: &WebauthnAssertion,
        cred: &TapCredential,
        device: &TapDevice,
    ) -> Result<KeyClass, String> {
        if let Some(why) = cred.backup_eligibility_mismatch(signed.backup_eligible()) {
            return Err(format!("the WebAuthn assertion by {}: {why}", device.name));
        }
        let class = tap_class(signed.user_present(), signed.user_verified(), &device.name)?;
        // Where the tap stands for the hardware key (`tap_requirement`):
        // on SSH only its touch/PIN parts, the login key or certificate
        // having met plain `hardware_key` before the tap was offered.
        if cred.is_synced(signed.backup_eligible())
            && self.tap_requirement().key_policy.needs_hardware()
        {
            return Err(format!(
                "{} is a synced passkey (backup-eligible, as recorded or signed), not a hardware key, and this login needs {}: tap a security key",
                device.name,
                self.requirement.key_policy
            ));
        }
        let class = self.meets(class)?;
        let warning = state.signature_counters.webauthn_clone_warning(
            &format!("{}/{}", device.user, device.id),
            cred.counter_floor,
            signed.counter,
        );
        if let Some(why) = warning {
            // At most a line a second: an enrolled key's owner could repeat it.
            static CLONE_WARNING: Throttled = Throttled::new();
            CLONE_WARNING.write(|| {
                format!(
                    "WebAuthn clone warning for device {:?} of {:?}: {why}; accepted, as Teleport accepts it (the device counter may be malfunctioning)",
                    device.name, device.user
                )
            });
        }
        Ok(class)
    }

    /// Checks a PIV key's signature of this conversation's challenge with
    /// the attested public key; the class is the attested one (the card
    /// enforces its PIN and touch policies, which the attestation states).
    /// PIV keys keep no counter: single use is the challenge's.
    pub(super) fn verify_piv(
        &self,
        device: &TapDevice,
        key: &AttestedKey,
        signature: &[u8],
    ) -> Result<KeyClass, String> {
        use crate::policy::KeyPolicy as K;
        verify_piv_tap(
            &key.attestation.public_key_spki,
            &self.challenge.text(),
            signature,
        )
        .map_err(|e| format!("the PIV signature by {}: {e}", device.name))?;
        let class = match key.class {
            K::HardwareKeyTouchAndPin => KeyClass::TouchAndPin,
            K::HardwareKeyTouch => KeyClass::Touch,
            K::HardwareKeyPin => KeyClass::Pin,
            _ => KeyClass::Hardware,
        };
        check(&self.tap_requirement(), class).map_err(|missing| {
            format!(
                "{missing}; {} is attested {} (its PIN/touch policy)",
                device.name,
                key.class.name()
            )
        })?;
        Ok(class)
    }

    /// Whether what a verified security-key signature's flags prove
    /// (`class`, from [`tap_class`]) meets this login, and its counter moved
    /// on (OpenSSH sk keys are this product's own tap, outside Teleport's
    /// login flow: a counter that does not move on is refused).
    pub(super) fn accept_flags(
        &self,
        state: &AgentState,
        device: &TapDevice,
        class: KeyClass,
        counter: u32,
    ) -> Result<KeyClass, String> {
        let class = self.meets(class)?;
        state
            .signature_counters
            .check_and_record(&format!("{}/{}", device.user, device.id), counter)?;
        Ok(class)
    }

    /// Whether what a verified signature's flags prove (`class`) meets this
    /// login.
    fn meets(&self, class: KeyClass) -> Result<KeyClass, String> {
        // A tap proves the session MFA and the touch/PIN it signed, and
        // off SSH the hardware key too (every tap's key is hardware but a
        // synced passkey, refused in `accept_webauthn`).
        check(&self.tap_requirement(), class)
            .map_err(|missing| format!("{missing}; the key signed without it"))?;
        Ok(class)
    }
}

/// What a tap's signed flags prove. The touch (user presence) is what a tap
/// is: without it a key that was made `no-touch-required` answers with
/// nobody there, PIN or not (Teleport's WebAuthn login requires UP; an sk
/// key signs without it only when made so). With it, the PIN (user
/// verification) adds `_and_pin`.
fn tap_class(user_present: bool, user_verified: bool, device: &str) -> Result<KeyClass, String> {
    match (user_present, user_verified) {
        (true, true) => Ok(KeyClass::TouchAndPin),
        (true, false) => Ok(KeyClass::Touch),
        (false, _) => Err(format!(
            "{device} signed without a touch (user presence); touch the key when it blinks"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tap_is_a_touch_with_or_without_a_pin() {
        assert_eq!(tap_class(true, false, "k"), Ok(KeyClass::Touch));
        assert_eq!(tap_class(true, true, "k"), Ok(KeyClass::TouchAndPin));
        // A PIN without a touch (an sk key made no-touch-required and
        // verify-required) and no flags at all are no tap.
        for uv in [true, false] {
            let err = tap_class(false, uv, "yubi").unwrap_err();
            assert!(err.contains("yubi signed without a touch"), "{err}");
        }
    }
}
