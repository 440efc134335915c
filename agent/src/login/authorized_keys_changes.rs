//! Whether the user's authorized_keys files changed after pam-mfa served a
//! key. Crediting a served line rests on the key being in none of the
//! user's files when sshd read them; the agent reads them later (at PAM
//! time). A user who adds a `no-touch-required` line, authenticates with it
//! and removes it (or the whole ~/.ssh) before the PAM step would otherwise
//! be credited with the served line's touch. So the files' state is taken
//! when the key is served and again at PAM time: any difference, or a
//! change stamped just before the serve, voids the credit.
//!
//! A key on one line of the user's files is credited with that line's
//! options as the agent reads them at PAM time; sshd applied them when it
//! read the line, once. [`changed_since`] says whether anything on the way
//! to the files changed after sshd's connection began: if so, the line
//! read now may not be the one sshd read (a `verify-required` added after
//! sshd accepted a touch without PIN), and its options earn no credit.
//!
//! What this cannot see: a write through a shared mapping of the file
//! after its first dirtied page (Linux stamps the change time once), and a
//! change and its undoing within one tick of the kernel's coarse clock.
//! `PubkeyAuthOptions touch-required` in sshd_config closes all of it for
//! touch (and `verify-required` for the PIN): sshd then requires them
//! whatever the user's files say.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{statat, AtFlags, CWD};

use super::authorized_keys_file::{expand, patterns};

/// Change times this close before the serve count as after it: the kernel
/// stamps a change with its coarse clock, up to a tick (4-10 ms) behind the
/// clock the serve was stamped with. Not more: a user whose ~/.ssh was made
/// just before the login (a fresh account) would lose the credit.
const SLACK: Duration = Duration::from_millis(20);

/// One AuthorizedKeysFile pattern's file: its identity and change time, or
/// where it is missing, those of the nearest directory above it that
/// exists (`up` levels above; the home directory at most, for a file below
/// it). Not following symlinks.
///
/// A missing file's directory counts whole: any entry made or removed in
/// it (a ControlMaster socket, `known_hosts.old`) is a change. Its change
/// time cannot tell that entry from the file made and removed again, and
/// the file missing at the serve and now does not say it was missing when
/// sshd read it: sshd reads the files before the keys command, and runs
/// the command not at all once a file lists the key, so a file made after
/// the serve, read at the signature, and removed before PAM leaves no
/// serve of its own. Listing only files that exist (no
/// `authorized_keys2` in `AuthorizedKeysFile`) avoids the case.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stamp {
    Found {
        up: usize,
        dev: u64,
        ino: u64,
        size: i64,
        ctime: (i64, u64),
    },
    /// Could not be looked at: counts as changed.
    Unreadable,
}

/// A login's authorized_keys files at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilesState(Vec<Stamp>);

impl KeyFilesState {
    /// The files `files` (sshd's AuthorizedKeysFile patterns) name for
    /// `login`, whose home directory is `home`.
    pub fn of(files: &[String], login: &str, home: &Path) -> KeyFilesState {
        KeyFilesState(
            patterns(files)
                .map(|pattern| stamp(&expand(pattern, login, home), home))
                .collect(),
        )
    }

    /// A state that matches no other (no home directory to look in).
    pub fn unreadable() -> KeyFilesState {
        KeyFilesState(vec![Stamp::Unreadable])
    }

    /// Whether the files may have changed between `self` (taken when the
    /// key was served, at `served_at`) and `now`.
    pub fn changed_to(&self, now: &KeyFilesState, served_at: SystemTime) -> bool {
        self != now || now.0.iter().any(|s| s.changed_since(served_at))
    }
}

impl Stamp {
    /// Whether this was changed at or after `since` (or cannot be told).
    fn changed_since(&self, since: SystemTime) -> bool {
        let recent = since.checked_sub(SLACK).unwrap_or(UNIX_EPOCH);
        match self {
            Stamp::Unreadable => true,
            Stamp::Found { ctime, .. } => at(*ctime) >= recent,
        }
    }
}

/// Which of the files `files` names for `login` (home directory `home`)
/// may have changed at or after `since`, if any: a file itself, where it
/// is missing the nearest directory above it that exists (as
/// [`KeyFilesState`] stamps them), and every directory between that and
/// the home directory, whose renaming (a prepared `~/.ssh2` moved to
/// `~/.ssh`) changes what the path names without changing the file.
///
/// With no state from when sshd read the files, this is what says that a
/// line read now is the line sshd read: nothing on the way to it changed
/// since before sshd's connection began.
pub fn changed_since(
    files: &[String],
    login: &str,
    home: &Path,
    since: SystemTime,
) -> Option<PathBuf> {
    patterns(files).find_map(|pattern| {
        stamps_to_home(&expand(pattern, login, home), home)
            .into_iter()
            .find(|(_, stamp)| stamp.changed_since(since))
            .map(|(path, _)| path)
    })
}

/// The stamp of `file` (or of the nearest directory above it that exists),
/// then those of the directories above that one, below `home`.
fn stamps_to_home(file: &Path, home: &Path) -> Vec<(PathBuf, Stamp)> {
    let first = stamp(file, home);
    let up = match first {
        Stamp::Found { up, .. } => up,
        Stamp::Unreadable => return vec![(file.to_path_buf(), first)],
    };
    let Some(stamped) = file.ancestors().nth(up) else {
        return vec![(file.to_path_buf(), Stamp::Unreadable)];
    };
    let mut out = vec![(stamped.to_path_buf(), first)];
    if stamped.starts_with(home) {
        for dir in stamped.ancestors().skip(1) {
            if dir == home || !dir.starts_with(home) {
                break;
            }
            out.push((dir.to_path_buf(), stamp(dir, home)));
        }
    }
    out
}

