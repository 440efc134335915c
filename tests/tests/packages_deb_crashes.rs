//! The packaged unit brings the agent back however often it dies, in a
//! booted Debian 12 container: killed ten times in a row, each time as soon
//! as it is back, it is running again every time. With systemd's default
//! start limit (5 starts in 10 s) the unit stayed `failed` after the fifth,
//! and every SSH, sudo and su login through pam_mfa.so was refused until an
//! admin ran `systemctl reset-failed mfa-agent`.
//!
//! Needs root, debootstrap, systemd-container and `make deb`, as
//! packages_deb.rs.

use std::time::Duration;

use pam_mfa_e2e::packaging::built_deb;
use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::packaging::debian_root::{copy_root, pristine_root};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;

fn main_pid(c: &Container) -> String {
    c.sh("systemctl show -p MainPID --value mfa-agent")
        .trim()
        .to_string()
}

#[test]
fn systemd_brings_the_agent_back_after_every_crash() {
    require_root!();
    let work = WorkDir::new("pkg-deb-crashes");
    let root = work.join("root");
    copy_root(&pristine_root(), &root);
    std::fs::copy(built_deb(), root.join("root/pam-mfa.deb")).expect("copy the .deb in");
    let c = Container::boot(&root, &work.join("console.log"));
    c.sh("dpkg -i /root/pam-mfa.deb && systemctl is-active mfa-agent");
    // Each crash as soon as the agent is back: well within the default
    // start limit's 10 s, and past its 5 starts.
    const CRASHES: usize = 10;
    for n in 1..=CRASHES {
        let pid = main_pid(&c);
        c.sh(&format!("kill -9 {pid}"));
        let mut state = String::new();
        let back = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
            state = c
                .run(
                    &[
                        "systemctl",
                        "show",
                        "-p",
                        "ActiveState",
                        "-p",
                        "SubState",
                        "-p",
                        "MainPID",
                        "mfa-agent",
                    ],
                    20,
                )
                .stdout;
            state.contains("ActiveState=active")
                && !state.contains(&format!("MainPID={pid}\n"))
                && !state.contains("MainPID=0\n")
        });
        assert!(
            back,
            "after crash {n}, the agent did not come back:\n{state}\n{}",
            c.journal("mfa-agent")
        );
    }
    let restarts = c.sh("systemctl show -p NRestarts --value mfa-agent");
    assert_eq!(restarts.trim(), CRASHES.to_string());
    c.sh("test -S /run/pam-mfa/agent.sock && mfactl status >/dev/null");
}
