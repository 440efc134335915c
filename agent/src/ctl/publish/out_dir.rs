//! The published directory, written so that a reader never sees a broken
//! set: each file goes to a temporary name in its directory, is fsynced and
//! renamed; the bundle first (content-addressed, never rewritten), then the
//! signature, then the manifest. One publisher at a time (a lock on the
//! directory); the last bundles stay for readers of an older manifest.

use std::fs::File;
use std::fs::Permissions;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use crate::sync::manifest_format::{
    BundleRef, Manifest, BUNDLES_DIR, MANIFEST_FILE, MANIFEST_SIGNATURE_FILE,
};

/// How many bundles stay in `bundles/` (the current one among them).
pub const BUNDLES_KEPT: usize = 5;

/// How long to wait for another publisher to finish.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The output directory, locked for this publisher while it is open.
pub(crate) struct OutDir {
    dir: PathBuf,
    _lock: File,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn io_err(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

impl OutDir {
    /// Creates `dir` and `dir/bundles` when missing and takes the lock.
    pub(crate) fn open(dir: &Path) -> Result<OutDir, String> {
        let bundles = dir.join(BUNDLES_DIR);
        for d in [dir, bundles.as_path()] {
            if !d.exists() {
                // Published files are for everyone, whatever the umask.
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(d)
                    .and_then(|()| std::fs::set_permissions(d, Permissions::from_mode(0o755)))
                    .map_err(|e| io_err(d, e))?;
            }
        }
        let lock = File::open(dir).map_err(|e| io_err(dir, e))?;
        let started = Instant::now();
        loop {
            use rustix::fs::{flock, FlockOperation};
            match flock(&lock, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::WOULDBLOCK) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(format!(
                        "{}: another mfactl publish holds it (waited {LOCK_WAIT:?})",
                        dir.display()
                    ))
                }
                Err(e) => return Err(io_err(dir, e.into())),
            }
        }
        let out = OutDir {
            dir: dir.to_path_buf(),
            _lock: lock,
        };
        out.remove_temp_files();
        Ok(out)
    }

    /// Temporary files a killed publisher left (we hold the lock: no other
    /// publisher is writing).
    fn remove_temp_files(&self) {
        for d in [self.dir.clone(), self.dir.join(BUNDLES_DIR)] {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.contains(".tmp-") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// The serial of the manifest in the directory (0 when there is none);
    /// a manifest that cannot be read gives 0 and a warning.
    pub(crate) fn previous_serial(&self) -> (u64, Option<String>) {
        let path = self.dir.join(MANIFEST_FILE);
        match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, None),
            Err(e) => (0, Some(io_err(&path, e))),
            Ok(bytes) => match Manifest::parse(&bytes) {
                Ok(m) => (m.serial, None),
                Err(e) => (0, Some(format!("{}: {e}", path.display()))),
            },
        }
    }

    /// Puts the bundle at `bundles/<sha256>.json` (kept when already there
    /// with the right content; its time refreshed, so pruning sees it as
    /// recent).
    pub(crate) fn put_bundle(&self, bytes: &[u8]) -> Result<BundleRef, String> {
        let sha256 = sha256_hex(bytes);
        let rel = format!("{BUNDLES_DIR}/{sha256}.json");
        let path = self.dir.join(&rel);
        let intact = std::fs::read(&path).is_ok_and(|b| sha256_hex(&b) == sha256);
        if intact {
            File::open(&path)
                .and_then(|f| f.set_modified(SystemTime::now()))
                .map_err(|e| io_err(&path, e))?;
        } else {
            write_atomically(
                &self.dir.join(BUNDLES_DIR),
                &format!("{sha256}.json"),
                bytes,
            )?;
        }
        Ok(BundleRef {
            path: rel,
            sha256,
            size: bytes.len() as u64,
        })
    }

    /// The signature, then the manifest: both written and fsynced under
    /// temporary names first, then renamed one right after the other, so
    /// the moment a reader can find the new signature beside the old
    /// manifest is as short as two renames.
    pub(crate) fn put_signed_manifest(
        &self,
        manifest: &[u8],
        signature: &str,
    ) -> Result<(), String> {
        let sig = Staged::write(&self.dir, MANIFEST_SIGNATURE_FILE, signature.as_bytes())?;
        let man = Staged::write(&self.dir, MANIFEST_FILE, manifest)?;
        sig.rename()?;
        man.rename()?;
        sync_dir(&self.dir)
    }

