//! Teleport's own MFA devices: a user's `spec.local_auth.mfa` as
//! `tctl get users --with-secrets --format=yaml` prints it (jsonpb:
//! camelCase, padded standard base64, RFC 3339 times), and snake_case.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::support::{bundle, node, Ask};
use crate::fido2::soft::SoftAuthenticator;
use crate::policy::{load_bundle_str, DeviceKind, WebauthnForm};

const RP: &str = "teleport.example.com";
const APP_ID: &str = "https://teleport.example.com:3080";
const PASSWORD_HASH: &str = "JDJhJDEwJHNlY3JldC1iY3J5cHQtaGFzaC1vZi1qZXJyeQ==";
const TOTP_KEY: &str = "JBSWY3DPEHPK3PXPSECRETTOTP";
const USER_HANDLE: &str = "dXNlci1oYW5kbGUtc2VjcmV0";

/// DER SubjectPublicKeyInfo of the software key's P-256 public key, as
/// Teleport keeps a U2F device's `pubKey`.
fn spki_der(a: &SoftAuthenticator) -> Vec<u8> {
    a.public_key_spki_der()
}

pub(super) struct Keys {
    old: SoftAuthenticator,
    new: SoftAuthenticator,
    u2f: SoftAuthenticator,
    foreign: SoftAuthenticator,
}

pub(super) fn keys() -> Keys {
    Keys {
        old: SoftAuthenticator::from_seed(RP, b"old yubikey"),
        new: SoftAuthenticator::from_seed(RP, b"new yubikey"),
        u2f: SoftAuthenticator::from_seed(APP_ID, b"u2f key"),
        foreign: SoftAuthenticator::from_seed("old.example.com", b"foreign"),
    }
}

/// A user as tctl prints it with `--with-secrets`: a TOTP device, three
/// WebAuthn devices (one recorded under another rp_id; one recorded
/// backup-eligible, one not, one from before Teleport recorded it), a U2F
/// device and the secrets beside them.
pub(super) fn tctl_user(k: &Keys) -> String {
    let b64 = |b: &[u8]| STANDARD.encode(b);
    format!(
        r#"kind: user
metadata:
  name: jerry
  revision: 5f1e6a1c-7c1b-4d69-a7b2-6b5d2c1b0e11
spec:
  created_by:
    time: "2023-01-01T00:00:00Z"
    user:
      name: admin
  expires: "0001-01-01T00:00:00Z"
  local_auth:
    mfa:
    - addedAt: "2023-01-01T00:00:00Z"
      id: 11111111-1111-4111-8111-111111111111
      kind: mfa_device
      lastUsed: "2023-01-02T00:00:00Z"
      metadata:
        name: phone
      totp:
        key: {TOTP_KEY}
      version: v1
    - addedAt: "2023-02-01T10:00:00.123456Z"
      id: 22222222-2222-4222-8222-222222222222
      kind: mfa_device
      lastUsed: "2023-03-01T10:00:00Z"
      metadata:
        name: yubikey-old
      version: v1
      webauthn:
        aaguid: y86q6eu3Q0mHxUYQ3bRK9g==
        attestationType: none
        credentialId: {old_id}
        credentialRpId: {RP}
        publicKeyCbor: {old_key}
        signatureCounter: 12
        credentialBackupEligible: false
        credentialBackedUp: false
    - addedAt: "2024-05-01T08:00:00Z"
      id: 33333333-3333-4333-8333-333333333333
      kind: mfa_device
      lastUsed: "2024-05-01T08:00:00Z"
      metadata:
        Name: yubikey-new
        Namespace: default
      version: v1
      webauthn:
        credentialId: {new_id}
        publicKeyCbor: {new_key}
        residentKey: false
        credentialBackupEligible: true
        credentialBackedUp: true
    - addedAt: "2021-06-01T00:00:00Z"
      id: 44444444-4444-4444-8444-444444444444
      kind: mfa_device
      lastUsed: "2023-06-01T00:00:00Z"
      metadata:
        name: u2f-legacy
      u2f:
        counter: 7
        keyHandle: {u2f_handle}
        pubKey: {u2f_key}
      version: v1
    - addedAt: "2024-06-01T00:00:00Z"
      id: 55555555-5555-4555-8555-555555555555
      kind: mfa_device
      metadata:
        name: from-the-old-domain
      version: v1
      webauthn:
        credentialId: {foreign_id}
        credentialRpId: old.example.com
        publicKeyCbor: {foreign_key}
    password_hash: {PASSWORD_HASH}
    webauthn:
      user_id: {USER_HANDLE}
  roles:
  - access
  status:
    is_locked: false
  traits:
    logins:
    - jerry
version: v2
"#,
        old_id = b64(k.old.credential_id()),
        old_key = b64(&k.old.public_key_cose()),
        new_id = b64(k.new.credential_id()),
        new_key = b64(&k.new.public_key_cose()),
        u2f_handle = b64(k.u2f.credential_id()),
        u2f_key = b64(&spki_der(&k.u2f)),
        foreign_id = b64(k.foreign.credential_id()),
        foreign_key = b64(&k.foreign.public_key_cose()),
    )
}

