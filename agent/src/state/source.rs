//! Reading the bundle from its source, and noticing when it changed.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::policy_store::StoreSnapshot;
use crate::config::PolicySource;
use crate::policy::{load_bundle_path, load_bundle_str, read_bundle_texts, Bundle, PolicyError};

/// The texts a file source's bundle was read from, each with its file's
/// name (for its last-known-good copy).
pub type SourceTexts = Vec<(String, String)>;

/// The seed example, compiled in for `builtin:example` (demos, first tries).
pub const BUILTIN_EXAMPLE: &str = include_str!("../../../config/examples/bundle.yaml");

/// How often a file source that changed while it was read is read again
/// before this attempt gives up (the next poll tries again).
const STABLE_READ_ATTEMPTS: usize = 3;

pub fn load_from_source(source: &PolicySource) -> Result<Bundle, PolicyError> {
    match source {
        PolicySource::Path(p) => load_stable(source, p, false).map(|(b, _)| b),
        PolicySource::BuiltinExample => load_bundle_str(BUILTIN_EXAMPLE, "builtin:example"),
        PolicySource::Https(_) | PolicySource::Manifest(_) => Err(PolicyError::in_file(
            source.describe(),
            "an https:// or manifest source is pulled (state::sync_now), not read",
        )),
    }
}

/// [`load_from_source`], and for a file source the texts it loaded, read
/// again while its files stayed the same (None when they could not be).
pub fn load_with_texts(
    source: &PolicySource,
) -> Result<(Bundle, Option<SourceTexts>), PolicyError> {
    match source {
        PolicySource::Path(p) => load_stable(source, p, true),
        _ => load_from_source(source).map(|b| (b, None)),
    }
}

/// Reads a file or directory source whose every file stayed the same
/// (inode, mtime, size) from before the read to after it. A file replaced
/// or rewritten while it was read, or a directory whose files were replaced
/// one after another, could otherwise give a bundle that never existed (a
/// lock in neither half): such a read is done again, and after a few tries
/// refused (the policy in force stays).
/// With `keep_texts`, the texts of a good read are read again in the same
/// window: unchanged files hold what was loaded.
fn load_stable(
    source: &PolicySource,
    path: &Path,
    keep_texts: bool,
) -> Result<(Bundle, Option<SourceTexts>), PolicyError> {
    for attempt in 0..STABLE_READ_ATTEMPTS {
        let before = fingerprint(source);
        let loaded = load_bundle_path(path);
        let texts = match &loaded {
            Ok(_) if keep_texts => read_bundle_texts(path).ok(),
            _ => None,
        };
        if fingerprint(source) == before {
            return loaded.map(|b| (b, texts));
        }
        std::thread::sleep(std::time::Duration::from_millis(20 << attempt));
    }
    Err(PolicyError::in_file(
        path.display().to_string(),
        "the policy changed while it was read (replace it atomically: write a new file, then rename it): not used; read again at the next poll",
    ))
}

/// The policy in force is gone from a file source (its last read was
/// refused: the bundle removed, the directory emptied, a bad edit; the
/// running agent kept what it had) and its last-known-good copy could not
/// be saved (`cache_error`): a restart reads the files as they are now and,
/// while they are refused, finds no copy to start from, so starts with no
/// policy: every login then follows `fail_mode`. With the copy saved, a
/// restart starts from it (`state::initial_load`).
pub fn lost_at_restart(source: &PolicySource, snap: &StoreSnapshot) -> bool {
    matches!(source, PolicySource::Path(_))
        && snap.current.is_some()
        && snap.last_error.is_some()
        && snap.cache_error.is_some()
}

/// What a source looks like on disk: changes when any file in it changes,
/// its content (mtime, size, inode) or who may write it (mode, owner; a
/// `chmod` or `chown` changes only those and the ctime). A source the
/// loader refused for its permissions is read again once they are fixed,
/// as the loader's error asks (`chmod go-w`, `chown root`).
/// Cheap enough to compute every poll interval. (HTTPS sources use ETags.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<StatEntry>);

/// One file or directory of a source, as `stat` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatEntry {
    path: String,
    /// 0: the path could not be read.
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    size: u64,
    mode: u32,
    owner: (u32, u32),
}

pub fn fingerprint(source: &PolicySource) -> Fingerprint {
    match source {
        PolicySource::BuiltinExample | PolicySource::Https(_) | PolicySource::Manifest(_) => {
            Fingerprint(Vec::new())
        }
        PolicySource::Path(p) => {
            let mut entries = vec![stat_entry(p)];
            if p.is_dir() {
                if let Ok(rd) = std::fs::read_dir(p) {
                    let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
                    files.sort();
                    entries.extend(files.iter().map(|f| stat_entry(f)));
                }
            }
            Fingerprint(entries)
        }
    }
}

fn stat_entry(p: &Path) -> StatEntry {
    let path = p.display().to_string();
    match std::fs::metadata(p) {
        Ok(m) => StatEntry {
            path,
            ino: m.ino(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            size: m.size(),
            mode: m.mode(),
            owner: (m.uid(), m.gid()),
        },
        Err(_) => StatEntry {
            path,
            ino: 0,
            mtime: (0, 0),
            ctime: (0, 0),
            size: 0,
            mode: 0,
            owner: (0, 0),
        },
    }
}

impl Fingerprint {
    /// The source's top-level file or directory exists (a file source's
    /// "contact": it can be read).
    pub fn present(&self) -> bool {
        self.0.first().is_none_or(|e| e.ino != 0)
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
