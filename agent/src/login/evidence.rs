//! What was proven during one authentication, and whether it satisfies a
//! requirement (DESIGN.md, "What satisfies a requirement").

use crate::policy::Requirement;

/// The class of the key that authenticated, from what sshd verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyClass {
    /// A file key, or nothing at all.
    None,
    /// A hardware key whose use did not need a touch or a PIN.
    Hardware,
    /// A hardware key with a verified touch (user presence).
    Touch,
    /// A hardware key with verified user verification (PIN), no touch.
    Pin,
    /// Both.
    TouchAndPin,
}

impl KeyClass {
    pub fn name(self) -> &'static str {
        match self {
            KeyClass::None => "none",
            KeyClass::Hardware => "hardware",
            KeyClass::Touch => "touch",
            KeyClass::Pin => "pin",
            KeyClass::TouchAndPin => "touch_and_pin",
        }
    }

    fn has_touch(self) -> bool {
        matches!(self, KeyClass::Touch | KeyClass::TouchAndPin)
    }

    fn has_pin(self) -> bool {
        matches!(self, KeyClass::Pin | KeyClass::TouchAndPin)
    }

    fn is_hardware(self) -> bool {
        self != KeyClass::None
    }

    /// Teleport counts a touch or a PIN on the login key as MFA for the
    /// session (`PrivateKeyPolicy.MFAVerified`).
    pub(super) fn counts_as_session_mfa(self) -> bool {
        self.has_touch() || self.has_pin()
    }
}

/// Whether a login key of `class` satisfies `req`; `Err` says what is missing
/// in words for the person at the prompt.
pub fn check(req: &Requirement, class: KeyClass) -> Result<(), String> {
    let kp = req.key_policy;
    if kp.needs_hardware() && !class.is_hardware() {
        return Err(format!("{} requires a hardware security key", req.name()));
    }
    if kp.needs_touch() && !class.has_touch() {
        return Err(format!(
            "{} requires a touch of your security key",
            req.name()
        ));
    }
    if kp.needs_pin() && !class.has_pin() {
        return Err(format!(
            "{} requires your security key's PIN (user verification)",
            req.name()
        ));
    }
    if req.session && !class.counts_as_session_mfa() {
        return Err(
            "this login requires MFA for the session (a touch of your security key)".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::KeyPolicy;

    fn req(session: bool, key_policy: KeyPolicy) -> Requirement {
        Requirement {
            session,
            key_policy,
        }
    }

    #[test]
    fn table() {
        use KeyClass::*;
        use KeyPolicy as K;
        // (requirement, class, satisfied)
        let cases = [
            (req(false, K::None), None, true),
            (req(true, K::None), None, false),
            (req(true, K::None), Hardware, false),
            (req(true, K::None), Touch, true),
            (req(true, K::None), Pin, true),
            (req(false, K::HardwareKey), None, false),
            (req(false, K::HardwareKey), Hardware, true),
            (req(true, K::HardwareKey), Hardware, false),
            (req(true, K::HardwareKey), Touch, true),
            (req(true, K::HardwareKeyTouch), Touch, true),
            (req(true, K::HardwareKeyTouch), Pin, false),
            (req(false, K::HardwareKeyTouch), Hardware, false),
            (req(true, K::HardwareKeyPin), Touch, false),
            (req(true, K::HardwareKeyPin), Pin, true),
            (req(true, K::HardwareKeyPin), TouchAndPin, true),
            (req(true, K::HardwareKeyTouchAndPin), Touch, false),
            (req(true, K::HardwareKeyTouchAndPin), Pin, false),
            (req(true, K::HardwareKeyTouchAndPin), TouchAndPin, true),
        ];
        for (r, class, ok) in cases {
            assert_eq!(
                check(&r, class).is_ok(),
                ok,
                "{} with {}",
                r.name(),
                class.name()
            );
        }
    }
}
