//! The environment the process was started with.
//!
//! sudo replaces `getenv` with its own (sudo exports a `getenv` that serves
//! the environment sudoers built, after `env_reset`), so inside sudo
//! `std::env::var("SSH_AUTH_SOCK")` is empty even when the person's session
//! has a forwarded agent. `/proc/self/environ` still holds the environment
//! the program was executed with. What is read here is only a hint: the
//! agent checks the socket belongs to the invoking user before using it.

use std::cell::OnceCell;
use std::io::Read;

/// The largest environment block read (Linux caps a single string at 128 KiB,
/// and a whole environment rarely comes near this).
const MAX_ENVIRON: u64 = 1 << 20;
/// Room for a usual environment in the first `read`: each read of
/// /proc/self/environ walks the process's memory again, so an empty buffer
/// (a 32-byte probe, then doubling) costs several times one read.
const FIRST_READ: usize = 16 * 1024;

/// The environment the process was started with, read once (when first
/// asked) for all the variables one hook looks up.
#[derive(Default)]
pub struct StartupEnv {
    block: OnceCell<Vec<u8>>,
}

impl StartupEnv {
    /// `name` from the environment the process was started with, else from
    /// the current environment.
    pub fn get(&self, name: &str) -> Option<String> {
        let block = self
            .block
            .get_or_init(|| read_startup_environ().unwrap_or_default());
        from_environ_block(block, name).or_else(|| std::env::var(name).ok())
    }
}

fn read_startup_environ() -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(FIRST_READ);
    std::fs::File::open("/proc/self/environ")
        .ok()?
        .take(MAX_ENVIRON)
        .read_to_end(&mut buf)
        .ok()?;
    Some(buf)
}

/// Looks `name` up in a NUL-separated `KEY=value` block; the first entry wins.
fn from_environ_block(block: &[u8], name: &str) -> Option<String> {
    block.split(|b| *b == 0).find_map(|entry| {
        let rest = entry.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
        String::from_utf8(rest.to_vec()).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_block() {
        let block =
            b"A=1\0SSH_AUTH_SOCK=/tmp/ssh-x/agent.1\0SSH_AUTH_SOCKET=no\0SSH_AUTH_SOCK=/second\0";
        assert_eq!(
            from_environ_block(block, "SSH_AUTH_SOCK").as_deref(),
            Some("/tmp/ssh-x/agent.1")
        );
        assert_eq!(from_environ_block(block, "A").as_deref(), Some("1"));
        assert_eq!(from_environ_block(block, "SSH_AUTH"), None);
        assert_eq!(from_environ_block(b"", "A"), None);
    }

    #[test]
    fn this_process_has_a_startup_environment() {
        // PATH is set for every test run, and present from the start.
        assert!(read_startup_environ().is_some_and(|b| !b.is_empty()));
        let env = StartupEnv::default();
        assert!(env.get("PATH").is_some());
        assert!(env.get("PAM_MFA_NO_SUCH_VARIABLE").is_none());
    }
}
