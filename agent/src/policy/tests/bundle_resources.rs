//! Loading bundles: devices, locks and certificate authorities, the cap's
//! fields and defaults, users by login.

use base64::Engine as _;

use super::bundle_loading::{sha256_hex, SK_BLOB_1, SK_BLOB_2};
use super::support::{bundle, cap, user};
use crate::policy::{load_bundle_str, Bundle, DeviceKind, RequireMfa};

#[test]
fn devices_locks_and_cert_authorities() {
    let ca_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFbS0nnp3dcsnDPXM8oGMfWR6fD6lvPLVZ3ZzNsTYRGk";
    let ca_key_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{ca_key}\n"))
    };
    let piv = crate::piv::tests::chain::Minted::new(&Default::default());
    let piv_chain = crate::piv::tests::device::yaml_pem_list(&piv.chain_pem());
    let text = format!(
        "\
kind: mfa_device
version: v1
metadata: {{name: jerry-yubikey}}
spec:
  id: 7f6c0e3a-0000-4000-8000-000000000001
  user: jerry
  ssh_sk:
    public_key: \"sk-ssh-ed25519@openssh.com {SK_BLOB_1} jerry@laptop\"
---
kind: mfa_device
version: v1
metadata: {{name: jerry-piv}}
spec: {{user: jerry, piv: {{slot: 9c, attestation_chain: {piv_chain}}}}}
---
kind: mfa_device
version: v1
metadata: {{name: olga-key}}
spec: {{user: olga, webauthn: {{credential_id: Y3JlZA==, public_key_cbor: pQ==}}}}
---
kind: mfa_device
version: v1
metadata: {{name: jerry-otp}}
spec: {{user: jerry, totp: {{key: x}}}}
---
kind: lock
version: v2
metadata: {{name: l1}}
spec:
  target: {{user: jerry, windows_desktop: desk1, device: ''}}
  message: nope
---
kind: cert_authority
version: v2
metadata: {{name: example.com}}
spec:
  type: user
  cluster_name: example.com
  active_keys:
    ssh:
    - public_key: {ca_key_b64}
      private_key_type: RAW
    tls:
    - cert: LS0t
  signing_alg: 3
---
kind: cert_authority
version: v2
metadata: {{name: example.com}}
spec:
  type: host
  active_keys: {{ssh: [{{public_key: 42}}]}}
"
    );
    let b = bundle(&text);
    assert_eq!(b.devices().len(), 3);
    let d = &b.devices()[0];
    assert_eq!(
        (&*d.name, &*d.id, &*d.user),
        (
            "jerry-yubikey",
            "7f6c0e3a-0000-4000-8000-000000000001",
            "jerry"
        )
    );
    assert_eq!(
        d.kind,
        DeviceKind::SshSk {
            key_type: "sk-ssh-ed25519@openssh.com",
            key_blob: base64::engine::general_purpose::STANDARD
                .decode(SK_BLOB_1)
                .unwrap()
                .into(),
        }
    );
    assert_eq!(&*b.devices()[1].id, "jerry-piv", "id defaults to the name");
    assert!(
        matches!(&b.devices()[1].kind, DeviceKind::Piv(p) if p.slot == Some(crate::piv::PivSlot::Signature) && p.chain == piv.chain())
    );
    assert!(
        matches!(&b.devices()[2].kind, DeviceKind::Webauthn(w) if &*w.credential_id == b"cred")
    );
    let names = |v: Vec<&crate::policy::MfaDevice>| {
        v.iter().map(|d| d.name.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        names(b.devices_for_user("jerry")),
        vec!["jerry-yubikey", "jerry-piv"]
    );
    assert_eq!(names(b.devices_for_user("nobody")), Vec::<String>::new());
    assert_eq!(
        b.device_by_ssh_key("sk-ssh-ed25519@openssh.com", SK_BLOB_1)
            .map(|d| &*d.name),
        Some("jerry-yubikey")
    );
    assert_eq!(
        b.device_by_ssh_key("sk-ecdsa-sha2-nistp256@openssh.com", SK_BLOB_1),
        None
    );
    assert_eq!(
        b.device_by_ssh_key("sk-ssh-ed25519@openssh.com", SK_BLOB_2),
        None
    );
    assert!(
        b.warnings
            .iter()
            .any(|w| w.contains("jerry-otp") && w.contains("totp")),
        "{:?}",
        b.warnings
    );
    assert!(
        b.warnings
            .iter()
            .any(|w| w.contains("user \"jerry\", who is not in the bundle")),
        "{:?}",
        b.warnings
    );

    let lock = &b.locks()[0];
    assert_eq!(lock.target.user.as_deref(), Some("jerry"));
    assert_eq!(
        lock.target.unsupported,
        vec!["windows_desktop"],
        "an empty device counts as absent"
    );
    assert_eq!(lock.message.as_deref(), Some("nope"));
    assert!(
        b.warnings
            .iter()
            .any(|w| w.contains("lock \"l1\" targets windows_desktop")),
        "{:?}",
        b.warnings
    );
    // Several fields: each locks on its own, and the warning says what.
    assert!(
        b.warnings
            .iter()
            .any(|w| w.contains("lock \"l1\" sets several target fields")
                && w.contains("it locks user jerry everywhere")),
        "{:?}",
        b.warnings
    );

    assert_eq!(b.cert_authorities().len(), 2);
    let ca = &b.cert_authorities()[0];
    assert_eq!(
        (ca.cluster_name.as_str(), ca.ca_type.as_str()),
        ("example.com", "user")
    );
    assert_eq!(ca.ssh_public_keys, vec![ca_key]);
    assert_eq!(
        b.cert_authorities()[1].ssh_public_keys,
        Vec::<String>::new()
    );
    assert_eq!(b.user_cert_authorities().len(), 1);
}

