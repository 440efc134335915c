//! The authorized_keys lines this agent served to sshd, remembered briefly:
//! a `verify-required` line served for a login proves sshd checked the PIN
//! when that key then shows up in `SSH_AUTH_INFO_0`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a served line is remembered; an SSH authentication is over well
/// within this (sshd's LoginGraceTime defaults to 120 s).
pub const SERVED_TTL: Duration = Duration::from_secs(600);
const MAX_ENTRIES: usize = 100_000;

/// (login, key type, key blob).
type ServedKey = (String, String, String);

#[derive(Default)]
pub struct ServedKeys {
    entries: Mutex<HashMap<ServedKey, (bool, Instant)>>,
}

impl ServedKeys {
    pub fn record(&self, login: &str, key_type: &str, blob: &str, verify_required: bool) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| now.duration_since(*at) < SERVED_TTL);
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(
            (login.into(), key_type.into(), blob.into()),
            (verify_required, now),
        );
    }

    /// Whether pam-mfa served this key for this login within the TTL, and
    /// if so whether its line carried `verify-required`. `None`: not served
    /// (sshd found the key elsewhere; nothing is known about its options).
    pub fn served(&self, login: &str, key_type: &str, blob: &str) -> Option<bool> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&(login.to_string(), key_type.to_string(), blob.to_string())) {
            Some((v, at)) if at.elapsed() < SERVED_TTL => Some(*v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_per_login_and_key() {
        let s = ServedKeys::default();
        assert_eq!(s.served("j", "t", "b"), None);
        s.record("j", "t", "b", true);
        assert_eq!(s.served("j", "t", "b"), Some(true));
        assert_eq!(s.served("k", "t", "b"), None, "per login");
        s.record("j", "t", "b", false);
        assert_eq!(s.served("j", "t", "b"), Some(false));
    }
}
