//! Yubico's PIV attestation extensions (developers.yubico.com/PIV/Introduction/
//! PIV_attestation.html), read from a slot attestation certificate.

use std::fmt;

use x509_parser::certificate::X509Certificate;

/// Firmware version: 3 raw bytes.
pub const OID_FIRMWARE: &str = "1.3.6.1.4.1.41482.3.3";
/// Serial number: a DER INTEGER.
pub const OID_SERIAL: &str = "1.3.6.1.4.1.41482.3.7";
/// PIN policy and touch policy: 2 raw bytes.
pub const OID_POLICY: &str = "1.3.6.1.4.1.41482.3.8";
/// Form factor: 1 raw byte (low bits: the form; 0x80 FIPS, 0x40 CSPN).
pub const OID_FORM_FACTOR: &str = "1.3.6.1.4.1.41482.3.9";

/// When the key asks for its PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinPolicy {
    /// 0: the slot's default, not stated in the certificate.
    Default,
    /// 1.
    Never,
    /// 2: once per session.
    Once,
    /// 3: for every use.
    Always,
    /// 4: a fingerprint once per session (YubiKey Bio).
    MatchOnce,
    /// 5: a fingerprint for every use (YubiKey Bio).
    MatchAlways,
}

/// When the key asks for a touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TouchPolicy {
    /// 0: the slot's default, not stated in the certificate.
    Default,
    /// 1.
    Never,
    /// 2: for every use.
    Always,
    /// 3: a touch serves the next 15 seconds.
    Cached,
}

/// The key's form factor byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FormFactor(pub u8);

impl FormFactor {
    /// The form, without the flag bits.
    pub fn name(self) -> &'static str {
        match self.0 & 0x0f {
            0x01 => "usb-a keychain",
            0x02 => "usb-a nano",
            0x03 => "usb-c keychain",
            0x04 => "usb-c nano",
            0x05 => "usb-c lightning",
            0x06 => "usb-a bio",
            0x07 => "usb-c bio",
            _ => "unspecified",
        }
    }

    /// A FIPS-validated key (bit 0x80).
    pub fn fips(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// A CSPN-certified key (bit 0x40).
    pub fn cspn(self) -> bool {
        self.0 & 0x40 != 0
    }
}

impl fmt::Display for FormFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if self.fips() {
            f.write_str(" fips")?;
        }
        if self.cspn() {
            f.write_str(" cspn")?;
        }
        Ok(())
    }
}

impl PinPolicy {
    pub(crate) fn from_byte(b: u8) -> Result<PinPolicy, String> {
        Ok(match b {
            0 => PinPolicy::Default,
            1 => PinPolicy::Never,
            2 => PinPolicy::Once,
            3 => PinPolicy::Always,
            4 => PinPolicy::MatchOnce,
            5 => PinPolicy::MatchAlways,
            _ => return Err(format!("unknown PIN policy {b}")),
        })
    }

    /// The byte Yubico's APDUs and extension use (0 default .. 5 match-always).
    pub fn byte(self) -> u8 {
        match self {
            PinPolicy::Default => 0,
            PinPolicy::Never => 1,
            PinPolicy::Once => 2,
            PinPolicy::Always => 3,
            PinPolicy::MatchOnce => 4,
            PinPolicy::MatchAlways => 5,
        }
    }

    /// `default`, `never`, `once`, `always`, `match-once`, `match-always`.
    pub fn name(self) -> &'static str {
        match self {
            PinPolicy::Default => "default",
            PinPolicy::Never => "never",
            PinPolicy::Once => "once",
            PinPolicy::Always => "always",
            PinPolicy::MatchOnce => "match-once",
            PinPolicy::MatchAlways => "match-always",
        }
    }
}

impl TouchPolicy {
    pub(crate) fn from_byte(b: u8) -> Result<TouchPolicy, String> {
        Ok(match b {
            0 => TouchPolicy::Default,
            1 => TouchPolicy::Never,
            2 => TouchPolicy::Always,
            3 => TouchPolicy::Cached,
            _ => return Err(format!("unknown touch policy {b}")),
        })
    }

    /// The byte Yubico's APDUs and extension use (0 default .. 3 cached).
    pub fn byte(self) -> u8 {
        match self {
            TouchPolicy::Default => 0,
            TouchPolicy::Never => 1,
            TouchPolicy::Always => 2,
            TouchPolicy::Cached => 3,
        }
    }

    /// `default`, `never`, `always`, `cached`.
    pub fn name(self) -> &'static str {
        match self {
            TouchPolicy::Default => "default",
            TouchPolicy::Never => "never",
            TouchPolicy::Always => "always",
            TouchPolicy::Cached => "cached",
        }
    }
}

/// What the slot certificate's Yubico extensions say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YubicoExtensions {
    pub firmware: Option<(u8, u8, u8)>,
    pub serial: Option<u32>,
    pub policy: Option<(PinPolicy, TouchPolicy)>,
    pub form_factor: Option<FormFactor>,
}

