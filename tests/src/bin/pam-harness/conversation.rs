//! The scripted conversation: prompts answered from `--answer`s in order,
//! messages printed one per line, a greeter's Cancel, a prompt held.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::Write;

use pam_mfa_e2e::pam_ffi::*;

/// The conversation's state, reached through `appdata_ptr`.
pub struct Script {
    pub answers: VecDeque<String>,
    pub give_up_on_info: Option<String>,
    pub hold_on_prompt: Option<u64>,
}

pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // Output errors (a closed pipe) are not the harness's business.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints `text` with newlines escaped so each message stays on one line.
fn one_line(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

pub extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int {
    let result = std::panic::catch_unwind(|| converse(num_msg, msg, resp, appdata_ptr));
    result.unwrap_or(PAM_CONV_ERR)
}

fn converse(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int {
    let Ok(n) = usize::try_from(num_msg) else {
        return PAM_CONV_ERR;
    };
    if n == 0 || msg.is_null() || resp.is_null() || appdata_ptr.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: appdata_ptr is the `Script` that main() passed in `PamConv` and that
    // outlives the PAM handle; PAM calls the conversation from this thread only.
    let script = unsafe { &mut *appdata_ptr.cast::<Script>() };
    // SAFETY: calloc returns zeroed memory (null `resp` pointers) or null; PAM
    // frees the array and the strings in it with free().
    let replies =
        unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if replies.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..n {
        // SAFETY: Linux-PAM passes `msg` as an array of `n` pointers to messages
        // (the layout its own applications use).
        let m = unsafe { &**msg.add(i) };
        let text = if m.msg.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null message text is a NUL-terminated C string owned by PAM.
            unsafe { CStr::from_ptr(m.msg) }
                .to_string_lossy()
                .into_owned()
        };
        match m.msg_style {
            PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON => {
                match answer_prompt(script, m.msg_style == PAM_PROMPT_ECHO_ON, &text) {
                    // SAFETY: `replies` has room for `n` entries.
                    Ok(copy) => unsafe { (*replies.add(i)).resp = copy },
                    Err(code) => {
                        free_replies(replies, n);
                        return code;
                    }
                }
            }
            PAM_TEXT_INFO => {
                say(&format!("INFO: {}", one_line(&text)));
                if script
                    .give_up_on_info
                    .as_deref()
                    .is_some_and(|t| text.contains(t))
                {
                    say("CONV: giving up");
                    free_replies(replies, n);
                    return PAM_CONV_ERR;
                }
            }
            PAM_ERROR_MSG => say(&format!("ERROR: {}", one_line(&text))),
            other => {
                say(&format!("CONV: unsupported message style {other}"));
                free_replies(replies, n);
                return PAM_CONV_ERR;
            }
        }
    }
    // SAFETY: `resp` is PAM's out pointer; ownership of `replies` passes to PAM.
    unsafe { *resp = replies };
    PAM_SUCCESS
}

/// Prints a prompt, holds it when asked to, and answers it with the next
/// scripted answer: a malloc'd copy that PAM will free, or the code to
/// return when there is none.
fn answer_prompt(script: &mut Script, echo_on: bool, text: &str) -> Result<*mut c_char, c_int> {
    let style = if echo_on { "echo_on" } else { "echo_off" };
    say(&format!("PROMPT({style}): {}", one_line(text)));
    if let Some(secs) = script.hold_on_prompt {
        say("CONV: holding the prompt");
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
    let Some(answer) = script.answers.pop_front() else {
        say("CONV: no answer left for this prompt");
        return Err(PAM_CONV_ERR);
    };
    let c = CString::new(answer).map_err(|_| PAM_CONV_ERR)?;
    // SAFETY: strdup copies a NUL-terminated string into malloc'd memory.
    let copy = unsafe { libc::strdup(c.as_ptr()) };
    if copy.is_null() {
        return Err(PAM_BUF_ERR);
    }
    Ok(copy)
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
