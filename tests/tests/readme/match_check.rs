//! README.md step 1's check of a `Match` block, run word for word: with
//! this test's /etc/ssh (the shipped drop-in, and a `Match` block that
//! gives olga `keyboard-interactive` alone), the command shows the block's
//! methods, which README says must not be; without the block it shows the
//! drop-in's `publickey,keyboard-interactive`, which README says it must.

use pam_mfa_e2e::bins::workspace_root;
use pam_mfa_e2e::workdir::WorkDir;

use super::sandbox::run_block;
use super::{blocks, readme};

/// What README's command prints on an /etc/ssh whose sshd_config ends
/// with `tail`.
fn methods_shown(tail: &str) -> String {
    let b = blocks(&readme())
        .into_iter()
        .find(|b| b.text.starts_with("sshd -T -C user=olga,"))
        .expect("README.md's sshd -T -C check of a Match block");
    let work = WorkDir::new("readme-match-check");
    let etc = work.subdir("ssh", 0o755);
    let run = work.subdir("run", 0o755);
    work.subdir("run/sshd", 0o755);
    work.subdir("ssh/sshd_config.d", 0o755);
    let shipped =
        std::fs::read_to_string(workspace_root().join("config/sshd_config.d/pam-mfa.conf"))
            .expect("config/sshd_config.d/pam-mfa.conf");
    work.write("ssh/sshd_config.d/pam-mfa.conf", &shipped, 0o644);
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(etc.join("ssh_host_ed25519_key"))
        .status()
        .expect("ssh-keygen");
    assert!(keygen.success());
    work.write(
        "ssh/sshd_config",
        &format!(
            "HostKey /etc/ssh/ssh_host_ed25519_key\nInclude /etc/ssh/sshd_config.d/*.conf\n{tail}"
        ),
        0o644,
    );
    let (done, _) = run_block(
        &work,
        "sh",
        &b.text,
        &[(&etc, "/etc/ssh"), (&run, "/run")],
        &[],
    );
    assert!(done.success(), "README.md:{}: {done:?}", b.line);
    done.stdout
}

#[test]
fn readmes_match_check_shows_what_a_block_gives_an_account() {
    pam_mfa_e2e::require_root!();
    assert_eq!(
        methods_shown(""),
        "authenticationmethods publickey,keyboard-interactive\n"
    );
    assert_eq!(
        methods_shown("Match User olga\n    AuthenticationMethods keyboard-interactive\n"),
        "authenticationmethods keyboard-interactive\n"
    );
}
