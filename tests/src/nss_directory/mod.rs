//! A directory account as sssd with `case_sensitive = false` serves one (the
//! usual Active Directory setup): getpwnam finds it whatever the case of the
//! name asked for and answers with its own name, getpwuid finds it, and
//! getpwent lists nothing. A small NSS module (`case_insensitive.c`,
//! compiled with `cc` at test time into the work directory) serves it to
//! the agent and to sshd only: each runs in a mount namespace of its own
//! where a private `/etc/nsswitch.conf` (the host's, with `mfatci` after the
//! passwd sources) is bind-mounted, with the module's directory in
//! `LD_LIBRARY_PATH`. The host's files are untouched.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::process::{kill_tree, processes_of_uid, run_checked};
use crate::sshd::SshdOptions;
use crate::workdir::{write_atomic, WorkDir};

const MODULE_SOURCE: &str = include_str!("case_insensitive.c");

/// The shell that binds `$1` over `/etc/nsswitch.conf` in a new mount
/// namespace and runs the rest of its arguments.
const BIND_NSSWITCH: &str = "set -e\nmount --bind \"$1\" /etc/nsswitch.conf\nshift\nexec \"$@\"\n";

/// The account, and what gives the agent and sshd its directory.
pub struct CaseInsensitiveDirectory {
    /// The account's own name (lower case).
    pub name: String,
    pub uid: u32,
    pub home: PathBuf,
    /// Where `libnss_mfatci.so.2` is.
    lib_dir: PathBuf,
    /// The private nsswitch.conf.
    nsswitch: PathBuf,
}

impl CaseInsensitiveDirectory {
    /// Compiles the module for a fresh account `mfatci<random>` of a uid no
    /// user has, its home under `work`.
    pub fn create(work: &WorkDir) -> CaseInsensitiveDirectory {
        let name = crate::unique_name("mfatci");
        let uid = unused_uid();
        let home = work.subdir(&name, 0o755);
        std::os::unix::fs::chown(&home, Some(uid), Some(uid)).expect("chown home");
        let lib_dir = work.subdir(&format!("{name}-nss"), 0o755);
        let source = lib_dir.join("case_insensitive.c");
        write_atomic(&source, MODULE_SOURCE, 0o644);
        run_checked(
            Command::new("cc")
                .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror"])
                .arg(format!("-DACCOUNT_NAME=\"{name}\""))
                .arg(format!("-DACCOUNT_UID={uid}"))
                .arg(format!("-DACCOUNT_HOME=\"{}\"", home.display()))
                .arg("-o")
                .arg(lib_dir.join("libnss_mfatci.so.2"))
                .arg(&source),
        );
        let nsswitch = lib_dir.join("nsswitch.conf");
        write_atomic(&nsswitch, &with_module(&host_nsswitch()), 0o644);
        CaseInsensitiveDirectory {
            name,
            uid,
            home,
            lib_dir,
            nsswitch,
        }
    }

    /// Writes `~/.ssh/authorized_keys` (0600 in a 0700 `.ssh`, the account's).
    pub fn authorize_keys(&self, lines: &[&str]) {
        let ssh = self.home.join(".ssh");
        std::fs::create_dir_all(&ssh).expect("mkdir .ssh");
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        std::os::unix::fs::chown(&ssh, Some(self.uid), Some(self.uid)).expect("chown .ssh");
        let file = ssh.join("authorized_keys");
        write_atomic(&file, &format!("{}\n", lines.join("\n")), 0o600);
        std::os::unix::fs::chown(&file, Some(self.uid), Some(self.uid)).expect("chown");
    }

    /// The wrapper ([`crate::agent::Agent::start_wrapped`]) that runs the
    /// agent with the directory.
    pub fn agent_wrapper(&self) -> Vec<String> {
        vec![
            "env".into(),
            format!("LD_LIBRARY_PATH={}", self.lib_dir.display()),
            "unshare".into(),
            "--mount".into(),
            "--propagation".into(),
            "private".into(),
            "sh".into(),
            "-c".into(),
            BIND_NSSWITCH.into(),
            "sh".into(),
            self.nsswitch.display().to_string(),
        ]
    }

    /// `opts` with the directory in sshd's namespace.
    pub fn for_sshd(&self, opts: SshdOptions) -> SshdOptions {
        opts.nsswitch(&self.nsswitch, &self.lib_dir)
    }
}

impl Drop for CaseInsensitiveDirectory {
    fn drop(&mut self) {
        // Sessions a test opened as the account.
        for pid in processes_of_uid(self.uid) {
            kill_tree(pid, Duration::from_millis(200));
        }
    }
}

/// The host's `/etc/nsswitch.conf` (`passwd: files` when it has none).
fn host_nsswitch() -> String {
    std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_else(|_| "passwd: files\n".into())
}

/// `conf` with `mfatci` after the sources of its passwd line.
pub fn with_module(conf: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut seen = false;
    for line in conf.lines() {
        let key = line.split(':').next().unwrap_or("").trim();
        if key == "passwd" && !line.trim_start().starts_with('#') {
            seen = true;
            out.push(format!("{} mfatci", line.trim_end()));
        } else {
            out.push(line.to_owned());
        }
    }
    if !seen {
        out.push("passwd: files mfatci".into());
    }
    out.join("\n") + "\n"
}

/// A uid in 47000..48999 that no user has (through the host's NSS).
fn unused_uid() -> u32 {
    let start = u32::from_str_radix(&crate::random_hex(2), 16).unwrap_or(0) % 2000;
    (0..2000)
        .map(|i| 47000 + (start + i) % 2000)
        .find(|&uid| !uid_has_name(uid))
        .expect("a free uid in 47000..48999")
}

fn uid_has_name(uid: u32) -> bool {
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into `pwd` and `buf` (its length given).
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    rc != 0 || !result.is_null()
}

#[cfg(test)]
mod tests {
    use super::with_module;

    #[test]
    fn the_module_goes_after_the_passwd_sources() {
        let conf = "# passwd: nothing\npasswd:         files systemd\ngroup: files\n";
        assert_eq!(
            with_module(conf),
            "# passwd: nothing\npasswd:         files systemd mfatci\ngroup: files\n"
        );
        assert_eq!(
            with_module("group: files\n"),
            "group: files\npasswd: files mfatci\n"
        );
    }
}
