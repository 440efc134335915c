//! Linux-PAM's application side, declared for the test tools (pam-harness,
//! pam-mfa-bench): `pam_start_confdir` runs a service from a private
//! directory. Test code: the callers hold the `unsafe` with SAFETY notes.

#![allow(missing_docs)]

use std::ffi::{c_char, c_int, c_void};

pub const PAM_SUCCESS: c_int = 0;
pub const PAM_BUF_ERR: c_int = 5;
pub const PAM_CONV_ERR: c_int = 19;

pub const PAM_TTY: c_int = 3;
pub const PAM_RHOST: c_int = 4;
pub const PAM_RUSER: c_int = 8;

pub const PAM_PROMPT_ECHO_OFF: c_int = 1;
pub const PAM_PROMPT_ECHO_ON: c_int = 2;
pub const PAM_ERROR_MSG: c_int = 3;
pub const PAM_TEXT_INFO: c_int = 4;

#[repr(C)]
pub struct PamHandle {
    _private: [u8; 0],
}

#[repr(C)]
pub struct PamMessage {
    pub msg_style: c_int,
    pub msg: *const c_char,
}

#[repr(C)]
pub struct PamResponse {
    pub resp: *mut c_char,
    pub resp_retcode: c_int,
}

pub type ConvFn = extern "C" fn(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int;

#[repr(C)]
pub struct PamConv {
    pub conv: ConvFn,
    pub appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    pub fn pam_start_confdir(
        service_name: *const c_char,
        user: *const c_char,
        pam_conversation: *const PamConv,
        confdir: *const c_char,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    pub fn pam_end(pamh: *mut PamHandle, pam_status: c_int) -> c_int;
    pub fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    pub fn pam_putenv(pamh: *mut PamHandle, name_value: *const c_char) -> c_int;
    pub fn pam_authenticate(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_acct_mgmt(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_open_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_close_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_strerror(pamh: *mut PamHandle, errnum: c_int) -> *const c_char;
}

/// What a conversation gives one message: a reply (to a prompt), none, or a
/// PAM code that ends the conversation.
pub type Reply = Result<Option<String>, c_int>;

/// The body of a PAM conversation function: `answer` is given each message's
/// style and text (lossy UTF-8; empty when PAM passed none), and PAM gets
/// the replies as it frees them (a calloc'd array of strdup'd strings).
/// Checks what PAM passed; on an error nothing is handed to PAM.
///
/// # Safety
///
/// The arguments are those Linux-PAM passed to the conversation function:
/// `msg` points to `num_msg` pointers to valid messages, and `resp` is a
/// valid place for the replies' array.
pub unsafe fn converse_each(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    mut answer: impl FnMut(c_int, &str) -> Reply,
) -> c_int {
    let Ok(n) = usize::try_from(num_msg) else {
        return PAM_CONV_ERR;
    };
    if n == 0 || msg.is_null() || resp.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: calloc returns zeroed memory (null `resp` pointers) or null;
    // PAM frees the array and the strings in it with free().
    let replies =
        unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if replies.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..n {
        // SAFETY: Linux-PAM passes `msg` as an array of `n` pointers to
        // messages (the layout its own applications use).
        let m = unsafe { &**msg.add(i) };
        let text = if m.msg.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null message text is a NUL-terminated C string owned by PAM.
            unsafe { std::ffi::CStr::from_ptr(m.msg) }
                .to_string_lossy()
                .into_owned()
        };
        let code = match answer(m.msg_style, &text) {
            Ok(None) => continue,
            Ok(Some(reply)) => match std::ffi::CString::new(reply) {
                Ok(c) => {
                    // SAFETY: strdup copies a NUL-terminated string into malloc'd memory.
                    let copy = unsafe { libc::strdup(c.as_ptr()) };
                    if !copy.is_null() {
                        // SAFETY: `replies` has room for `n` entries.
                        unsafe { (*replies.add(i)).resp = copy };
                        continue;
                    }
                    PAM_BUF_ERR
                }
                Err(_) => PAM_CONV_ERR,
            },
            Err(code) => code,
        };
        free_replies(replies, n);
        return code;
    }
    // SAFETY: `resp` is PAM's out pointer; ownership of `replies` passes to PAM.
    unsafe { *resp = replies };
    PAM_SUCCESS
}

fn free_replies(replies: *mut PamResponse, n: usize) {
    for i in 0..n {
        // SAFETY: `replies` holds `n` entries, each null or a strdup'd string.
        unsafe {
            let r = (*replies.add(i)).resp;
            if !r.is_null() {
                libc::free(r.cast());
            }
        }
    }
    // SAFETY: `replies` came from calloc and is not handed to PAM on this path.
    unsafe { libc::free(replies.cast()) };
}
