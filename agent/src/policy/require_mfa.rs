//! `require_session_mfa`: Teleport's `RequireMFAType` and its lenient decoding.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::key_policy::KeyPolicy;

/// Teleport's `RequireMFAType`, from a role's `spec.options.require_session_mfa`
/// or the cap's `spec.require_session_mfa`. Enum numbers 0..5 in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RequireMfa {
    /// 0: no per-session MFA.
    #[default]
    Off,
    /// 1: per-session MFA.
    Session,
    /// 2 (`hardware_key`): per-session MFA and a hardware-backed key.
    SessionAndHardwareKey,
    /// 3 (`hardware_key_touch`): a hardware key that needs a touch.
    HardwareKeyTouch,
    /// 4 (`hardware_key_pin`): a hardware key that needs its PIN.
    HardwareKeyPin,
    /// 5 (`hardware_key_touch_and_pin`): a hardware key that needs both.
    HardwareKeyTouchAndPin,
}

const EXPECTED: &str = "true/false, yes/no, on/off, 1/0, \"\", hardware_key, \
hardware_key_touch, hardware_key_pin, hardware_key_touch_and_pin or a number 0..5";

impl RequireMfa {
    /// Whether this asks for per-session MFA: anything but `Off`.
    pub fn is_session_required(self) -> bool {
        self != RequireMfa::Off
    }

    /// The private key policy this value implies.
    pub fn key_policy(self) -> KeyPolicy {
        match self {
            RequireMfa::Off | RequireMfa::Session => KeyPolicy::None,
            RequireMfa::SessionAndHardwareKey => KeyPolicy::HardwareKey,
            RequireMfa::HardwareKeyTouch => KeyPolicy::HardwareKeyTouch,
            RequireMfa::HardwareKeyPin => KeyPolicy::HardwareKeyPin,
            RequireMfa::HardwareKeyTouchAndPin => KeyPolicy::HardwareKeyTouchAndPin,
        }
    }

    /// The enum number (0..5).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// From the enum number 0..5.
    pub fn from_number(n: i64) -> Option<RequireMfa> {
        Some(match n {
            0 => RequireMfa::Off,
            1 => RequireMfa::Session,
            2 => RequireMfa::SessionAndHardwareKey,
            3 => RequireMfa::HardwareKeyTouch,
            4 => RequireMfa::HardwareKeyPin,
            5 => RequireMfa::HardwareKeyTouchAndPin,
            _ => return None,
        })
    }

    /// From a string, as Teleport decodes it: the `hardware_key*` names are
    /// case-sensitive; anything else is lowercased and read as a boolean.
    pub fn from_str_value(s: &str) -> Option<RequireMfa> {
        Some(match s {
            "" => RequireMfa::Off,
            "hardware_key" => RequireMfa::SessionAndHardwareKey,
            "hardware_key_touch" => RequireMfa::HardwareKeyTouch,
            "hardware_key_pin" => RequireMfa::HardwareKeyPin,
            "hardware_key_touch_and_pin" => RequireMfa::HardwareKeyTouchAndPin,
            other => match other.to_lowercase().as_str() {
                "yes" | "yeah" | "y" | "true" | "1" | "on" => RequireMfa::Session,
                "no" | "nope" | "n" | "false" | "0" | "off" => RequireMfa::Off,
                _ => return None,
            },
        })
    }

    /// How people write it: `off`, `on`, or the `hardware_key*` name.
    pub fn name(self) -> &'static str {
        match self {
            RequireMfa::Off => "off",
            RequireMfa::Session => "on",
            RequireMfa::SessionAndHardwareKey => "hardware_key",
            RequireMfa::HardwareKeyTouch => "hardware_key_touch",
            RequireMfa::HardwareKeyPin => "hardware_key_pin",
            RequireMfa::HardwareKeyTouchAndPin => "hardware_key_touch_and_pin",
        }
    }
}

impl fmt::Display for RequireMfa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

struct RequireMfaVisitor;

