//! Calling the application's conversation function.

use std::ffi::CString;
use std::os::raw::{c_int, c_void};
use std::ptr;

use super::consts::{
    PAM_CONV, PAM_ERROR_MSG, PAM_MAX_NUM_MSG, PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON, PAM_SUCCESS,
    PAM_TEXT_INFO,
};
use super::sys::{pam_get_item, PamConv, PamHandleT, PamMessage, PamResponse};
use crate::handle::{ConvError, Prompt, PromptStyle};
use crate::secret::{wipe_bytes, wipe_responses};

/// Shows `prompts` in one conversation call and returns one response per
/// prompt. Every response buffer is zeroed before it is freed, on success
/// and on failure.
///
/// # Safety
/// `pamh` must be the live handle of the current `pam_sm_*` call.
pub unsafe fn converse(
    pamh: *mut PamHandleT,
    prompts: &[Prompt],
) -> Result<Vec<Option<String>>, ConvError> {
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    if prompts.len() > PAM_MAX_NUM_MSG {
        return Err(ConvError::BadReply("too many prompts for one call"));
    }
    let mut item: *const c_void = ptr::null();
    // SAFETY: the caller promises a live handle; `item` is a valid out-pointer.
    let rc = unsafe { pam_get_item(pamh, PAM_CONV, &mut item) };
    if rc != PAM_SUCCESS || item.is_null() {
        return Err(ConvError::Unavailable);
    }
    // SAFETY: PAM_CONV is a `struct pam_conv` owned by PAM for the life of
    // the handle; it is only read here.
    let conv = unsafe { &*item.cast::<PamConv>() };
    let Some(function) = conv.conv else {
        return Err(ConvError::Unavailable);
    };

    let texts = prompts
        .iter()
        .map(|p| CString::new(p.text.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ConvError::BadReply("a prompt holds a NUL byte"))?;
    let messages: Vec<PamMessage> = prompts
        .iter()
        .zip(&texts)
        .map(|(p, text)| PamMessage {
            msg_style: style_code(p.style),
            msg: text.as_ptr(),
        })
        .collect();
    // Linux-PAM reads `msg[i]->...`, Solaris `(*msg)[i]...`: an array of
    // pointers into one contiguous array serves both.
    let mut pointers: Vec<*const PamMessage> = messages.iter().map(ptr::from_ref).collect();
    let count = prompts.len();
    let mut replies: *mut PamResponse = ptr::null_mut();

    // SAFETY: `pointers` holds `count` (<= PAM_MAX_NUM_MSG) pointers to
    // `PamMessage`s whose texts are NUL-terminated, all alive until after
    // the call; `replies` is a valid out-pointer; `appdata_ptr` is passed
    // back as the application registered it.
    let rc = unsafe {
        function(
            count as c_int,
            pointers.as_mut_ptr(),
            &mut replies,
            conv.appdata_ptr,
        )
    };
    // SAFETY: the conversation function returns null or a malloc'd array of
    // `count` responses, each with a null or malloc'd NUL-terminated text,
    // that the module now owns.
    let responses = unsafe { take_responses(replies, count) };
    drop(pointers);
    drop(messages);

    if rc != PAM_SUCCESS {
        responses.into_iter().flatten().for_each(wipe_bytes);
        return Err(ConvError::Failed(rc));
    }
    utf8_responses(responses)
}

/// The responses as text; any one that is not UTF-8 refuses them all
/// (every one wiped).
fn utf8_responses(responses: Vec<Option<Vec<u8>>>) -> Result<Vec<Option<String>>, ConvError> {
    let mut out = Vec::with_capacity(responses.len());
    let mut bad = false;
    for response in responses {
        match response.map(String::from_utf8) {
            None => out.push(None),
            Some(Ok(text)) => out.push(Some(text)),
            Some(Err(e)) => {
                bad = true;
                wipe_bytes(e.into_bytes());
                out.push(None);
            }
        }
    }
    if bad {
        wipe_responses(out);
        return Err(ConvError::BadReply("a response is not UTF-8"));
    }
    Ok(out)
}

/// Copies the responses out of the application's buffers, zeroes those
/// buffers and frees them.
///
/// # Safety
/// `replies` must be null or a `malloc`'d array of `count` `PamResponse`s,
/// each `resp` null or a `malloc`'d NUL-terminated string, owned by the
/// caller and not used after this call.
unsafe fn take_responses(replies: *mut PamResponse, count: usize) -> Vec<Option<Vec<u8>>> {
    if replies.is_null() {
        return vec![None; count];
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: `i < count` and the array holds `count` responses.
        let reply = unsafe { &mut *replies.add(i) };
        if reply.resp.is_null() {
            out.push(None);
            continue;
        }
        // SAFETY: `resp` is a NUL-terminated string (see the contract).
        let len = unsafe { libc::strlen(reply.resp) };
        // SAFETY: `resp` points to `len` readable bytes before its NUL.
        let bytes = unsafe { std::slice::from_raw_parts(reply.resp.cast::<u8>(), len) }.to_vec();
        for j in 0..len {
            // SAFETY: `j < len`, inside the buffer; volatile so the zeroing
            // is not removed as a dead store before `free`.
            unsafe { ptr::write_volatile(reply.resp.add(j), 0) };
        }
        // SAFETY: `resp` was malloc'd by the application and is owned here;
        // it is not used again.
        unsafe { libc::free(reply.resp.cast()) };
        reply.resp = ptr::null_mut();
        out.push(Some(bytes));
    }
    // SAFETY: the array was malloc'd by the application and is owned here;
    // it is not used again.
    unsafe { libc::free(replies.cast()) };
    out
}

fn style_code(style: PromptStyle) -> c_int {
    match style {
        PromptStyle::EchoOff => PAM_PROMPT_ECHO_OFF,
        PromptStyle::EchoOn => PAM_PROMPT_ECHO_ON,
        PromptStyle::Error => PAM_ERROR_MSG,
        PromptStyle::Info => PAM_TEXT_INFO,
    }
}
