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

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::lines_for_login;
    use crate::policy::{load_bundle_str, NodeInfo};

    const BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";

    /// Roles dev (root everywhere, no MFA) and prod (root on env=prod, a
    /// PIN), user alice with dev, and her key.
    fn policy(user: &str, extra: &str) -> String {
        format!(
            "kind: role\nversion: v7\nmetadata: {{name: dev}}\nspec:\n  allow:\n    logins: [root]\n    node_labels: {{'*': '*'}}\n---\n\
             kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  options:\n    require_session_mfa: hardware_key_pin\n  allow:\n    logins: [root]\n    node_labels: {{env: prod}}\n---\n\
             kind: mfa_device\nversion: v1\nmetadata: {{name: key}}\nspec:\n  user: {user}\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com {BLOB} laptop\"\n{extra}"
        )
    }

    fn lines(text: &str) -> Vec<String> {
        let bundle = load_bundle_str(text, "t.yaml").unwrap();
        let node = NodeInfo {
            name: "prod3".into(),
            id: None,
            labels: [("env".to_string(), "prod".to_string())].into(),
        };
        lines_for_login(&bundle, &node, "root", SystemTime::now(), false)
            .into_iter()
            .map(|l| l.line)
            .collect()
    }

    const ALICE: &str =
        "---\nkind: user\nversion: v2\nmetadata: {name: alice}\nspec:\n  roles: [dev]\n";
    const ALICES_STATE: &str = "---\nkind: user_login_state\nversion: v1\nmetadata: {name: alice}\nspec:\n  roles: [dev, prod]\n";

    /// A role the user_login_state gives asks for a PIN: the key is served
    /// with verify-required, as it would be had the user resource held it.
    #[test]
    fn a_pin_of_a_role_the_login_state_gives_is_served() {
        let own = lines(&policy("alice", ALICE));
        assert_eq!(
            own,
            [format!(
                "sk-ssh-ed25519@openssh.com {BLOB} pam-mfa:alice/key"
            )]
        );
        let with_state = lines(&policy("alice", &format!("{ALICE}{ALICES_STATE}")));
        assert_eq!(
            with_state,
            [format!(
                "verify-required sk-ssh-ed25519@openssh.com {BLOB} pam-mfa:alice/key"
            )]
        );
    }

    /// A login state with no user resource: its person cannot log in, so
    /// no key of theirs is served.
    #[test]
    fn no_key_is_served_for_a_login_state_without_a_user() {
        let state = ALICES_STATE.replace("alice", "carol");
        assert!(lines(&policy("carol", &state)).is_empty());
    }
}
