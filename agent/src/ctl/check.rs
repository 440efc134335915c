//! `mfactl check PATH`: validates a policy bundle or an agent.yaml.

use std::path::Path;

use crate::config::AgentConfig;
use crate::policy::{load_bundle_path, Bundle, DeviceKind, WebauthnForm};
use crate::verify::webauthn::{u2f_public_key_to_cose, WebauthnCredential};

/// What a file turned out to be, once valid.
pub enum Checked {
    Bundle {
        roles: usize,
        users: usize,
        locks: usize,
        devices: usize,
        warnings: Vec<String>,
        revision: String,
    },
    AgentConfig {
        node: String,
        source: String,
        /// What does not match this host (sshd's PubkeyAuthOptions).
        warnings: Vec<String>,
    },
}

/// An agent.yaml is recognised by its top-level keys; anything else is
/// checked as a bundle. A directory is always a bundle.
pub fn run_check(path: &Path) -> Result<Checked, String> {
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if looks_like_agent_config(&text) {
            let cfg = AgentConfig::parse(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?;
            let mut warnings = super::doctor::pubkey_options_warnings(&cfg);
            if let Ok(source) = cfg.policy_source() {
                warnings.extend(crate::config::bundle_mode_warning(&source));
            }
            return Ok(Checked::AgentConfig {
                node: cfg.node_name(),
                source: cfg.cluster.source.clone(),
                warnings,
            });
        }
    }
    let b = load_bundle_path(path).map_err(|e| e.to_string())?;
    let mut warnings = b.warnings.clone();
    warnings.extend(unusable_webauthn_keys(&b));
    Ok(Checked::Bundle {
        roles: b.roles().len(),
        users: b.users().len(),
        locks: b.locks().len(),
        devices: b.devices().len(),
        warnings,
        revision: b.revision.clone(),
    })
}

/// WebAuthn devices whose key this agent cannot use: the agent leaves them
/// out when a tap is verified (a bundle loads without a verifier); said here
/// so that a bad key is seen before its owner needs it.
fn unusable_webauthn_keys(b: &Bundle) -> Vec<String> {
    b.devices()
        .iter()
        .filter_map(|d| {
            let DeviceKind::Webauthn(w) = &d.kind else {
                return None;
            };
            let cose = match w.form {
                WebauthnForm::Webauthn => Ok(w.public_key.to_vec()),
                WebauthnForm::U2f => u2f_public_key_to_cose(&w.public_key),
            };
            let why = cose
                .and_then(|c| WebauthnCredential::new(w.credential_id.to_vec(), c))
                .err()?;
            Some(format!(
                "device {:?} of user {:?} cannot answer a tap: {why}",
                d.name, d.user
            ))
        })
        .collect()
}

/// A file of comments only (every key commented out, as the packaged
/// agent.yaml) is an agent.yaml of defaults: an empty bundle is no policy.
fn looks_like_agent_config(text: &str) -> bool {
    let top: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('\t'))
        .filter(|l| !l.trim().is_empty() && l.trim() != "---")
        .filter_map(|l| l.split(':').next())
        .collect();
    if top.is_empty() {
        return true;
    }
    !top.contains(&"kind")
        && top.iter().any(|k| {
            matches!(
                *k,
                "node"
                    | "cluster"
                    | "socket"
                    | "services"
                    | "fail_mode"
                    | "audit"
                    | "sshd"
                    | "reuse_window"
                    | "sessions"
                    | "piv"
                    | "challenge"
            )
        })
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;
    use crate::fido2::soft::SoftAuthenticator;

    #[test]
    fn a_device_whose_key_cannot_answer_is_a_warning() {
        let good = SoftAuthenticator::from_seed("example.com", b"check");
        // The broken one is another credential (one device per key).
        let entry = |name: &str, key: &[u8]| {
            let mut credential = good.credential_id().to_vec();
            credential.extend_from_slice(name.as_bytes());
            format!(
                "    - {{kind: mfa_device, version: v1, metadata: {{name: {name}}}, id: id-{name}, webauthn: {{credentialId: {}, publicKeyCbor: {}}}}}\n",
                STANDARD.encode(credential),
                STANDARD.encode(key)
            )
        };
        let mut bad_key = good.public_key_cose();
        let n = bad_key.len();
        bad_key[n - 1] ^= 1;
        let text = format!(
            "kind: user\nversion: v2\nmetadata: {{name: jerry}}\nspec:\n  local_auth:\n    mfa:\n{}{}",
            entry("good", &good.public_key_cose()),
            entry("broken", &bad_key)
        );
        let dir = std::env::temp_dir().join(format!("pam-mfa-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("users.yaml");
        std::fs::write(&file, text).unwrap();
        let checked = run_check(&file);
        std::fs::remove_dir_all(&dir).unwrap();
        let Ok(Checked::Bundle {
            devices, warnings, ..
        }) = checked
        else {
            panic!("not a bundle")
        };
        assert_eq!(devices, 2);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("device \"broken\" of user \"jerry\" cannot answer a tap"),
            "{warnings:?}"
        );
    }
}
