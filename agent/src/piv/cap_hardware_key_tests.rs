//! The cap's `hardware_key` block, read as Teleport reads it.

use super::*;
use serde_json::json;

fn timeout(v: Value) -> Result<Duration, String> {
    HardwareKeySettings::parse(&json!({ "pin_cache_timeout": v })).map(|s| s.pin_cache_timeout)
}

#[test]
fn defaults_and_fields() {
    let d = HardwareKeySettings::parse(&Value::Null).unwrap();
    assert_eq!(
        (d.piv_slot, d.serial_validation, d.serial_trait.as_str()),
        (None, false, DEFAULT_SERIAL_TRAIT)
    );
    assert_eq!(d.pin_cache_timeout, Duration::ZERO);
    let s = HardwareKeySettings::parse(&json!({
        "piv_slot": "9e",
        "serial_number_validation": {"enabled": true, "serial_number_trait_name": "yk"},
        "pin_cache_timeout": "1h0m0s",
        "future_field": 1,
    }))
    .unwrap();
    assert_eq!(s.piv_slot, Some(PivSlot::CardAuthentication));
    assert!(s.serial_validation);
    assert_eq!(s.serial_trait, "yk");
    assert_eq!(s.pin_cache_timeout, Duration::from_secs(3600));
}

/// What `tctl get cap` prints for a `types.Duration` (Go's
/// `time.Duration.String()`) reads back; at most an hour.
#[test]
fn pin_cache_timeout_as_go_writes_it() {
    let ms = |n: u64| Ok(Duration::from_millis(n));
    assert_eq!(timeout(json!("1.5s")), ms(1_500));
    assert_eq!(timeout(json!("1m30.5s")), ms(90_500));
    assert_eq!(timeout(json!("500ms")), ms(500));
    assert_eq!(timeout(json!("0s")), ms(0));
    assert_eq!(timeout(json!("1h")), ms(3_600_000));
    assert_eq!(timeout(json!("15m")), ms(900_000));
    assert_eq!(
        timeout(json!("1.5\u{b5}s")),
        Ok(Duration::from_nanos(1_500))
    );
    assert_eq!(timeout(json!("0")), ms(0));
    // Teleport's `never` is zero; a negative one keeps no PIN.
    assert_eq!(timeout(json!("never")), ms(0));
    assert_eq!(timeout(json!("-1.5s")), ms(0));
    assert_eq!(timeout(json!(null)), ms(0));
    // Longer than Teleport's ceiling: the ceiling.
    assert_eq!(timeout(json!("2h")), ms(3_600_000));
    assert_eq!(timeout(json!("90m0.5s")), ms(3_600_000));
}

/// What Teleport's `Duration.UnmarshalJSON` refuses is refused, the field
/// named; so is a number (Teleport reads a string).
#[test]
fn pin_cache_timeout_garbage_is_refused() {
    for v in [
        json!("garbage"),
        json!("15 minutes"),
        json!(""),
        json!(" 1s"),
        json!("1d"),
        json!("1.5"),
        json!(30_000_000_000u64),
        json!(0),
        json!(true),
        json!(["1s"]),
    ] {
        let e = timeout(v.clone()).unwrap_err();
        assert!(
            e.starts_with("cap hardware_key.pin_cache_timeout"),
            "{v}: {e}"
        );
        let raw = json!({ "pin_cache_timeout": v });
        assert_eq!(HardwareKeySettings::teleport_refusal(&raw), Some(e));
    }
    let e = timeout(json!("1.5x")).unwrap_err();
    assert!(e.contains("unknown unit \"x\" in duration \"1.5x\""), "{e}");
}

/// `piv_slot` as Teleport's `PIVSlot.Validate` reads it
/// (`strconv.ParseUint(s, 16, 32)`).
#[test]
fn piv_slot_as_teleport_reads_it() {
    let slot = |v: Value| HardwareKeySettings::parse(&json!({ "piv_slot": v })).map(|s| s.piv_slot);
    assert_eq!(slot(json!("9a")), Ok(Some(PivSlot::Authentication)));
    assert_eq!(slot(json!("9C")), Ok(Some(PivSlot::Signature)));
    assert_eq!(slot(json!("09d")), Ok(Some(PivSlot::KeyManagement)));
    assert_eq!(slot(json!("")), Ok(None));
    assert_eq!(slot(json!(null)), Ok(None));
    for bad in [
        json!("0x9a"),
        json!(" 9a"),
        json!("+9a"),
        json!("9b"),
        json!("f9"),
        json!(9),
    ] {
        let raw = json!({ "piv_slot": bad });
        let e = HardwareKeySettings::teleport_refusal(&raw).unwrap_or_else(|| panic!("{bad}"));
        assert!(e.starts_with("cap hardware_key.piv_slot"), "{bad}: {e}");
    }
    // A retired slot an older Teleport accepted: the cap loads, its PIV
    // keys are refused.
    let retired = json!({"piv_slot": "82"});
    assert_eq!(HardwareKeySettings::teleport_refusal(&retired), None);
    let e = HardwareKeySettings::parse(&retired).unwrap_err();
    assert!(e.contains("retired key management slot"), "{e}");
}