pub(super) fn cap(u2f: bool) -> String {
    let u2f = if u2f {
        format!("  u2f:\n    app_id: {APP_ID}\n")
    } else {
        String::new()
    };
    format!(
        "---\nkind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\nspec:\n  type: local\n  second_factor: webauthn\n  webauthn:\n    rp_id: {RP}\n{u2f}"
    )
}

pub(super) const ROLE: &str = "---\nkind: role\nversion: v7\nmetadata:\n  name: access\nspec:\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {'*': '*'}\n";

#[test]
fn tctl_users_become_registered_devices() {
    let k = keys();
    let b = bundle(&format!("{}{ROLE}{}", tctl_user(&k), cap(true)));
    let devices = b.devices_for_user("jerry");
    let got: Vec<(&str, &str)> = devices.iter().map(|d| (&*d.name, &*d.id)).collect();
    // TOTP is not used on hosts: left out.
    assert_eq!(
        got,
        vec![
            ("yubikey-old", "22222222-2222-4222-8222-222222222222"),
            ("yubikey-new", "33333333-3333-4333-8333-333333333333"),
            ("u2f-legacy", "44444444-4444-4444-8444-444444444444"),
            (
                "from-the-old-domain",
                "55555555-5555-4555-8555-555555555555"
            ),
        ]
    );
    let DeviceKind::Webauthn(old) = &devices[0].kind else {
        panic!("{:?}", devices[0].kind)
    };
    assert_eq!(&*old.credential_id, k.old.credential_id());
    assert_eq!(&*old.public_key, &k.old.public_key_cose()[..]);
    assert_eq!(
        (old.form, old.signature_counter),
        (WebauthnForm::Webauthn, 12)
    );
    assert_eq!(old.credential_rp_id.as_deref(), Some(RP));
    // The BE flag Teleport recorded at registration; none recorded: unknown
    // (Teleport's nil); a U2F device: false (Teleport gives it no flags).
    let recorded_be = |i: usize| match &devices[i].kind {
        DeviceKind::Webauthn(w) => w.backup_eligible,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        [0, 1, 2, 3].map(recorded_be),
        [Some(false), Some(true), Some(false), None]
    );
    let DeviceKind::Webauthn(u2f) = &devices[2].kind else {
        panic!()
    };
    assert_eq!((u2f.form, u2f.signature_counter), (WebauthnForm::U2f, 7));
    assert_eq!(&*u2f.public_key, &spki_der(&k.u2f)[..]);
    // Most recent first (the later of addedAt and lastUsed); the device of
    // another rp_id is left out, as Teleport's login flow does.
    assert_eq!(
        b.webauthn_credential_ids("jerry"),
        vec![
            k.new.credential_id(),
            k.u2f.credential_id(),
            k.old.credential_id()
        ]
    );
    assert!(b.webauthn_credential_ids("nobody").is_empty());
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
}

#[test]
fn secrets_beside_the_devices_are_never_kept() {
    let b = bundle(&format!("{}{ROLE}{}", tctl_user(&keys()), cap(true)));
    let kept = format!("{b:?}");
    for secret in [PASSWORD_HASH, TOTP_KEY, USER_HANDLE, "phone"] {
        assert!(!kept.contains(secret), "{secret} kept");
    }
    // the decoded password hash is not kept either (Debug prints bytes as numbers)
    let raw = STANDARD.decode(PASSWORD_HASH).unwrap();
    assert!(!kept.contains(&format!("{:?}", &raw[..8])[1..]));
    assert!(kept.contains("yubikey-new"), "the devices are there");
}

#[test]
fn u2f_devices_need_the_caps_app_id() {
    let k = keys();
    let b = bundle(&format!("{}{ROLE}{}", tctl_user(&k), cap(false)));
    assert!(b
        .devices_for_user("jerry")
        .iter()
        .all(|d| &*d.name != "u2f-legacy"));
    assert!(!b
        .webauthn_credential_ids("jerry")
        .contains(&k.u2f.credential_id()));
    let w = b.warnings.join("\n");
    assert!(
        w.contains("test.yaml:1: skipped U2F device \"u2f-legacy\"") && w.contains("u2f.app_id"),
        "{w}"
    );
    // No rp_id at all: no WebAuthn device can answer.
    let no_rp = bundle(&format!("{}{ROLE}", tctl_user(&k)));
    assert!(no_rp.webauthn_credential_ids("jerry").is_empty());
}

