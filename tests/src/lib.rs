//! End-to-end test infrastructure for pam-mfa: real sshd, the OpenSSH client with
//! software FIDO keys, Linux-PAM stacks from private directories, and the agent.
//!
//! Everything here cleans up after itself: every process is stopped by PID, every
//! user, file and directory created is removed when its guard drops (set
//! `PAM_MFA_KEEP=1` to keep work directories for a post-mortem).

pub mod agent;
pub mod approval_web;
pub mod bench_agent;
pub mod bins;
pub mod fake_agent;
pub mod https_server;
pub mod keys;
pub mod man_page;
pub mod mfa_sshd;
pub mod nginx;
pub mod nss_directory;
pub mod packaging;
pub mod pam_ffi;
pub mod pam_stack;
pub mod piv_card;
pub mod process;
pub mod publisher;
pub mod scale_bundle;
pub mod ssh;
pub mod ssh_agent;
pub mod sshd;
pub mod syslog;
pub mod teleport_user;
pub mod users;
pub mod workdir;

/// True when the tests run as root (they need it: useradd, sshd, mount namespaces).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Returns early from a test, loudly, when not running as root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::is_root() {
            eprintln!(
                "\n!!!!!!!! SKIPPED {}: end-to-end tests need root (run `sudo -E cargo test -p pam-mfa-e2e`) !!!!!!!!\n",
                module_path!()
            );
            return;
        }
    };
}

/// A short random lowercase hex string (`2 * bytes` characters) from the kernel.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let mut filled = 0;
    while filled < bytes {
        // SAFETY: buf has `bytes - filled` writable bytes from `filled`.
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), bytes - filled, 0) };
        assert!(
            n > 0,
            "getrandom failed: {}",
            std::io::Error::last_os_error()
        );
        filled += n as usize;
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A unique name `<prefix><8 hex>`, e.g. `mfat1a2b3c4d`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{}", random_hex(4))
}