#[test]
fn cap_fields_and_defaults() {
    let b = bundle(&cap(
        "  type: local\n  second_factor: \"on\"\n  webauthn:\n    rp_id: example.com\n    attestation_allowed_cas: [/path/ca.pem]\n  hardware_key:\n    piv_slot: 9c\n  require_session_mfa: hardware_key_pin\n  locking_mode: strict\n  unknown_field: {a: [1, 2]}",
    ));
    let c = &b.cap;
    assert_eq!(c.require_session_mfa, RequireMfa::HardwareKeyPin);
    assert_eq!(c.second_factor, "on");
    assert_eq!(c.webauthn_rp_id.as_deref(), Some("example.com"));
    assert_eq!(c.locking_mode, "strict");
    assert_eq!(c.raw_webauthn["attestation_allowed_cas"][0], "/path/ca.pem");
    assert_eq!(c.raw_hardware_key["piv_slot"], "9c");
    assert!(!c.admin_actions_require_mfa());

    let b = bundle(&cap(
        "  second_factors: [webauthn, SECOND_FACTOR_TYPE_WEBAUTHN]\n  webauthn: {rp_id: example.com}",
    ));
    assert_eq!(b.cap.second_factors.len(), 2);
    assert_eq!(b.cap.locking_mode, "best_effort");
    assert!(b.cap.admin_actions_require_mfa());

    // AuthPreferenceV2.CheckAndSetDefaults: "locking mode %q not supported".
    let err = load_bundle_str(&cap("  locking_mode: Strict"), "t.yaml").unwrap_err();
    assert!(
        err.message
            .contains("locking mode \"Strict\" is not supported")
            && err.line.is_some(),
        "{err}"
    );

    let empty = Bundle::empty();
    assert_eq!(empty.cap, crate::policy::AuthPreference::default());
    assert_eq!(empty.cap.require_session_mfa, RequireMfa::Off);
    assert_eq!(empty.revision, sha256_hex(b""));
    // A text with no resource is no policy: it would require MFA of nobody.
    for text in [
        "",
        "# nothing\n---\n",
        "kind: node\nversion: v2\nmetadata: {name: n}\n",
    ] {
        let e = load_bundle_str(text, "e.yaml").unwrap_err();
        assert!(e.file == "e.yaml" && e.message.contains("no policy"), "{e}");
    }
    // A cap alone is a policy.
    let cap_only = "kind: cluster_auth_preference\nversion: v2\nmetadata: {name: cluster-auth-preference}\nspec: {}\n";
    assert!(load_bundle_str(cap_only, "c.yaml")
        .unwrap()
        .roles()
        .is_empty());
}

