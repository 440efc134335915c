//! A PIV key's class, as Teleport's private key policy: what an attested key
//! proves, and whether that meets a `hardware_key*` requirement.

use super::attestation::Attestation;
use super::extensions::{PinPolicy, TouchPolicy};
use crate::policy::KeyPolicy;

/// The class of an attested PIV key (Teleport's
/// `GetPrivateKeyPolicyFromAttestation`): touch `always` or `cached` counts
/// as touch, PIN `once` or `always` as PIN; a YubiKey Bio's fingerprint
/// (`match-once`, `match-always`) is no PIN. A policy left at the slot
/// default (0) counts as neither (an attestation never states it).
pub fn key_class(pin: PinPolicy, touch: TouchPolicy) -> KeyPolicy {
    let touch = matches!(touch, TouchPolicy::Always | TouchPolicy::Cached);
    let pin = matches!(pin, PinPolicy::Once | PinPolicy::Always);
    match (touch, pin) {
        (true, true) => KeyPolicy::HardwareKeyTouchAndPin,
        (true, false) => KeyPolicy::HardwareKeyTouch,
        (false, true) => KeyPolicy::HardwareKeyPin,
        (false, false) => KeyPolicy::HardwareKey,
    }
}

/// [`key_class`] of a verified attestation.
pub fn attested_class(att: &Attestation) -> KeyPolicy {
    key_class(att.pin_policy, att.touch_policy)
}

/// Whether a key of class `class` meets `required` (Teleport's
/// `IsSatisfiedBy`): each of hardware, touch and PIN that `required` needs,
/// `class` has.
pub fn satisfies(class: KeyPolicy, required: KeyPolicy) -> bool {
    (!required.needs_hardware() || class.needs_hardware())
        && (!required.needs_touch() || class.needs_touch())
        && (!required.needs_pin() || class.needs_pin())
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyPolicy::*;

    #[test]
    fn policies_to_class() {
        use PinPolicy as P;
        use TouchPolicy as T;
        let cases = [
            (P::Never, T::Never, HardwareKey),
            (P::Default, T::Default, HardwareKey),
            (P::Never, T::Always, HardwareKeyTouch),
            (P::Never, T::Cached, HardwareKeyTouch),
            (P::Default, T::Always, HardwareKeyTouch),
            (P::Once, T::Never, HardwareKeyPin),
            (P::Always, T::Default, HardwareKeyPin),
            (P::Once, T::Cached, HardwareKeyTouchAndPin),
            (P::Always, T::Always, HardwareKeyTouchAndPin),
            (P::MatchOnce, T::Always, HardwareKeyTouch),
            (P::MatchAlways, T::Never, HardwareKey),
        ];
        for (pin, touch, want) in cases {
            assert_eq!(
                key_class(pin, touch),
                want,
                "pin {} touch {}",
                pin.name(),
                touch.name()
            );
        }
    }

    #[test]
    fn class_against_requirement() {
        let all = [
            None,
            HardwareKey,
            HardwareKeyTouch,
            HardwareKeyPin,
            HardwareKeyTouchAndPin,
        ];
        // (class, requirements it meets)
        let table: [(KeyPolicy, &[KeyPolicy]); 5] = [
            (None, &[None]),
            (HardwareKey, &[None, HardwareKey]),
            (HardwareKeyTouch, &[None, HardwareKey, HardwareKeyTouch]),
            (HardwareKeyPin, &[None, HardwareKey, HardwareKeyPin]),
            (HardwareKeyTouchAndPin, &all),
        ];
        for (class, meets) in table {
            for req in all {
                assert_eq!(
                    satisfies(class, req),
                    meets.contains(&req),
                    "{class} vs {req}"
                );
            }
        }
        // Agrees with KeyPolicy's own ordering: a class meets r iff adding r changes nothing.
        for class in all {
            for req in all {
                if class != None {
                    assert_eq!(
                        satisfies(class, req),
                        class.strictest(req) == class,
                        "{class} {req}"
                    );
                }
            }
        }
    }
}
