//! The cap's `hardware_key` block (`AuthPreference::raw_hardware_key`):
//! which PIV slot keys live in, serial number validation, and how long a
//! PIN may be cached.

use std::time::Duration;

use serde_json::Value;

use super::slot::PivSlot;
use crate::policy::KeyPolicy;

/// Teleport's default trait for serial number validation.
pub const DEFAULT_SERIAL_TRAIT: &str = "hardware_key_serial_numbers";

/// Teleport's ceiling for `pin_cache_timeout`.
pub const MAX_PIN_CACHE_TIMEOUT: Duration = Duration::from_secs(3600);

/// `spec.hardware_key`, read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HardwareKeySettings {
    /// `piv_slot`: the slot for every policy, instead of the defaults.
    pub piv_slot: Option<PivSlot>,
    /// `serial_number_validation.enabled`.
    pub serial_validation: bool,
    /// `serial_number_validation.serial_number_trait_name`, else
    /// [`DEFAULT_SERIAL_TRAIT`].
    pub serial_trait: String,
    /// `pin_cache_timeout`, at most one hour; zero: no caching.
    pub pin_cache_timeout: Duration,
}

impl HardwareKeySettings {
    /// Reads the block as written (`Null`: absent, all defaults). Unknown
    /// fields are ignored, as elsewhere in the bundle.
    pub fn parse(raw: &Value) -> Result<HardwareKeySettings, String> {
        let mut out = HardwareKeySettings {
            serial_trait: DEFAULT_SERIAL_TRAIT.to_owned(),
            ..Default::default()
        };
        let obj = match raw {
            Value::Null => return Ok(out),
            Value::Object(o) => o,
            _ => return Err("cap hardware_key must be a mapping".into()),
        };
        match obj.get("piv_slot") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) => {
                out.piv_slot =
                    Some(PivSlot::parse(s).map_err(|e| format!("cap hardware_key.piv_slot: {e}"))?)
            }
            Some(v) => {
                return Err(format!(
                    "cap hardware_key.piv_slot must be a string, not {v}"
                ))
            }
        }
        match obj.get("serial_number_validation") {
            None | Some(Value::Null) => {}
            Some(Value::Object(v)) => {
                match v.get("enabled") {
                    None | Some(Value::Null) => {}
                    Some(Value::Bool(b)) => out.serial_validation = *b,
                    Some(x) => {
                        return Err(format!(
                            "cap hardware_key.serial_number_validation.enabled must be true or false, not {x}"
                        ))
                    }
                }
                match v.get("serial_number_trait_name") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) if s.trim().is_empty() => {}
                    Some(Value::String(s)) => out.serial_trait = s.trim().to_owned(),
                    Some(x) => {
                        return Err(format!(
                            "cap hardware_key.serial_number_validation.serial_number_trait_name must be a string, not {x}"
                        ))
                    }
                }
            }
            Some(v) => {
                return Err(format!(
                    "cap hardware_key.serial_number_validation must be a mapping, not {v}"
                ))
            }
        }
        match obj.get("pin_cache_timeout") {
            None | Some(Value::Null) => {}
            Some(v) => {
                let d = go_duration(v)
                    .map_err(|e| format!("cap hardware_key.pin_cache_timeout: {e}"))?;
                out.pin_cache_timeout = d.min(MAX_PIN_CACHE_TIMEOUT);
            }
        }
        Ok(out)
    }

    /// The slot a key for `policy` lives in: `piv_slot` when set, else
    /// Teleport's defaults (9a hardware_key, 9c touch, 9d touch and PIN,
    /// 9e PIN).
    pub fn slot_for(&self, policy: KeyPolicy) -> PivSlot {
        self.piv_slot.unwrap_or(match policy {
            KeyPolicy::None | KeyPolicy::HardwareKey => PivSlot::Authentication,
            KeyPolicy::HardwareKeyTouch => PivSlot::Signature,
            KeyPolicy::HardwareKeyTouchAndPin => PivSlot::KeyManagement,
            KeyPolicy::HardwareKeyPin => PivSlot::CardAuthentication,
        })
    }

    /// With validation on: whether `serial` is among the user's serials
    /// (the trait's values, each a comma-separated list). Off: always true.
    pub fn serial_allowed(
        &self,
        serial: Option<u32>,
        traits: &crate::policy::Traits,
    ) -> Result<(), String> {
        if !self.serial_validation {
            return Ok(());
        }
        let serial = serial.ok_or("the attestation states no serial number, and the cap requires serial number validation")?;
        let want = serial.to_string();
        let listed = traits
            .get(&self.serial_trait)
            .into_iter()
            .flat_map(|v| v.iter())
            .flat_map(|v| v.split(','))
            .any(|s| s.trim() == want);
        if listed {
            Ok(())
        } else {
            Err(format!(
                "the key's serial number {serial} is not in the user's {} trait",
                self.serial_trait
            ))
        }
    }
}

/// A Go/protobuf duration as Teleport writes it: `"1h"`, `"15m"`, `"1h0m0s"`,
/// `"500ms"`, or a number of nanoseconds.
fn go_duration(v: &Value) -> Result<Duration, String> {
    if let Some(n) = v.as_u64() {
        return Ok(Duration::from_nanos(n));
    }
    let s = v
        .as_str()
        .ok_or_else(|| format!("{v} is not a duration"))?
        .trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let bad = || format!("{s:?} is not a duration (write e.g. 30s, 15m, 1h)");
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "h" => Duration::from_secs(3600),
            "m" => Duration::from_secs(60),
            "s" => Duration::from_secs(1),
            "ms" => Duration::from_millis(1),
            _ => return Err(bad()),
        };
        total = total.saturating_add(unit.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX)));
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        for (v, want) in [
            (json!("15m"), 900),
            (json!("2h"), 3600),
            (json!("90s"), 90),
            (json!(30_000_000_000u64), 30),
            (json!("0"), 0),
        ] {
            let s = HardwareKeySettings::parse(&json!({"pin_cache_timeout": v})).unwrap();
            assert_eq!(s.pin_cache_timeout, Duration::from_secs(want), "{v}");
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
                json!({"serial_number_validation": {"enabled": "yes"}}),
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
            (json!({"pin_cache_timeout": "-1s"}), "pin_cache_timeout"),
            (json!({"pin_cache_timeout": ""}), "pin_cache_timeout"),
        ];
        for (v, want) in cases {
            let e = HardwareKeySettings::parse(&v).unwrap_err();
            assert!(e.contains(want), "{v}: {e}");
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
        let traits = crate::policy::Traits::from([(
            "hardware_key_serial_numbers",
            &["111, 222", "333"][..],
        )]);
        let off = HardwareKeySettings::parse(&Value::Null).unwrap();
        assert!(off.serial_allowed(Some(999), &traits).is_ok());
        assert!(off.serial_allowed(None, &traits).is_ok());
        let on =
            HardwareKeySettings::parse(&json!({"serial_number_validation": {"enabled": true}}))
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
}
