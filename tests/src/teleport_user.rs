//! A person as Teleport keeps them: a software FIDO2 key holding one
//! non-discoverable credential (as `tsh mfa add` makes), and the user
//! document `tctl get users --with-secrets --format=yaml` prints with that
//! key in `spec.local_auth.mfa` beside secrets that must never leave.

use crate::agent::{Bundle, WEBAUTHN_RP_ID};
use crate::bins;

/// The Teleport device id (an MFADevice `id`): what audit and locks name.
pub const DEVICE_ID: &str = "9b2f7c1e-3d4a-4b5c-8d6e-7f8091a2b3c4";

/// A software FIDO2 key holding one non-discoverable credential (as
/// `tsh mfa add` makes), and its credential id and COSE key (base64).
pub fn teleport_key(dir: &std::path::Path) -> (std::path::PathBuf, String, String) {
    let file = dir.join("yubikey.json");
    let out = std::process::Command::new(bins::require(&bins::soft_mfactl()))
        .args([
            "soft-fido2-new",
            "--rp-id",
            WEBAUTHN_RP_ID,
            "--non-discoverable",
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let field = |k: &str| spec[k].as_str().unwrap().to_string();
    (file, field("credential_id"), field("public_key_cbor"))
}

/// The user as tctl prints it with `--with-secrets`: a password hash, a
/// TOTP device and the WebAuthn device, camelCase, padded base64.
pub fn tctl_user(name: &str, credential_id: &str, public_key_cbor: &str) -> String {
    format!(
        "kind: user
metadata:
  name: {name}
  revision: 0b6c2f64-7d7e-4b1a-9a55-3f0e8c6d2a10
spec:
  created_by:
    time: \"2024-03-01T09:00:00Z\"
    user:
      name: admin
  local_auth:
    mfa:
    - addedAt: \"2024-03-01T09:05:00Z\"
      id: 0d0e0f10-1112-4314-9516-171819202122
      kind: mfa_device
      lastUsed: \"2024-03-02T10:00:00Z\"
      metadata:
        name: phone-otp
      totp:
        key: JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
      version: v1
    - addedAt: \"2024-03-01T09:10:00.123456Z\"
      id: {DEVICE_ID}
      kind: mfa_device
      lastUsed: \"2024-05-06T07:08:09Z\"
      metadata:
        name: yubikey-5c
      version: v1
      webauthn:
        aaguid: AAAAAAAAAAAAAAAAAAAAAA==
        attestationType: none
        credentialId: {credential_id}
        credentialRpId: {WEBAUTHN_RP_ID}
        publicKeyCbor: {public_key_cbor}
        signatureCounter: 0
    password_hash: JDJhJDEwJGV4YW1wbGVoYXNoZXhhbXBsZWhhc2g=
    webauthn:
      user_id: c29tZS11c2VyLWhhbmRsZQ==
  roles:
  - access-dev
  - access-prod
  status:
    is_locked: false
  traits:
    logins:
    - {name}
version: v2
"
    )
}

/// Roles (dev: no MFA; prod: session MFA), the cap with the rp_id, and the
/// person only as `tctl get users --with-secrets` prints them: their key is
/// in `spec.local_auth.mfa`, beside secrets that must reach no log or
/// published file.
pub fn teleport_policy(user: &str, credential_id: &str, public_key_cbor: &str) -> Bundle {
    Bundle::new()
        .scenario_roles("true")
        .cap("false")
        .raw(&tctl_user(user, credential_id, public_key_cbor))
}

/// The secrets [`tctl_user`] carries (TOTP key, password hash, WebAuthn
/// user handle), as they appear in its text.
pub const SECRETS: [&str; 3] = [
    "JBSWY3DPEHPK3PXP",
    "JDJhJDEwJGV4YW1wbGVoYXNo",
    "c29tZS11c2VyLWhhbmRsZQ",
];
