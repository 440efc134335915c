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

use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh_agent::TestSshAgent;
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

/// config/pam.d/sudo as shipped (its stack lines, the module's path and
/// socket filled in), in a private /etc/pam.d holding the host's common-*
/// files, with no agent at all: root's own `sudo -u nobody` (cron, scripts)
/// runs only the account stack and gets through, its pam_succeed_if line
/// letting it past pam_mfa.so; a user's NOPASSWD sudo is refused there.
#[test]
fn roots_own_sudo_passes_the_shipped_account_lines_with_no_agent() {
    use pam_mfa_e2e::bins;
    use pam_mfa_e2e::bins::workspace_root;
    use pam_mfa_e2e::process::run_with_timeout;
    use pam_mfa_e2e::unique_name;
    use pam_mfa_e2e::users::TestUser;
    use pam_mfa_e2e::workdir::WorkDir;
    use std::process::Command;
    use std::time::Duration;
    require_root!();
    let work = WorkDir::new("sudo-root-own");
    let user = TestUser::create();
    let service = unique_name("sudo-mfat");
    let pam_dir = work.subdir("pam.d", 0o755);
    for entry in std::fs::read_dir("/etc/pam.d").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("common-") || name == "other" {
            std::fs::copy(entry.path(), pam_dir.join(&name)).unwrap();
        }
    }
    let socket = work.join("no-agent.sock");
    let module = format!(
        "{} socket={} timeout=5",
        bins::require(&bins::pam_module()).display(),
        socket.display()
    );
    let shipped = std::fs::read_to_string(workspace_root().join("config/pam.d/sudo")).unwrap();
    let stack: String = shipped
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.replace("pam_mfa.so", &module) + "\n")
        .collect();
    std::fs::write(pam_dir.join(&service), &stack).unwrap();
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
    let sudoers = work.write(
        "sudoers",
        &format!(
            "Defaults !requiretty, !lecture, pam_service={service}, timestamp_timeout=0\n\
             root ALL=(ALL:ALL) ALL\n{} ALL=(ALL:ALL) NOPASSWD: ALL\n",
            user.name
        ),
        0o440,
    );
    let run = |as_user: Option<&TestUser>| {
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("set -e; mount --bind \"$1\" /etc/pam.d; mount --bind \"$2\" /etc/sudoers; shift 2; exec \"$@\"")
            .arg("sh")
            .arg(&pam_dir)
            .arg(&sudoers);
        if let Some(u) = as_user {
            cmd.args(["setpriv", "--reuid", &u.uid.to_string()]).args([
                "--regid",
                &u.gid.to_string(),
                "--init-groups",
            ]);
        }
        cmd.args(["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
            .args(["sudo", "-n", "-u", "nobody", "id", "-un"]);
        run_with_timeout(&mut cmd, Duration::from_secs(30))
    };
    let root = run(None);
    assert_eq!(root.code, Some(0), "root's own sudo: {root:?}");
    assert_eq!(root.stdout.trim(), "nobody", "{root:?}");
    let theirs = run(Some(&user));
    assert_ne!(
        theirs.code,
        Some(0),
        "a user's NOPASSWD sudo with no agent: {theirs:?}"
    );
    assert!(!theirs.stdout.contains("nobody"), "{theirs:?}");
}
