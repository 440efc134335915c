//! Policy files are read as root and say who needs MFA, so only root may
//! have written them: a file (or a directory of them) that another user
//! can change, or that another user owns, is refused, as sshd's StrictModes
//! refuses an authorized_keys file others can write. A symlink is followed,
//! but what it leads to is checked on the opened file itself.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::policy::PolicyError;

/// Reads one policy file after checking, on the opened file, that it is a
/// regular file only root (or the agent's own user) can change.
pub(super) fn read_policy_file(path: &Path) -> Result<Vec<u8>, String> {
    // O_NONBLOCK: a FIFO in its place must not block the open (the type
    // check refuses it); reads of a regular file ignore the flag.
    let mut f: File = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| e.to_string())?;
    let m = f.metadata().map_err(|e| e.to_string())?;
    if !m.file_type().is_file() {
        return Err("not a regular file".into());
    }
    only_root_can_change(&m)?;
    let mut bytes = Vec::with_capacity(m.len() as usize);
    f.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// The texts of a file source as [`super::load_bundle_path`] reads them,
/// each with its name: the file, or a directory's bundle files in name
/// order, under the same checks (for the last-known-good copy).
pub fn read_bundle_texts(path: &Path) -> Result<Vec<(String, String)>, PolicyError> {
    source_files(path)?
        .iter()
        .map(|file| {
            let origin = file.display().to_string();
            let bytes = read_policy_file(file).map_err(|e| PolicyError::in_file(&origin, e))?;
            let text = String::from_utf8(bytes)
                .map_err(|e| PolicyError::in_file(&origin, format!("not UTF-8 text: {e}")))?;
            Ok((origin, text))
        })
        .collect()
}

/// The files a file source is read from: the file itself, or a
/// directory's bundle files in name order (the directory's rights checked).
pub(super) fn source_files(path: &Path) -> Result<Vec<std::path::PathBuf>, PolicyError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| PolicyError::in_file(&shown, e.to_string()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    check_policy_dir(&meta).map_err(|e| PolicyError::in_file(&shown, e))?;
    bundle_files(path).map_err(|e| PolicyError::in_file(&shown, e.to_string()))
}

/// A directory's bundle files: every `*.yaml`, `*.yml` and `*.json` file
/// in it (not recursive, hidden files left out), sorted by name.
pub(super) fn bundle_files(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
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
        if std::fs::metadata(&path)?.is_file() {
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
