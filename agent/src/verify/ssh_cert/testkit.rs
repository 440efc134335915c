//! What the certificate tests share: a fixed validity window, a scratch
//! directory where `ssh-keygen` makes CAs, keys and Teleport-like
//! certificates, and the blob surgery of the tampering tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use crate::policy::CertAuthority;

/// Fixed validity window for the test certificates (2029-07-18, one hour).
pub(super) const VA: u64 = 0x7000_0000;

pub(super) const VB: u64 = VA + 3600;

pub(super) const ROLES: &str = r#"{"version":"v1","roles":["access-prod"]}"#;

pub(super) const TRAITS: &str = r#"{"logins":["jerry"]}"#;

pub(super) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub(super) fn inside() -> SystemTime {
    at(VA + 60)
}

pub(super) fn window() -> String {
    format!("0x{VA:x}:0x{VB:x}")
}

/// A scratch directory, removed on drop.
pub(super) struct Scratch {
    dir: PathBuf,
    n: AtomicUsize,
}

impl Scratch {
    pub(super) fn new(tag: &str) -> Scratch {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mfa-agent-ssh-cert-{}-{}-{}",
            std::process::id(),
            tag,
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch {
            dir,
            n: AtomicUsize::new(0),
        }
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `ssh-keygen -t ... -N '' -f NAME`; returns the public key line.
    pub(super) fn keygen(&self, name: &str, key_args: &[&str]) -> String {
        run(Command::new("ssh-keygen")
            .args(["-q", "-N", "", "-C", name])
            .args(key_args)
            .arg("-f")
            .arg(self.path(name)));
        read_line(&self.path(&format!("{name}.pub")))
    }

    /// Writes a public key line as a file, for signing.
    pub(super) fn write_pub(&self, name: &str, line: &str) {
        std::fs::write(self.path(&format!("{name}.pub")), format!("{line}\n")).unwrap();
    }

    /// Signs `subject.pub` with the CA key `ca`; returns (type word, base64).
    pub(super) fn sign(&self, ca: &str, subject: &str, args: &[&str]) -> (String, String) {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        let copy = format!("cert{n}");
        std::fs::copy(
            self.path(&format!("{subject}.pub")),
            self.path(&format!("{copy}.pub")),
        )
        .unwrap();
        run(Command::new("ssh-keygen")
            .arg("-q")
            .arg("-s")
            .arg(self.path(ca))
            .args(args)
            .arg(self.path(&format!("{copy}.pub"))));
        let line = read_line(&self.path(&format!("{copy}-cert.pub")));
        let mut parts = line.split_whitespace();
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(super) fn run(cmd: &mut Command) {
    let out = cmd.output().expect("ssh-keygen must be installed");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(super) fn read_line(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}

pub(super) fn ca(ca_type: &str, cluster: &str, key_line: &str) -> CertAuthority {
    CertAuthority {
        cluster_name: cluster.to_owned(),
        ca_type: ca_type.to_owned(),
        ssh_public_keys: vec![key_line.to_owned()],
        role_map: Vec::new(),
    }
}

/// The Teleport-like options for `ssh-keygen -s`.
pub(super) fn teleport_args(window: &str) -> Vec<String> {
    [
        "-I",
        "jerry",
        "-n",
        "jerry,root",
        "-V",
        window,
        "-O",
        &format!("extension:teleport-roles={ROLES}"),
        "-O",
        &format!("extension:teleport-traits={TRAITS}"),
        "-O",
        "extension:mfa-verified=device-1",
        "-O",
        "extension:private-key-policy=hardware_key_touch",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub(super) fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A scratch dir with CA `ca` (ed25519), user key `user`, and the trusted CA list.
pub(super) fn setup(tag: &str) -> (Scratch, Vec<CertAuthority>) {
    let s = Scratch::new(tag);
    let ca_line = s.keygen("ca", &["-t", "ed25519"]);
    s.keygen("user", &["-t", "ed25519"]);
    let cas = vec![ca("user", "example.com", &ca_line)];
    (s, cas)
}

pub(super) fn teleport_cert(s: &Scratch, ca: &str) -> (String, String) {
    s.sign(ca, "user", &strs(&teleport_args(&window())))
}

pub(super) fn decode(b64: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

pub(super) fn encode(blob: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(blob)
}

/// Reads one SSH `string` at `*pos`; returns its (start, end) and moves past it.
pub(super) fn skip_string(blob: &[u8], pos: &mut usize) -> (usize, usize) {
    let len = u32::from_be_bytes(blob[*pos..*pos + 4].try_into().unwrap()) as usize;
    let start = *pos + 4;
    *pos = start + len;
    (start, start + len)
}