impl RequireMfaVisitor {
    fn invalid<E: de::Error>(shown: impl fmt::Display) -> E {
        E::custom(format!(
            "invalid require_session_mfa value {shown} (expected {EXPECTED})"
        ))
    }
}

impl<'de> Visitor<'de> for RequireMfaVisitor {
    type Value = RequireMfa;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RequireMfa, E> {
        Ok(if v {
            RequireMfa::Session
        } else {
            RequireMfa::Off
        })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RequireMfa, E> {
        RequireMfa::from_number(v).ok_or_else(|| Self::invalid(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RequireMfa, E> {
        i64::try_from(v)
            .ok()
            .and_then(RequireMfa::from_number)
            .ok_or_else(|| Self::invalid(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RequireMfa, E> {
        // Teleport truncates floats to the enum number; we only accept whole ones.
        if v.fract() == 0.0 && (0.0..=5.0).contains(&v) {
            Ok(RequireMfa::from_number(v as i64).unwrap_or_default())
        } else {
            Err(Self::invalid(v))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RequireMfa, E> {
        RequireMfa::from_str_value(v).ok_or_else(|| Self::invalid(format!("{v:?}")))
    }

    // A null (YAML `~`, `null` or nothing after the colon) is refused, as
    // Teleport refuses it: `RequireMFAType.UnmarshalJSON` decodes into an
    // interface and `decode` has no case for nil ("RequireMFAType invalid
    // type <nil>", api/types/authentication.go), so no such role or
    // cluster_auth_preference exists in a cluster. Reading it as off would
    // take a requirement its author may have meant away.
    fn visit_unit<E: de::Error>(self) -> Result<RequireMfa, E> {
        Err(Self::invalid("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<RequireMfa, E> {
        Err(Self::invalid("null"))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RequireMfa, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<RequireMfa, A::Error> {
        Err(Self::invalid("(a list)"))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _map: A) -> Result<RequireMfa, A::Error> {
        Err(Self::invalid("(a mapping)"))
    }
}

impl<'de> Deserialize<'de> for RequireMfa {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RequireMfaVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::RequireMfa::{self, *};
    use crate::policy::load_bundle_str;

    /// Wraps the value as a role option and loads it, so both YAML paths
    /// (typed bools and strings) and the error positions are exercised.
    fn role_with(value: &str) -> Result<RequireMfa, crate::policy::PolicyError> {
        let text = format!(
            "kind: role\nversion: v7\nmetadata:\n  name: r\nspec:\n  options:\n    require_session_mfa: {value}\n"
        );
        load_bundle_str(&text, "t.yaml").map(|b| b.roles()["r"].require_session_mfa)
    }

    fn cap_with_json(value: &str) -> Result<RequireMfa, crate::policy::PolicyError> {
        let text = format!(
            "{{\"kind\": \"cluster_auth_preference\", \"version\": \"v2\",\n \"metadata\": {{\"name\": \"cluster-auth-preference\"}},\n \"spec\": {{\"require_session_mfa\": {value}}}}}"
        );
        load_bundle_str(&text, "t.json").map(|b| b.cap.require_session_mfa)
    }

    #[test]
    fn accepted_yaml_spellings() {
        let cases: &[(&str, RequireMfa)] = &[
            ("true", Session),
            ("false", Off),
            ("True", Session),
            ("FALSE", Off),
            ("yes", Session),
            ("no", Off),
            ("on", Session),
            ("off", Off),
            ("y", Session),
            ("n", Off),
            ("Yes", Session),
            ("OFF", Off),
            ("'yes'", Session),
            ("'no'", Off),
            ("\"on\"", Session),
            ("\"off\"", Off),
            ("'y'", Session),
            ("'n'", Off),
            ("'true'", Session),
            ("'false'", Off),
            ("\"TRUE\"", Session),
            ("'yeah'", Session),
            ("nope", Off),
            ("'1'", Session),
            ("'0'", Off),
            ("''", Off),
            ("\"\"", Off),
            ("hardware_key", SessionAndHardwareKey),
            ("hardware_key_touch", HardwareKeyTouch),
            ("hardware_key_pin", HardwareKeyPin),
            ("hardware_key_touch_and_pin", HardwareKeyTouchAndPin),
            ("'hardware_key_touch'", HardwareKeyTouch),
            ("0", Off),
            ("1", Session),
            ("2", SessionAndHardwareKey),
            ("3", HardwareKeyTouch),
            ("4", HardwareKeyPin),
            ("5", HardwareKeyTouchAndPin),
            ("2.0", SessionAndHardwareKey),
        ];
        for (value, want) in cases {
            match role_with(value) {
                Ok(got) => assert_eq!(got, *want, "value {value:?}"),
                Err(e) => panic!("value {value:?}: {e}"),
            }
        }
    }

    #[test]
    fn accepted_json_spellings() {
        let cases: &[(&str, RequireMfa)] = &[
            ("true", Session),
            ("false", Off),
            ("\"yes\"", Session),
            ("\"off\"", Off),
            ("\"TRUE\"", Session),
            ("\"\"", Off),
            ("\"hardware_key_pin\"", HardwareKeyPin),
            ("0", Off),
            ("5", HardwareKeyTouchAndPin),
            ("3.0", HardwareKeyTouch),
        ];
        for (value, want) in cases {
            match cap_with_json(value) {
                Ok(got) => assert_eq!(got, *want, "value {value:?}"),
                Err(e) => panic!("value {value:?}: {e}"),
            }
        }
    }

    #[test]
    fn rejected_yaml_spellings_name_line_and_column() {
        let cases: &[(&str, &str)] = &[
            ("maybe", "\"maybe\""),
            ("'maybe'", "\"maybe\""),
            ("6", "6"),
            ("-1", "-1"),
            ("1.5", "1.5"),
            ("[true]", "(a list)"),
            ("{a: 1}", "(a mapping)"),
            ("Hardware_Key", "\"Hardware_Key\""),
            ("HARDWARE_KEY_TOUCH", "\"HARDWARE_KEY_TOUCH\""),
            ("'5'", "\"5\""),
            ("99999999999999999999", "invalid"),
            ("~", "null"),
            ("null", "null"),
        ];
        for (value, shown) in cases {
            let err = role_with(value).expect_err(value);
            assert_eq!(err.file, "t.yaml");
            assert_eq!(err.line, Some(7), "{value}: {err}");
            assert_eq!(err.column, Some(26), "{value}: {err}");
            assert!(err.message.contains(shown), "{value}: {err}");
            assert!(
                err.to_string().starts_with("t.yaml:7:26: "),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn rejected_json_spellings_have_position() {
        for value in [
            "\"maybe\"",
            "6",
            "-1",
            "1.5",
            "[true]",
            "{\"a\": 1}",
            "null",
        ] {
            let err = cap_with_json(value).expect_err(value);
            assert_eq!(err.line, Some(3), "{value}: {err}");
            assert!(err.column.is_some(), "{value}: {err}");
            assert!(
                err.message.contains("require_session_mfa"),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn key_policy_and_session() {
        let cases = [
            (Off, false, crate::policy::KeyPolicy::None),
            (Session, true, crate::policy::KeyPolicy::None),
            (
                SessionAndHardwareKey,
                true,
                crate::policy::KeyPolicy::HardwareKey,
            ),
            (
                HardwareKeyTouch,
                true,
                crate::policy::KeyPolicy::HardwareKeyTouch,
            ),
            (
                HardwareKeyPin,
                true,
                crate::policy::KeyPolicy::HardwareKeyPin,
            ),
            (
                HardwareKeyTouchAndPin,
                true,
                crate::policy::KeyPolicy::HardwareKeyTouchAndPin,
            ),
        ];
        for (i, (v, session, key)) in cases.into_iter().enumerate() {
            assert_eq!(v.number() as usize, i);
            assert_eq!(RequireMfa::from_number(i as i64), Some(v));
            assert_eq!(v.is_session_required(), session, "{v}");
            assert_eq!(v.key_policy(), key, "{v}");
        }
    }
}
