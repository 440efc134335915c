//! The exported `pam_sm_*` functions. Each one catches panics: a panic
//! returns `PAM_AUTH_ERR`, never success or `PAM_IGNORE`, and never unwinds
//! into the C caller.

use std::os::raw::{c_char, c_int};
use std::sync::Once;

use pam_mfa_protocol::PamHook;

use super::argv;
use super::consts::{PAM_SILENT, PAM_SYSTEM_ERR};
use super::handle::RealHandle;
use super::sys::PamHandleT;
use super::syslog::Syslog;
use crate::hooks::{guard, run_hook, Host, CHAUTHTOK_CODE, SETCRED_CODE};
use crate::log::Level;

/// Runs `hook` for a real PAM call.
///
/// # Safety
/// The arguments are those Linux-PAM passes to a `pam_sm_*` function.
unsafe fn entry(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
    hook: PamHook,
) -> c_int {
    quiet_panics();
    guard(|| {
        if pamh.is_null() {
            return PAM_SYSTEM_ERR;
        }
        // SAFETY: Linux-PAM passes `argc` valid argument strings for the
        // duration of the call.
        let args = unsafe { argv::collect(argc, argv) };
        // SAFETY: `pamh` is the non-null handle of this call, and `handle`
        // is dropped before the call returns.
        let mut handle = unsafe { RealHandle::new(pamh) };
        let startup_env = crate::process_env::StartupEnv::default();
        let process_env = |name: &str| startup_env.get(name);
        let host = Host {
            log: &mut Syslog,
            process_env: &process_env,
            silent: flags & PAM_SILENT != 0,
        };
        run_hook(&mut handle, hook, &args, host)
    })
}

/// Sends panic reports to syslog (location only) instead of the
/// application's stderr, which may be a person's terminal. The hook belongs
/// to this library's copy of the Rust runtime, not to the application.
fn quiet_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_else(|| "an unknown place".into());
            super::syslog::write(
                Level::Crit,
                &format!("pam_mfa: internal error (panic) at {place}: failing with PAM_AUTH_ERR"),
            );
        }));
    });
}

/// `pam_authenticate`: asks the agent with hook `auth`; may prompt.
///
/// # Safety
/// Called by Linux-PAM with a valid handle and `argc` argument strings.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded unchanged from Linux-PAM.
    unsafe { entry(pamh, flags, argc, argv, PamHook::Auth) }
}

/// `pam_acct_mgmt`: asks the agent with hook `account`.
///
/// # Safety
/// Called by Linux-PAM with a valid handle and `argc` argument strings.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_acct_mgmt(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded unchanged from Linux-PAM.
    unsafe { entry(pamh, flags, argc, argv, PamHook::Account) }
}

/// `pam_open_session`: asks the agent with hook `open_session`.
///
/// # Safety
/// Called by Linux-PAM with a valid handle and `argc` argument strings.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_open_session(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded unchanged from Linux-PAM.
    unsafe { entry(pamh, flags, argc, argv, PamHook::OpenSession) }
}

/// `pam_close_session`: asks the agent with hook `close_session`.
///
/// # Safety
/// Called by Linux-PAM with a valid handle and `argc` argument strings.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_close_session(
    pamh: *mut PamHandleT,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded unchanged from Linux-PAM.
    unsafe { entry(pamh, flags, argc, argv, PamHook::CloseSession) }
}

/// `pam_setcred`: `PAM_SUCCESS`; there are no credentials to set and the
/// agent is not asked.
///
/// # Safety
/// Called by Linux-PAM; the arguments are not used.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_setcred(
    _pamh: *mut PamHandleT,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guard(|| SETCRED_CODE)
}

/// `pam_chauthtok`: `PAM_IGNORE`; pam-mfa manages no passwords.
///
/// # Safety
/// Called by Linux-PAM; the arguments are not used.
#[no_mangle]
pub unsafe extern "C" fn pam_sm_chauthtok(
    _pamh: *mut PamHandleT,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guard(|| CHAUTHTOK_CODE)
}
