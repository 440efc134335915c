//! Teleport's private key policy: what kind of key a login must come from.

use std::fmt;

/// Teleport's `PrivateKeyPolicy`, as far as hosts are concerned.
///
/// Ordered from weakest to strictest only partially: `HardwareKeyTouch` and
/// `HardwareKeyPin` are not comparable, and together make `HardwareKeyTouchAndPin`
/// (see [`KeyPolicy::strictest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyPolicy {
    /// Any key.
    #[default]
    None,
    /// A key that lives on a hardware token.
    HardwareKey,
    /// A hardware key that needs a touch for every use.
    HardwareKeyTouch,
    /// A hardware key that needs its PIN for every use.
    HardwareKeyPin,
    /// A hardware key that needs both a touch and its PIN.
    HardwareKeyTouchAndPin,
}

impl KeyPolicy {
    /// The policy that satisfies both `self` and `other` (Teleport's
    /// `PolicyThatSatisfiesSet`): touch + pin = touch_and_pin.
    pub fn strictest(self, other: KeyPolicy) -> KeyPolicy {
        let touch = self.needs_touch() || other.needs_touch();
        let pin = self.needs_pin() || other.needs_pin();
        let hardware = self.needs_hardware() || other.needs_hardware();
        match (touch, pin, hardware) {
            (true, true, _) => KeyPolicy::HardwareKeyTouchAndPin,
            (true, false, _) => KeyPolicy::HardwareKeyTouch,
            (false, true, _) => KeyPolicy::HardwareKeyPin,
            (false, false, true) => KeyPolicy::HardwareKey,
            (false, false, false) => KeyPolicy::None,
        }
    }

    /// Whether every use of the key needs a touch.
    pub fn needs_touch(self) -> bool {
        matches!(
            self,
            KeyPolicy::HardwareKeyTouch | KeyPolicy::HardwareKeyTouchAndPin
        )
    }

    /// Whether every use of the key needs the PIN.
    pub fn needs_pin(self) -> bool {
        matches!(
            self,
            KeyPolicy::HardwareKeyPin | KeyPolicy::HardwareKeyTouchAndPin
        )
    }

    /// Whether the key must live on a hardware token.
    pub fn needs_hardware(self) -> bool {
        self != KeyPolicy::None
    }

    /// Teleport's spelling: `none`, `hardware_key`, `hardware_key_touch`,
    /// `hardware_key_pin`, `hardware_key_touch_and_pin`.
    pub fn name(self) -> &'static str {
        match self {
            KeyPolicy::None => "none",
            KeyPolicy::HardwareKey => "hardware_key",
            KeyPolicy::HardwareKeyTouch => "hardware_key_touch",
            KeyPolicy::HardwareKeyPin => "hardware_key_pin",
            KeyPolicy::HardwareKeyTouchAndPin => "hardware_key_touch_and_pin",
        }
    }
}

impl fmt::Display for KeyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::KeyPolicy::{self, *};

    #[test]
    fn strictest_table() {
        let cases: &[(KeyPolicy, KeyPolicy, KeyPolicy)] = &[
            (None, None, None),
            (None, HardwareKey, HardwareKey),
            (HardwareKey, None, HardwareKey),
            (HardwareKey, HardwareKeyTouch, HardwareKeyTouch),
            (HardwareKeyPin, HardwareKey, HardwareKeyPin),
            (HardwareKeyTouch, HardwareKeyPin, HardwareKeyTouchAndPin),
            (HardwareKeyPin, HardwareKeyTouch, HardwareKeyTouchAndPin),
            (HardwareKeyTouchAndPin, None, HardwareKeyTouchAndPin),
            (
                HardwareKeyTouchAndPin,
                HardwareKeyTouch,
                HardwareKeyTouchAndPin,
            ),
            (HardwareKeyTouch, HardwareKeyTouch, HardwareKeyTouch),
        ];
        for &(a, b, want) in cases {
            assert_eq!(a.strictest(b), want, "{a} + {b}");
        }
    }

    #[test]
    fn predicates() {
        let cases = [
            (None, false, false, false),
            (HardwareKey, false, false, true),
            (HardwareKeyTouch, true, false, true),
            (HardwareKeyPin, false, true, true),
            (HardwareKeyTouchAndPin, true, true, true),
        ];
        for (p, touch, pin, hw) in cases {
            assert_eq!(
                (p.needs_touch(), p.needs_pin(), p.needs_hardware()),
                (touch, pin, hw),
                "{p}"
            );
        }
    }
}
