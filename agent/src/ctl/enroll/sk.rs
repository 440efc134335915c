//! `mfactl enroll --sk PUBKEY_FILE`: an OpenSSH security-key public key.

use std::path::Path;

use super::device_doc::{DeviceDoc, DeviceForm};
use super::{EnrollArgs, EnrollContext, Enrolled};
use crate::policy::SSH_SK_KEY_TYPES as SK_TYPES;

/// The authorized_keys-style line of an sk public key file's first key, or
/// why it cannot be registered.
pub fn sk_public_key_line(text: &str) -> Result<String, String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or("the file holds no public key")?;
    if line.starts_with("-----BEGIN") {
        return Err("this is a private key file; give the .pub file next to it".into());
    }
    let key_type = line.split_whitespace().next().unwrap_or_default();
    if !SK_TYPES.contains(&key_type) {
        let why = match key_type {
            "ssh-ed25519" | "ssh-rsa" | "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384"
            | "ecdsa-sha2-nistp521" | "ssh-dss" => {
                "a key kept in a file: using it proves no touch, so it cannot stand for a security-key tap (make one with ssh-keygen -t ed25519-sk or -t ecdsa-sk)"
            }
            t if t.ends_with("-cert-v01@openssh.com") => {
                "a certificate: register the security key itself (its .pub file)"
            }
            _ => "not an OpenSSH security-key type",
        };
        return Err(format!(
            "refusing a {key_type:?} key: {why}; accepted: {}",
            SK_TYPES.join(", ")
        ));
    }
    let key = ssh_key::PublicKey::from_openssh(line)
        .map_err(|e| format!("the {key_type} key does not parse: {e}"))?;
    let mut out = key
        .to_openssh()
        .map_err(|e| format!("the {key_type} key does not encode: {e}"))?;
    if !key.comment().is_empty() && !out.ends_with(key.comment()) {
        out = format!("{out} {}", key.comment());
    }
    Ok(out)
}

pub fn enroll_sk(ctx: &EnrollContext, args: &EnrollArgs, path: &Path) -> Result<Enrolled, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let line = sk_public_key_line(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = ssh_key::PublicKey::from_openssh(&line).map_err(|e| e.to_string())?;
    let fp = key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
    let short: String = fp
        .trim_start_matches("SHA256:")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let mut notes = vec![format!("{} key {fp}", key.algorithm())];
    if !ctx.user_known {
        notes.push(format!(
            "warning: user {:?} is not in the bundle ({}); the device names it anyway",
            args.user, ctx.bundle_origin
        ));
    }
    Ok(Enrolled {
        device: DeviceDoc {
            name: args
                .name
                .clone()
                .unwrap_or_else(|| format!("{}-sk-{short}", args.user)),
            user: args.user.clone(),
            form: DeviceForm::SshSk(line),
        },
        notes,
    })
}
