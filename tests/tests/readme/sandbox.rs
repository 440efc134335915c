//! A README block run word for word by a shell, as a reader pastes it (no
//! `-e`), in a private mount namespace: this test's directories bind-mounted
//! over the system paths the block changes, and stubs of the programs it
//! must not really run (`sshd`, `systemctl`, `apt-get`) that only record
//! their calls.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::process::{run_with_timeout, Finished};
use pam_mfa_e2e::workdir::WorkDir;

/// Runs `text` with `shell`; each `(dir, path)` of `mounts` is mounted over
/// `path`, and each of `stubbed` answers from a stub. The run and the stubs'
/// calls, a line each (`systemctl reload ssh`).
pub(super) fn run_block(
    work: &WorkDir,
    shell: &str,
    text: &str,
    mounts: &[(&Path, &str)],
    stubbed: &[&str],
) -> (Finished, String) {
    let stubs = work.subdir("stubs", 0o755);
    let calls = work.join("calls");
    for prog in stubbed {
        work.write(
            &format!("stubs/{prog}"),
            &format!("#!/bin/sh\necho \"{prog} $*\" >> {}\n", calls.display()),
            0o755,
        );
    }
    // The mount targets are this test's literals; the sources, the stubs'
    // directory, the shell and the block come in as positional parameters.
    let mut script = String::new();
    for (i, (_, path)) in mounts.iter().enumerate() {
        script.push_str(&format!("mount --bind \"${}\" {path} && ", i + 1));
    }
    let n = mounts.len();
    script.push_str(&format!(
        "PATH=\"${}:$PATH\" exec \"${}\" -c \"${}\"",
        n + 1,
        n + 2,
        n + 3
    ));
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(&script)
        .arg("readme-block");
    for (dir, _) in mounts {
        cmd.arg(dir);
    }
    cmd.arg(&stubs).arg(shell).arg(text);
    let run = run_with_timeout(&mut cmd, Duration::from_secs(30));
    (run, std::fs::read_to_string(&calls).unwrap_or_default())
}
