//! `mfa-agent --check` on a `file://` source judges the files themselves:
//! a broken bundle is refused even when the state directory holds a last
//! known good copy of that very source (the running agent would start from
//! it, but a check that said "ok" would hide the broken files), and a good
//! check writes no copy (another agent.yaml's check, with the same
//! state_dir, must not replace the running agent's copy).

use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins;
use pam_mfa_e2e::process::{run_with_timeout, Finished};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;
use sha2::{Digest, Sha256};

const BUNDLE: &str = "kind: role\nversion: v7\nmetadata: {name: dev}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {env: dev}\n";

fn check(config: &std::path::Path) -> Finished {
    run_with_timeout(
        Command::new(bins::mfa_agent())
            .arg("--check")
            .arg("--config")
            .arg(config),
        Duration::from_secs(30),
    )
}

/// `last-known-good.json` as the agent writes it for a file source of one file.
fn copy_of(source: &str, file: &str, text: &str) -> String {
    let sha: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    serde_json::json!({
        "format": 1,
        "source": source,
        "etag": null,
        "fetched_at_ms": 1_800_000_000_000u64,
        "sha256": sha,
        "signature": null,
        "bundle": text,
        "files": [{"origin": file, "bytes": text.len()}],
    })
    .to_string()
}

#[test]
fn check_judges_the_files_never_their_last_known_good_copy() {
    require_root!();
    let work = WorkDir::new("check-file-copy");
    let policy = work.subdir("policy", 0o700);
    let state = work.subdir("state", 0o700);
    let bundle = work.write("policy/bundle.yaml", BUNDLE, 0o644);
    let source = format!("file://{}", policy.display());
    let config = work.write(
        "agent.yaml",
        &format!(
            "node: {{name: n1}}\ncluster:\n  source: {source}\n  state_dir: {}\n",
            state.display()
        ),
        0o644,
    );
    let good = check(&config);
    assert!(
        good.success() && good.stdout.contains("configuration ok; policy revision"),
        "{}\n{}",
        good.stdout,
        good.stderr
    );
    assert!(
        !state.join("last-known-good.json").exists(),
        "--check wrote a last known good copy"
    );

    // The copy a running agent would have saved, then the files broken.
    work.write(
        "state/last-known-good.json",
        &copy_of(&source, &bundle.display().to_string(), BUNDLE),
        0o600,
    );
    work.write("policy/bundle.yaml", "kind: role\n  spec: [\n", 0o644);
    let broken = check(&config);
    assert!(
        !broken.success()
            && broken.stderr.contains("policy refused")
            && broken.stderr.contains("bundle.yaml"),
        "{}\n{}",
        broken.stdout,
        broken.stderr
    );
}
