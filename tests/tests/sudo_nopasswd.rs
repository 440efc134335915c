//! sudo with NOPASSWD (as cloud images give their first user) inside an SSH
//! session on a prod node, with real sshd, ssh and sudo: sudo then runs no
//! auth stack, so pam_mfa.so in `auth` alone never runs; with it in the
//! service's `account` stack too (README), the tap is asked there: the
//! forwarded ssh-agent's registered key lets sudo through, and with
//! nothing to tap sudo is refused at the prompt.
//!
//! The world (private sudoers and PAM service in sshd's mount namespace)
//! is sudo_forwarded's, with a NOPASSWD rule.

mod common;
// sudo_forwarded's world; this file uses part of it.
#[allow(dead_code)]
#[path = "sudo_forwarded/world.rs"]
mod world;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins;
use pam_mfa_e2e::bins::workspace_root;
use pam_mfa_e2e::process::{run_checked, run_with_timeout, Finished};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use world::*;

#[test]
fn nopasswd_sudo_is_decided_in_account_by_the_forwarded_key() {
    require_root!();
    let w = sudo_world_with("sudo-nopw-ok", false, true);
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.registered, None);
    let from = w.sshd.log_len();
    let out = w.ssh(Some(&ssh_agent), SUDO_NO_INPUT);
    let what = out.describe();
    w.assert_let_through_by_the_forwarded_key(&out, from);
    // NOPASSWD: sudo ran no auth stack, so this is the only decision.
    assert!(
        w.sudo_events().iter().all(|e| e["hook"] != "auth"),
        "{}",
        w.evidence(&what, from)
    );
}

#[test]
fn nopasswd_sudo_with_nothing_to_tap_is_refused_at_the_prompt() {
    require_root!();
    let w = sudo_world_with("sudo-nopw-none", false, true);
    let from = w.sshd.log_len();
    let out = w.ssh(None, SUDO_NO_INPUT);
    let d = w.assert_refused_at_the_prompt(&out, from);
    assert_eq!(d["hook"], "account", "{d}");
}

/// A private /etc/pam.d (the host's common-* files and `other`) with one
/// sudo service, pam_mfa.so there pointed at a socket no agent listens on,
/// and a private sudoers giving `user` NOPASSWD: real sudo run in a mount
/// namespace that binds both over the host's.
struct NoAgentSudo {
    work: WorkDir,
    pam_dir: PathBuf,
    service: String,
    sudoers: PathBuf,
}

