//! README.md's "To uninstall" block, run word for word (by `sh` and by
//! `bash`, as a reader pastes it) in a private mount namespace whose
//! /etc/pam.d and /etc/ssh/sshd_config.d are this test's: it must put
//! `@include common-auth` back whatever way README told the reader to write
//! the sshd stack, and must remove nothing (no drop-in removed, no sshd
//! reload, no purge) when it could not: without the drop-in, sshd's
//! `PasswordAuthentication yes` runs a stack with no `common-auth` for
//! password logins, where no module checks the password.

use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::process::{run_with_timeout, Finished};
use pam_mfa_e2e::workdir::WorkDir;

use super::sandbox::run_block;
use super::{blocks, readme, Block};

/// The rest of Debian 12's /etc/pam.d/sshd around the lines README changes
/// (used where this host has no /etc/pam.d/sshd of its own).
const DEBIAN_SSHD_TAIL: &str = "@include common-password\n";

/// The README block that starts with `start`.
fn block_starting(start: &str) -> Block {
    blocks(&readme())
        .into_iter()
        .find(|b| b.text.starts_with(start))
        .unwrap_or_else(|| panic!("README.md has no block starting with {start:?}"))
}

/// README's uninstall block.
fn uninstall_block() -> Block {
    let b = block_starting("sed -i -E -e 's/^[[:space:]]*auth");
    assert!(
        b.text.contains("/etc/ssh/sshd_config.d/pam-mfa.conf")
            && b.text.contains("apt-get purge -y pam-mfa"),
        "README.md:{}: not the uninstall block:\n{}",
        b.line,
        b.text
    );
    b
}

/// What one run of the uninstall block left and did.
struct Outcome {
    run: Finished,
    sshd_stack: String,
    drop_in_left: bool,
    /// The commands the block ran that change the host (sshd -t, systemctl,
    /// apt-get), one a line.
    calls: String,
}

/// Runs README's uninstall block with `shell` over an /etc/pam.d/sshd of
/// `stack` and an sshd drop-in in place.
fn uninstall(shell: &str, stack: &str) -> Outcome {
    let block = uninstall_block();
    let work = WorkDir::new("readme-uninstall");
    let pam_d = work.subdir("pam.d", 0o755);
    std::fs::write(pam_d.join("sshd"), stack).unwrap();
    let drop_ins = work.subdir("sshd_config.d", 0o755);
    std::fs::write(drop_ins.join("pam-mfa.conf"), "UsePAM yes\n").unwrap();
    let (run, calls) = run_block(
        &work,
        shell,
        &block.text,
        &[
            (&pam_d, "/etc/pam.d"),
            (&drop_ins, "/etc/ssh/sshd_config.d"),
        ],
        &["sshd", "systemctl", "apt-get"],
    );
    Outcome {
        sshd_stack: std::fs::read_to_string(pam_d.join("sshd")).unwrap(),
        drop_in_left: drop_ins.join("pam-mfa.conf").exists(),
        calls,
        run,
    }
}

/// Debian's stock /etc/pam.d/sshd: this host's, else the lines README's
/// edit works on.
fn stock_sshd_stack() -> String {
    std::fs::read_to_string("/etc/pam.d/sshd").unwrap_or_else(|_| {
        format!("@include common-auth\n@include common-account\n@include common-session\n{DEBIAN_SSHD_TAIL}")
    })
}

/// The stack with `shown` (a README block of /etc/pam.d/sshd lines) in
/// place of Debian's four include lines.
fn stack_written_as(shown: &str) -> String {
    format!("# /etc/pam.d/sshd, written as README shows\n{shown}{DEBIAN_SSHD_TAIL}")
}

fn assert_restored(what: &str, o: &Outcome) {
    let ctx = format!(
        "{what}: exit {:?}\n{}{}\n--- /etc/pam.d/sshd after:\n{}",
        o.run.code, o.run.stdout, o.run.stderr, o.sshd_stack
    );
    assert!(o.run.success(), "{ctx}");
    assert!(
        o.sshd_stack.lines().any(|l| l == "@include common-auth"),
        "{ctx}"
    );
    assert!(
        !o.sshd_stack
            .lines()
            .any(|l| !l.trim_start().starts_with('#')
                && (l.contains("pam_mfa.so") || l.contains("pam_permit.so"))),
        "{ctx}"
    );
    assert!(!o.drop_in_left, "{what}: the drop-in stays\n{ctx}");
    assert_eq!(
        o.calls, "sshd -t\nsystemctl reload ssh\napt-get purge -y pam-mfa\n",
        "{ctx}"
    );
}

