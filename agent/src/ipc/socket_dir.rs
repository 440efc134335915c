//! Whether the socket's directory is the agent's alone. Whoever may rename
//! or delete entries in it, or in any directory above it, can take the
//! socket away: a module set `fail_mode=open` then finds no socket (ENOENT)
//! and lets the login through without MFA, and everyone else is locked out.
//! Every directory from the socket's up to `/` must belong to the agent's
//! uid (or root), and not be writable by group or others unless sticky
//! (like /tmp: then others cannot remove what the agent made). A symlink
//! on the way must be root's or the agent's too, and what it points at is
//! checked the same way.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Symlinks followed at most on the way up.
const MAX_LINKS: usize = 32;

/// `Err` says which directory (or link) is not safe, and why.
pub(super) fn check(dir: &Path) -> io::Result<()> {
    let me = rustix::process::geteuid().as_raw();
    let mut todo: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut links = 0;
    while let Some(path) = todo.pop() {
        for at in path.ancestors() {
            let meta = std::fs::symlink_metadata(at)?;
            let owner_ok = meta.uid() == me || meta.uid() == 0;
            if meta.file_type().is_symlink() {
                if !owner_ok {
                    return Err(unsafe_path(
                        at,
                        &format!("a symlink owned by uid {}", meta.uid()),
                    ));
                }
                links += 1;
                if links > MAX_LINKS {
                    return Err(unsafe_path(at, "too many symlinks"));
                }
                todo.push(std::fs::canonicalize(at)?);
                continue;
            }
            let mode = meta.permissions().mode();
            if !owner_ok {
                return Err(unsafe_path(at, &format!("owned by uid {}", meta.uid())));
            }
            if mode & 0o022 != 0 && mode & 0o1000 == 0 {
                return Err(unsafe_path(
                    at,
                    "writable by group or others and not sticky",
                ));
            }
        }
    }
    Ok(())
}

fn unsafe_path(at: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "{} is {why}: whoever may change it could take the agent's socket away; \
             every directory above the socket must belong to root and not be writable by others",
            at.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(label: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("pam-mfa-sockdir-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    #[test]
    fn the_agents_own_directories_and_sticky_ones_are_safe() {
        let d = scratch("ok");
        assert!(check(&d).is_ok(), "{:?}", check(&d));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(check(&d).is_ok());
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check(&d).unwrap_err().to_string();
        assert!(err.contains("writable by group or others"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_directory_of_someone_else_anywhere_above_is_refused() {
        if !rustix::process::geteuid().is_root() {
            return; // chown needs root
        }
        // A user's sticky directory: its owner may delete anything in it.
        let d = scratch("theirs");
        std::os::unix::fs::chown(&d, Some(65534), None).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let err = check(&d).unwrap_err().to_string();
        assert!(err.contains("owned by uid 65534"), "{err}");
        // Root's directory below a user's: the user may rename it away.
        let below = d.join("run");
        std::fs::create_dir(&below).unwrap();
        std::fs::set_permissions(&below, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = check(&below).unwrap_err().to_string();
        assert!(err.contains("owned by uid 65534"), "{err}");
        // A symlink a user owns, to root's directory: the user may repoint it.
        let safe = scratch("target");
        let link = safe.join("link");
        std::os::unix::fs::symlink(&safe, &link).unwrap();
        assert!(check(&link).is_ok(), "{:?}", check(&link));
        std::os::unix::fs::lchown(&link, Some(65534), None).unwrap();
        let err = check(&link).unwrap_err().to_string();
        assert!(err.contains("a symlink owned by uid 65534"), "{err}");
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&safe).unwrap();
    }
}