/// `enabled` is a bool; the YAML that `tctl create` reads is YAML 1.1, so
/// `yes`/`on`/`no`/`off` (strings here) are read as it reads them.
#[test]
fn serial_validation_enabled_spellings() {
    let enabled = |v: Value| {
        HardwareKeySettings::parse(&json!({"serial_number_validation": {"enabled": v}}))
            .map(|s| s.serial_validation)
    };
    for (v, want) in [
        (json!(true), true),
        (json!("yes"), true),
        (json!("On"), true),
        (json!("y"), true),
        (json!(false), false),
        (json!("no"), false),
        (json!("OFF"), false),
        (json!(null), false),
    ] {
        assert_eq!(enabled(v.clone()), Ok(want), "{v}");
    }
    for bad in [json!("maybe"), json!("1"), json!(1), json!("yEs")] {
        assert!(
            enabled(bad.clone())
                .unwrap_err()
                .contains("enabled must be true or false"),
            "{bad}"
        );
    }
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (json!([1]), "must be a mapping"),
        (json!({"piv_slot": "9b"}), "hardware_key.piv_slot"),
        (json!({"piv_slot": 9}), "piv_slot must be a string"),
        (
            json!({"serial_number_validation": true}),
            "serial_number_validation must be a mapping",
        ),
        (
            json!({"serial_number_validation": {"enabled": "maybe"}}),
            "enabled must be true or false",
        ),
        (
            json!({"serial_number_validation": {"serial_number_trait_name": 3}}),
            "trait_name must be a string",
        ),
        (
            json!({"pin_cache_timeout": "15 minutes"}),
            "pin_cache_timeout",
        ),
        (json!({"pin_cache_timeout": ""}), "pin_cache_timeout"),
    ];
    for (v, want) in cases {
        let e = HardwareKeySettings::parse(&v).unwrap_err();
        assert!(e.contains(want), "{v}: {e}");
        assert_eq!(HardwareKeySettings::teleport_refusal(&v), Some(e), "{v}");
    }
}

#[test]
fn default_slots() {
    let d = HardwareKeySettings::parse(&Value::Null).unwrap();
    let cases = [
        (KeyPolicy::HardwareKey, "9a"),
        (KeyPolicy::HardwareKeyTouch, "9c"),
        (KeyPolicy::HardwareKeyTouchAndPin, "9d"),
        (KeyPolicy::HardwareKeyPin, "9e"),
    ];
    for (p, slot) in cases {
        assert_eq!(d.slot_for(p).name(), slot, "{p}");
    }
    let s = HardwareKeySettings::parse(&json!({"piv_slot": "9c"})).unwrap();
    assert_eq!(s.slot_for(KeyPolicy::HardwareKeyPin), PivSlot::Signature);
}

#[test]
fn serial_validation() {
    let traits =
        crate::policy::Traits::from([("hardware_key_serial_numbers", &["111, 222", "333"][..])]);
    let off = HardwareKeySettings::parse(&Value::Null).unwrap();
    assert!(off.serial_allowed(Some(999), &traits).is_ok());
    assert!(off.serial_allowed(None, &traits).is_ok());
    let on = HardwareKeySettings::parse(&json!({"serial_number_validation": {"enabled": true}}))
        .unwrap();
    assert!(on.serial_allowed(Some(222), &traits).is_ok());
    assert!(on.serial_allowed(Some(333), &traits).is_ok());
    assert!(on
        .serial_allowed(Some(22), &traits)
        .unwrap_err()
        .contains("not in the user's hardware_key_serial_numbers"));
    assert!(on
        .serial_allowed(None, &traits)
        .unwrap_err()
        .contains("no serial"));
    assert!(on.serial_allowed(Some(111), &Default::default()).is_err());
}
