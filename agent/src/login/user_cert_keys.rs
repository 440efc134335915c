//! Teleport-like SSH user certificates for the decision tests: a user CA,
//! an openssh CA (agentless logins) and a user key made by `ssh-keygen` in
//! a scratch directory, and
//! certificates signed with them as Teleport signs its own (key id, login
//! principals, `teleport-*` extensions), valid around the [`Fixture`]'s
//! clock.
//!
//! [`Fixture`]: super::flow_tests::Fixture

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;

/// The [`Fixture`](super::flow_tests::Fixture)'s clock (Unix seconds).
const NOW: u64 = 1_800_000_000;

/// A scratch directory with a user CA (`ca`), an openssh CA (`openssh`)
/// and a user key; removed on drop.
pub(super) struct UserCertKeys {
    dir: PathBuf,
}

impl UserCertKeys {
    /// `tag` names the directory: one per test.
    pub(super) fn new(tag: &str) -> UserCertKeys {
        let dir =
            std::env::temp_dir().join(format!("mfa-agent-user-cert-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["ca", "openssh", "user"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
                .arg(dir.join(name)));
        }
        UserCertKeys { dir }
    }

    /// The `cert_authority` document (type `user`) of `cluster` that
    /// trusts this CA.
    pub(super) fn cert_authority(&self, cluster: &str) -> String {
        self.cert_authority_of("ca", "user", cluster)
    }

    /// The `cert_authority` document (type `openssh`) of `cluster` that
    /// trusts the openssh CA.
    pub(super) fn openssh_cert_authority(&self, cluster: &str) -> String {
        self.cert_authority_of("openssh", "openssh", cluster)
    }

    fn cert_authority_of(&self, key: &str, ca_type: &str, cluster: &str) -> String {
        let ca = read(&self.dir.join(format!("{key}.pub")));
        let ca = base64::engine::general_purpose::STANDARD.encode(format!("{ca}\n"));
        format!(
            "kind: cert_authority\nversion: v2\nmetadata: {{name: {cluster}}}\nspec:\n  type: {ca_type}\n  cluster_name: {cluster}\n  active_keys:\n    ssh:\n    - public_key: {ca}\n"
        )
    }

    /// sshd's `SSH_AUTH_INFO_0` for a certificate of cluster user
    /// `key_id` with `roles` (`teleport-roles`), login root, valid around
    /// the fixture's clock, with `extensions` (`name=value`) besides.
    pub(super) fn auth_info(&self, key_id: &str, roles: &[&str], extensions: &[&str]) -> String {
        self.signed_by("ca", key_id, roles, extensions)
    }

    /// [`UserCertKeys::auth_info`], signed by the openssh CA (Teleport's
    /// proxy logging in to an agentless node).
    pub(super) fn agentless_auth_info(
        &self,
        key_id: &str,
        roles: &[&str],
        extensions: &[&str],
    ) -> String {
        self.signed_by("openssh", key_id, roles, extensions)
    }

    fn signed_by(&self, ca: &str, key_id: &str, roles: &[&str], extensions: &[&str]) -> String {
        let _ = std::fs::remove_file(self.dir.join("user-cert.pub"));
        let window = format!("0x{:x}:0x{:x}", NOW - 600, NOW + 3600);
        let roles = serde_json::json!({"version": "v1", "roles": roles});
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-q", "-s"])
            .arg(self.dir.join(ca))
            .args(["-I", key_id, "-n", "root", "-V", &window, "-O"])
            .arg(format!("extension:teleport-roles={roles}"));
        for e in extensions {
            cmd.arg("-O").arg(format!("extension:{e}"));
        }
        run(cmd.arg(self.dir.join("user.pub")));
        let line = read(&self.dir.join("user-cert.pub"));
        let mut words = line.split_whitespace();
        format!(
            "publickey {} {}\n",
            words.next().unwrap(),
            words.next().unwrap()
        )
    }
}

impl Drop for UserCertKeys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("ssh-keygen must be installed");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_owned()
}
