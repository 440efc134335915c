//! Enrollment's refusals, without a card: chains minted under a test root.

use super::*;
use crate::piv::tests::chain::{Minted, Slot};
use crate::piv::{HardwareKeySettings, PinPolicy, PivSlot, PivVerifier, TouchPolicy};
use crate::policy::{load_bundle_str, KeyPolicy};

const SK_ED25519: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIJjjgpTmYHsfLkSHJZmAB8qfgNqP4kQu6GCvSrmGtB0BAAAABHNzaDo= jerry@laptop";

#[test]
fn sk_keys_pass_and_file_keys_are_refused_with_the_reason() {
    assert_eq!(
        sk_public_key_line(&format!("# mine\n{SK_ED25519}\n")).unwrap(),
        SK_ED25519
    );
    let e = sk_public_key_line(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFdummydummydummydummydummydummydummydumm x",
    )
    .unwrap_err();
    assert!(e.contains("proves no touch"), "{e}");
    let e = sk_public_key_line("ssh-ed25519-cert-v01@openssh.com AAAA x").unwrap_err();
    assert!(e.contains("certificate"), "{e}");
    let e = sk_public_key_line("-----BEGIN OPENSSH PRIVATE KEY-----\n").unwrap_err();
    assert!(e.contains("private key"), "{e}");
    let e = sk_public_key_line("sk-ssh-ed25519@openssh.com AAAAbroken").unwrap_err();
    assert!(e.contains("does not parse"), "{e}");
    assert!(sk_public_key_line("\n# nothing\n").is_err());
}

#[test]
fn generated_policies_follow_the_requirement() {
    use KeyPolicy::*;
    assert_eq!(
        piv_policies_for(HardwareKey),
        (PinPolicy::Never, TouchPolicy::Never)
    );
    assert_eq!(
        piv_policies_for(HardwareKeyTouch),
        (PinPolicy::Never, TouchPolicy::Cached)
    );
    assert_eq!(
        piv_policies_for(HardwareKeyPin),
        (PinPolicy::Once, TouchPolicy::Never)
    );
    assert_eq!(
        piv_policies_for(HardwareKeyTouchAndPin),
        (PinPolicy::Once, TouchPolicy::Cached)
    );
    for p in [
        HardwareKey,
        HardwareKeyTouch,
        HardwareKeyPin,
        HardwareKeyTouchAndPin,
    ] {
        let (pin, touch) = piv_policies_for(p);
        assert!(
            crate::piv::satisfies(crate::piv::key_class(pin, touch), p),
            "{p}"
        );
    }
}

#[test]
fn the_requirement_is_the_strictest_over_cap_and_roles() {
    let b = load_bundle_str(
        r#"
kind: cluster_auth_preference
version: v2
metadata: {name: cluster-auth-preference}
spec: {require_session_mfa: hardware_key_touch}
---
kind: role
version: v7
metadata: {name: pin}
spec: {options: {require_session_mfa: hardware_key_pin}}
---
kind: user
version: v2
metadata: {name: jerry}
spec: {roles: [pin]}
"#,
        "t",
    )
    .unwrap();
    assert_eq!(
        required_policy(&b, "jerry"),
        KeyPolicy::HardwareKeyTouchAndPin
    );
    assert_eq!(required_policy(&b, "stranger"), KeyPolicy::HardwareKeyTouch);
}

fn settings(v: serde_json::Value) -> HardwareKeySettings {
    HardwareKeySettings::parse(&v).unwrap()
}

#[test]
fn attestations_are_refused_with_the_reason() {
    let none = crate::policy::Traits::default();
    let off = settings(serde_json::Value::Null);
    // touch never, pin never in 9c: weaker than touch.
    let weak = Minted::new(&Slot {
        pin: 1,
        touch: 1,
        ..Slot::default()
    });
    let att = PivVerifier::new(weak.roots())
        .verify(&weak.chain())
        .unwrap();
    let e = check_piv_attestation(
        &att,
        PivSlot::Signature,
        KeyPolicy::HardwareKeyTouch,
        &off,
        &none,
    )
    .unwrap_err();
    assert!(e.contains("weaker than the hardware_key_touch"), "{e}");
    assert!(check_piv_attestation(
        &att,
        PivSlot::Signature,
        KeyPolicy::HardwareKey,
        &off,
        &none
    )
    .is_ok());
    let e = check_piv_attestation(
        &att,
        PivSlot::Authentication,
        KeyPolicy::HardwareKey,
        &off,
        &none,
    )
    .unwrap_err();
    assert!(e.contains("slot 9c, not 9a"), "{e}");

    // touch cached + pin once meets touch_and_pin; serial validation on.
    let strong = Minted::new(&Slot {
        pin: 2,
        touch: 3,
        serial: Some(777),
        ..Slot::default()
    });
    let att = PivVerifier::new(strong.roots())
        .verify(&strong.chain())
        .unwrap();
    let on = settings(serde_json::json!({"serial_number_validation": {"enabled": true}}));
    let listed = crate::policy::Traits::from([("hardware_key_serial_numbers", &["1,777"][..])]);
    assert_eq!(
        check_piv_attestation(
            &att,
            PivSlot::Signature,
            KeyPolicy::HardwareKeyTouchAndPin,
            &on,
            &listed
        ),
        Ok(KeyPolicy::HardwareKeyTouchAndPin)
    );
    let e = check_piv_attestation(
        &att,
        PivSlot::Signature,
        KeyPolicy::HardwareKeyTouch,
        &on,
        &none,
    )
    .unwrap_err();
    assert!(
        e.contains("777 is not in the user's hardware_key_serial_numbers"),
        "{e}"
    );

    // Another root: the chain itself is refused, naming the untrusted root.
    let e = PivVerifier::new(weak.roots())
        .verify(&strong.chain())
        .unwrap_err();
    assert!(e.to_string().contains("untrusted root"), "{e}");
}

#[test]
fn printed_devices_load_in_a_bundle() {
    let m = Minted::new(&Slot::default());
    let doc = DeviceDoc {
        name: "jerry-piv".into(),
        user: "jerry".into(),
        form: device_doc::DeviceForm::Piv {
            slot: PivSlot::Signature,
            chain: m.chain(),
        },
    };
    let b = load_bundle_str(&doc.to_yaml(), "t").unwrap();
    let d = &b.devices()[0];
    assert_eq!((&*d.name, &*d.user), ("jerry-piv", "jerry"));
    let key = PivVerifier::new(m.roots())
        .device_class(d, &crate::policy::Traits::default(), &b.cap)
        .unwrap();
    assert_eq!(key.class, KeyPolicy::HardwareKeyTouch);
    let json = serde_json::to_string(&doc.to_json()).unwrap();
    assert_eq!(load_bundle_str(&json, "t.json").unwrap().devices()[0], *d);

    let sk = DeviceDoc {
        name: "jerry-sk".into(),
        user: "jerry".into(),
        form: device_doc::DeviceForm::SshSk(SK_ED25519.into()),
    };
    let b = load_bundle_str(&sk.to_yaml(), "t").unwrap();
    assert_eq!(b.devices()[0].kind.name(), "ssh_sk");
}
