//! What one login must prove: per-session MFA and/or a kind of key.

use std::fmt;

use super::key_policy::KeyPolicy;
use super::require_mfa::RequireMfa;

/// The requirement for one login on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Requirement {
    /// A fresh MFA check (or equivalent evidence) is needed for this session.
    pub session: bool,
    /// The kind of key the login must come from.
    pub key_policy: KeyPolicy,
}

impl Requirement {
    /// Nothing required.
    pub const OFF: Requirement = Requirement {
        session: false,
        key_policy: KeyPolicy::None,
    };

    /// What a single `require_session_mfa` value asks for on its own.
    pub fn from_require_mfa(value: RequireMfa) -> Requirement {
        Requirement {
            session: value.is_session_required(),
            key_policy: value.key_policy(),
        }
    }

    /// `hardware_key`, `hardware_key_touch`, `hardware_key_pin`,
    /// `hardware_key_touch_and_pin` when a key policy applies; else `session`
    /// or `off`.
    pub fn name(&self) -> &'static str {
        match self.key_policy {
            KeyPolicy::None if self.session => "session",
            KeyPolicy::None => "off",
            other => other.name(),
        }
    }

    /// Nothing to prove.
    pub fn is_off(&self) -> bool {
        !self.session && self.key_policy == KeyPolicy::None
    }

    /// Both requirements at once: session OR-ed, strictest key policy.
    pub fn combine(self, other: Requirement) -> Requirement {
        Requirement {
            session: self.session || other.session,
            key_policy: self.key_policy.strictest(other.key_policy),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let cases = [
            (false, KeyPolicy::None, "off", true),
            (true, KeyPolicy::None, "session", false),
            (true, KeyPolicy::HardwareKey, "hardware_key", false),
            (false, KeyPolicy::HardwareKey, "hardware_key", false),
            (
                true,
                KeyPolicy::HardwareKeyTouch,
                "hardware_key_touch",
                false,
            ),
            (false, KeyPolicy::HardwareKeyPin, "hardware_key_pin", false),
            (
                true,
                KeyPolicy::HardwareKeyTouchAndPin,
                "hardware_key_touch_and_pin",
                false,
            ),
        ];
        for (session, key_policy, name, off) in cases {
            let r = Requirement {
                session,
                key_policy,
            };
            assert_eq!(r.name(), name);
            assert_eq!(r.is_off(), off, "{name}");
        }
    }

    #[test]
    fn combine_is_or_and_strictest() {
        let a = Requirement {
            session: true,
            key_policy: KeyPolicy::HardwareKeyTouch,
        };
        let b = Requirement {
            session: false,
            key_policy: KeyPolicy::HardwareKeyPin,
        };
        assert_eq!(
            a.combine(b),
            Requirement {
                session: true,
                key_policy: KeyPolicy::HardwareKeyTouchAndPin
            }
        );
        assert_eq!(Requirement::OFF.combine(Requirement::OFF), Requirement::OFF);
    }
}
