//! The cap's defaults derived as Teleport derives them.

use super::*;

#[test]
fn u2f_attestation_cas_are_webauthns_allowed_cas_when_it_lists_none() {
    let cas = vec!["PEM".to_owned()];
    let got = with_u2f_attestation_cas(serde_json::Value::Null, cas.clone());
    assert_eq!(got["attestation_allowed_cas"], serde_json::json!(["PEM"]));
    let own = serde_json::json!({"rp_id": "x", "attestation_denied_cas": ["D"]});
    assert_eq!(with_u2f_attestation_cas(own.clone(), cas.clone()), own);
    let own = serde_json::json!({"attestation_allowed_cas": ["A"]});
    assert_eq!(with_u2f_attestation_cas(own.clone(), cas), own);
    let plain = serde_json::json!({"rp_id": "x"});
    assert_eq!(with_u2f_attestation_cas(plain.clone(), Vec::new()), plain);
}

#[test]
fn rp_id_from_the_u2f_app_id() {
    let cases = [
        ("https://tele.example.com:3080", Some("tele.example.com")),
        ("https://tele.example.com", Some("tele.example.com")),
        (
            "https://u@tele.example.com:443/path?q",
            Some("tele.example.com"),
        ),
        ("example.com", Some("example.com")),
        ("example.com:3080", None),
        ("https://", None),
        ("//tele.example.com/u2f", Some("tele.example.com")),
    ];
    for (app_id, want) in cases {
        assert_eq!(rp_id_from_app_id(app_id).as_deref(), want, "{app_id}");
    }
    let cap = |spec: &str| {
        crate::policy::load_bundle_str(
            &format!("kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n{spec}"),
            "cap.yaml",
        )
        .unwrap()
        .cap
        .webauthn_rp_id
        .clone()
    };
    let u2f = "  u2f: {app_id: 'https://tele.example.com:3080', facets: ['https://tele.example.com:3080']}\n";
    assert_eq!(
        cap(&format!("  second_factor: webauthn\n{u2f}")).as_deref(),
        Some("tele.example.com")
    );
    assert_eq!(
        cap(&format!("  second_factor: on\n{u2f}  webauthn: {{}}\n")).as_deref(),
        Some("tele.example.com")
    );
    // An explicit rp_id wins; without WebAuthn among the factors nothing
    // is derived.
    assert_eq!(
        cap(&format!(
            "  second_factor: webauthn\n{u2f}  webauthn: {{rp_id: example.com}}\n"
        ))
        .as_deref(),
        Some("example.com")
    );
    assert_eq!(cap(&format!("  second_factor: otp\n{u2f}")), None);
}

#[test]
fn admin_actions_rule() {
    let cases: &[(&str, &[&str], bool)] = &[
        ("webauthn", &[], true),
        ("on", &[], false),
        ("optional", &[], false),
        ("otp", &[], false),
        ("off", &[], false),
        ("", &[], false),
        ("", &["webauthn"], true),
        ("", &["SECOND_FACTOR_TYPE_WEBAUTHN"], true),
        ("", &["webauthn", "otp"], false),
        ("on", &["webauthn", "SECOND_FACTOR_TYPE_WEBAUTHN"], true),
        ("", &["SECOND_FACTOR_TYPE_OTP"], false),
        // No OTP among them: enforced (IsAdminActionMFAEnforced).
        ("", &["webauthn", "sso"], true),
        ("", &["sso"], true),
        ("", &["SECOND_FACTOR_TYPE_SSO"], true),
        // second_factor optional is never enforced, whatever the list.
        ("optional", &["webauthn"], false),
        // second_factors, when set, replaces the legacy field.
        ("webauthn", &["otp"], false),
        ("otp", &["webauthn"], true),
    ];
    for (second_factor, second_factors, want) in cases {
        let cap = AuthPreference {
            second_factor: second_factor.to_string(),
            second_factors: second_factors.iter().map(|s| s.to_string()).collect(),
            ..AuthPreference::default()
        };
        assert_eq!(
            cap.admin_actions_require_mfa(),
            *want,
            "{second_factor:?} {second_factors:?}"
        );
    }
}

fn load_cap(spec: &str) -> Result<crate::policy::Bundle, String> {
    crate::policy::load_bundle_str(
        &format!("kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n{spec}\n"),
        "cap.yaml",
    )
    .map_err(|e| e.to_string())
}

