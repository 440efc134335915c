//! `mfactl publish` with a signing key of its own, into a directory: what
//! the manifest-mode tests publish for their agents to fetch.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::agent::Bundle;
use crate::bins;
use crate::process::run_with_timeout;
use crate::workdir::WorkDir;

/// A publisher: its Ed25519 key (`ssh-keygen`) and the file it publishes
/// from (what `tctl get` would print).
pub struct Publisher {
    pub key: PathBuf,
    pub input: PathBuf,
}

impl Publisher {
    pub fn new(work: &WorkDir) -> Publisher {
        let key = work.join("publisher_key");
        let out = run_with_timeout(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "publisher", "-f"])
                .arg(&key),
            Duration::from_secs(20),
        );
        assert!(out.success(), "ssh-keygen: {}{}", out.stdout, out.stderr);
        Publisher {
            key,
            input: work.join("tctl-get.yaml"),
        }
    }

    /// The line for the agents' `cluster.signing_keys`.
    pub fn public_line(&self) -> String {
        let text = std::fs::read_to_string(self.key.with_extension("pub")).expect("key.pub");
        text.trim().to_string()
    }

    /// `mfactl publish --from INPUT --out DIR --signing-key KEY --source-name NAME`.
    pub fn publish_to(&self, dir: &Path, bundle: &Bundle, source: &str) {
        std::fs::write(&self.input, bundle.to_yaml()).expect("write input");
        let out = run_with_timeout(
            Command::new(bins::mfactl())
                .arg("publish")
                .arg("--from")
                .arg(&self.input)
                .arg("--out")
                .arg(dir)
                .arg("--signing-key")
                .arg(&self.key)
                .args(["--source-name", source]),
            Duration::from_secs(30),
        );
        assert!(
            out.success(),
            "mfactl publish: {}{}",
            out.stdout,
            out.stderr
        );
    }
}
