//! The cap's `hardware_key` block (`AuthPreference::raw_hardware_key`):
//! which PIV slot keys live in, serial number validation, and how long a
//! PIN may be cached.
//!
//! Read as Teleport reads `types.HardwareKey` (api/types/types.proto): its
//! JSON decoding (`pin_cache_timeout` is a `types.Duration`,
//! api/types/duration.go `Duration.UnmarshalJSON`), then
//! `AuthPreferenceV2.CheckAndSetDefaults` (api/types/authentication.go),
//! which validates `piv_slot` (`PIVSlot.Validate`). A block Teleport refuses
//! cannot be in a cluster's cap: the bundle holding it is refused when it
//! loads ([`HardwareKeySettings::teleport_refusal`], cap_checks.rs). One
//! Teleport accepts but this agent cannot use (a retired PIV slot) loads,
//! and refuses every PIV key when one is used.

use std::time::Duration;

use serde_json::Value;

use super::slot::PivSlot;
use crate::policy::go_duration;
use crate::policy::KeyPolicy;

/// Teleport's default trait for serial number validation.
pub const DEFAULT_SERIAL_TRAIT: &str = "hardware_key_serial_numbers";

/// Teleport's ceiling for `pin_cache_timeout`.
pub const MAX_PIN_CACHE_TIMEOUT: Duration = Duration::from_secs(3600);

/// `spec.hardware_key`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        read(raw).map_err(|e| match e {
            Unreadable::Refused(why) | Unreadable::Unsupported(why) => why,
        })
    }

    /// Why Teleport would refuse a cap with this block, if it would: the
    /// bundle is refused when it loads. `None` for a block it accepts,
    /// even one this agent cannot use ([`HardwareKeySettings::parse`] says
    /// why when a PIV key is used).
    pub fn teleport_refusal(raw: &Value) -> Option<String> {
        match read(raw) {
            Err(Unreadable::Refused(why)) => Some(why),
            Ok(_) | Err(Unreadable::Unsupported(_)) => None,
        }
    }

    /// No block: Teleport's defaults.
    fn defaults() -> HardwareKeySettings {
        HardwareKeySettings {
            piv_slot: None,
            serial_validation: false,
            serial_trait: DEFAULT_SERIAL_TRAIT.to_owned(),
            pin_cache_timeout: Duration::ZERO,
        }
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

/// Why a `hardware_key` block cannot be used.
enum Unreadable {
    /// Teleport refuses a cap holding it.
    Refused(String),
    /// Teleport accepts it (some version does); this agent cannot use it.
    Unsupported(String),
}

fn read(raw: &Value) -> Result<HardwareKeySettings, Unreadable> {
    let obj = match raw {
        Value::Null => return Ok(HardwareKeySettings::defaults()),
        Value::Object(o) => o,
        _ => return Err(refused("cap hardware_key must be a mapping")),
    };
    let (serial_validation, serial_trait) =
        serial_number_validation(obj.get("serial_number_validation"))?;
    Ok(HardwareKeySettings {
        piv_slot: piv_slot(obj.get("piv_slot"))?,
        serial_validation,
        serial_trait,
        pin_cache_timeout: pin_cache_timeout(obj.get("pin_cache_timeout"))?,
    })
}

fn refused(why: impl Into<String>) -> Unreadable {
    Unreadable::Refused(why.into())
}

/// `piv_slot`: a string; empty is none. Teleport's `PIVSlot.Validate`
/// (api/utils/keys) reads it with `strconv.ParseUint(s, 16, 32)`
/// (hexadecimal in any case, leading zeros allowed; no `0x`, sign or
/// spaces) and keeps 9a, 9c, 9d, 9e. An older one (`PIVSlot.validate` in
/// api/utils/keys/yubikey.go) took the retired key management slots 82..95
/// as well: such a cap loads here, and its PIV keys are refused (this agent
/// uses the four slots only).
fn piv_slot(v: Option<&Value>) -> Result<Option<PivSlot>, Unreadable> {
    let text = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s.as_str(),
        Some(v) => {
            return Err(refused(format!(
                "cap hardware_key.piv_slot must be a string, not {v}"
            )))
        }
    };
    let hex = text.bytes().all(|b| b.is_ascii_hexdigit());
    let key = if hex {
        u32::from_str_radix(text, 16).ok()
    } else {
        None
    };
    match key {
        Some(0x9a) => Ok(Some(PivSlot::Authentication)),
        Some(0x9c) => Ok(Some(PivSlot::Signature)),
        Some(0x9d) => Ok(Some(PivSlot::KeyManagement)),
        Some(0x9e) => Ok(Some(PivSlot::CardAuthentication)),
        Some(0x82..=0x95) => Err(Unreadable::Unsupported(format!(
            "cap hardware_key.piv_slot: {text:?} is a retired key management slot, which this agent does not use (only 9a, 9c, 9d, 9e)"
        ))),
        _ => Err(refused(format!(
            "cap hardware_key.piv_slot: invalid PIV slot {text:?} (expected 9a, 9c, 9d or 9e)"
        ))),
    }
}

