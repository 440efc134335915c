//! The PAM context sent with `begin`.

use pam_mfa_protocol::PamContext;

use crate::ffi::consts::{PAM_IGNORE, PAM_SUCCESS, PAM_SYSTEM_ERR, PAM_USER_UNKNOWN};
use crate::handle::{Item, PamHandle};

/// Who logs in to which service: what must be known before the agent is
/// asked. `pam_get_user` may converse (login(1) asks for the name), so
/// this comes before connecting. `Err` is the PAM code to return: the code
/// of a failed `pam_get_user` (never success or ignore), `PAM_USER_UNKNOWN`
/// for an empty user name, `PAM_SYSTEM_ERR` when PAM has no service name.
pub fn who<H: PamHandle + ?Sized>(handle: &mut H) -> Result<(String, String), i32> {
    let service = non_empty(handle.item(Item::Service)).ok_or(PAM_SYSTEM_ERR)?;
    match handle.user() {
        Ok(user) if user.is_empty() => Err(PAM_USER_UNKNOWN),
        Ok(user) => Ok((service, user)),
        Err(PAM_SUCCESS | PAM_IGNORE) => Err(PAM_SYSTEM_ERR),
        Err(code) => Err(code),
    }
}

/// The rest of the context, read without conversing (the module reads it
/// while the agent wakes up for the connection).
///
/// `SSH_AUTH_SOCK` comes from the PAM environment, else from the process
/// environment the process was started with (`process_env`): sudo and su
/// run in the invoking session, but sudo resets what `getenv` sees.
pub fn gather<H: PamHandle + ?Sized>(
    handle: &mut H,
    (service, user): (String, String),
    process_env: &dyn Fn(&str) -> Option<String>,
) -> PamContext {
    PamContext {
        service,
        user,
        ruser: non_empty(handle.item(Item::Ruser)),
        rhost: non_empty(handle.item(Item::Rhost)),
        tty: non_empty(handle.item(Item::Tty)),
        ssh_auth_info: non_empty(handle.env("SSH_AUTH_INFO_0")),
        ssh_auth_sock: non_empty(handle.env("SSH_AUTH_SOCK"))
            .or_else(|| non_empty(process_env("SSH_AUTH_SOCK"))),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}
