//! `make soak`'s program, run small: logins with and without a tap through
//! pam_mfa.so against a real agent, started with the soak's own
//! configuration (which the agent must accept: a sink it refused once broke
//! `make soak` unnoticed). Needs root and `cargo build --workspace`.

use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins;
use pam_mfa_e2e::process::run_with_timeout;
use pam_mfa_e2e::require_root;

#[test]
fn the_soak_runs_its_logins_and_reports_a_verdict() {
    require_root!();
    let dir = bins::bin_dir();
    let soak = bins::require(&dir.join("pam-mfa-soak")).to_owned();
    let out = run_with_timeout(
        Command::new(soak)
            .current_dir(bins::workspace_root())
            .args(["--bin-dir", dir.to_str().unwrap()])
            .args(["--bundle", "config/examples/bundle.yaml"])
            .args(["--decisions", "100", "--taps", "10", "--samples", "2"]),
        Duration::from_secs(120),
    );
    let stdout = &out.stdout;
    assert!(out.success(), "{out:?}");
    // Every login succeeded (the soak stops at the first that does not).
    assert!(stdout.contains("| no-tap decisions | 100 |"), "{stdout}");
    assert!(
        stdout.contains("| challenge round trips | 10 |"),
        "{stdout}"
    );
    assert!(stdout.contains("Verdict:"), "{stdout}");
}
