//! Raw Linux-PAM declarations (`<security/pam_modules.h>`, `_pam_types.h`).
//! Nothing here is called outside `crate::ffi`.

use std::marker::{PhantomData, PhantomPinned};
use std::os::raw::{c_char, c_int, c_void};

/// The opaque `pam_handle_t`.
#[repr(C)]
pub struct PamHandleT {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `struct pam_message`.
#[repr(C)]
pub struct PamMessage {
    pub msg_style: c_int,
    pub msg: *const c_char,
}

/// `struct pam_response`: `resp` is malloc'd by the application and freed by
/// the module.
#[repr(C)]
pub struct PamResponse {
    pub resp: *mut c_char,
    pub resp_retcode: c_int,
}

/// The application's conversation function.
pub type ConvFn = unsafe extern "C" fn(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int;

/// `struct pam_conv`.
#[repr(C)]
pub struct PamConv {
    pub conv: Option<ConvFn>,
    pub appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    pub fn pam_get_item(
        pamh: *const PamHandleT,
        item_type: c_int,
        item: *mut *const c_void,
    ) -> c_int;
    pub fn pam_get_user(
        pamh: *mut PamHandleT,
        user: *mut *const c_char,
        prompt: *const c_char,
    ) -> c_int;
    pub fn pam_getenv(pamh: *mut PamHandleT, name: *const c_char) -> *const c_char;
}
