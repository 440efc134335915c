//! How the stand-ins for sshd and sudo run: as the kernel shows those
//! callers to the agent (a root process, with or without a login uid; a
//! set-uid root process run by a user).

use std::os::unix::process::CommandExt;
use std::process::Command;

/// How the stand-in runs: as the kernel shows sshd or sudo.
#[derive(Clone, Copy)]
pub enum Caller {
    /// A root process with this login uid (sshd from an admin's session).
    RootWithLoginUid(u32),
    /// A root process as its parent is (sshd started by init, root's sudo).
    Root,
    /// Real uid of the user, effective uid 0 (sudo run by that user).
    SudoOf(u32),
}

pub fn as_caller(cmd: &mut Command, caller: Caller) {
    // Formatted here: the child may not allocate between fork and exec
    // (another thread of this test binary may hold the allocator's lock).
    let login_uid_text: Option<Vec<u8>> = match caller {
        Caller::RootWithLoginUid(uid) => Some(uid.to_string().into_bytes()),
        Caller::Root | Caller::SudoOf(_) => None,
    };
    // SAFETY: the closure only calls open, write, close and setresuid
    // (async-signal-safe) on a NUL-terminated literal path and the bytes
    // formatted above; it allocates nothing and touches no other Rust
    // state, and an error it returns (`last_os_error`) allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(text) = &login_uid_text {
                write_login_uid(text)?;
            }
            if let Caller::SudoOf(uid) = caller {
                if libc::setresuid(uid, 0, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Writes `text` (a uid's decimal digits) to /proc/self/loginuid with
/// open, write and close only: safe between fork and exec.
fn write_login_uid(text: &[u8]) -> std::io::Result<()> {
    // SAFETY: a NUL-terminated literal path; `text` outlives the write.
    unsafe {
        let fd = libc::open(c"/proc/self/loginuid".as_ptr(), libc::O_WRONLY);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let written = libc::write(fd, text.as_ptr().cast(), text.len());
        libc::close(fd);
        if written < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether this machine lets root set a process's login uid.
pub fn login_uid_settable() -> bool {
    let mut cmd = Command::new("true");
    as_caller(&mut cmd, Caller::RootWithLoginUid(4242));
    cmd.status().is_ok_and(|s| s.success())
}
