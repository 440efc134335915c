//! The module arguments as Linux-PAM passes them.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

/// Copies `argv[0..argc]`. Bytes that are not UTF-8 become U+FFFD, which
/// argument parsing refuses.
///
/// # Safety
/// `argv` must be null or point to `argc` pointers, each null or pointing to
/// a NUL-terminated string, all valid for the duration of the call (Linux-PAM
/// guarantees this for the arguments of a `pam_sm_*` call).
pub unsafe fn collect(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    if argv.is_null() || argc <= 0 {
        return Vec::new();
    }
    let count = usize::try_from(argc).unwrap_or(0);
    let mut args = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: `i < argc`, and the caller promises `argc` readable pointers.
        let arg = unsafe { *argv.add(i) };
        if arg.is_null() {
            continue;
        }
        // SAFETY: the caller promises each non-null pointer is a valid
        // NUL-terminated string for the duration of the call; it is copied.
        let text = unsafe { CStr::from_ptr(arg) };
        args.push(text.to_string_lossy().into_owned());
    }
    args
}
