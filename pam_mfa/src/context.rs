//! The PAM context sent with `begin`.

use pam_mfa_protocol::PamContext;

use crate::ffi::consts::{PAM_AUTH_ERR, PAM_IGNORE, PAM_SUCCESS, PAM_SYSTEM_ERR, PAM_USER_UNKNOWN};
use crate::handle::{Item, NotUtf8, PamHandle};

/// Why no context could be read: the PAM code to return, and what was
/// wrong, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i32,
    pub why: String,
}

impl Refusal {
    fn new(code: i32, why: impl Into<String>) -> Refusal {
        Refusal {
            code,
            why: why.into(),
        }
    }

    fn not_utf8(code: i32, item: &str, bad: &NotUtf8) -> Refusal {
        Refusal::new(code, format!("{item} {:?} is not UTF-8", bad.lossy))
    }
}

/// Reads the context from PAM (`pam_service`: PAM_SERVICE, already read;
/// `pam_user`: PAM_USER, already read, with `Ok(None)` when unset or empty,
/// in which case `pam_get_user` is asked).
///
/// `Err` says what to return: `PAM_SYSTEM_ERR` when PAM has no service name
/// or one that is not UTF-8; the code of a failed `pam_get_user` (never
/// success or ignore); `PAM_USER_UNKNOWN` for an empty user name, a user
/// name that is not UTF-8 (set by the application, an earlier module, or
/// typed), or a PAM_RUSER that is not UTF-8 (the agent may ask about the
/// invoking user by it); `PAM_AUTH_ERR` for a PAM_RHOST that is not UTF-8
/// (the agent matches a tap's grant and reuse window by it). A lossy copy
/// of any of these would name someone or somewhere else. PAM_TTY is only
/// recorded (audit, session list): bytes of it that are not UTF-8 are sent
/// as U+FFFD.
///
/// `SSH_AUTH_SOCK` comes from the PAM environment, else from the process
/// environment the process was started with (`process_env`): sudo and su
/// run in the invoking session, but sudo resets what `getenv` sees. From
/// the same two, whether the process runs in an SSH session (see
/// [`in_ssh_session_env`]).
pub fn gather<H: PamHandle + ?Sized>(
    handle: &mut H,
    pam_service: Result<Option<String>, NotUtf8>,
    pam_user: Result<Option<String>, NotUtf8>,
    process_env: &dyn Fn(&str) -> Option<String>,
) -> Result<PamContext, Refusal> {
    let service = match pam_service {
        Ok(service) => non_empty(service)
            .ok_or_else(|| Refusal::new(PAM_SYSTEM_ERR, "PAM has no service name"))?,
        Err(bad) => return Err(Refusal::not_utf8(PAM_SYSTEM_ERR, "PAM_SERVICE", &bad)),
    };
    let user = match pam_user {
        Ok(Some(user)) => user,
        Ok(None) => asked_user(handle)?,
        Err(bad) => return Err(Refusal::not_utf8(PAM_USER_UNKNOWN, "PAM_USER", &bad)),
    };
    let ruser = handle
        .item(Item::Ruser)
        .map_err(|bad| Refusal::not_utf8(PAM_USER_UNKNOWN, "PAM_RUSER", &bad))?;
    let rhost = handle
        .item(Item::Rhost)
        .map_err(|bad| Refusal::not_utf8(PAM_AUTH_ERR, "PAM_RHOST", &bad))?;
    // Recorded only: no decision and no identity depends on it.
    let tty = handle.item(Item::Tty).unwrap_or_else(|bad| Some(bad.lossy));
    Ok(PamContext {
        service,
        user,
        ruser: non_empty(ruser),
        rhost: non_empty(rhost),
        tty: non_empty(tty),
        ssh_auth_info: non_empty(handle.env("SSH_AUTH_INFO_0")),
        ssh_auth_sock: non_empty(handle.env("SSH_AUTH_SOCK"))
            .or_else(|| non_empty(process_env("SSH_AUTH_SOCK"))),
        ssh_connection_env: in_ssh_session_env(handle, process_env),
    })
}

/// `pam_get_user`'s user name (which may prompt for it).
fn asked_user<H: PamHandle + ?Sized>(handle: &mut H) -> Result<String, Refusal> {
    match handle.user() {
        Ok(user) if user.is_empty() => {
            Err(Refusal::new(PAM_USER_UNKNOWN, "the user name is empty"))
        }
        Ok(user) => Ok(user),
        Err(PAM_SUCCESS | PAM_IGNORE) => Err(Refusal::new(
            PAM_SYSTEM_ERR,
            "pam_get_user gave no user name",
        )),
        Err(PAM_USER_UNKNOWN) => Err(Refusal::new(
            PAM_USER_UNKNOWN,
            "pam_get_user gave no user name, or one that is not UTF-8",
        )),
        Err(code) => Err(Refusal::new(code, "pam_get_user failed")),
    }
}

/// The variables sshd sets in a session's environment.
const SSH_SESSION_VARIABLES: [&str; 2] = ["SSH_CONNECTION", "SSH_CLIENT"];

/// Whether `SSH_CONNECTION` or `SSH_CLIENT` is set (even empty) in the PAM
/// environment or the process's: the agent then taps no key attached to
/// this host for sudo or su. The agent cannot read this itself when sudo
/// runs (a setuid program is not dumpable, and the packaged unit leaves the
/// agent no CAP_SYS_PTRACE to read its /proc/PID/environ); only whether is
/// sent, never the addresses.
fn in_ssh_session_env<H: PamHandle + ?Sized>(
    handle: &H,
    process_env: &dyn Fn(&str) -> Option<String>,
) -> bool {
    SSH_SESSION_VARIABLES
        .iter()
        .any(|name| handle.env(name).is_some() || process_env(name).is_some())
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}
