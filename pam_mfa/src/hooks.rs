//! What each `pam_sm_*` entry point does, free of FFI: parse the arguments,
//! read the context, run the exchange, map the outcome, log.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use pam_mfa_protocol::PamHook;

use crate::args::{Config, FailMode};
use crate::context::{self, Refusal};
use crate::ffi::consts::{PAM_AUTH_ERR, PAM_IGNORE, PAM_SERVICE_ERR, PAM_SUCCESS};
use crate::flow::{exchange, hook_name, open};
use crate::handle::{Item, NotUtf8, PamHandle};
use crate::log::{LogSink, Logger};
use crate::outcome::{pam_code, Outcome};

/// `pam_sm_setcred`: nothing to set; the agent is not asked.
pub const SETCRED_CODE: i32 = PAM_SUCCESS;
/// `pam_sm_chauthtok`: pam-mfa manages no passwords, so the module takes no
/// part in a password change.
pub const CHAUTHTOK_CODE: i32 = PAM_IGNORE;
/// The longest `close_session` waits for the agent, whatever `timeout=`
/// says: a hung agent must not hold a logout.
pub const CLOSE_SESSION_TIMEOUT: Duration = Duration::from_secs(2);
/// What a caught panic returns, in every hook.
pub const PANIC_CODE: i32 = PAM_AUTH_ERR;

/// What the module gets from the process it runs in.
pub struct Host<'a> {
    pub log: &'a mut dyn LogSink,
    /// The process environment (for `SSH_AUTH_SOCK` when PAM's has none,
    /// and whether `SSH_CONNECTION` or `SSH_CLIENT` is set).
    pub process_env: &'a dyn Fn(&str) -> Option<String>,
    /// PAM_SILENT was passed.
    pub silent: bool,
}

/// Runs `hook` and returns its PAM code.
pub fn run_hook<H: PamHandle + ?Sized, S: AsRef<str>>(
    handle: &mut H,
    hook: PamHook,
    args: &[S],
    host: Host<'_>,
) -> i32 {
    // Read once: the log lines name it, and the context carries it.
    let pam_service = handle.item(Item::Service);
    let log_service = match &pam_service {
        Ok(service) => service.clone().unwrap_or_else(|| "?".into()),
        // For the log only: a PAM_SERVICE that is not UTF-8 is refused below.
        Err(bad) => bad.lossy.clone(),
    };
    let mut log = Logger::new(host.log, &log_service, hook_name(hook));
    let mut config = match Config::parse(args) {
        Ok(config) => config,
        Err(e) => {
            log.error(format_args!("{e}: failing with PAM_SERVICE_ERR"));
            return PAM_SERVICE_ERR;
        }
    };
    log.set_debug(config.debug);
    if hook == PamHook::CloseSession {
        // Waits count apart from `timeout=` (wait_timeout=): both are capped,
        // so an agent answering `wait` cannot hold a logout either.
        config.timeout = config.timeout.min(CLOSE_SESSION_TIMEOUT);
        config.wait_timeout = config.wait_timeout.min(CLOSE_SESSION_TIMEOUT);
    }
    // When PAM already has the user, reading the rest of the context cannot
    // wait on a person (pam_get_user would otherwise prompt): connect first,
    // so that the agent wakes up and takes the connection while this
    // process reads it (both are a few tens of microseconds; in sequence
    // they add up).
    // Not with `debug`: its syslog line (which may block on a stalled
    // journal) comes while the connection would wait on it.
    let pam_user = known_user(handle);
    let early = (!config.debug && matches!(pam_user, Ok(Some(_)))).then(|| open(&config));
    let context = match context::gather(handle, pam_service, pam_user, host.process_env) {
        Ok(context) => context,
        Err(Refusal { code, why }) => {
            // An early connection closes unused: the agent is asked nothing.
            log.notice(format_args!("{why}: returning PAM code {code}"));
            return code;
        }
    };
    log.debug(format_args!(
        "user {}, socket {}, timeout {}s, fail_mode {}",
        context.user,
        config.socket.display(),
        config.timeout.as_secs(),
        fail_mode_name(config.fail_mode)
    ));
    let outcome = match early.unwrap_or_else(|| open(&config)) {
        Ok((conn, socket)) => {
            log.debug(format_args!("connected to {}", socket.display()));
            exchange(
                handle,
                &config,
                conn,
                (hook, context),
                host.silent,
                &mut log,
            )
        }
        Err(outcome) => outcome,
    };
    let code = pam_code(&outcome, hook, config.fail_mode);
    report(&mut log, &outcome, config.fail_mode, code);
    code
}

/// The user name PAM already holds (`PAM_USER`, set by the application or
/// an earlier module), for which `pam_get_user` would not prompt; `Ok(None)`
/// when unset or empty. One that is not UTF-8 is `Err`, and refused as
/// `pam_get_user`'s would be (`PAM_USER_UNKNOWN`), never sent lossy.
fn known_user<H: PamHandle + ?Sized>(handle: &H) -> Result<Option<String>, NotUtf8> {
    handle
        .item(Item::User)
        .map(|user| user.filter(|u| !u.is_empty()))
}

/// Runs `f`, turning a panic into [`PANIC_CODE`]: a panic never unwinds into
/// the C caller, and never becomes success or `PAM_IGNORE`.
pub fn guard(f: impl FnOnce() -> i32) -> i32 {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(PANIC_CODE)
}

fn report(log: &mut Logger<'_>, outcome: &Outcome, fail_mode: FailMode, code: i32) {
    match (outcome, fail_mode) {
        (Outcome::Allow, _) => log.debug("allowed"),
        (Outcome::Deny { .. }, _) => log.debug(format_args!("denied: returning PAM code {code}")),
        (Outcome::Unreachable(why) | Outcome::Unavailable(why), FailMode::Closed) => log.error(
            format_args!("{why}: failing closed with PAM_AUTHINFO_UNAVAIL"),
        ),
        (Outcome::Unreachable(why) | Outcome::Unavailable(why), FailMode::Open) => log.alert(
            format_args!("FAIL-OPEN: {why}: returning PAM_IGNORE because fail_mode=open"),
        ),
        (Outcome::ConversationFailed(why), _) => {
            log.notice(format_args!("conversation failed, cancelled: {why}"))
        }
        (Outcome::Failure(why), _) => {
            log.error(format_args!("{why}: failing with PAM code {code}"))
        }
    }
}

fn fail_mode_name(mode: FailMode) -> &'static str {
    match mode {
        FailMode::Closed => "closed",
        FailMode::Open => "open",
    }
}
