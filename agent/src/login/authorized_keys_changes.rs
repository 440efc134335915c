//! Whether the user's authorized_keys files changed after pam-mfa served a
//! key. Crediting a served line rests on the key being in none of the
//! user's files when sshd read them; the agent reads them later (at PAM
//! time). A user who adds a `no-touch-required` line, authenticates with it
//! and removes it before the PAM step would otherwise be credited with the
//! served line's touch. Any change to a file or its directory since the key
//! was served (a second of slack for timestamps) voids that credit.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{statat, AtFlags, CWD};

use super::authorized_keys_file::expand;

/// Change times this close before `since` count as after it: the kernel
/// stamps a change with its coarse clock, up to a tick (4-10 ms) behind the
/// clock the serve was stamped with. Not more: a user whose ~/.ssh was made
/// just before the login (a fresh account) would lose the credit.
const SLACK: Duration = Duration::from_millis(20);

/// Whether a file named by `files` (sshd's AuthorizedKeysFile patterns), or
/// the directory holding it, changed at or after `since`. What cannot be
/// looked at counts as changed.
pub fn changed_since(files: &[String], login: &str, home: &Path, since: SystemTime) -> bool {
    let since = since.checked_sub(SLACK).unwrap_or(UNIX_EPOCH);
    files.iter().any(|pattern| {
        let path = expand(pattern, login, home);
        changed(&path, since) || path.parent().is_some_and(|dir| changed(dir, since))
    })
}

/// `path`'s change time (not following a symlink) is at or after `since`;
/// a path that does not exist did not change (its directory says so).
fn changed(path: &Path, since: SystemTime) -> bool {
    match statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => {
            let ctime = UNIX_EPOCH
                + Duration::new(
                    u64::try_from(st.st_ctime).unwrap_or(0),
                    u32::try_from(st.st_ctime_nsec).unwrap_or(0),
                );
            ctime >= since
        }
        Err(rustix::io::Errno::NOENT) => false,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_or_its_directory_changed_after_the_serve_is_seen() {
        let home = std::env::temp_dir().join(format!("pam-mfa-akc.{}", std::process::id()));
        let ssh = home.join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        let file = ssh.join("authorized_keys");
        std::fs::write(&file, "sk-ssh-ed25519@openssh.com AAAA\n").unwrap();
        let files = vec![
            ".ssh/authorized_keys".to_string(),
            "%h/.ssh/other".to_string(),
        ];
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        let later = SystemTime::now() + Duration::from_secs(3600);
        // Written before the serve: no change since. After: changed.
        assert!(!changed_since(&files, "j", &home, later));
        assert!(changed_since(&files, "j", &home, long_ago));

        // Removing the file changes its directory, which is seen too.
        std::fs::remove_file(&file).unwrap();
        let served = SystemTime::now() - Duration::from_secs(10);
        assert!(changed_since(&files, "j", &home, served));
        assert!(!changed_since(&files, "j", &home, later));
        std::fs::remove_dir_all(&home).unwrap();
    }
}
