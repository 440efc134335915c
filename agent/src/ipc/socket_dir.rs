//! Whether the socket's directory is the agent's alone. Whoever may rename
//! or delete entries in it, or in any directory above it, can take the
//! socket away: a module set `fail_mode=open` then finds no socket (ENOENT)
//! and lets the login through without MFA, and everyone else is locked out.
//! Whoever may create names in it can plant what the agent keeps beside
//! the socket (the session journal, `agent.sessions.json`: a FIFO there
//! hung every session open and the agent's start) or a file at the
//! socket's own name (the agent then cannot start). So the directory must
//! be root's (or the agent's) and writable by no group or other user,
//! sticky or not (/tmp, /var/tmp, /dev/shm are refused), and every
//! directory above it too, except that one above may be sticky: the rule
//! of `crate::trusted_dir`, shared with `file://` policy sources.

use std::io;
use std::path::Path;

use crate::trusted_dir::{self, Untrusted};

/// `Err` says which directory (or link) is not safe, why, and what to use
/// instead. A directory that does not exist yet is judged by the one it
/// would be created in, which then holds a name the agent makes (anyone
/// who may create names there could make it first).
pub fn check_socket_path(socket: &Path) -> io::Result<()> {
    let Some(dir) = socket.parent() else {
        return Ok(());
    };
    let holder = trusted_dir::nearest_existing(dir);
    trusted_dir::check(holder).map_err(|u| refusal(socket, &u))
}

fn refusal(socket: &Path, u: &Untrusted) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "socket.path {}: {u}: whoever may change it could take the agent's socket away or plant files beside it; \
             the socket's directory must be root's and writable by no group or other user, sticky or not (not /tmp, /var/tmp or /dev/shm), \
             and every directory above it root's and not writable by others unless sticky: use the default /run/pam-mfa, \
             or a root-owned directory of mode 0755",
            socket.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_socket_in_a_sticky_directory_is_refused_naming_it_and_what_to_use() {
        let d = std::env::temp_dir().join(format!("pam-mfa-sockdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check_socket_path(&d.join("agent.sock")).is_ok());
        // Not there yet: judged by where the agent would make it.
        assert!(check_socket_path(&d.join("run/agent.sock")).is_ok());
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        for socket in [d.join("agent.sock"), d.join("run/agent.sock")] {
            let err = check_socket_path(&socket).unwrap_err().to_string();
            assert!(
                err.contains(&format!("{} is writable", d.display())),
                "{err}"
            );
            assert!(err.contains("/run/pam-mfa"), "{err}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