/// Caps Teleport's `AuthPreferenceV2.CheckAndSetDefaults` refuses refuse the
/// bundle, naming the rule and where; the forms `tctl get cap` prints load.
#[test]
fn caps_teleport_refuses_refuse_the_bundle() {
    let refused = [
        ("  type: kerberos", "authentication type \"kerberos\" not supported"),
        (
            "  second_factor: \"on\"\n  second_factors: [otp, webauthn]\n  webauthn: {rp_id: example.com}",
            "must set either second_factor or second_factors, not both",
        ),
        ("  second_factor: OTP", "second factor type \"OTP\" not supported"),
        ("  second_factor: totp", "second factor type \"totp\" not supported"),
        ("  second_factors: [otp, yubikey]", "invalid SecondFactorType value \"yubikey\""),
        ("  second_factor: webauthn", "missing required webauthn configuration"),
        ("  second_factors: [webauthn]\n  webauthn: {attestation_allowed_cas: []}", "webauthn configuration missing rp_id"),
        ("  second_factor: webauthn\n  u2f: {device_attestation_cas: []}", "u2f configuration missing app_id"),
        ("  second_factor: otp\n  allow_passwordless: true", "missing required Webauthn configuration for passwordless=true"),
        ("  second_factor: otp\n  allow_headless: true", "missing required Webauthn configuration for headless=true"),
        (
            "  second_factors: [sso]\n  allow_local_auth: true",
            "missing a local second factor method for local users",
        ),
        ("  connector_name: github", "invalid local connector \"github\""),
        (
            "  second_factor: webauthn\n  webauthn: {rp_id: example.com}\n  allow_passwordless: false\n  connector_name: passwordless",
            "invalid local connector \"passwordless\"",
        ),
    ];
    for (spec, why) in refused {
        let err = load_cap(spec)
            .err()
            .unwrap_or_else(|| panic!("{spec:?} loaded"));
        assert!(err.contains(why), "{spec:?}: {err}");
        assert!(err.contains("cap.yaml:"), "where: {err}");
        assert!(err.contains("Teleport refuses"), "{err}");
    }
    let accepted = [
        "  type: local\n  second_factors: [otp, webauthn]\n  webauthn: {rp_id: example.com}",
        "  type: github\n  second_factor: \"on\"\n  webauthn: {rp_id: example.com}",
        "  second_factor: on\n  u2f: {app_id: https://example.com:3080}",
        "  second_factors: [sso]\n  allow_local_auth: false",
        // Publishers before the cap checks left allow_local_auth out.
        "  second_factors: [sso]",
        "  second_factor: webauthn\n  u2f: {app_id: //tele.example.com}",
        "  second_factor: optional\n  second_factors: []\n  webauthn: {rp_id: example.com}",
        "  second_factors: [SECOND_FACTOR_TYPE_OTP]\n  allow_passwordless: false",
        "  second_factor: webauthn\n  webauthn: {rp_id: example.com}\n  connector_name: passwordless",
        "  second_factor: off\n  device_trust: {mode: required-for-humans}",
        "  type: saml\n  connector_name: okta\n  second_factor: otp",
    ];
    for spec in accepted {
        assert!(
            load_cap(spec).is_ok(),
            "{spec:?}: {:?}",
            load_cap(spec).err()
        );
    }
}

/// A `hardware_key` block Teleport refuses (`types.Duration.UnmarshalJSON`
/// for `pin_cache_timeout`, `PIVSlot.Validate` for `piv_slot`) refuses the
/// bundle when it loads, the field and the file named, rather than every
/// PIV key failing later; what `tctl get cap` prints (Go's
/// `time.Duration.String()`: fractions, `ms`, `µs`) loads.
#[test]
fn hardware_key_blocks_teleport_refuses_refuse_the_bundle() {
    let refused = [
        (
            "pin_cache_timeout: garbage",
            "cap hardware_key.pin_cache_timeout: invalid duration \"garbage\"",
        ),
        (
            "pin_cache_timeout: 30",
            "cap hardware_key.pin_cache_timeout: 30 is a number",
        ),
        (
            "pin_cache_timeout: 2d",
            "cap hardware_key.pin_cache_timeout: unknown unit \"d\"",
        ),
        (
            "piv_slot: 9b",
            "cap hardware_key.piv_slot: invalid PIV slot \"9b\"",
        ),
        (
            "piv_slot: \"0x9a\"",
            "cap hardware_key.piv_slot: invalid PIV slot \"0x9a\"",
        ),
        // YAML reads it as a number (as Teleport's YAML 1.1 does).
        (
            "piv_slot: 0x9a",
            "cap hardware_key.piv_slot must be a string, not 154",
        ),
        (
            "serial_number_validation: {enabled: maybe}",
            "cap hardware_key.serial_number_validation.enabled",
        ),
    ];
    for (block, why) in refused {
        let spec = format!("  second_factor: otp\n  hardware_key: {{{block}}}");
        let err = load_cap(&spec)
            .err()
            .unwrap_or_else(|| panic!("{block:?} loaded"));
        assert!(err.contains(why), "{block:?}: {err}");
        assert!(err.starts_with("cap.yaml:"), "where: {err}");
        assert!(err.contains("Teleport refuses"), "{err}");
    }
    let accepted = [
        "pin_cache_timeout: 1.5s, serial_number_validation: {enabled: true}",
        "pin_cache_timeout: 1m30.5s",
        "pin_cache_timeout: 500ms",
        "pin_cache_timeout: 1.5µs",
        "pin_cache_timeout: 0s",
        "pin_cache_timeout: 1h0m0s",
        "pin_cache_timeout: never",
        "pin_cache_timeout: -1s",
        "piv_slot: 9E",
        // Accepted by an older Teleport: loads; its PIV keys are refused.
        "piv_slot: \"82\"",
        "serial_number_validation: {enabled: yes}",
    ];
    for block in accepted {
        let spec = format!("  second_factor: otp\n  hardware_key: {{{block}}}");
        assert!(
            load_cap(&spec).is_ok(),
            "{block:?}: {:?}",
            load_cap(&spec).err()
        );
    }
}