/// `serial_number_validation`: whether it is on, and the trait naming the
/// user's serial numbers ([`DEFAULT_SERIAL_TRAIT`] when unnamed).
fn serial_number_validation(v: Option<&Value>) -> Result<(bool, String), Unreadable> {
    let mut out = (false, DEFAULT_SERIAL_TRAIT.to_owned());
    let v = match v {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Object(v)) => v,
        Some(v) => {
            return Err(refused(format!(
                "cap hardware_key.serial_number_validation must be a mapping, not {v}"
            )))
        }
    };
    match v.get("enabled") {
        None | Some(Value::Null) => {}
        Some(x) => {
            out.0 = yaml_bool(x).ok_or_else(|| {
                refused(format!(
                "cap hardware_key.serial_number_validation.enabled must be true or false, not {x}"
            ))
            })?
        }
    }
    match v.get("serial_number_trait_name") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => out.1 = s.trim().to_owned(),
        Some(x) => {
            return Err(refused(format!(
                "cap hardware_key.serial_number_validation.serial_number_trait_name must be a string, not {x}"
            )))
        }
    }
    Ok(out)
}

/// A boolean: `true`/`false`, or a string YAML 1.1 reads as one (`yes`,
/// `on`, `n`, ...: gopkg.in/yaml.v2 `resolve`, which turns the YAML that
/// `tctl create` reads into JSON). The bundle's YAML is read as YAML 1.2,
/// which leaves those strings.
fn yaml_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
                Some(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off"
            | "OFF" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `pin_cache_timeout`, a `types.Duration` as its `UnmarshalJSON` reads it:
/// a string, `never` for zero, else Go's `time.ParseDuration` (what `tctl
/// get cap` prints, `time.Duration.String()`: `1.5s`, `1m30.5s`, `500ms`,
/// `0s`). A number is refused, as Teleport refuses it (it reads a string;
/// and whether `30` meant seconds or nanoseconds is not said). Negative:
/// Teleport takes it, and a PIN kept until a past instant is never used:
/// zero. Null: absent, zero (Teleport refuses an explicit null; either way
/// no PIN is kept). At most [`MAX_PIN_CACHE_TIMEOUT`].
fn pin_cache_timeout(v: Option<&Value>) -> Result<Duration, Unreadable> {
    let text = match v {
        None | Some(Value::Null) => return Ok(Duration::ZERO),
        Some(Value::String(s)) => s.as_str(),
        Some(v @ Value::Number(_)) => {
            return Err(refused(format!(
                "cap hardware_key.pin_cache_timeout: {v} is a number; Teleport reads a duration string (e.g. 30s, 15m, 0s)"
            )))
        }
        Some(v) => {
            return Err(refused(format!(
                "cap hardware_key.pin_cache_timeout must be a duration string (e.g. 30s, 15m, 0s), not {v}"
            )))
        }
    };
    if text == "never" {
        return Ok(Duration::ZERO);
    }
    match go_duration::parse_go(text) {
        Ok(Some(d)) => Ok(d.min(MAX_PIN_CACHE_TIMEOUT)),
        Ok(None) => Ok(Duration::ZERO),
        Err(e) => Err(refused(format!(
            "cap hardware_key.pin_cache_timeout: {e} (write e.g. 30s, 1.5s, 15m)"
        ))),
    }
}

#[cfg(test)]
#[path = "cap_hardware_key_tests.rs"]
mod tests;
