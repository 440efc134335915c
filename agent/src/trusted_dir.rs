//! Whether only root (or the agent's own user) can change what is in a
//! directory and on the way to it. One rule for the socket's directory
//! (ipc/socket_dir.rs: whoever may rename or create names there can take
//! the socket away, or plant a FIFO where the session journal goes) and for
//! a `file://` policy source (policy/load/policy_file.rs: whoever may do so
//! can swap an older bundle back in, or put a symlink to another file).
//!
//! The directory that holds the thing (the socket's, a policy file's, a
//! policy directory itself) must belong to root or the agent's uid and be
//! writable by neither group nor others, sticky or not: in a sticky
//! directory (/tmp) anyone may still create a name that does not exist yet
//! (the session journal before the first session, a new policy file).
//! Every directory above it, up to `/`, must belong to root or the agent's
//! uid too, and may be writable by others only when sticky: the entry on
//! the way down is then root's (or the agent's, checked in turn) and, by the
//! sticky bit, no one else may rename or remove it; only names that do not
//! exist can be planted there, and none is used. That is what keeps a
//! root-made 0755 directory under /tmp (tests, `make demo`) usable without
//! letting /tmp itself hold anything the agent trusts.
//!
//! A symlink on the way (e.g. `/etc` → elsewhere) is allowed when it is
//! root's or the agent's (in a sticky directory its owner may replace it);
//! what it points at is resolved (`canonicalize`) and checked the same way,
//! under the same rule for holder and ancestors.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Symlinks followed at most on the way up.
const MAX_LINKS: usize = 32;

/// A directory (or a symlink on the way) that others may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    /// The directory or link found wanting.
    pub at: PathBuf,
    /// Why, e.g. "owned by uid 1000".
    pub why: String,
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is {}", self.at.display(), self.why)
    }
}

/// Checks `holder` and every directory above it (see the module's text).
/// `holder` must be an absolute path.
pub fn check(holder: &Path) -> Result<(), Untrusted> {
    if !holder.is_absolute() {
        return Err(untrusted(holder, "not an absolute path".into()));
    }
    let me = rustix::process::geteuid().as_raw();
    // (a path to walk up, whether its first component is the holder)
    let mut todo: Vec<(PathBuf, bool)> = vec![(holder.to_path_buf(), true)];
    let mut links = 0;
    while let Some((path, holder_first)) = todo.pop() {
        let mut is_holder = holder_first;
        for at in path.ancestors() {
            let meta = std::fs::symlink_metadata(at).map_err(|e| untrusted(at, e.to_string()))?;
            if meta.uid() != me && meta.uid() != 0 {
                let what = if meta.file_type().is_symlink() {
                    "a symlink owned by uid"
                } else {
                    "owned by uid"
                };
                return Err(untrusted(at, format!("{what} {}", meta.uid())));
            }
            if meta.file_type().is_symlink() {
                links += 1;
                if links > MAX_LINKS {
                    return Err(untrusted(at, "behind too many symlinks".into()));
                }
                let real = std::fs::canonicalize(at).map_err(|e| untrusted(at, e.to_string()))?;
                todo.push((real, is_holder));
                is_holder = false;
                continue;
            }
            if !meta.is_dir() {
                return Err(untrusted(at, "not a directory".into()));
            }
            let mode = meta.permissions().mode();
            if mode & 0o022 != 0 {
                if is_holder {
                    return Err(untrusted(
                        at,
                        format!(
                            "writable by group or others (mode {:o}), sticky or not: anyone may create names in it",
                            mode & 0o7777
                        ),
                    ));
                }
                if mode & 0o1000 == 0 {
                    return Err(untrusted(
                        at,
                        format!(
                            "writable by group or others and not sticky (mode {:o})",
                            mode & 0o7777
                        ),
                    ));
                }
            }
            is_holder = false;
        }
    }
    Ok(())
}

/// The directory nearest to `dir` that exists: `dir` itself, or the one
/// its missing part would be created in.
pub fn nearest_existing(dir: &Path) -> &Path {
    dir.ancestors()
        .find(|a| std::fs::symlink_metadata(a).is_ok())
        .unwrap_or(dir)
}

fn untrusted(at: &Path, why: String) -> Untrusted {
    Untrusted {
        at: at.to_path_buf(),
        why,
    }
}

impl From<Untrusted> for io::Error {
    fn from(u: Untrusted) -> io::Error {
        io::Error::new(io::ErrorKind::PermissionDenied, u.to_string())
    }
}

#[cfg(test)]
#[path = "trusted_dir_tests.rs"]
mod tests;
