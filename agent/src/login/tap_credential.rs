//! A WebAuthn credential that may answer a tap: Teleport's own devices
//! (`local_auth`: WebAuthn, and legacy U2F signing for the cap's app id)
//! and `mfa_device` documents of the `webauthn` form.

use std::ops::Deref;

use crate::policy::{WebauthnDevice, WebauthnForm};
use crate::verify::webauthn::{
    u2f_public_key_to_cose, verify_assertion, verify_u2f_assertion, WebauthnAssertion,
    WebauthnCredential, WebauthnError,
};

/// A registered WebAuthn credential, ready to verify.
#[derive(Debug, Clone)]
pub(super) struct TapCredential {
    pub(super) credential: WebauthnCredential,
    /// For a U2F device: the app id it signs for (the rpIdHash).
    pub(super) app_id: Option<String>,
    /// The counter Teleport last saw: a tap must count past it.
    pub(super) counter_floor: u32,
    /// Unix seconds of its last registration or use (prompt order).
    pub(super) last_active: i64,
    /// The backup-eligible flag Teleport recorded ([`WebauthnDevice`]'s
    /// `backup_eligible`; `None`: not recorded).
    pub(super) recorded_backup_eligible: Option<bool>,
}

impl Deref for TapCredential {
    type Target = WebauthnCredential;

    fn deref(&self) -> &WebauthnCredential {
        &self.credential
    }
}

impl TapCredential {
    /// The credential of a device, or why it cannot answer (a key this
    /// agent cannot read, a U2F device without the cap's app id).
    pub(super) fn from_device(
        device: &WebauthnDevice,
        app_id: Option<&str>,
    ) -> Result<TapCredential, WebauthnError> {
        let (cose, app_id) = match device.form {
            WebauthnForm::Webauthn => (device.public_key.to_vec(), None),
            WebauthnForm::U2f => {
                let app_id = app_id.ok_or_else(|| {
                    WebauthnError::BadCredential("a U2F device needs the cap's u2f.app_id".into())
                })?;
                (
                    u2f_public_key_to_cose(&device.public_key)?,
                    Some(app_id.to_owned()),
                )
            }
        };
        Ok(TapCredential {
            credential: WebauthnCredential::new(device.credential_id.to_vec(), cose)?,
            app_id,
            counter_floor: device.signature_counter,
            last_active: device.last_active,
            recorded_backup_eligible: device.backup_eligible,
        })
    }

    /// Why an assertion whose signed BE flag is `asserted` is refused: it
    /// differs from the one Teleport recorded. go-webauthn's `validateLogin`
    /// (webauthn/login.go) refuses it ("BackupEligible flag inconsistency"),
    /// with the recorded flag Teleport's `deviceToCredential`
    /// (lib/auth/webauthn/device.go) gives it; not recorded, Teleport takes
    /// the assertion's own, and nothing differs.
    pub(super) fn backup_eligibility_mismatch(&self, asserted: bool) -> Option<String> {
        let recorded = self.recorded_backup_eligible?;
        let says = |be: bool| {
            if be {
                "backup-eligible (a synced passkey)"
            } else {
                "not backup-eligible (bound to its key)"
            }
        };
        (recorded != asserted).then(|| {
            format!(
                "Teleport recorded it {} but the assertion says it is {}: refused, as Teleport refuses it",
                says(recorded),
                says(asserted)
            )
        })
    }

    /// Whether the credential is a synced passkey rather than one bound to
    /// a hardware key: Teleport recorded it backup-eligible, or the
    /// assertion (signed BE flag `asserted`) says so.
    pub(super) fn is_synced(&self, asserted: bool) -> bool {
        asserted || self.recorded_backup_eligible == Some(true)
    }

    /// Verifies an assertion of `challenge_text` made for the cluster's
    /// `rp_id` (a U2F device: signed for its app id).
    pub(super) fn verify(
        &self,
        rp_id: &str,
        challenge_text: &str,
        authenticator_data: &[u8],
        signature: &[u8],
    ) -> Result<WebauthnAssertion, WebauthnError> {
        match &self.app_id {
            None => verify_assertion(
                &self.credential,
                rp_id,
                challenge_text,
                authenticator_data,
                signature,
            ),
            Some(app_id) => verify_u2f_assertion(
                &self.credential,
                rp_id,
                app_id,
                challenge_text,
                authenticator_data,
                signature,
            ),
        }
    }
}
