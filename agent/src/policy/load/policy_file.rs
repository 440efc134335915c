//! Policy files are read as root and say who needs MFA, so only root may
//! have written them, or be able to change them or what names them: a
//! file (or a directory of them) that another user can change, or that
//! another user owns, is refused, as sshd's StrictModes refuses an
//! authorized_keys file others can write. The agent's source is also
//! refused in a directory that someone else may change, or below one
//! (`crate::trusted_dir`, the rule the socket's directory follows too):
//! whoever may rename entries on the way could swap an older root-owned
//! bundle back in (one without a lock), and whoever may create names could
//! add a policy file or a symlink to another file of root's. A symlink at
//! a source's own name, or in its directory, sits where only root could
//! have put it, and is followed only to a file (or directory) under the
//! same rule; a symlink further up (`/etc` → elsewhere) is followed when it
//! is root's, and where it leads is held to the same rule. A file named on
//! a command line to be checked ([`PathRule::Argument`]) is read wherever
//! it is. The checks on the file itself are made on the opened file, which
//! is never opened through a symlink.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::policy::PolicyError;

/// Reads one policy file after checking, on the opened file, that it is a
/// regular file, and, for the agent's source ([`PathRule::Source`]), one
/// only root (or the agent's own user) can change. Never
/// through a symlink (O_NOFOLLOW), never waiting on a FIFO (O_NONBLOCK:
/// the type check refuses it; reads of a regular file ignore the flag).
pub(super) fn read_policy_file(path: &Path, rule: PathRule) -> Result<Vec<u8>, String> {
    use rustix::fs::OFlags;
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let mut f: File = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(c) if c == rustix::io::Errno::LOOP.raw_os_error() => SYMLINK.to_string(),
            _ => e.to_string(),
        })?;
    let m = f.metadata().map_err(|e| e.to_string())?;
    if !m.file_type().is_file() {
        return Err("not a regular file".into());
    }
    if rule == PathRule::Source {
        only_root_can_change(&m)?;
    }
    let mut bytes = Vec::with_capacity(m.len() as usize);
    f.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Why a symlink where a policy file (or directory) is named is refused.
const SYMLINK: &str = "a symlink where a policy file was expected (it changed while being read)";

/// Where a path to policy files comes from, and so how far it is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRule {
    /// The agent's `cluster.source`, read as root to decide logins: every
    /// directory on the way must be root's alone (`crate::trusted_dir`),
    /// and a symlink at a file's own name only leads to a file under the
    /// same rule.
    Source,
    /// A file named on a command line to be checked or explained (`mfactl
    /// check`, `explain --policy`, `enroll --policy`): nothing is decided
    /// with it, so it is read wherever it is and whoever owns it (a bundle
    /// in /tmp or in an admin's home); `mfactl check` says what the agent
    /// would refuse ([`source_path_refusal`]).
    Argument,
}

/// The texts of a file source as [`super::load_bundle_path`] reads them,
/// each with its name: the file, or a directory's bundle files in name
/// order, under the same checks (for the last-known-good copy).
pub fn read_bundle_texts(path: &Path) -> Result<Vec<(String, String)>, PolicyError> {
    source_files(path, PathRule::Source)?
        .iter()
        .map(|file| {
            let origin = file.display().to_string();
            let bytes = read_policy_file(file, PathRule::Source)
                .map_err(|e| PolicyError::in_file(&origin, e))?;
            let text = String::from_utf8(bytes)
                .map_err(|e| PolicyError::in_file(&origin, format!("not UTF-8 text: {e}")))?;
            Ok((origin, text))
        })
        .collect()
}

/// Why the agent would refuse `path` as its `cluster.source` (where it
/// is, not what it holds), if it would: `mfactl check` reads a file
/// wherever it is and says so beside its result.
pub fn source_path_refusal(path: &Path) -> Option<PolicyError> {
    let files = match source_files(path, PathRule::Source) {
        Ok(files) => files,
        Err(e) => return Some(e),
    };
    files.iter().find_map(|file| {
        read_policy_file(file, PathRule::Source)
            .err()
            .map(|e| PolicyError::in_file(file.display().to_string(), e))
    })
}

