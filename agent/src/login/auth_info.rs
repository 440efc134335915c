//! sshd's `SSH_AUTH_INFO_0` (ExposeAuthInfo): one line per authentication
//! method that succeeded, e.g. `publickey sk-ssh-ed25519@openssh.com AAAA...`.

/// A public key sshd accepted for this connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedKey {
    pub key_type: String,
    pub blob: String,
}

impl AcceptedKey {
    /// FIDO keys: OpenSSH checked their signed flags.
    pub fn is_security_key(&self) -> bool {
        self.key_type.starts_with("sk-")
    }

    pub fn is_certificate(&self) -> bool {
        self.key_type.contains("-cert-v01@openssh.com")
    }
}

/// The publickey lines of `SSH_AUTH_INFO_0`. Other methods are ignored;
/// malformed lines are skipped (they cannot add evidence).
pub fn accepted_keys(auth_info: &str) -> Vec<AcceptedKey> {
    auth_info
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_ascii_whitespace();
            if parts.next()? != "publickey" {
                return None;
            }
            let key_type = parts.next()?.to_string();
            let blob = parts.next()?.to_string();
            Some(AcceptedKey { key_type, blob })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_publickey_lines_only() {
        let info = "publickey ssh-ed25519 AAAAC3Nza\nkeyboard-interactive\npublickey sk-ssh-ed25519@openssh.com AAAAGnNr\n\
                    publickey\npassword\n";
        let keys = accepted_keys(info);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].key_type, "ssh-ed25519");
        assert!(!keys[0].is_security_key());
        assert!(keys[1].is_security_key());
        assert_eq!(keys[1].blob, "AAAAGnNr");
    }
}