#[test]
fn users_for_login() {
    let b = bundle(
        &(user("jerry", &[], &["jerry", "deploy"])
            + &user("alice", &[], &["deploy"])
            + &user("root", &[], &[])
            + &user("bob", &[], &["root"])),
    );
    let names = |login: &str| {
        b.users_for_login(login)
            .iter()
            .map(|u| u.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("jerry"), vec!["jerry"]);
    assert_eq!(names("deploy"), vec!["alice", "jerry"]);
    assert_eq!(names("root"), vec!["bob", "root"]);
    assert_eq!(names("alice"), vec!["alice"]);
    assert!(names("nobody").is_empty());
}

/// An `mfa_device` of the `webauthn` form keeps what `mfactl enroll
/// --webauthn` writes: the rp_id it was registered for (a device of
/// another rp_id cannot answer, as in Teleport's login) and its counter.
#[test]
fn webauthn_form_devices_keep_their_rp_id_and_counter() {
    let device = |name: &str, extra: &str| {
        format!("---\nkind: mfa_device\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{user: olga, webauthn: {{credential_id: {}, public_key_cbor: pQ==, {extra}}}}}\n", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, name))
    };
    let text = "kind: cluster_auth_preference\nversion: v2\nmetadata: {name: cluster-auth-preference}\nspec: {second_factor: webauthn, webauthn: {rp_id: example.com}}\n".to_owned()
        + &device("here", "credential_rp_id: example.com, signature_counter: 41")
        + &device("elsewhere", "credential_rp_id: other.example.org")
        + &device("unsaid", "signatureCounter: 3");
    let b = crate::policy::load_bundle_str(&text, "t.yaml").unwrap();
    let answering: Vec<(&str, u32)> = b
        .webauthn_devices("olga")
        .into_iter()
        .map(|(d, w)| (&*d.name, w.signature_counter))
        .collect();
    assert_eq!(answering, [("here", 41), ("unsaid", 3)]);
}

/// `options.client_idle_timeout` as Teleport reads it (a duration, `never`
/// none), and a session's the smallest among its person's roles
/// (`AdjustClientIdleTimeout`); a value Teleport refuses refuses the role.
#[test]
fn client_idle_timeout_of_roles_and_sessions() {
    let role = |name: &str, timeout: &str| {
        format!("---\nkind: role\nversion: v7\nmetadata: {{name: {name}}}\nspec:\n  options: {{client_idle_timeout: {timeout}}}\n")
    };
    let text = role("slow", "1h")
        + &role("fast", "'15m'")
        + &role("off", "never")
        + "---\nkind: user\nversion: v2\nmetadata: {name: ann}\nspec: {roles: [slow, fast, off]}\n---\nkind: user\nversion: v2\nmetadata: {name: ben}\nspec: {roles: [off]}\n";
    // A session's idle timeout for `user` of the bundle `text` makes.
    let timeout = |text: &str, user: &str| {
        let b = crate::policy::load_bundle_str(text, "t.yaml").unwrap();
        let user = b.users().get(user).unwrap();
        crate::policy::session_terms(&b, user, std::time::SystemTime::now()).idle_timeout
    };
    let minutes = |m: u64| Some(std::time::Duration::from_secs(60 * m));
    assert_eq!(timeout(&text, "ann"), minutes(15));
    assert_eq!(timeout(&text, "ben"), None);
    // The cluster's (cluster_networking_config), which roles only shorten.
    let net = "---\nkind: cluster_networking_config\nversion: v2\nmetadata: {name: cluster-networking-config}\nspec: {client_idle_timeout: 30m, keep_alive_interval: 5m}\n";
    assert_eq!(timeout(&(text.clone() + net), "ann"), minutes(15));
    assert_eq!(timeout(&(text.clone() + net), "ben"), minutes(30));
    let twice = crate::policy::load_bundle_str(&(text.clone() + net + net), "t.yaml").unwrap_err();
    assert!(
        twice
            .to_string()
            .contains("a second cluster_networking_config"),
        "{twice}"
    );
    // In the publisher's JSON form too.
    let json = r#"[{"kind":"cluster_networking_config","version":"v2","metadata":{"name":"cluster-networking-config"},"spec":{"client_idle_timeout":"10m"}},
{"kind":"role","version":"v7","metadata":{"name":"r"},"spec":{}}]"#;
    let b = crate::policy::load_bundle_str(json, "b.json").unwrap();
    assert_eq!(
        b.networking.client_idle_timeout,
        Some(std::time::Duration::from_secs(600))
    );
    let e = crate::policy::load_bundle_str(&role("bad", "15 minutes"), "t.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.yaml") && e.contains("duration"), "{e}");
}

