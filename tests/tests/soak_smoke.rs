//! `make soak`'s program, run small: logins with and without a tap through
//! pam_mfa.so against a real agent, started with the soak's own
//! configuration (which the agent must accept: a sink it refused once broke
//! `make soak` unnoticed). Needs root and `cargo build --workspace`.

use std::process::Command;

use pam_mfa_e2e::bins;

#[test]
fn the_soak_runs_its_logins_and_reports_a_verdict() {
    let dir = bins::bin_dir();
    let soak = bins::require(&dir.join("pam-mfa-soak")).to_owned();
    let out = Command::new(soak)
        .current_dir(bins::workspace_root())
        .args(["--bin-dir", dir.to_str().unwrap()])
        .args(["--bundle", "config/examples/bundle.yaml"])
        .args(["--decisions", "100", "--taps", "10", "--samples", "2"])
        .output()
        .expect("running pam-mfa-soak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every login succeeded (the soak stops at the first that does not).
    assert!(stdout.contains("| no-tap decisions | 100 |"), "{stdout}");
    assert!(
        stdout.contains("| challenge round trips | 10 |"),
        "{stdout}"
    );
    assert!(stdout.contains("Verdict:"), "{stdout}");
}