/// Whether a certificate carries the PIN/touch policy extension, i.e. is a
/// slot attestation (only the slot certificate may).
pub(crate) fn has_policy_extension(cert: &X509Certificate<'_>) -> bool {
    cert.extensions()
        .iter()
        .any(|e| e.oid.to_id_string() == OID_POLICY)
}

pub(crate) fn read(cert: &X509Certificate<'_>) -> Result<YubicoExtensions, String> {
    let mut out = YubicoExtensions {
        firmware: None,
        serial: None,
        policy: None,
        form_factor: None,
    };
    for ext in cert.extensions() {
        let v = ext.value;
        match ext.oid.to_id_string().as_str() {
            OID_FIRMWARE => match v {
                [a, b, c] => out.firmware = Some((*a, *b, *c)),
                _ => {
                    return Err(format!(
                        "firmware version extension has {} bytes, not 3",
                        v.len()
                    ))
                }
            },
            OID_SERIAL => {
                out.serial = Some(der_u32(v).map_err(|e| format!("serial number extension: {e}"))?)
            }
            OID_POLICY => match v {
                [pin, touch] => out.policy = Some(attested_policies(*pin, *touch)?),
                _ => {
                    return Err(format!(
                        "PIN/touch policy extension has {} bytes, not 2",
                        v.len()
                    ))
                }
            },
            OID_FORM_FACTOR => match v {
                [b] => out.form_factor = Some(FormFactor(*b)),
                _ => {
                    return Err(format!(
                        "form factor extension has {} bytes, not 1",
                        v.len()
                    ))
                }
            },
            _ => {}
        }
    }
    Ok(out)
}

/// A non-negative DER INTEGER that fits in 32 bits (YubiKey serials do).
/// The policy bytes of a slot attestation, as piv-go's `Verify` reads them
/// (Teleport's `AttestHardwareKey`): PIN 1-5, touch 1-3; a card states
/// the policy it applies, so 0 ("the slot's default") is no attestation.
fn attested_policies(pin: u8, touch: u8) -> Result<(PinPolicy, TouchPolicy), String> {
    if pin == 0 || touch == 0 {
        return Err(format!(
            "PIN/touch policy extension states no policy (PIN {pin}, touch {touch})"
        ));
    }
    Ok((PinPolicy::from_byte(pin)?, TouchPolicy::from_byte(touch)?))
}

fn der_u32(v: &[u8]) -> Result<u32, String> {
    let (tag, rest) = v.split_first().ok_or("empty")?;
    let (len, body) = rest.split_first().ok_or("truncated")?;
    if *tag != 0x02 || usize::from(*len) != body.len() || body.is_empty() || *len > 0x7f {
        return Err("not a DER INTEGER".into());
    }
    if body[0] & 0x80 != 0 {
        return Err("negative".into());
    }
    let digits = match body {
        [0, rest @ ..] if !rest.is_empty() => rest,
        b => b,
    };
    if digits.len() > 4 {
        return Err("larger than 32 bits".into());
    }
    Ok(digits.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers() {
        assert_eq!(der_u32(&[2, 1, 0]), Ok(0));
        assert_eq!(der_u32(&[2, 3, 0x01, 0x86, 0xa0]), Ok(100_000));
        assert_eq!(der_u32(&[2, 5, 0, 0xff, 0xff, 0xff, 0xff]), Ok(u32::MAX));
        for bad in [
            &[][..],
            &[2],
            &[2, 2, 1],
            &[4, 1, 1],
            &[2, 1, 0x80],
            &[2, 5, 1, 0, 0, 0, 0],
        ] {
            assert!(der_u32(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn policy_bytes() {
        assert_eq!(PinPolicy::from_byte(3), Ok(PinPolicy::Always));
        assert_eq!(TouchPolicy::from_byte(3), Ok(TouchPolicy::Cached));
        assert_eq!(PinPolicy::from_byte(4), Ok(PinPolicy::MatchOnce));
        assert_eq!(PinPolicy::from_byte(5), Ok(PinPolicy::MatchAlways));
        assert!(PinPolicy::from_byte(6).is_err());
        // In an attestation, as piv-go: a YubiKey Bio's policies read, the
        // slot default (0) or an unknown byte refused.
        assert_eq!(
            attested_policies(5, 2),
            Ok((PinPolicy::MatchAlways, TouchPolicy::Always))
        );
        assert!(attested_policies(0, 2).is_err());
        assert!(attested_policies(2, 0).is_err());
        assert!(attested_policies(2, 4).is_err());
        assert!(TouchPolicy::from_byte(9).is_err());
        let f = FormFactor(0x83);
        assert_eq!(
            (f.name(), f.fips(), f.cspn()),
            ("usb-c keychain", true, false)
        );
        assert_eq!(f.to_string(), "usb-c keychain fips");
    }
}
