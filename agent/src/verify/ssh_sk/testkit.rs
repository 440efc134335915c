//! Test helpers: real sk keys from OpenSSH's software authenticator
//! (`sk-dummy.so`, package openssh-tests) and signatures made by `ssh-keygen`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use sha2::{Digest, Sha256, Sha512};
use ssh_encoding::{Decode, Encode};

/// OpenSSH's software FIDO authenticator (Debian: openssh-tests).
pub(crate) const SK_DUMMY: &str = "/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so";

/// The counter sk-dummy.so signs with, always.
pub(crate) const SK_DUMMY_COUNTER: u32 = 0x1234_5678;

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "mfa-agent-{tag}-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path).expect("create temp dir");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A key pair on disk and its public key in SSH wire format.
pub(crate) struct TestKey {
    pub(crate) private: PathBuf,
    pub(crate) public_blob: Vec<u8>,
    pub(crate) comment: String,
}

/// `ssh-keygen -t KEY_TYPE` (with sk-dummy for `*-sk` types) and `-O` options.
pub(crate) fn generate_key(dir: &Path, name: &str, key_type: &str, options: &[&str]) -> TestKey {
    assert!(
        Path::new(SK_DUMMY).exists(),
        "{SK_DUMMY} is missing: install openssh-tests (tests/install-deps.sh)"
    );
    let private = dir.join(name);
    let comment = format!("{name}@mfa-agent-test");
    let mut cmd = Command::new("ssh-keygen");
    cmd.env_remove("SSH_AUTH_SOCK")
        .args(["-q", "-t", key_type, "-N", "", "-C", &comment, "-f"])
        .arg(&private);
    if key_type.ends_with("-sk") {
        cmd.args(["-w", SK_DUMMY]);
    }
    for option in options {
        cmd.args(["-O", option]);
    }
    run(&mut cmd, "ssh-keygen (generate)");
    let text = std::fs::read_to_string(private.with_extension("pub")).expect("read .pub");
    let public_blob = public_blob_of(&text);
    TestKey {
        private,
        public_blob,
        comment,
    }
}

/// The wire-format blob of an `authorized_keys`-style line.
pub(crate) fn public_blob_of(line: &str) -> Vec<u8> {
    let b64 = line.split_whitespace().nth(1).expect("a key field");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64 key")
}

/// Signs `message` with `ssh-keygen -Y sign` and unwraps the SSHSIG armor.
/// Returns the inner signature blob and the data it signs (the SSHSIG
/// wrapper around the message's hash), for `verify_sk_signature`.
pub(crate) fn sshsig_sign(key: &TestKey, namespace: &str, message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let dir = key.private.parent().expect("key dir");
    let file = dir.join(format!("message-{}", SEQ.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&file, message).expect("write message");
    run(
        Command::new("ssh-keygen")
            .args(["-Y", "sign", "-n", namespace, "-f"])
            .arg(&key.private)
            .arg(&file)
            .env("SSH_SK_PROVIDER", SK_DUMMY)
            .env_remove("SSH_AUTH_SOCK"),
        "ssh-keygen -Y sign",
    );
    let armored = std::fs::read_to_string(file.with_extension("sig")).expect("read .sig");
    let b64: String = armored
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let sshsig = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64 sshsig");

    // PROTOCOL.sshsig: "SSHSIG" u32 version, string publickey, string namespace,
    // string reserved, string hash_algorithm, string signature.
    let (magic, mut r) = sshsig.split_at(6);
    assert_eq!(magic, b"SSHSIG");
    assert_eq!(u32::decode(&mut r).unwrap(), 1);
    assert_eq!(Vec::<u8>::decode(&mut r).unwrap(), key.public_blob);
    assert_eq!(Vec::<u8>::decode(&mut r).unwrap(), namespace.as_bytes());
    let reserved = Vec::<u8>::decode(&mut r).unwrap();
    let hash_alg = String::decode(&mut r).unwrap();
    let signature = Vec::<u8>::decode(&mut r).unwrap();
    assert!(r.is_empty());

    let hash = match hash_alg.as_str() {
        "sha512" => Sha512::digest(message).to_vec(),
        "sha256" => Sha256::digest(message).to_vec(),
        other => panic!("sshsig hash {other}"),
    };
    let mut signed = b"SSHSIG".to_vec();
    namespace.encode(&mut signed).unwrap();
    reserved.encode(&mut signed).unwrap();
    hash_alg.encode(&mut signed).unwrap();
    hash.encode(&mut signed).unwrap();
    (signature, signed)
}

/// Runs a command with no input and asserts it succeeded.
pub(crate) fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
