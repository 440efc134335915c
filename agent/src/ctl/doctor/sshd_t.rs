//! What `sshd -T` prints, read: its keywords and values, and the method
//! lists of `AuthenticationMethods` as pam-mfa judges them.

use std::collections::BTreeMap;

/// `sshd -T` output: lower-case keyword → its value (the rest of the line).
pub fn parse_sshd_t(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(' ')?;
            Some((k.to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// The method lists of `AuthenticationMethods` (`any`: none required).
pub(super) fn method_lists(value: &str) -> Vec<Vec<String>> {
    if value.is_empty() || value == "any" {
        return Vec::new();
    }
    value
        .split_whitespace()
        .map(|list| {
            list.split(',')
                .map(|m| m.split(':').next().unwrap_or("").to_string())
                .collect()
        })
        .collect()
}

/// pam-mfa's rule for an `AuthenticationMethods` value: every list is a
/// key, then keyboard-interactive (where pam-mfa decides). `any` (or no
/// value) breaks it. The same for sshd's global value, root's, and each
/// Match block's.
pub(super) fn methods_need_key_then_mfa(value: &str) -> bool {
    let lists = method_lists(value);
    let good = |l: &Vec<String>| {
        let key = l.iter().position(|m| m == "publickey");
        let ki = l.iter().position(|m| m == "keyboard-interactive");
        matches!((key, ki), (Some(k), Some(i)) if k < i)
    };
    !lists.is_empty() && lists.iter().all(good)
}

/// Why `PermitRootLogin prohibit-password` locks root out under pam-mfa.
pub(super) const ROOT_KBD_REFUSED: &str = "sshd refuses keyboard-interactive for root under this setting, and when PAM then succeeds it aborts the connection (\"fatal: Internal error: PAM auth succeeded when it should have failed\"): root cannot log in over SSH";
