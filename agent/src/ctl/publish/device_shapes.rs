//! The allowlist of a user's `local_auth`: Teleport's MFA devices
//! (`MFADevice`, `WebauthnDevice`, `U2FDevice`), their public parts only.

use super::shape::Shape::{self, Drop, Each, Keep, Map, Secret};
use super::shape::Unknown::CheckAndDrop;

/// An MFA device's `metadata`: jsonpb prints the Go field names of
/// `types.Metadata` (`Name`, `Namespace`), hand-made files `name`.
const DEVICE_METADATA: Shape = Map(
    &[
        ("name", Keep),
        ("Name", Keep),
        ("namespace", Drop),
        ("Namespace", Drop),
        ("description", Drop),
        ("Description", Drop),
        ("labels", Drop),
        ("Labels", Drop),
        ("expires", Drop),
        ("Expires", Drop),
        ("revision", Drop),
        ("Revision", Drop),
        ("id", Drop),
        ("ID", Drop),
    ],
    CheckAndDrop,
);

/// `MFADevice`: the WebAuthn and U2F public parts only. tctl prints jsonpb
/// names (camelCase); the snake_case spellings (older tctl, hand-made
/// files) are the same fields, read by the agent too.
const MFA_DEVICE: Shape = Map(
    &[
        ("kind", Keep),
        ("subKind", Keep),
        ("sub_kind", Keep),
        ("version", Keep),
        ("metadata", DEVICE_METADATA),
        // Teleport 6 kept the name beside the id.
        ("name", Keep),
        ("id", Keep),
        ("addedAt", Keep),
        ("added_at", Keep),
        ("lastUsed", Keep),
        ("last_used", Keep),
        ("webauthn", WEBAUTHN_DEVICE),
        (
            "u2f",
            Map(
                &[
                    ("keyHandle", Keep),
                    ("key_handle", Keep),
                    ("pubKey", Keep),
                    ("pub_key", Keep),
                    ("counter", Keep),
                ],
                CheckAndDrop,
            ),
        ),
        ("totp", Secret),
        ("sso", Drop),
    ],
    CheckAndDrop,
);

/// `WebauthnDevice`: the credential, its public key, its rpId, counter.
const WEBAUTHN_DEVICE: Shape = Map(
    &[
        ("credentialId", Keep),
        ("credential_id", Keep),
        ("publicKeyCbor", Keep),
        ("public_key_cbor", Keep),
        ("credentialRpId", Keep),
        ("credential_rp_id", Keep),
        ("signatureCounter", Keep),
        ("signature_counter", Keep),
        ("aaguid", Keep),
        ("attestationType", Keep),
        ("attestation_type", Keep),
        ("residentKey", Keep),
        ("resident_key", Keep),
        ("credentialBackedUp", Keep),
        ("credential_backed_up", Keep),
        ("credentialBackupEligible", Keep),
        ("credential_backup_eligible", Keep),
        // The registration's attestation: public, large, unused.
        ("attestationObject", Drop),
        ("attestation_object", Drop),
    ],
    CheckAndDrop,
);

/// `LocalAuthSecrets`: the MFA devices' public parts; nothing else.
pub(super) const LOCAL_AUTH: Shape = Map(
    &[
        ("password_hash", Secret),
        ("totp_key", Secret),
        ("mfa", Each(&MFA_DEVICE)),
        // The WebAuthn user handle.
        ("webauthn", Secret),
        ("webauthn_settings", Secret),
        ("recovery_codes", Secret),
        // Teleport 5's one U2F key: public (the same key handle and key
        // as its device), unused.
        ("u2f_registration", Drop),
        ("u2f_counter", Drop),
        ("password_flags", Drop),
        ("password_state", Drop),
    ],
    CheckAndDrop,
);
