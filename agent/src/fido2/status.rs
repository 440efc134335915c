//! CTAP2 status codes: their names, and the errors pam-mfa tells apart
//! (shared by every command: getAssertion, makeCredential, getInfo,
//! ClientPIN).

use super::Fido2Error;

/// The status byte of a successful reply.
pub const STATUS_OK: u8 = 0x00;

/// CTAP2 status codes pam-mfa tells apart.
const ERR_INVALID_OPTION: u8 = 0x2c;
const ERR_UNSUPPORTED_OPTION: u8 = 0x2b;
const ERR_OPERATION_DENIED: u8 = 0x27;
const ERR_KEEPALIVE_CANCEL: u8 = 0x2d;
const ERR_NO_CREDENTIALS: u8 = 0x2e;
const ERR_USER_ACTION_TIMEOUT: u8 = 0x2f;
const ERR_PIN_NOT_SET: u8 = 0x35;
const ERR_PIN_INVALID: u8 = 0x31;
const ERR_PIN_AUTH_BLOCKED: u8 = 0x34;
const ERR_PIN_REQUIRED: u8 = 0x36;
const ERR_PIN_BLOCKED: u8 = 0x32;
const ERR_UV_BLOCKED: u8 = 0x3c;
const ERR_ACTION_TIMEOUT: u8 = 0x3a;

/// The name of a CTAP2 status code.
pub fn status_name(code: u8) -> &'static str {
    match code {
        0x00 => "CTAP2_OK",
        0x01 => "CTAP1_ERR_INVALID_COMMAND",
        0x02 => "CTAP1_ERR_INVALID_PARAMETER",
        0x03 => "CTAP1_ERR_INVALID_LENGTH",
        0x11 => "CTAP2_ERR_CBOR_UNEXPECTED_TYPE",
        0x12 => "CTAP2_ERR_INVALID_CBOR",
        0x14 => "CTAP2_ERR_MISSING_PARAMETER",
        0x26 => "CTAP2_ERR_UNSUPPORTED_ALGORITHM",
        ERR_OPERATION_DENIED => "CTAP2_ERR_OPERATION_DENIED",
        ERR_UNSUPPORTED_OPTION => "CTAP2_ERR_UNSUPPORTED_OPTION",
        ERR_INVALID_OPTION => "CTAP2_ERR_INVALID_OPTION",
        ERR_KEEPALIVE_CANCEL => "CTAP2_ERR_KEEPALIVE_CANCEL",
        ERR_NO_CREDENTIALS => "CTAP2_ERR_NO_CREDENTIALS",
        ERR_USER_ACTION_TIMEOUT => "CTAP2_ERR_USER_ACTION_TIMEOUT",
        ERR_PIN_INVALID => "CTAP2_ERR_PIN_INVALID",
        ERR_PIN_BLOCKED => "CTAP2_ERR_PIN_BLOCKED",
        0x33 => "CTAP2_ERR_PIN_AUTH_INVALID",
        ERR_PIN_AUTH_BLOCKED => "CTAP2_ERR_PIN_AUTH_BLOCKED",
        ERR_PIN_NOT_SET => "CTAP2_ERR_PIN_NOT_SET",
        ERR_PIN_REQUIRED => "CTAP2_ERR_PIN_REQUIRED",
        ERR_ACTION_TIMEOUT => "CTAP2_ERR_ACTION_TIMEOUT",
        0x3b => "CTAP2_ERR_UP_REQUIRED",
        ERR_UV_BLOCKED => "CTAP2_ERR_UV_BLOCKED",
        0x3e => "CTAP2_ERR_INVALID_SUBCOMMAND",
        0x40 => "CTAP2_ERR_UNAUTHORIZED_PERMISSION",
        0x7f => "CTAP1_ERR_OTHER",
        _ => "unknown status",
    }
}

/// Maps a CTAP2 status byte (not OK) to an error.
pub fn status_error(code: u8, user_verification: bool) -> Fido2Error {
    match code {
        ERR_NO_CREDENTIALS => Fido2Error::NoCredentials,
        ERR_OPERATION_DENIED
        | ERR_KEEPALIVE_CANCEL
        | ERR_USER_ACTION_TIMEOUT
        | ERR_ACTION_TIMEOUT => Fido2Error::Denied,
        ERR_PIN_INVALID => Fido2Error::PinInvalid { retries: None },
        ERR_PIN_BLOCKED => Fido2Error::PinBlocked,
        ERR_PIN_AUTH_BLOCKED => Fido2Error::PinAuthBlocked,
        ERR_PIN_NOT_SET => Fido2Error::PinNotSet,
        ERR_PIN_REQUIRED | ERR_UV_BLOCKED => Fido2Error::UserVerificationUnavailable(format!(
            "the key answered {}: it verifies its user with a PIN, not on its own",
            status_name(code)
        )),
        ERR_UNSUPPORTED_OPTION | ERR_INVALID_OPTION if user_verification => {
            Fido2Error::UserVerificationUnavailable(
                "the key has no built-in user verification".into(),
            )
        }
        other => Fido2Error::Ctap(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_statuses_are_named_errors() {
        assert_eq!(
            status_error(0x31, false),
            Fido2Error::PinInvalid { retries: None }
        );
        assert_eq!(status_error(0x32, false), Fido2Error::PinBlocked);
        assert_eq!(status_error(0x34, false), Fido2Error::PinAuthBlocked);
        assert_eq!(status_error(0x35, true), Fido2Error::PinNotSet);
        assert_eq!(status_name(0x3e), "CTAP2_ERR_INVALID_SUBCOMMAND");
    }
}
