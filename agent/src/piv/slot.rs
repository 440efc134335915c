//! PIV key slots a login key may live in.

use std::fmt;

/// The four PIV key slots Teleport uses (NIST SP 800-73 names in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PivSlot {
    /// `9a` (PIV Authentication).
    Authentication,
    /// `9c` (Digital Signature).
    Signature,
    /// `9d` (Key Management).
    KeyManagement,
    /// `9e` (Card Authentication).
    CardAuthentication,
}

impl PivSlot {
    /// Reads `9a`, `9c`, `9d` or `9e` (any case, an optional `0x`).
    pub fn parse(text: &str) -> Result<PivSlot, String> {
        let t = text.trim().to_ascii_lowercase();
        match t.strip_prefix("0x").unwrap_or(&t) {
            "9a" => Ok(PivSlot::Authentication),
            "9c" => Ok(PivSlot::Signature),
            "9d" => Ok(PivSlot::KeyManagement),
            "9e" => Ok(PivSlot::CardAuthentication),
            _ => Err(format!("PIV slot {text:?} is not one of 9a, 9c, 9d, 9e")),
        }
    }

    /// `9a`, `9c`, `9d` or `9e`.
    pub fn name(self) -> &'static str {
        match self {
            PivSlot::Authentication => "9a",
            PivSlot::Signature => "9c",
            PivSlot::KeyManagement => "9d",
            PivSlot::CardAuthentication => "9e",
        }
    }

    /// The slot's key reference byte (`0x9a`...), as in PIV APDUs.
    pub fn key_reference(self) -> u8 {
        match self {
            PivSlot::Authentication => 0x9a,
            PivSlot::Signature => 0x9c,
            PivSlot::KeyManagement => 0x9d,
            PivSlot::CardAuthentication => 0x9e,
        }
    }
}

impl fmt::Display for PivSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::PivSlot;

    #[test]
    fn names_round_trip() {
        for s in ["9a", "9c", "9d", "9e"] {
            assert_eq!(PivSlot::parse(s).unwrap().name(), s);
        }
        assert_eq!(PivSlot::parse(" 0x9C ").unwrap(), PivSlot::Signature);
        assert_eq!(PivSlot::parse("9e").unwrap().key_reference(), 0x9e);
        for bad in ["", "9b", "f9", "82", "9a9"] {
            assert!(
                PivSlot::parse(bad).unwrap_err().contains("not one of"),
                "{bad}"
            );
        }
    }
}
