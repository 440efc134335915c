//! The `piv` form of mfa_device, loaded from a bundle and classed.

use super::chain::{Minted, Slot};
use crate::piv::{piv_device_class, PivSlot, PivVerifier};
use crate::policy::{load_bundle_str, Bundle, DeviceKind, KeyPolicy, MfaDevice};

/// A YAML flow list of double-quoted PEM strings.
pub(crate) fn yaml_pem_list(pems: &[String]) -> String {
    let items: Vec<String> = pems
        .iter()
        .map(|p| format!("\"{}\"", p.replace('\n', "\\n")))
        .collect();
    format!("[{}]", items.join(", "))
}

fn bundle(device_spec: &str, hardware_key: &str) -> Result<Bundle, String> {
    let text = format!(
        "kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  require_session_mfa: hardware_key_touch\n  hardware_key: {hardware_key}\n---\nkind: mfa_device\nversion: v1\nmetadata: {{name: jerry-piv}}\nspec:\n  user: jerry\n  piv: {device_spec}\n"
    );
    load_bundle_str(&text, "bundle.yaml").map_err(|e| e.to_string())
}

fn device(b: &Bundle) -> &MfaDevice {
    b.devices()
        .iter()
        .find(|d| &*d.name == "jerry-piv")
        .expect("device")
}

fn traits(serials: &[&str]) -> crate::policy::Traits {
    crate::policy::Traits::from([("hardware_key_serial_numbers", serials)])
}

#[test]
fn both_spellings_load_and_class() {
    let m = Minted::new(&Slot {
        pin: 2,
        touch: 2,
        ..Slot::default()
    });
    let pems = m.chain_pem();
    let roots = m.roots();
    let specs = [
        format!("{{slot: 9c, attestation_chain: {}}}", yaml_pem_list(&pems)),
        // One string holding the whole chain.
        format!("{{attestation_chain: {}}}", yaml_pem_list(&[pems.concat()])),
        format!(
            "{{slot: \"9c\", slot_certificate: {}, attestation_certificate: {}, intermediates: {}}}",
            yaml_pem_list(&pems[..1]).trim_matches(['[', ']']),
            yaml_pem_list(&pems[1..2]).trim_matches(['[', ']']),
            yaml_pem_list(&pems[2..])
        ),
    ];
    for spec in &specs {
        let b = bundle(spec, "{}").unwrap_or_else(|e| panic!("{spec}: {e}"));
        let d = device(&b);
        let DeviceKind::Piv(p) = &d.kind else {
            panic!("not piv")
        };
        assert_eq!(p.chain, m.chain());
        let class = piv_device_class(d, &roots, &crate::policy::Traits::default(), &b.cap).unwrap();
        assert_eq!(class, KeyPolicy::HardwareKeyTouchAndPin);
    }
}

#[test]
fn bad_piv_forms_fail_the_load_with_a_position() {
    let m = Minted::new(&Slot::default());
    let pems = m.chain_pem();
    let cases = [
        ("{slot: 9c}".to_owned(), "piv needs attestation_chain"),
        ("{attestation_chain: \"not pem\"}".to_owned(), "no PEM certificate"),
        (format!("{{attestation_chain: {}}}", yaml_pem_list(&pems[..1])), "needs the slot certificate and the F9"),
        ("{attestation_chain: [\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\", \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"]}".to_owned(), "certificate 1 of the chain is not an X.509 certificate"),
        ("{attestation_chain: [\"-----BEGIN CERTIFICATE-----\\n!!\\n-----END CERTIFICATE-----\"]}".to_owned(), "not valid base64"),
        (format!("{{slot: 9b, attestation_chain: {}}}", yaml_pem_list(&pems)), "piv.slot"),
        (format!("{{attestation_chain: {}, slot_certificate: x}}", yaml_pem_list(&pems)), "not both"),
        (format!("{{slot_certificate: {}}}", yaml_pem_list(&pems[..1]).trim_matches(['[', ']'])), "piv.attestation_certificate is missing"),
        ("{attestation_chain: 7}".to_owned(), "must be a PEM string or a list"),
    ];
    for (spec, want) in cases {
        let e = bundle(&spec, "{}").expect_err(&spec);
        assert!(e.contains(want), "{spec}: {e}");
        assert!(e.starts_with("bundle.yaml:"), "position: {e}");
        assert!(e.contains("jerry-piv"), "{e}");
    }
}