    /// Removes all but the [`BUNDLES_KEPT`] most recent bundles (`current`
    /// always stays). Returns the names removed.
    pub(crate) fn prune(&self, current: &str) -> Result<Vec<String>, String> {
        let dir = self.dir.join(BUNDLES_DIR);
        let mut found = Vec::new();
        for e in std::fs::read_dir(&dir)
            .map_err(|e| io_err(&dir, e))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_bundle = name
                .strip_suffix(".json")
                .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            if !is_bundle || name == current {
                continue;
            }
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            found.push((modified, name));
        }
        found.sort_by(|a, b| b.cmp(a));
        let mut removed = Vec::new();
        for (_, name) in found.into_iter().skip(BUNDLES_KEPT - 1) {
            let path = dir.join(&name);
            std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
            removed.push(name);
        }
        Ok(removed)
    }
}

/// Writes `dir/name` through a temporary file in `dir`: created new (never
/// through a link), fsynced, renamed over `name`, and the directory fsynced.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    Staged::write(dir, name, bytes)?.rename()?;
    sync_dir(dir)
}

/// A file's new content, fsynced under a temporary name beside it; removed
/// when dropped without being renamed into place.
struct Staged {
    temp: PathBuf,
    target: PathBuf,
    renamed: bool,
}

impl Staged {
    fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<Staged, String> {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let staged = Staged {
            temp: dir.join(format!(".{name}.tmp-{}-{n}", std::process::id())),
            target: dir.join(name),
            renamed: false,
        };
        let written = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&staged.temp)?;
            // 0644 whatever the umask: a web server reads these.
            f.set_permissions(Permissions::from_mode(0o644))?;
            f.write_all(bytes)?;
            f.sync_all()
        })();
        written.map_err(|e| io_err(&staged.target, e))?;
        Ok(staged)
    }

    fn rename(mut self) -> Result<(), String> {
        std::fs::rename(&self.temp, &self.target).map_err(|e| io_err(&self.target, e))?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pam-mfa-outdir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn bundles_are_content_addressed_and_the_last_five_kept() {
        let d = temp_dir("prune");
        let out = OutDir::open(&d).unwrap();
        let mut names = Vec::new();
        for i in 0..8u8 {
            let r = out.put_bundle(&[b'[', b'0' + i, b']']).unwrap();
            assert_eq!(r.path, format!("bundles/{}.json", r.sha256));
            let path = d.join(&r.path);
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + u64::from(i));
            File::open(&path).unwrap().set_modified(t).unwrap();
            names.push(format!("{}.json", r.sha256));
        }
        // The oldest one published again is the current one: it stays.
        let again = out.put_bundle(b"[0]").unwrap();
        assert_eq!(format!("{}.json", again.sha256), names[0]);
        let removed = out.prune(&names[0]).unwrap();
        let mut want: Vec<String> = names[1..4].to_vec();
        want.sort();
        let mut removed_sorted = removed.clone();
        removed_sorted.sort();
        assert_eq!(removed_sorted, want);
        let left = std::fs::read_dir(d.join(BUNDLES_DIR)).unwrap().count();
        assert_eq!(left, BUNDLES_KEPT);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_corrupted_bundle_is_replaced_and_leftovers_removed() {
        let d = temp_dir("corrupt");
        let out = OutDir::open(&d).unwrap();
        let r = out.put_bundle(b"[1]").unwrap();
        std::fs::write(d.join(&r.path), b"[2]").unwrap();
        std::fs::write(d.join(".manifest.json.tmp-1-1"), b"x").unwrap();
        drop(out);
        let out = OutDir::open(&d).unwrap();
        assert!(!d.join(".manifest.json.tmp-1-1").exists());
        out.put_bundle(b"[1]").unwrap();
        assert_eq!(std::fs::read(d.join(&r.path)).unwrap(), b"[1]");
        assert_eq!(out.previous_serial(), (0, None));
        std::fs::write(d.join(MANIFEST_FILE), b"{").unwrap();
        assert!(out.previous_serial().1.is_some());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
