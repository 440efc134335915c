//! What the user's own authorized_keys files say about a key.
//!
//! sshd reads `AuthorizedKeysFile` before `AuthorizedKeysCommand`, so a line
//! in the user's file wins over the line pam-mfa serves: a user could list
//! their registered security key there with `no-touch-required`. The agent
//! reads those files (as root, never following a symlink below the home
//! directory, never blocking on a FIFO) to know which options sshd applied.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{openat, Mode, OFlags, CWD};

use super::authorized_keys_line::{decode_blob, is_plain_blob, match_line, LineMatch, LineOptions};

/// What the user's files say about the key, read as sshd reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFileVerdict {
    /// No file lists the key: sshd used pam-mfa's line.
    NotListed,
    /// Exactly one line, with no option that sshd checks per connection,
    /// lists it: sshd used that line and applied these options.
    Listed {
        no_touch_required: bool,
        verify_required: bool,
    },
    /// Which line sshd used, or what it said, is not known for sure: the
    /// key is on several lines, on a line sshd may skip (`from=`,
    /// `expiry-time=`), or on a line the agent cannot read as sshd does.
    Ambiguous(String),
    /// A file could not be checked (a symlink, not a regular file, too
    /// large): sshd may have used any options from it.
    Unverifiable(String),
}

const MAX_FILE: u64 = 1 << 20;

/// Looks for `key_type blob` in the user's authorized_keys files.
pub fn user_file_verdict(
    files: &[String],
    login: &str,
    home: &Path,
    key_type: &str,
    blob: &str,
) -> UserFileVerdict {
    let Some(key) = decode_blob(blob) else {
        return UserFileVerdict::Unverifiable("the key's blob is not base64".into());
    };
    let mut found: Vec<(String, LineOptions)> = Vec::new();
    for pattern in patterns(files) {
        let path = expand(pattern, login, home);
        // Directories above the home directory (or above an admin-chosen
        // absolute file) belong to root and may be symlinks; below the home
        // directory everything is the user's, so nothing there is followed.
        let (base, rel) = match path.strip_prefix(home) {
            Ok(rel) => (home.to_path_buf(), rel.to_path_buf()),
            Err(_) => match (path.parent(), path.file_name()) {
                (Some(parent), Some(name)) => (parent.to_path_buf(), PathBuf::from(name)),
                _ => continue,
            },
        };
        let text = match read_no_follow(&base, &rel) {
            Ok(None) => continue,
            Ok(Some(text)) => text,
            Err(why) => return UserFileVerdict::Unverifiable(format!("{}: {why}", path.display())),
        };
        if let Err(v) = lines_listing(
            &text,
            &path.display().to_string(),
            key_type,
            &key,
            &mut found,
        ) {
            return v;
        }
    }
    verdict_of(found)
}

/// What one file's text says about the key, as [`user_file_verdict`] reads
/// it; `None` when no line lists it. The blob must be written plainly
/// (canonical base64), as pam-mfa serves it. Public for the fuzzers in
/// `fuzz/`.
pub fn find_key(text: &str, key_type: &str, blob: &str) -> Option<UserFileVerdict> {
    let Some(key) = decode_blob(blob).filter(|k| is_plain_blob(k, blob)) else {
        return Some(UserFileVerdict::Unverifiable(
            "the key's blob is not plain base64".into(),
        ));
    };
    let mut found = Vec::new();
    if let Err(v) = lines_listing(text, "authorized_keys", key_type, &key, &mut found) {
        return Some(v);
    }
    Some(verdict_of(found)).filter(|v| *v != UserFileVerdict::NotListed)
}

/// Adds the lines of `text` (the file `path`) that list the key to
/// `found`; a line the agent cannot read exactly as sshd does ends the
/// search with an ambiguous verdict.
fn lines_listing(
    text: &str,
    path: &str,
    key_type: &str,
    key: &[u8],
    found: &mut Vec<(String, LineOptions)>,
) -> Result<(), UserFileVerdict> {
    for (n, line) in text.lines().enumerate() {
        let at = format!("{path}:{}", n + 1);
        match match_line(line, key_type, key) {
            LineMatch::NoMatch | LineMatch::Skipped => {}
            LineMatch::Listed(opts) => found.push((at, opts)),
            LineMatch::Uncertain(why) => {
                return Err(UserFileVerdict::Ambiguous(format!("{at}: {why}")))
            }
        }
    }
    Ok(())
}

/// The verdict from every line that lists the key, in sshd's order.
fn verdict_of(found: Vec<(String, LineOptions)>) -> UserFileVerdict {
    match found.as_slice() {
        [] => UserFileVerdict::NotListed,
        [(at, opts)] if !opts.restricted.is_empty() => UserFileVerdict::Ambiguous(format!(
            "{at}: its {} option lets sshd skip the line",
            opts.restricted.join("/")
        )),
        [(_, opts)] => UserFileVerdict::Listed {
            no_touch_required: opts.no_touch_required,
            verify_required: opts.verify_required,
        },
        several => UserFileVerdict::Ambiguous(format!(
            "the key is on {} lines ({}): sshd uses the first whose options pass",
            several.len(),
            several
                .iter()
                .map(|(at, _)| at.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The AuthorizedKeysFile patterns that name a file: sshd skips `none`
/// (in any case) wherever it is in the list.
pub(super) fn patterns(files: &[String]) -> impl Iterator<Item = &String> {
    files.iter().filter(|p| !p.eq_ignore_ascii_case("none"))
}

/// sshd's tokens for AuthorizedKeysFile: %h, %u, %U, %%.
pub(super) fn expand(pattern: &str, login: &str, home: &Path) -> PathBuf {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(&home.display().to_string()),
            Some('u') => out.push_str(login),
            Some('U') => {
                let uid = nix::unistd::User::from_name(login)
                    .ok()
                    .flatten()
                    .map(|u| u.uid.as_raw());
                out.push_str(&uid.map(|u| u.to_string()).unwrap_or_default());
            }
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    let p = PathBuf::from(out);
    if p.is_absolute() {
        p
    } else {
        home.join(p)
    }
}

/// Opens `base` (root-controlled; symlinks allowed) and reads `rel` below it
/// without following any symlink. `Ok(None)`: it does not exist.
fn read_no_follow(base: &Path, rel: &Path) -> Result<Option<String>, String> {
    let mut dir: OwnedFd = match openat(
        CWD,
        base,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let names: Vec<_> = rel.components().collect();
    if names.is_empty() {
        return Err("names a directory".into());
    }
    for (i, comp) in names.iter().enumerate() {
        let Component::Normal(name) = comp else {
            return Err("path has '..' or '.' components".into());
        };
        let last = i + 1 == names.len();
        let flags = OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NONBLOCK
            | if last {
                OFlags::RDONLY
            } else {
                OFlags::RDONLY | OFlags::DIRECTORY
            };
        match openat(&dir, *name, flags, Mode::empty()) {
            Ok(fd) => dir = fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(rustix::io::Errno::LOOP) => return Err("is a symlink".into()),
            Err(rustix::io::Errno::NOTDIR) => {
                return Err("a component is not a directory (or is a symlink)".into())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let st = rustix::fs::fstat(&dir).map_err(|e| e.to_string())?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err("not a regular file".into());
    }
    if st.st_size as u64 > MAX_FILE {
        return Err("larger than 1 MiB".into());
    }
    let mut text = String::new();
    std::fs::File::from(dir)
        .take(MAX_FILE)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(Some(text))
}

#[cfg(test)]
#[path = "authorized_keys_file_tests.rs"]
mod tests;
