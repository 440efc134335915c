//! README.md step 1's copy of the sshd drop-in: it names a file both
//! packages install outside /usr/share/doc (which minimized images leave
//! out) and, when that file is missing all the same, stops: no `sshd -t`,
//! no reload, a failure the reader sees before taking step 2.

use pam_mfa_e2e::bins::workspace_root;
use pam_mfa_e2e::process::Finished;
use pam_mfa_e2e::workdir::WorkDir;

use super::sandbox::run_block;
use super::{blocks, readme, Block};

/// Step 1's block: the one that copies into /etc/ssh/sshd_config.d/.
fn step_1_block() -> Block {
    blocks(&readme())
        .into_iter()
        .find(|b| b.text.starts_with("cp ") && b.text.contains(" /etc/ssh/sshd_config.d/"))
        .expect("README.md's step 1 copy of the sshd drop-in")
}

/// The file step 1 copies.
fn step_1_source(b: &Block) -> String {
    b.text
        .split_whitespace()
        .nth(1)
        .expect("cp SOURCE")
        .to_string()
}

#[test]
fn step_1_copies_a_file_the_packages_keep_on_minimized_images() {
    let b = step_1_block();
    let src = step_1_source(&b);
    assert!(
        !src.starts_with("/usr/share/doc/"),
        "README.md:{}: {src}: minimized images leave /usr/share/doc out",
        b.line
    );
    let cargo = std::fs::read_to_string(workspace_root().join("agent/Cargo.toml")).unwrap();
    let deb = format!(
        "[\"../config/sshd_config.d/pam-mfa.conf\", \"{}\",",
        src.trim_start_matches('/')
    );
    let rpm = format!(
        "{{ source = \"../config/sshd_config.d/pam-mfa.conf\", dest = \"{src}\", mode = \"644\" }}"
    );
    assert!(
        cargo.contains(&deb) && cargo.contains(&rpm),
        "README.md:{}: both packages must install the drop-in as {src}",
        b.line
    );
}

/// Step 1's block run by `shell` as a paste runs it (no `-e`), in a private
/// mount namespace: an empty /usr/share (holding the drop-in only when
/// `present`), this test's /etc/ssh/sshd_config.d, and `sshd` and
/// `systemctl` stubs that record their calls. (Exit, drop-ins, calls.)
fn run_step_1(shell: &str, present: bool) -> (Finished, Vec<String>, String) {
    let b = step_1_block();
    let src = step_1_source(&b);
    let work = WorkDir::new("readme-step1");
    let share = work.subdir("share", 0o755);
    if present {
        let rel = src
            .strip_prefix("/usr/share/")
            .expect("the drop-in is under /usr/share");
        let dest = share.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(
            workspace_root().join("config/sshd_config.d/pam-mfa.conf"),
            &dest,
        )
        .unwrap();
    }
    let drop_ins = work.subdir("sshd_config.d", 0o755);
    let (run, calls) = run_block(
        &work,
        shell,
        &b.text,
        &[
            (&share, "/usr/share"),
            (&drop_ins, "/etc/ssh/sshd_config.d"),
        ],
        &["sshd", "systemctl"],
    );
    let mut copied: Vec<String> = std::fs::read_dir(&drop_ins)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    copied.sort();
    (run, copied, calls)
}

#[test]
fn step_1_reloads_sshd_only_after_the_drop_in_is_copied() {
    pam_mfa_e2e::require_root!();
    let line = step_1_block().line;
    for shell in ["sh", "bash"] {
        let (run, copied, calls) = run_step_1(shell, false);
        assert!(
            !run.success() && copied.is_empty() && calls.is_empty(),
            "README.md:{line}, {shell}, the drop-in missing: the block must stop at the copy (exit {:?}, drop-ins {copied:?}, calls {calls:?})\n{}",
            run.code,
            run.stderr
        );
        let (run, copied, calls) = run_step_1(shell, true);
        assert!(
            run.success(),
            "README.md:{line}, {shell}: {}{}",
            run.stdout,
            run.stderr
        );
        assert_eq!(copied, ["pam-mfa.conf"], "{shell}");
        assert_eq!(calls, "sshd -t\nsystemctl reload ssh\n", "{shell}");
    }
}
