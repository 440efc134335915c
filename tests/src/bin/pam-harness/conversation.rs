//! The scripted conversation: prompts answered from `--answer`s in order,
//! messages printed one per line, a greeter's Cancel, a prompt held.

use std::collections::VecDeque;
use std::ffi::{c_int, c_void};
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
    if appdata_ptr.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: appdata_ptr is the `Script` that main() passed in `PamConv` and that
    // outlives the PAM handle; PAM calls the conversation from this thread only.
    let script = unsafe { &mut *appdata_ptr.cast::<Script>() };
    let answer = |style, text: &str| match style {
        PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON => {
            answer_prompt(script, style == PAM_PROMPT_ECHO_ON, text).map(Some)
        }
        PAM_TEXT_INFO => {
            say(&format!("INFO: {}", one_line(text)));
            let give_up = script
                .give_up_on_info
                .as_deref()
                .is_some_and(|t| text.contains(t));
            if give_up {
                say("CONV: giving up");
                return Err(PAM_CONV_ERR);
            }
            Ok(None)
        }
        PAM_ERROR_MSG => {
            say(&format!("ERROR: {}", one_line(text)));
            Ok(None)
        }
        other => {
            say(&format!("CONV: unsupported message style {other}"));
            Err(PAM_CONV_ERR)
        }
    };
    // SAFETY: the arguments are Linux-PAM's, passed on unchanged.
    unsafe { converse_each(num_msg, msg, resp, answer) }
}

/// Prints a prompt, holds it when asked to, and gives the next scripted
/// answer, or the code to return when there is none.
fn answer_prompt(script: &mut Script, echo_on: bool, text: &str) -> Result<String, c_int> {
    let style = if echo_on { "echo_on" } else { "echo_off" };
    say(&format!("PROMPT({style}): {}", one_line(text)));
    if let Some(secs) = script.hold_on_prompt {
        say("CONV: holding the prompt");
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
    script.answers.pop_front().ok_or_else(|| {
        say("CONV: no answer left for this prompt");
        PAM_CONV_ERR
    })
}
