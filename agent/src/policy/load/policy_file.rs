//! Policy files are read as root and say who needs MFA, so only root may
//! have written them: a file (or a directory of them) that another user
//! can change, or that another user owns, is refused, as sshd's StrictModes
//! refuses an authorized_keys file others can write. A symlink is followed,
//! but what it leads to is checked on the opened file itself.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

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