#[test]
fn slot_and_serial_checks() {
    let m = Minted::new(&Slot {
        serial: Some(555),
        ..Slot::default()
    });
    let list = yaml_pem_list(&m.chain_pem());
    let roots = m.roots();
    // The device names another slot than the attested one.
    let b = bundle(&format!("{{slot: 9a, attestation_chain: {list}}}"), "{}").unwrap();
    let e = piv_device_class(
        device(&b),
        &roots,
        &crate::policy::Traits::default(),
        &b.cap,
    )
    .unwrap_err();
    assert!(
        e.contains("registered for slot 9a, but the attestation is for slot 9c"),
        "{e}"
    );

    // Serial validation off: any serial; on: it must be in the trait.
    let spec = format!("{{attestation_chain: {list}}}");
    let off = bundle(&spec, "{}").unwrap();
    assert_eq!(
        piv_device_class(device(&off), &roots, &traits(&[]), &off.cap),
        Ok(KeyPolicy::HardwareKeyTouch)
    );
    let on = bundle(&spec, "{serial_number_validation: {enabled: true}}").unwrap();
    assert_eq!(
        piv_device_class(device(&on), &roots, &traits(&["1,555"]), &on.cap),
        Ok(KeyPolicy::HardwareKeyTouch)
    );
    let e = piv_device_class(device(&on), &roots, &traits(&["1", "55"]), &on.cap).unwrap_err();
    assert!(
        e.contains("serial number 555 is not in the user's hardware_key_serial_numbers trait"),
        "{e}"
    );
    let named = bundle(
        &spec,
        "{serial_number_validation: {enabled: true, serial_number_trait_name: yubikeys}}",
    )
    .unwrap();
    let t = crate::policy::Traits::from([("yubikeys", &["555"][..])]);
    assert!(piv_device_class(device(&named), &roots, &t, &named.cap).is_ok());
    assert!(piv_device_class(device(&named), &roots, &traits(&["555"]), &named.cap).is_err());

    // A hardware_key block Teleport refuses refuses the bundle.
    let e = bundle(&spec, "{serial_number_validation: {enabled: maybe}}").unwrap_err();
    assert!(
        e.contains("enabled must be true or false") && e.contains("Teleport refuses"),
        "{e}"
    );
    // One it accepts but this agent cannot use refuses the key rather
    // than ignoring the settings.
    let retired = bundle(&spec, "{piv_slot: \"82\"}").unwrap();
    assert!(
        piv_device_class(device(&retired), &roots, &traits(&["555"]), &retired.cap)
            .unwrap_err()
            .contains("retired key management slot")
    );
}

/// `tctl get cap` writes `pin_cache_timeout` with Go's
/// `time.Duration.String()`: a fractional timeout is read, and the key is
/// classed (it was refused, every PIV key with it).
#[test]
fn a_fractional_pin_cache_timeout_classes_the_key() {
    let m = Minted::new(&Slot {
        serial: Some(555),
        ..Slot::default()
    });
    let spec = format!("{{attestation_chain: {}}}", yaml_pem_list(&m.chain_pem()));
    for timeout in ["1.5s", "1m30.5s", "500ms", "1.5\u{b5}s", "0s"] {
        let b = bundle(
            &spec,
            &format!(
                "{{pin_cache_timeout: {timeout}, serial_number_validation: {{enabled: true}}}}"
            ),
        )
        .unwrap_or_else(|e| panic!("{timeout}: {e}"));
        let key = PivVerifier::new(m.roots())
            .device_class(device(&b), &traits(&["555"]), &b.cap)
            .unwrap_or_else(|e| panic!("{timeout}: {e}"));
        assert_eq!(key.class, KeyPolicy::HardwareKeyTouch, "{timeout}");
        assert_eq!(key.attestation.serial, Some(555));
    }
}

#[test]
fn verifier_caches_per_root_set_and_not_failures() {
    let m = Minted::new(&Slot::default());
    let spec = format!("{{attestation_chain: {}}}", yaml_pem_list(&m.chain_pem()));
    let b = bundle(&spec, "{}").unwrap();
    let d = device(&b);
    // Untrusted at first: refused, and the refusal is not remembered.
    let yubico = PivVerifier::new(crate::piv::TrustedRoots::yubico());
    assert!(yubico
        .device_class(d, &crate::policy::Traits::default(), &b.cap)
        .unwrap_err()
        .contains("untrusted root"));
    assert!(yubico
        .device_class(d, &crate::policy::Traits::default(), &b.cap)
        .is_err());
    let v = PivVerifier::new(m.roots());
    let first = v
        .device_class(d, &crate::policy::Traits::default(), &b.cap)
        .unwrap();
    let again = v
        .device_class(d, &crate::policy::Traits::default(), &b.cap)
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(first.attestation.slot, Some(PivSlot::Signature));
    // A device of another form has no PIV class.
    let sk = MfaDevice {
        kind: DeviceKind::Webauthn(crate::policy::WebauthnDevice::from_mfa_device_form(
            &serde_json::Value::Null,
        )),
        ..d.clone()
    };
    assert!(v
        .device_class(&sk, &crate::policy::Traits::default(), &b.cap)
        .unwrap_err()
        .contains("not piv"));
}