fn at((secs, nanos): (i64, u64)) -> SystemTime {
    UNIX_EPOCH
        + Duration::new(
            u64::try_from(secs).unwrap_or(0),
            u32::try_from(nanos).unwrap_or(0),
        )
}

fn stamp(file: &Path, home: &Path) -> Stamp {
    let mut path = file;
    for up in 0.. {
        match statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                return Stamp::Found {
                    up,
                    dev: st.st_dev,
                    ino: st.st_ino,
                    size: st.st_size,
                    ctime: (st.st_ctime, st.st_ctime_nsec),
                }
            }
            Err(rustix::io::Errno::NOENT) if path != home => match path.parent() {
                Some(parent) => path = parent,
                None => return Stamp::Unreadable,
            },
            Err(_) => return Stamp::Unreadable,
        }
    }
    Stamp::Unreadable
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Home(std::path::PathBuf);

    impl Drop for Home {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn home(tag: &str) -> Home {
        let h = std::env::temp_dir().join(format!("pam-mfa-akc-{tag}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&h);
        std::fs::create_dir_all(&h).unwrap();
        Home(h)
    }

    const FILES: [&str; 2] = [".ssh/authorized_keys", ".ssh/authorized_keys2"];

    fn state(h: &Home) -> KeyFilesState {
        let files: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
        KeyFilesState::of(&files, "j", &h.0)
    }

    /// Taken a while after the files were last written: unchanged until
    /// something changes.
    fn served(h: &Home) -> (KeyFilesState, SystemTime) {
        std::thread::sleep(Duration::from_millis(60));
        (state(h), SystemTime::now())
    }

    #[test]
    fn a_rewritten_file_is_a_change_and_its_directory_alone_is_not() {
        let h = home("rewrite");
        let ssh = h.0.join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::write(ssh.join("authorized_keys"), "# none\n").unwrap();
        std::fs::write(ssh.join("authorized_keys2"), "# none\n").unwrap();
        let (before, at) = served(&h);
        assert!(!before.changed_to(&state(&h), at));
        // Other entries of ~/.ssh come and go (a ControlMaster socket):
        // both files are there and unchanged.
        std::fs::write(ssh.join("cm-socket"), "").unwrap();
        assert!(!before.changed_to(&state(&h), at));
        std::fs::write(ssh.join("authorized_keys"), "# none, again\n").unwrap();
        assert!(before.changed_to(&state(&h), at));
    }

    #[test]
    fn a_removed_or_passing_ssh_directory_is_a_change() {
        // ~/.ssh there when the key was served, gone at PAM time.
        let h = home("removed");
        std::fs::create_dir_all(h.0.join(".ssh")).unwrap();
        std::fs::write(h.0.join(".ssh/authorized_keys"), "# none\n").unwrap();
        let (before, at) = served(&h);
        std::fs::remove_dir_all(h.0.join(".ssh")).unwrap();
        assert!(before.changed_to(&state(&h), at));

        // No ~/.ssh either time, but one was made and removed in between:
        // the home directory saw it.
        let h = home("passing");
        let (before, at) = served(&h);
        assert!(!before.changed_to(&state(&h), at));
        std::fs::create_dir_all(h.0.join(".ssh")).unwrap();
        std::fs::remove_dir_all(h.0.join(".ssh")).unwrap();
        assert!(before.changed_to(&state(&h), at));
    }

    /// A missing file made and removed again in between is a change (its
    /// directory's), though it is missing both times: sshd may have read
    /// it.
    #[test]
    fn a_missing_file_made_and_removed_is_a_change() {
        let h = home("passing-file");
        std::fs::create_dir_all(h.0.join(".ssh")).unwrap();
        std::fs::write(h.0.join(".ssh/authorized_keys"), "# none\n").unwrap();
        let (before, at) = served(&h);
        std::fs::write(h.0.join(".ssh/authorized_keys2"), "no-touch-required ...\n").unwrap();
        std::fs::remove_file(h.0.join(".ssh/authorized_keys2")).unwrap();
        assert!(before.changed_to(&state(&h), at));
    }

    /// `none` names no file: a fresh `~/none` is no change to the keys.
    #[test]
    fn none_is_no_file_to_stamp() {
        let h = home("none");
        let since = SystemTime::now() - Duration::from_secs(60);
        std::fs::write(h.0.join("none"), "").unwrap();
        let none = vec!["none".to_string()];
        assert_eq!(changed_since(&none, "j", &h.0, since), None);
        assert_eq!(KeyFilesState::of(&none, "j", &h.0), KeyFilesState(vec![]));
        let named = vec!["none2".to_string()];
        std::fs::rename(h.0.join("none"), h.0.join("none2")).unwrap();
        assert_eq!(
            changed_since(&named, "j", &h.0, since),
            Some(h.0.join("none2"))
        );
    }

    #[test]
    fn a_change_just_before_the_serve_counts_and_nothing_readable_matches() {
        let h = home("recent");
        std::fs::create_dir_all(h.0.join(".ssh")).unwrap();
        std::fs::write(h.0.join(".ssh/authorized_keys"), "# none\n").unwrap();
        // Stamped within the slack of the serve: a change and its undoing
        // in one clock tick would look like no change.
        let (before, at) = (state(&h), SystemTime::now());
        assert!(before.changed_to(&state(&h), at));
        let none = KeyFilesState::unreadable();
        assert!(none.changed_to(&none, at - Duration::from_secs(60)));
    }
}