/// The files a file source is read from: the file itself, or a
/// directory's bundle files in name order. Under [`PathRule::Source`],
/// refused unless only root can change the directories that hold the file
/// or directory (`crate::trusted_dir`), and a symlink (at the named path or
/// in the directory) is followed only to a file or directory under the
/// same rule. The files returned are never symlinks.
pub(super) fn source_files(path: &Path, rule: PathRule) -> Result<Vec<PathBuf>, PolicyError> {
    let shown = path.display().to_string();
    let at = |e: std::io::Error| PolicyError::in_file(&shown, e.to_string());
    let path = match rule {
        PathRule::Source => trusted_target(path).map_err(|e| PolicyError::in_file(&shown, e))?,
        PathRule::Argument => link_target(path).map_err(at)?,
    };
    let meta = std::fs::metadata(&path).map_err(at)?;
    if !meta.is_dir() {
        return Ok(vec![path]);
    }
    if rule == PathRule::Source {
        check_policy_dir(&meta).map_err(|e| PolicyError::in_file(&shown, e))?;
    }
    let mut files = Vec::new();
    for file in bundle_files(&path).map_err(at)? {
        files.push(match rule {
            PathRule::Source => trusted_target(&file)
                .map_err(|e| PolicyError::in_file(file.display().to_string(), e))?,
            PathRule::Argument => link_target(&file).map_err(at)?,
        });
    }
    Ok(files)
}

/// `path`, or what it leads to when it is a symlink, once the directories
/// that hold it and, for a symlink, the directories that hold what it
/// names, are root's alone: the link itself then sits where only root could
/// have put it, and what it leads to where only root can change it.
fn trusted_target(path: &Path) -> Result<PathBuf, String> {
    let absolute = std::path::absolute(path).map_err(|e| e.to_string())?;
    let holder_of = |p: &Path| -> Result<(), String> {
        let is_dir = std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
        let holder = if is_dir {
            p
        } else {
            p.parent().unwrap_or(Path::new("/"))
        };
        crate::trusted_dir::check(holder).map_err(|u| {
            format!(
                "{u}: whoever may change it could swap in another policy file (an older bundle, without a lock) or add one; every directory from / to a policy file must be root's and writable by no group or other user (one above may be sticky, like /tmp, when the next is root's), e.g. /etc/pam-mfa"
            )
        })
    };
    holder_of(&absolute)?;
    let target = link_target(path).map_err(|e| e.to_string())?;
    if target != path {
        holder_of(&target).map_err(|e| format!("a symlink to {}: {e}", target.display()))?;
    }
    Ok(target)
}

/// `path` itself, or what it leads to (every symlink resolved) when it is
/// a symlink: files are opened without following one at their own name.
fn link_target(path: &Path) -> std::io::Result<PathBuf> {
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        std::fs::canonicalize(path)
    } else {
        Ok(path.to_path_buf())
    }
}

/// A directory's bundle files: every `*.yaml`, `*.yml` and `*.json` file
/// in it, or symlink to a file (not recursive, hidden files left out),
/// sorted by name.
pub(super) fn bundle_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let ext = Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("yaml" | "yml" | "json")) {
            continue;
        }
        let path = entry.path();
        // A symlink is resolved by the caller under its rule; one that
        // leads nowhere is an error, not skipped: leaving out a file the
        // admin meant (one with a lock) would be a wrong allow.
        let kind = std::fs::symlink_metadata(&path)?.file_type();
        if kind.is_file() || (kind.is_symlink() && std::fs::metadata(&path)?.is_file()) {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// A directory of policy files: whoever can write it can remove the file
/// that requires MFA, so it is held to the same rule.
pub(super) fn check_policy_dir(m: &Metadata) -> Result<(), String> {
    only_root_can_change(m)
}

fn only_root_can_change(m: &Metadata) -> Result<(), String> {
    let euid = rustix::process::geteuid().as_raw();
    if m.uid() != 0 && m.uid() != euid {
        return Err(format!(
            "owned by uid {}, not by root: a policy file only root may change is required (chown root)",
            m.uid()
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:o}): a policy file only root may change is required (chmod go-w)",
            m.mode() & 0o7777
        ));
    }
    Ok(())
}