/// Teleport lets two users register the same WebAuthn credential id (its
/// check is per user: lib/services/local/users.go `upsertMFADevice`), and
/// the id is no secret: a device copying another user's id must not switch
/// the owner's device off (it once did: both were left out). Devices of
/// several users with one id are all kept, their taps told apart by the
/// key that verifies them (`login::tap_match`); the same id with the same
/// public key is kept too, with a warning. One user's second copy is left
/// out, the first kept.
#[test]
fn a_credential_id_of_several_users_keeps_each_users_device() {
    let device = |name: &str, user: &str, credential: &str, key: &str| {
        format!("---\nkind: mfa_device\nversion: v1\nmetadata: {{name: {name}}}\nspec: {{user: {user}, webauthn: {{credential_id: {credential}, public_key_cbor: {key}}}}}\n")
    };
    let text = device("olga-1", "olga", "b2xnYQ==", "pQ==")
        + &device("olga-2", "olga", "b2xnYQ==", "pQ==")
        + &device("victim", "olga", "c2hhcmVk", "pQ==")
        + &device("copy", "piet", "c2hhcmVk", "pg==")
        + &device("twin-a", "olga", "dHdpbg==", "pQ==")
        + &device("twin-b", "piet", "dHdpbg==", "pQ==")
        + &device("piet-own", "piet", "cGlldA==", "pQ==");
    let b = crate::policy::load_bundle_str(&text, "t.yaml").unwrap();
    let names: Vec<&str> = b.devices().iter().map(|d| &*d.name).collect();
    assert_eq!(
        names,
        ["olga-1", "victim", "copy", "twin-a", "twin-b", "piet-own"]
    );
    let skipped: Vec<&String> = b
        .warnings
        .iter()
        .filter(|w| w.contains("skipped"))
        .collect();
    assert_eq!(skipped.len(), 1, "{:?}", b.warnings);
    assert!(skipped[0].contains("olga-2") && skipped[0].contains("same user"));
    let same_key: Vec<&String> = b
        .warnings
        .iter()
        .filter(|w| w.contains("the credential id and public key"))
        .collect();
    assert_eq!(same_key.len(), 1, "{:?}", b.warnings);
    assert!(
        same_key[0].contains("\"twin-b\"") && same_key[0].contains("\"twin-a\""),
        "{same_key:?}"
    );
    // No warning about the copy itself: it may be a stranger's doing.
    assert!(
        !b.warnings
            .iter()
            .any(|w| w.contains("\"copy\"") && !w.contains("not in the bundle")),
        "{:?}",
        b.warnings
    );
}