impl NoAgentSudo {
    fn new(label: &str, user: &TestUser) -> NoAgentSudo {
        let work = WorkDir::new(label);
        let service = unique_name("sudo-mfat");
        let pam_dir = work.subdir("pam.d", 0o755);
        for entry in std::fs::read_dir("/etc/pam.d").unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("common-") || name == "other" {
                std::fs::copy(entry.path(), pam_dir.join(&name)).unwrap();
            }
        }
        let sudoers = work.write(
            "sudoers",
            &format!(
                "Defaults !requiretty, !lecture, pam_service={service}, timestamp_timeout=0\n\
                 root ALL=(ALL:ALL) ALL\n{} ALL=(ALL:ALL) NOPASSWD: ALL\n",
                user.name
            ),
            0o440,
        );
        NoAgentSudo {
            work,
            pam_dir,
            service,
            sudoers,
        }
    }

    /// The service's file: `text` with each `pam_mfa.so` the built module,
    /// its socket one no agent listens on.
    fn set_stack(&self, text: &str) -> String {
        let module = format!(
            "{} socket={} timeout=5",
            bins::require(&bins::pam_module()).display(),
            self.work.join("no-agent.sock").display()
        );
        let stack: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.replace("pam_mfa.so", &module) + "\n")
            .collect();
        std::fs::write(self.pam_dir.join(&self.service), &stack).unwrap();
        stack
    }

    /// `sudo -n -u RUNAS id -un`, as root or as `as_user`.
    fn run(&self, as_user: Option<&TestUser>, runas: &str) -> Finished {
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("set -e; mount --bind \"$1\" /etc/pam.d; mount --bind \"$2\" /etc/sudoers; shift 2; exec \"$@\"")
            .arg("sh")
            .arg(&self.pam_dir)
            .arg(&self.sudoers);
        if let Some(u) = as_user {
            cmd.args(["setpriv", "--reuid", &u.uid.to_string()]).args([
                "--regid",
                &u.gid.to_string(),
                "--init-groups",
            ]);
        }
        cmd.args(["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
            .args(["sudo", "-n", "-u", runas, "id", "-un"]);
        run_with_timeout(&mut cmd, Duration::from_secs(30))
    }
}

/// config/pam.d/sudo as shipped (its stack lines, the module's path and
/// socket filled in), in a private /etc/pam.d holding the host's common-*
/// files, with no agent at all: root's own `sudo -u nobody` (cron, scripts)
/// runs only the account stack and gets through, its pam_succeed_if line
/// letting it past pam_mfa.so; a user's NOPASSWD sudo is refused there.
#[test]
fn roots_own_sudo_passes_the_shipped_account_lines_with_no_agent() {
    require_root!();
    let user = TestUser::create();
    let sudo = NoAgentSudo::new("sudo-root-own", &user);
    let shipped = std::fs::read_to_string(workspace_root().join("config/pam.d/sudo")).unwrap();
    sudo.set_stack(&shipped);
    // The README's NOPASSWD step gives these same two account lines.
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    let readme_lines: Vec<String> = readme.lines().map(words).collect();
    for line in shipped.lines().filter(|l| l.starts_with("account ")) {
        assert!(
            readme_lines.contains(&words(line)),
            "README's NOPASSWD step lacks `{line}`"
        );
    }
    let root = sudo.run(None, "nobody");
    assert_eq!(root.code, Some(0), "root's own sudo: {root:?}");
    assert_eq!(root.stdout.trim(), "nobody", "{root:?}");
    let theirs = sudo.run(Some(&user), "nobody");
    assert_ne!(
        theirs.code,
        Some(0),
        "a user's NOPASSWD sudo with no agent: {theirs:?}"
    );
    assert!(!theirs.stdout.contains("nobody"), "{theirs:?}");
}

/// README's NOPASSWD sed as an earlier README wrote it: the account lines
/// after `@include common-account`.
const FORMER_README_SED: &str = "sed -i 's/^@include common-account$/&\\naccount [success=1 default=ignore] pam_succeed_if.so quiet use_uid uid = 0\\naccount required pam_mfa.so/' /etc/pam.d/sudo /etc/pam.d/sudo-i";

/// A NOPASSWD account whose password has expired (`chage -d 0`), with the
/// host's /etc/pam.d/sudo as README's NOPASSWD sed makes it, run literally,
/// and no agent: refused, since pam_mfa.so runs before common-account. With
/// the lines after it (an earlier README), Debian's common-account ends the
/// account stack first (`new_authtok_reqd=done`), sudo lets NOPASSWD
/// through the password change that asks for, and the sudo is let through
/// with no tap: checked first, so that this test would fail on that order.
#[test]
fn nopasswd_sudo_with_an_expired_password_still_meets_pam_mfa() {
    require_root!();
    let user = TestUser::create();
    user.expire_password();
    let sudo = NoAgentSudo::new("sudo-nopw-expired", &user);
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let sed = readme
        .lines()
        .find(|l| l.starts_with("sed -i 's/^@include common-account$/"))
        .expect("README's NOPASSWD sed line");
    let host = std::fs::read_to_string("/etc/pam.d/sudo").expect("/etc/pam.d/sudo");
    assert!(
        host.lines().any(|l| l == "@include common-account"),
        "/etc/pam.d/sudo has no `@include common-account` line: {host}"
    );
    let copy = sudo.work.write("sudo.stock", &host, 0o644);
    let edited = |sed: &str| {
        sudo.work.write("sudo.stock", &host, 0o644);
        let line = sed.replace(
            "/etc/pam.d/sudo /etc/pam.d/sudo-i",
            &copy.display().to_string(),
        );
        assert_ne!(line, sed, "the sed names /etc/pam.d/sudo and sudo-i");
        run_checked(Command::new("sh").arg("-c").arg(&line));
        std::fs::read_to_string(&copy).unwrap()
    };
    let former = sudo.set_stack(&edited(FORMER_README_SED));
    let out = sudo.run(Some(&user), "root");
    assert_eq!(
        (out.code, out.stdout.trim()),
        (Some(0), "root"),
        "the account lines after common-account no longer let an expired NOPASSWD account through: {out:?}\n{former}"
    );
    let stack = sudo.set_stack(&edited(sed));
    let out = sudo.run(Some(&user), "root");
    assert_ne!(out.code, Some(0), "{out:?}\n{stack}");
    assert!(!out.stdout.contains("root"), "{out:?}\n{stack}");
}
