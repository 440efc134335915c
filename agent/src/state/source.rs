//! Reading the bundle from its source, and noticing when it changed.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::config::PolicySource;
use crate::policy::{load_bundle_path, load_bundle_str, Bundle, PolicyError};

/// The seed example, compiled in for `builtin:example` (demos, first tries).
pub const BUILTIN_EXAMPLE: &str = include_str!("../../../config/examples/bundle.yaml");

pub fn load_from_source(source: &PolicySource) -> Result<Bundle, PolicyError> {
    match source {
        PolicySource::Path(p) => load_bundle_path(p),
        PolicySource::BuiltinExample => load_bundle_str(BUILTIN_EXAMPLE, "builtin:example"),
        PolicySource::Https(u) => Err(PolicyError::in_file(
            u.as_str(),
            "an https:// source is pulled (state::sync_now), not read",
        )),
    }
}

/// What a source looks like on disk: changes when any file in it changes.
/// Cheap enough to compute every poll interval. (HTTPS sources use ETags.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<(String, u64, i64, i64, u64)>);

pub fn fingerprint(source: &PolicySource) -> Fingerprint {
    match source {
        PolicySource::BuiltinExample | PolicySource::Https(_) => Fingerprint(Vec::new()),
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

fn stat_entry(p: &Path) -> (String, u64, i64, i64, u64) {
    match std::fs::metadata(p) {
        Ok(m) => (
            p.display().to_string(),
            m.ino(),
            m.mtime(),
            m.mtime_nsec(),
            m.size(),
        ),
        Err(_) => (p.display().to_string(), 0, 0, 0, 0),
    }
}

impl Fingerprint {
    /// The source's top-level file or directory exists (a file source's
    /// "contact": it can be read).
    pub fn present(&self) -> bool {
        self.0.first().is_none_or(|e| e.1 != 0)
    }
}
