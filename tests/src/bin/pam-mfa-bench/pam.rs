//! `pam_authenticate` through a private PAM service, timed.

use std::ffi::{c_int, c_void, CString};
use std::path::Path;
use std::time::{Duration, Instant};

use pam_mfa_e2e::pam_ffi::{
    pam_authenticate, pam_end, pam_start_confdir, PamConv, PamHandle, PamMessage, PamResponse,
    PAM_CONV_ERR,
};

use crate::report::{percentiles, Figures};

/// The "no tap needed" path never converses; any conversation is an error.
extern "C" fn no_conversation(
    _: c_int,
    _: *mut *const PamMessage,
    _: *mut *mut PamResponse,
    _: *mut c_void,
) -> c_int {
    PAM_CONV_ERR
}

/// `pam_authenticate` through `service`. Fresh: a new handle per call, as
/// sshd does for every connection (the module is loaded by pam_start and
/// unloaded by pam_end; only pam_authenticate is timed). Reused: one
/// handle, many calls.
pub fn pam_bench(confdir: &Path, service: &str, seconds: f64, reuse: bool) -> Figures {
    let conv = PamConv {
        conv: no_conversation,
        appdata_ptr: std::ptr::null_mut(),
    };
    let svc = CString::new(service).unwrap();
    let user = CString::new("jerry").unwrap();
    let dir = CString::new(confdir.to_str().unwrap()).unwrap();
    let start_handle = || {
        let mut h: *mut PamHandle = std::ptr::null_mut();
        // SAFETY: all pointers are valid NUL-terminated strings or a live PamConv for the call.
        let rc =
            unsafe { pam_start_confdir(svc.as_ptr(), user.as_ptr(), &conv, dir.as_ptr(), &mut h) };
        assert_eq!(rc, 0, "pam_start_confdir");
        h
    };
    let timed = |h: *mut PamHandle, v: &mut Vec<Duration>| {
        let t = Instant::now();
        // SAFETY: h is a live handle from pam_start_confdir.
        let rc = unsafe { pam_authenticate(h, 0) };
        v.push(t.elapsed());
        assert_eq!(rc, 0, "pam_authenticate through {service} returned {rc}");
    };
    let mut v = Vec::new();
    let reused = if reuse { Some(start_handle()) } else { None };
    let run = |v: &mut Vec<Duration>| match reused {
        Some(h) => timed(h, v),
        None => {
            let h = start_handle();
            timed(h, v);
            // SAFETY: h is live and ended exactly once.
            unsafe { pam_end(h, 0) };
        }
    };
    for _ in 0..200 {
        run(&mut Vec::new());
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        run(&mut v);
    }
    if let Some(h) = reused {
        // SAFETY: the reused handle is ended exactly once.
        unsafe { pam_end(h, 0) };
    }
    percentiles(v, start.elapsed().as_secs_f64())
}

/// What the fresh-handle rows do between two timed calls: `pam_start`
/// (which loads the stack's modules) and `pam_end` (which unloads them).
pub fn fresh_handle_gap(confdir: &Path, service: &str) -> impl FnMut() {
    let svc = CString::new(service).unwrap();
    let user = CString::new("jerry").unwrap();
    let dir = CString::new(confdir.to_str().unwrap()).unwrap();
    let conv = Box::new(PamConv {
        conv: no_conversation,
        appdata_ptr: std::ptr::null_mut(),
    });
    move || {
        let mut h: *mut PamHandle = std::ptr::null_mut();
        // SAFETY: all pointers are valid NUL-terminated strings or a live PamConv for the call.
        let rc =
            unsafe { pam_start_confdir(svc.as_ptr(), user.as_ptr(), &*conv, dir.as_ptr(), &mut h) };
        assert_eq!(rc, 0, "pam_start_confdir");
        // SAFETY: h is live and ended exactly once.
        unsafe { pam_end(h, 0) };
    }
}
