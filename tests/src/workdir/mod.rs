//! A unique, world-traversable temporary directory per test.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// `/tmp/pam-mfa-e2e-<label>-<random>`, mode 0755 (sshd's `nobody` helper and
/// the tested users must traverse it). Removed on drop unless `PAM_MFA_KEEP=1`.
pub struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    pub fn new(label: &str) -> WorkDir {
        let clean: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let path = PathBuf::from(format!("/tmp/pam-mfa-e2e-{clean}-{}", crate::random_hex(4)));
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod workdir");
        WorkDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    /// A new subdirectory with the given mode.
    pub fn subdir(&self, rel: &str, mode: u32) -> PathBuf {
        let p = self.path.join(rel);
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    /// Writes `text` to `rel` with `mode`, atomically (temp file + rename).
    pub fn write(&self, rel: &str, text: &str, mode: u32) -> PathBuf {
        let p = self.path.join(rel);
        write_atomic(&p, text, mode);
        p
    }
}

/// Writes `text` to `path` through a temporary sibling and a rename, so readers
/// (sshd re-reading its PAM file, the agent polling its bundle) never see half a file.
pub fn write_atomic(path: &Path, text: &str, mode: u32) {
    let tmp = path.with_extension(format!("tmp{}", crate::random_hex(3)));
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).expect("chmod");
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::env::var("PAM_MFA_KEEP").as_deref() == Ok("1") {
            eprintln!("PAM_MFA_KEEP=1: keeping {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
