//! What the publish tests share: the tctl fixture and its secrets, a setup
//! with a signing key and an output directory, and readers of what was
//! published (verified, once, its serial); a fake tctl on PATH.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mfa_agent::ctl::publish::BUNDLES_KEPT;
use mfa_agent::sync::manifest_format::Manifest;
use mfa_agent::sync::{parse_signing_key, verify_bundle_signature};
use pam_mfa_e2e::bins::{self, workspace_root};
use pam_mfa_e2e::process::{run_checked, run_with_timeout, Finished};
use pam_mfa_e2e::workdir::WorkDir;

pub(crate) const TESTDATA: &str = "agent/src/ctl/publish/testdata";

pub(crate) fn fixture() -> String {
    let p = workspace_root()
        .join(TESTDATA)
        .join("tctl_with_secrets.yaml");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every secret of the fixture in each form it could leak in: its bytes
/// (as text when they are text), base64 and hex.
pub(crate) fn secret_forms() -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    let p = workspace_root()
        .join(TESTDATA)
        .join("tctl_with_secrets.secrets");
    let text = std::fs::read_to_string(p).unwrap();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, hex) = line.split_once('\t').unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let raw = match std::str::from_utf8(&bytes) {
            Ok(text) => text.trim().as_bytes().to_vec(),
            Err(_) => bytes.clone(),
        };
        out.push((format!("{name} (bytes)"), raw));
        out.push((format!("{name} (base64)"), b64.into_bytes()));
        out.push((format!("{name} (hex)"), hex.as_bytes().to_vec()));
    }
    assert!(out.len() >= 30, "the fixture lists its secrets");
    out
}

/// A test's directory, signing key and inputs.
pub(crate) struct Setup {
    pub(crate) work: WorkDir,
    pub(crate) key: PathBuf,
    pub(crate) input: PathBuf,
    pub(crate) out: PathBuf,
}

pub(crate) fn setup(label: &str) -> Setup {
    let work = WorkDir::new(label);
    let key = work.join("publish_ed25519");
    run_checked(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "publisher", "-f"])
            .arg(&key),
    );
    let input = work.write("tctl.yaml", &fixture(), 0o600);
    let out = work.join("out");
    Setup {
        work,
        key,
        input,
        out,
    }
}

impl Setup {
    /// `mfactl publish` under umask 077 (the files must come out 0644
    /// anyway: a web server reads them).
    pub(crate) fn publish(&self, extra: &[&str]) -> Finished {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "umask 077; exec \"$0\" \"$@\""])
            .arg(bins::mfactl())
            .arg("publish")
            .arg("--out")
            .arg(&self.out)
            .arg("--signing-key")
            .arg(&self.key)
            .args(extra);
        run_with_timeout(&mut cmd, Duration::from_secs(60))
    }

    pub(crate) fn publish_ok(&self, extra: &[&str]) -> Finished {
        let f = self.publish(extra);
        assert!(f.success(), "publish {extra:?}: {}{}", f.stdout, f.stderr);
        f
    }

    pub(crate) fn input_args(&self) -> Vec<String> {
        vec!["--from".into(), self.input.display().to_string()]
    }

    /// The input with the lock's message changed: a new bundle.
    pub(crate) fn write_input_variant(&self, n: usize) {
        let text = fixture().replace(
            "message: account under review",
            &format!("message: account under review {n}"),
        );
        std::fs::write(&self.input, text).unwrap();
    }
}

pub(crate) fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The public line `mfactl publish` printed.
pub(crate) fn printed_key(f: &Finished) -> [u8; 32] {
    let line = f
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("signing key (for agents' cluster.signing_keys): "))
        .unwrap_or_else(|| panic!("no signing key line in: {}", f.stdout));
    parse_signing_key(line).unwrap()
}

/// Reads DIR as an agent would: manifest, signature, bundle; checks all.
pub(crate) fn read_verified(out: &Path, key: &[u8; 32]) -> (Manifest, Vec<u8>) {
    let bytes = std::fs::read(out.join("manifest.json")).unwrap();
    let sig = std::fs::read(out.join("manifest.json.sig")).unwrap();
    verify_bundle_signature(&bytes, &sig, &[*key]).unwrap();
    let m = Manifest::parse(&bytes).unwrap();
    let bundle = std::fs::read(out.join(&m.bundle.path)).unwrap();
    assert_eq!(sha256_hex(&bundle), m.bundle.sha256);
    assert_eq!(bundle.len() as u64, m.bundle.size);
    (m, bundle)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file under `dir`, by relative path.
pub(crate) fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// What a reader of the directory saw, and whether it was ever broken. A
/// bundle may only be missing when at least [`BUNDLES_KEPT`] - 1 newer
/// publications finished between reading the manifest and the bundle (the
/// reader was that slow: pruning is then by design); a hash mismatch never.
pub(crate) fn read_once(
    out: &Path,
    key: &[u8; 32],
    published: &AtomicUsize,
) -> Result<(u64, bool), String> {
    let before = published.load(Ordering::SeqCst);
    let bytes =
        std::fs::read(out.join("manifest.json")).map_err(|e| format!("manifest.json: {e}"))?;
    let m = Manifest::parse(&bytes).map_err(|e| format!("manifest.json is not whole: {e}"))?;
    let bundle = match std::fs::read(out.join(&m.bundle.path)) {
        Ok(b) => b,
        Err(_) if published.load(Ordering::SeqCst) >= before + BUNDLES_KEPT - 1 => {
            return Ok((m.serial, false))
        }
        Err(e) => {
            return Err(format!(
                "serial {}: {} is missing: {e}",
                m.serial, m.bundle.path
            ))
        }
    };
    if sha256_hex(&bundle) != m.bundle.sha256 {
        return Err(format!(
            "serial {}: {} has another hash",
            m.serial, m.bundle.path
        ));
    }
    // The signature is renamed in just before the manifest: a reader may
    // catch the one without the other (agents read both again once).
    let sig = std::fs::read(out.join("manifest.json.sig")).map_err(|e| e.to_string())?;
    Ok((
        m.serial,
        verify_bundle_signature(&bytes, &sig, &[*key]).is_err(),
    ))
}

/// The serial of the manifest in `out`, if there is a whole one.
pub(crate) fn current_serial(out: &Path) -> Option<u64> {
    let bytes = std::fs::read(out.join("manifest.json")).ok()?;
    Manifest::parse(&bytes).ok().map(|m| m.serial)
}

/// What `tctl get user_login_state` prints for the fixture's cluster.
pub(crate) fn login_states_fixture() -> PathBuf {
    workspace_root()
        .join(TESTDATA)
        .join("tctl_user_login_states.yaml")
}

/// A `tctl` script first on PATH: adds its arguments, one run a line, to
/// `tctl-args`, then runs `body`.
pub(crate) fn fake_tctl(s: &Setup, body: &str) -> String {
    let bin = s.work.subdir("bin", 0o755);
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> {args}\n{body}\n",
        args = s.work.join("tctl-args").display()
    );
    s.work.write("bin/tctl", &script, 0o755);
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
