//! PAM return codes, item types, message styles and limits, as
//! `/usr/include/security/_pam_types.h` (Linux-PAM) defines them.

/// Successful function return.
pub const PAM_SUCCESS: i32 = 0;
/// Error in service module (here: bad module arguments).
pub const PAM_SERVICE_ERR: i32 = 3;
/// System error.
pub const PAM_SYSTEM_ERR: i32 = 4;
/// Memory buffer error.
pub const PAM_BUF_ERR: i32 = 5;
/// Permission denied.
pub const PAM_PERM_DENIED: i32 = 6;
/// Authentication failure.
pub const PAM_AUTH_ERR: i32 = 7;
/// The underlying authentication service (the agent) cannot be reached.
pub const PAM_AUTHINFO_UNAVAIL: i32 = 9;
/// User not known to the underlying authentication module.
pub const PAM_USER_UNKNOWN: i32 = 10;
/// An authentication service has maintained a retry count which has been
/// reached: no further retries should be attempted.
pub const PAM_MAXTRIES: i32 = 11;
/// Cannot make/remove an entry for the specified session.
pub const PAM_SESSION_ERR: i32 = 14;
/// Conversation error.
pub const PAM_CONV_ERR: i32 = 19;
/// Ignore this module.
pub const PAM_IGNORE: i32 = 25;
/// Critical error: the application should end the transaction now.
pub const PAM_ABORT: i32 = 26;
/// Event-driven conversation: call again later.
pub const PAM_CONV_AGAIN: i32 = 30;
/// Call this function again to complete authentication.
pub const PAM_INCOMPLETE: i32 = 31;

/// Item: the service name.
pub const PAM_SERVICE: i32 = 1;
/// Item: the user name.
pub const PAM_USER: i32 = 2;
/// Item: the tty name.
pub const PAM_TTY: i32 = 3;
/// Item: the remote host name.
pub const PAM_RHOST: i32 = 4;
/// Item: the `pam_conv` structure.
pub const PAM_CONV: i32 = 5;
/// Item: the remote (invoking) user name.
pub const PAM_RUSER: i32 = 8;

/// Message style: ask, do not echo the answer.
pub const PAM_PROMPT_ECHO_OFF: i32 = 1;
/// Message style: ask, echo the answer.
pub const PAM_PROMPT_ECHO_ON: i32 = 2;
/// Message style: show an error.
pub const PAM_ERROR_MSG: i32 = 3;
/// Message style: show a text.
pub const PAM_TEXT_INFO: i32 = 4;

/// Flag: the service should not generate any messages.
pub const PAM_SILENT: i32 = 0x8000;

/// Most messages in one conversation call.
pub const PAM_MAX_NUM_MSG: usize = 32;
/// Largest message, in bytes, including the terminating NUL.
pub const PAM_MAX_MSG_SIZE: usize = 512;
/// Largest response, in bytes.
pub const PAM_MAX_RESP_SIZE: usize = 512;
