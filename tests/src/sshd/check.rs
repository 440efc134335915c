//! Checking sshd configuration without running a server: `sshd -t` and
//! `sshd -T` over a drop-in, as the config and README tests do.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::run_checked;
use crate::workdir::WorkDir;

/// An `sshd_config` in `work` that includes `drop_in`, with a fresh host
/// key and no pid file: enough for `sshd -t -f` to judge the drop-in.
pub fn config_including(work: &WorkDir, drop_in: &Path) -> PathBuf {
    let host_key = work.join("host_key");
    run_checked(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&host_key),
    );
    work.write(
        "sshd_config",
        &format!(
            "Include {}\nHostKey {}\nPidFile none\n",
            drop_in.display(),
            host_key.display()
        ),
        0o644,
    )
}

/// Runs `sh -euc "<mount a private /run with /run/sshd> && script"` in a
/// private mount namespace (sshd wants /run/sshd); fails the test when it
/// fails; its standard output.
pub fn with_private_run(script: &str) -> String {
    let script = format!("mount -t tmpfs -o mode=755 tmpfs /run && mkdir /run/sshd && {script}");
    run_checked(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-euc"])
            .arg(&script),
    )
}
