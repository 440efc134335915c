//! A Debian 12 root made by `debootstrap --variant=minbase`, with systemd,
//! dbus and OpenSSH, cached between runs so only the first run pays for it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::run_with_timeout;

/// The packages beyond minbase: a booting systemd, sshd and the ssh client,
/// and libpcsclite1 (the package depends on it: the agent's PIV client).
pub const INCLUDE: &str =
    "systemd,systemd-sysv,dbus,openssh-server,openssh-client,sudo,procps,libpam-runtime,libpcsclite1";
pub const SUITE: &str = "bookworm";
pub const MIRROR: &str = "http://deb.debian.org/debian";

/// Bump when INCLUDE or the way the root is made changes.
const CACHE_KEY: &str = "debian-bookworm-minbase-v2";

/// `$PAM_MFA_PKGTEST_CACHE`, else `/var/cache/pam-mfa-tests`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("PAM_MFA_PKGTEST_CACHE")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/pam-mfa-tests"))
}

/// The pristine cached root, made now if missing (bounded: 20 minutes).
/// Never modified by tests: copy it with [`copy_root`].
pub fn pristine_root() -> PathBuf {
    let base = cache_dir().join(CACHE_KEY);
    let root = base.join("root");
    let stamp = base.join("complete");
    std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("mkdir {}: {e}", base.display()));
    // One maker at a time (tests in one binary run in parallel); the lock
    // goes with the file when this function returns.
    let lock = std::fs::File::create(base.join("lock")).expect("cache lock file");
    // SAFETY: flock on a file descriptor this function owns.
    let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
    assert_eq!(locked, 0, "flock: {}", std::io::Error::last_os_error());
    if stamp.exists() && root.join("usr/sbin/sshd").exists() {
        return root;
    }
    // A half-made root from an interrupted run is thrown away.
    let partial = base.join(format!("root.partial-{}", crate::random_hex(4)));
    let _ = std::fs::remove_dir_all(&root);
    eprintln!(
        "packages: debootstrap {SUITE} into {} (cached afterwards)",
        root.display()
    );
    let f = run_with_timeout(
        Command::new("debootstrap")
            .args(["--variant=minbase", &format!("--include={INCLUDE}"), SUITE])
            .arg(&partial)
            .arg(MIRROR),
        Duration::from_secs(20 * 60),
    );
    if !f.success() {
        let _ = std::fs::remove_dir_all(&partial);
        panic!(
            "debootstrap failed ({:?}, timed out {}):\n{}\n{}",
            f.code, f.timed_out, f.stdout, f.stderr
        );
    }
    std::fs::rename(&partial, &root).expect("rename debootstrap root");
    std::fs::write(&stamp, format!("{SUITE} {INCLUDE}\n")).expect("write stamp");
    root
}

/// A private copy of the pristine root at `dest` (cp -a keeps owners, modes,
/// device nodes and hard links).
pub fn copy_root(pristine: &Path, dest: &Path) {
    let f = run_with_timeout(
        Command::new("cp").arg("-a").arg(pristine).arg(dest),
        Duration::from_secs(300),
    );
    assert!(f.success(), "cp -a {}: {}", pristine.display(), f.stderr);
}
