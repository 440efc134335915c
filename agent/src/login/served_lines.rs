//! sshd's `AuthorizedKeysCommand`: the registered security keys (sk and
//! PIV) of the cluster users who may log in as a login on this node.

use std::time::SystemTime;

use crate::policy::{decide, Access, Bundle, DeviceKind, LoginQuery, NodeInfo, ServiceClass};

/// One authorized_keys line and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedLine {
    pub line: String,
    pub key_type: String,
    pub blob: String,
    pub verify_required: bool,
}

/// Lines for `login`: for each cluster user whose roles allow this login on
/// this node (and who is not locked), each registered `ssh_sk` key (and each
/// `piv` key in OpenSSH form), with
/// `verify-required` where that user's requirement needs a PIN. Touch is
/// never relaxed: no `no-touch-required` is ever printed.
pub fn lines_for_login(
    bundle: &Bundle,
    node: &NodeInfo,
    login: &str,
    now: SystemTime,
    lock_view_stale: bool,
) -> Vec<ServedLine> {
    // Only users whose roles could allow the login (by name, as before);
    // `decide` says which of them do.
    let mut out = Vec::new();
    for user in bundle.users_who_may_have_login(login) {
        let user = user.name.as_str();
        for dev in bundle.devices_for_user(user) {
            // sk keys, and PIV keys by their slot certificate's key (the
            // attestation is verified when the login is decided: a key whose
            // chain does not hold counts as a file key there).
            let (key_type, key_blob, is_sk): (&str, String, bool) = match &dev.kind {
                DeviceKind::SshSk { key_type, .. } => (
                    key_type,
                    dev.kind.ssh_sk_blob_base64().unwrap_or_default(),
                    true,
                ),
                DeviceKind::Piv(p) => match &p.ssh_key {
                    Some((t, b)) => (t, b.clone(), false),
                    None => continue,
                },
                _ => continue,
            };
            let q = LoginQuery {
                node,
                login,
                user: Some(user),
                class: ServiceClass::Ssh,
                mfa_device: Some(&dev.id),
                now,
                // A stale lock view holds the keys of those whose locking
                // mode is strict (`decide` asks each person's roles).
                lock_view_stale,
            };
            let d = decide(bundle, &q);
            if d.access != Access::Allow || !d.known_user {
                continue;
            }
            // verify-required means something to sk keys only; a PIV key's
            // PIN policy is in its attestation.
            let verify_required = is_sk && d.requirement.key_policy.needs_pin();
            let opts = if verify_required {
                "verify-required "
            } else {
                ""
            };
            out.push(ServedLine {
                line: format!(
                    "{opts}{key_type} {key_blob} pam-mfa:{user}/{}",
                    sanitize(&dev.name)
                ),
                key_type: key_type.to_owned(),
                blob: key_blob,
                verify_required,
            });
        }
    }
    out
}

/// Keeps the comment a single harmless word.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}
