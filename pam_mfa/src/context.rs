//! The PAM context sent with `begin`.

use pam_mfa_protocol::PamContext;

use crate::ffi::consts::{PAM_IGNORE, PAM_SUCCESS, PAM_SYSTEM_ERR, PAM_USER_UNKNOWN};
use crate::handle::{Item, PamHandle};

/// Reads the context from PAM (`pam_service`: PAM_SERVICE, already read;
/// `pam_user`: PAM_USER when already read, else `pam_get_user` is asked). `Err` is the PAM code to return: the code of
/// a failed `pam_get_user` (never success or ignore), `PAM_USER_UNKNOWN` for
/// an empty user name, `PAM_SYSTEM_ERR` when PAM has no service name.
///
/// `SSH_AUTH_SOCK` comes from the PAM environment, else from the process
/// environment the process was started with (`process_env`): sudo and su
/// run in the invoking session, but sudo resets what `getenv` sees. From
/// the same two, whether the process runs in an SSH session (see
/// [`in_ssh_session_env`]).
pub fn gather<H: PamHandle + ?Sized>(
    handle: &mut H,
    pam_service: Option<String>,
    pam_user: Option<String>,
    process_env: &dyn Fn(&str) -> Option<String>,
) -> Result<PamContext, i32> {
    let service = non_empty(pam_service).ok_or(PAM_SYSTEM_ERR)?;
    let user = match pam_user.map_or_else(|| handle.user(), Ok) {
        Ok(user) if user.is_empty() => return Err(PAM_USER_UNKNOWN),
        Ok(user) => user,
        Err(PAM_SUCCESS | PAM_IGNORE) => return Err(PAM_SYSTEM_ERR),
        Err(code) => return Err(code),
    };
    Ok(PamContext {
        service,
        user,
        ruser: non_empty(handle.item(Item::Ruser)),
        rhost: non_empty(handle.item(Item::Rhost)),
        tty: non_empty(handle.item(Item::Tty)),
        ssh_auth_info: non_empty(handle.env("SSH_AUTH_INFO_0")),
        ssh_auth_sock: non_empty(handle.env("SSH_AUTH_SOCK"))
            .or_else(|| non_empty(process_env("SSH_AUTH_SOCK"))),
        ssh_connection_env: in_ssh_session_env(handle, process_env),
    })
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
