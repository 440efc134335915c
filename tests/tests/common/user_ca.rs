//! A cluster's user CA (or openssh CA) made with ssh-keygen, and
//! certificates it signs as Teleport would (certs.rs, bot_locks.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use pam_mfa_e2e::keys::SshKey;
use pam_mfa_e2e::workdir::WorkDir;

pub fn keygen(args: &[&str]) {
    let out = Command::new("ssh-keygen").args(args).output().unwrap();
    assert!(out.status.success(), "ssh-keygen {args:?}: {out:?}");
}

/// A CA key pair made with ssh-keygen; returns its private path, its public
/// line and the `cert_authority` document for `cluster` with `spec_extra`
/// appended.
pub fn cluster_ca(
    work: &WorkDir,
    name: &str,
    cluster: &str,
    spec_extra: &str,
) -> (PathBuf, String, String) {
    cluster_ca_of_type(work, name, cluster, "user", spec_extra)
}

/// [`cluster_ca`] of `ca_type` (`user`, `openssh`).
pub fn cluster_ca_of_type(
    work: &WorkDir,
    name: &str,
    cluster: &str,
    ca_type: &str,
    spec_extra: &str,
) -> (PathBuf, String, String) {
    let path = work.join(name);
    keygen(&[
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-f",
        path.to_str().unwrap(),
    ]);
    let line = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    let doc = format!(
        "kind: cert_authority\nversion: v2\nmetadata: {{name: {cluster}}}\nspec:\n  type: {ca_type}\n  cluster_name: {cluster}\n  active_keys:\n    ssh:\n    - public_key: {}\n{spec_extra}",
        base64::engine::general_purpose::STANDARD.encode(line.trim())
    );
    (path, line, doc)
}

/// Signs `key`'s public half with `ca` as Teleport would for `user`, with
/// `roles`, valid for `validity` (ssh-keygen's `-V`), and the `extensions`
/// (`extension:NAME=VALUE`) beside the roles and traits.
pub fn certify_teleport(
    ca: &Path,
    key: &SshKey,
    user: &str,
    roles: &[&str],
    validity: &str,
    extensions: &[&str],
) {
    let roles = format!(
        r#"extension:teleport-roles={{"version":"v1","roles":{}}}"#,
        serde_json::to_string(roles).unwrap()
    );
    let traits = format!(r#"extension:teleport-traits={{"logins":["{user}"]}}"#);
    let mut args = vec![
        "-q",
        "-s",
        ca.to_str().unwrap(),
        "-I",
        user,
        "-n",
        user,
        "-V",
        validity,
        "-O",
        &roles,
        "-O",
        &traits,
    ];
    for e in extensions {
        args.extend(["-O", e]);
    }
    args.push(key.public.to_str().unwrap());
    keygen(&args);
}
