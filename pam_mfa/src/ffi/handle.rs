//! [`PamHandle`] over a real `pam_handle_t`.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_void};
use std::ptr;

use super::consts::{
    PAM_RHOST, PAM_RUSER, PAM_SERVICE, PAM_SUCCESS, PAM_SYSTEM_ERR, PAM_TTY, PAM_USER,
    PAM_USER_UNKNOWN,
};
use super::conv;
use super::sys::{pam_get_item, pam_get_user, pam_getenv, PamHandleT};
use crate::handle::{ConvError, Item, NotUtf8, PamHandle, Prompt};

/// The handle of one `pam_sm_*` call.
pub struct RealHandle {
    pamh: *mut PamHandleT,
}

impl RealHandle {
    /// # Safety
    /// `pamh` must be the non-null handle Linux-PAM passed to the current
    /// `pam_sm_*` call, and the `RealHandle` must not outlive that call.
    pub unsafe fn new(pamh: *mut PamHandleT) -> Self {
        RealHandle { pamh }
    }
}

/// Copies a C string PAM owns; `None` for null.
///
/// # Safety
/// `ptr` must be null or a NUL-terminated string valid for this call.
unsafe fn copy_lossy(ptr: *const c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null, and the caller promises a valid NUL-terminated string.
    Some(
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Copies a C string PAM owns, refusing one that is not UTF-8; `Ok(None)`
/// for null.
///
/// # Safety
/// `ptr` must be null or a NUL-terminated string valid for this call.
unsafe fn copy_utf8(ptr: *const c_char) -> Result<Option<String>, NotUtf8> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null, and the caller promises a valid NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ptr) };
    match text.to_str() {
        Ok(text) => Ok(Some(text.to_owned())),
        Err(_) => Err(NotUtf8 {
            lossy: text.to_string_lossy().into_owned(),
        }),
    }
}

impl PamHandle for RealHandle {
    fn item(&self, item: Item) -> Result<Option<String>, NotUtf8> {
        let item_type = match item {
            Item::Service => PAM_SERVICE,
            Item::User => PAM_USER,
            Item::Ruser => PAM_RUSER,
            Item::Rhost => PAM_RHOST,
            Item::Tty => PAM_TTY,
        };
        let mut value: *const c_void = ptr::null();
        // SAFETY: `self.pamh` is the live handle of this call (see `new`);
        // `value` is a valid out-pointer.
        let rc = unsafe { pam_get_item(self.pamh, item_type, &mut value) };
        if rc != PAM_SUCCESS {
            return Ok(None);
        }
        // SAFETY: these item types are NUL-terminated strings owned by PAM,
        // valid until the item is changed; it is copied at once.
        unsafe { copy_utf8(value.cast()) }
    }

    fn user(&mut self) -> Result<String, i32> {
        let mut user: *const c_char = ptr::null();
        // SAFETY: live handle (see `new`); `user` is a valid out-pointer; a
        // null prompt asks PAM for its default prompt.
        let rc = unsafe { pam_get_user(self.pamh, &mut user, ptr::null()) };
        if rc != PAM_SUCCESS {
            return Err(rc);
        }
        // SAFETY: on success PAM returns null or its own NUL-terminated copy
        // of the user name, valid until PAM_USER changes; it is copied at once.
        match unsafe { copy_utf8(user) } {
            Ok(Some(name)) => Ok(name),
            Ok(None) => Err(PAM_SYSTEM_ERR),
            // A name that is not UTF-8 cannot be sent faithfully: refuse it
            // rather than ask about a different (lossy) name.
            Err(NotUtf8 { .. }) => Err(PAM_USER_UNKNOWN),
        }
    }

    fn env(&self, name: &str) -> Option<String> {
        let name = CString::new(name).ok()?;
        // SAFETY: live handle (see `new`); `name` is a valid NUL-terminated
        // string for the call.
        let value = unsafe { pam_getenv(self.pamh, name.as_ptr()) };
        // SAFETY: pam_getenv returns null or a NUL-terminated string inside
        // PAM's environment, valid until it changes; it is copied at once.
        unsafe { copy_lossy(value) }
    }

    fn converse(&mut self, prompts: &[Prompt]) -> Result<Vec<Option<String>>, ConvError> {
        // SAFETY: live handle (see `new`).
        unsafe { conv::converse(self.pamh, prompts) }
    }
}
