//! Where the workspace's binaries are: `$PAM_MFA_BIN_DIR`, else
//! `$CARGO_TARGET_DIR/debug`, else `<workspace>/target/debug`.

use std::path::{Path, PathBuf};

/// The directory holding mfa-agent, mfactl, libpam_mfa.so and pam-harness.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PAM_MFA_BIN_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    default_dir()
}

fn default_dir() -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(t).join("debug");
    }
    workspace_root().join("target").join("debug")
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn find(name: &str) -> PathBuf {
    let primary = bin_dir().join(name);
    if primary.exists() {
        return primary;
    }
    // pam-harness is built with the tests, so it may sit in the default dir even
    // when PAM_MFA_BIN_DIR points at installed product binaries.
    let fallback = default_dir().join(name);
    if fallback.exists() {
        return fallback;
    }
    primary
}

/// Panics with a helpful message when `path` is missing.
pub fn require(path: &Path) -> &Path {
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace`) or set PAM_MFA_BIN_DIR",
        path.display()
    );
    path
}

pub fn mfa_agent() -> PathBuf {
    find("mfa-agent")
}

pub fn mfactl() -> PathBuf {
    find("mfactl")
}

/// mfactl built with the software FIDO2 authenticator (`make build` puts it
/// in target/soft-fido2; `$PAM_MFA_SOFT_MFACTL` overrides).
pub fn soft_mfactl() -> PathBuf {
    std::env::var_os("PAM_MFA_SOFT_MFACTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/soft-fido2/debug/mfactl"))
}

pub fn pam_module() -> PathBuf {
    find("libpam_mfa.so")
}

pub fn pam_harness() -> PathBuf {
    find("pam-harness")
}

/// The software FIDO authenticator shipped by openssh-tests.
pub const SK_DUMMY: &str = "/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so";

/// OpenSSH's server binary.
pub const SSHD: &str = "/usr/sbin/sshd";
