//! What went wrong talking to a PIV card: always the step, and the status word
//! when the card answered with one.

use std::fmt;

/// An error from the card client. Every variant names what was being done
/// (`during`, e.g. "GENERATE in slot 9c"); none carries a PIN or a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardError {
    /// PC/SC itself failed (pcscd not running, no reader, the card removed...).
    Pcsc { during: String, message: String },
    /// No reader matched, or no card was inserted before the deadline.
    NoCard(String),
    /// The card answered a status word other than 9000.
    Status { during: String, sw: u16 },
    /// VERIFY PIN failed: tries left (63Cx), or blocked (6983: `left == 0`).
    WrongPin { left: u8 },
    /// The card needs the PIN first (6982 on a PIN-protected operation).
    PinRequired { during: String },
    /// The card asked for a touch and none came before its own timeout (6982
    /// after a touch wait, or 6985).
    TouchRequired { during: String },
    /// The slot is empty or the object absent (6A82).
    NotFound { during: String },
    /// The card's answer does not parse.
    Malformed { during: String, message: String },
    /// The caller asked for something the client refuses before sending it.
    Invalid(String),
}

impl CardError {
    /// The status word the card answered, when that is what failed.
    pub fn status_word(&self) -> Option<u16> {
        match self {
            CardError::Status { sw, .. } => Some(*sw),
            CardError::WrongPin { left: 0 } => Some(0x6983),
            CardError::WrongPin { left } => Some(0x63C0 | u16::from(*left)),
            CardError::PinRequired { .. } | CardError::TouchRequired { .. } => Some(0x6982),
            CardError::NotFound { .. } => Some(0x6A82),
            _ => None,
        }
    }
}

/// What a status word means, in words.
pub fn status_text(sw: u16) -> &'static str {
    match sw {
        0x6300..=0x63FF => "verification failed",
        0x6581 => "memory failure",
        0x6700 => "wrong length",
        0x6882 => "secure messaging not supported",
        0x6982 => "security status not satisfied",
        0x6983 => "authentication method blocked",
        0x6985 => "conditions of use not satisfied",
        0x6A80 => "incorrect data",
        0x6A81 => "function not supported",
        0x6A82 => "not found",
        0x6A84 => "not enough memory",
        0x6A86 => "incorrect P1/P2",
        0x6A88 => "referenced data not found",
        0x6D00 => "instruction not supported",
        0x6E00 => "class not supported",
        _ => "unexpected status",
    }
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardError::Pcsc { during, message } => write!(f, "{during}: PC/SC: {message}"),
            CardError::NoCard(m) => f.write_str(m),
            CardError::Status { during, sw } => {
                write!(
                    f,
                    "{during}: the card answered {sw:04X} ({})",
                    status_text(*sw)
                )
            }
            CardError::WrongPin { left: 0 } => {
                f.write_str("VERIFY PIN: wrong PIN; the PIN is now blocked (6983)")
            }
            CardError::WrongPin { left } => write!(
                f,
                "VERIFY PIN: wrong PIN, {left} {} left (63C{left:X})",
                if *left == 1 { "try" } else { "tries" }
            ),
            CardError::PinRequired { during } => {
                write!(f, "{during}: the card wants the PIN first (6982)")
            }
            CardError::TouchRequired { during } => {
                write!(f, "{during}: the key was not touched in time (6982)")
            }
            CardError::NotFound { during } => write!(f, "{during}: not found on the card (6A82)"),
            CardError::Malformed { during, message } => {
                write!(f, "{during}: the card's answer does not parse: {message}")
            }
            CardError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CardError {}

/// `CardError::Malformed` for `during`.
pub(crate) fn malformed(during: &str, message: impl Into<String>) -> CardError {
    CardError::Malformed {
        during: during.to_owned(),
        message: message.into(),
    }
}