fn assert_nothing_removed(what: &str, o: &Outcome) {
    let ctx = format!(
        "{what}: exit {:?}\n{}{}\n--- /etc/pam.d/sshd after:\n{}",
        o.run.code, o.run.stdout, o.run.stderr, o.sshd_stack
    );
    assert!(o.drop_in_left, "{what}: the drop-in was removed\n{ctx}");
    assert_eq!(o.calls, "", "{ctx}");
    assert!(
        o.run.stderr.contains("nothing removed"),
        "{what}: the block should say it removed nothing\n{ctx}"
    );
}

/// Step 2's one-line sed over Debian's stack, then the uninstall block:
/// the stack comes back byte for byte.
#[test]
fn readme_uninstall_undoes_step_2s_sed_byte_for_byte() {
    pam_mfa_e2e::require_root!();
    let stock = stock_sshd_stack();
    let edit = blocks(&readme())
        .into_iter()
        .find(|b| b.text.starts_with("sed -i -e 's/^@include common-auth$/"))
        .expect("README.md's step 2 sed");
    let work = WorkDir::new("readme-step2");
    let file = work.write("sshd", &stock, 0o644);
    let sed = edit
        .text
        .replace("/etc/pam.d/sshd", &file.to_string_lossy());
    let f = run_with_timeout(
        Command::new("sh").args(["-e", "-c", &sed]),
        Duration::from_secs(30),
    );
    assert!(f.success(), "README.md:{}: {}", edit.line, f.stderr);
    let edited = std::fs::read_to_string(&file).unwrap();
    assert!(
        edited.contains("auth       required     pam_mfa.so\n"),
        "{edited}"
    );
    for shell in ["sh", "bash"] {
        let o = uninstall(shell, &edited);
        assert_restored(&format!("{shell}, after step 2's sed"), &o);
        assert_eq!(o.sshd_stack, stock, "{shell}: not the stack before step 2");
    }
}

/// The stack written as step 2's displayed block, as the fail_mode=open
/// block (with its pam_permit.so), and with other spacing than README's.
#[test]
fn readme_uninstall_restores_the_stacks_readme_shows() {
    pam_mfa_e2e::require_root!();
    let step2 =
        block_starting("auth       required     pam_mfa.so\naccount    required     pam_mfa.so\n");
    let fail_open = block_starting("auth       required     pam_mfa.so fail_mode=open\n");
    assert!(
        fail_open.text.contains("pam_permit.so"),
        "{}",
        fail_open.text
    );
    let squeezed = "auth required pam_mfa.so\naccount\trequired pam_mfa.so debug\n@include common-account\n@include common-session\n  session  required  pam_mfa.so  \n";
    for (what, shown) in [
        (format!("README.md:{} (step 2)", step2.line), step2.text),
        (
            format!("README.md:{} (fail_mode=open)", fail_open.line),
            fail_open.text,
        ),
        ("other spacing".to_string(), squeezed.to_string()),
    ] {
        for shell in ["sh", "bash"] {
            let o = uninstall(shell, &stack_written_as(&shown));
            assert_restored(&format!("{what}, {shell}"), &o);
        }
    }
}

/// Lines the sed does not know: the block keeps the drop-in, does not
/// reload sshd and does not purge, and says so.
#[test]
fn readme_uninstall_removes_nothing_when_the_stack_is_not_restored() {
    pam_mfa_e2e::require_root!();
    for (what, stack) in [
        (
            "pam_mfa.so as requisite",
            "auth requisite pam_mfa.so\n@include common-account\n",
        ),
        (
            "pam_permit.so as sufficient",
            "auth required pam_mfa.so\nauth sufficient pam_permit.so\n@include common-account\n",
        ),
        (
            "no auth line at all",
            "@include common-account\naccount required pam_mfa.so\n",
        ),
    ] {
        for shell in ["sh", "bash"] {
            let o = uninstall(shell, stack);
            assert_nothing_removed(&format!("{what}, {shell}"), &o);
        }
    }
}