#[test]
fn snake_case_and_unpadded_forms_read_the_same() {
    let k = keys();
    let camel = bundle(&format!("{}{ROLE}{}", tctl_user(&k), cap(true)));
    let snake_text = tctl_user(&k)
        .replace("credentialId", "credential_id")
        .replace("publicKeyCbor", "public_key_cbor")
        .replace("credentialRpId", "credential_rp_id")
        .replace("signatureCounter", "signature_counter")
        .replace("credentialBackupEligible", "credential_backup_eligible")
        .replace("credentialBackedUp", "credential_backed_up")
        .replace("addedAt", "added_at")
        .replace("lastUsed", "last_used")
        .replace("keyHandle", "key_handle")
        .replace("pubKey", "pub_key")
        .replace('=', "");
    let snake = bundle(&format!("{snake_text}{ROLE}{}", cap(true)));
    assert_eq!(snake.devices(), camel.devices());
}

#[test]
fn a_lock_on_a_teleport_device_id_holds_it() {
    let k = keys();
    let lock = "---\nkind: lock\nversion: v2\nmetadata:\n  name: lost-key\nspec:\n  target:\n    mfa_device: 33333333-3333-4333-8333-333333333333\n";
    let b = bundle(&format!("{}{ROLE}{}{lock}", tctl_user(&k), cap(true)));
    let n = node("prod3", &[("env", "prod")]);
    let locked = Ask::new(&n, "jerry")
        .user("jerry")
        .device("33333333-3333-4333-8333-333333333333")
        .decide(&b);
    assert!(locked.locked, "{locked:?}");
    let other = Ask::new(&n, "jerry")
        .user("jerry")
        .device("22222222-2222-4222-8222-222222222222")
        .decide(&b);
    assert!(!other.locked, "{other:?}");
}

#[test]
fn malformed_devices_are_errors_at_the_user() {
    let k = keys();
    let text = tctl_user(&k);
    let old_key = STANDARD.encode(k.old.public_key_cose());
    for (bad, words) in [
        (
            text.replace(&old_key, "not*base64"),
            "local_auth.mfa[1] (\"yubikey-old\"): webauthn.publicKeyCbor is not base64",
        ),
        (
            text.replace(&format!("publicKeyCbor: {old_key}"), "residentKey: true"),
            "webauthn.publicKeyCbor is missing",
        ),
        (
            text.replace("2023-02-01T10:00:00.123456Z", "yesterday"),
            "addedAt \"yesterday\" is not an RFC 3339 time",
        ),
    ] {
        let e = load_bundle_str(&format!("{ROLE}{}---\n{bad}", cap(true)), "users.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("users.yaml:"), "{e}");
        assert!(e.contains(words), "{e}");
    }
}

/// The publisher's bundle form (a JSON array of resources) carries the
/// same fields: the devices read from it are the same.
#[test]
fn the_json_bundle_form_reads_the_same() {
    let k = keys();
    let yaml = format!("{}{ROLE}{}", tctl_user(&k), cap(true));
    let from_yaml = bundle(&yaml);
    let docs: Vec<serde_json::Value> = yaml
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let json = serde_json::to_string(&docs).unwrap();
    let from_json = bundle(&json);
    assert_eq!(from_json.devices(), from_yaml.devices());
    assert_eq!(
        from_json.webauthn_credential_ids("jerry"),
        from_yaml.webauthn_credential_ids("jerry")
    );
}

/// lib/auth `mfaAuthChallenge` issues a WebAuthn challenge only where the
/// cap allows WebAuthn (`IsSecondFactorWebauthnAllowed`: `GetSecondFactors`
/// holds it; an unset second factor is `otp`, api/types/authentication.go
/// `CheckAndSetDefaults`): elsewhere a WebAuthn or U2F device answers
/// nothing, whatever rp_id the cap still carries.
#[test]
fn webauthn_devices_answer_only_where_the_cap_allows_webauthn() {
    let k = keys();
    let webauthn = cap(true);
    for (factor, answers) in [
        ("second_factor: webauthn", true),
        ("second_factor: \"on\"", true),
        ("second_factor: optional", true),
        ("second_factors: [webauthn, sso]", true),
        ("second_factor: otp", false),
        ("second_factor: \"off\"", false),
        ("second_factors: [otp, sso]", false),
        ("", false),
    ] {
        let cap = webauthn.replace("  second_factor: webauthn\n", &format!("  {factor}\n"));
        let b = bundle(&format!("{}{ROLE}{cap}", tctl_user(&k)));
        assert_eq!(
            !b.webauthn_credential_ids("jerry").is_empty(),
            answers,
            "{factor:?}"
        );
        assert_eq!(b.cap.webauthn_rp_id.is_some(), answers, "{factor:?}");
    }
}
