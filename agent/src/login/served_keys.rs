//! The authorized_keys lines this agent served to sshd, remembered briefly:
//! a `verify-required` line served for a login proves sshd checked the PIN
//! when that key then shows up in `SSH_AUTH_INFO_0`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::authorized_keys_changes::KeyFilesState;

/// How long a served line is remembered: sshd's default LoginGraceTime, the
/// longest an authentication may take. Longer only widens the time in
/// which the user's files could change under a held connection.
pub const SERVED_TTL: Duration = Duration::from_secs(120);
const MAX_ENTRIES: usize = 100_000;

/// (login, key type, key blob).
type ServedKey = (String, String, String);

/// A line pam-mfa served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub verify_required: bool,
    /// When (wall clock, to compare with the files' change times).
    pub at: SystemTime,
    /// The login's authorized_keys files then.
    pub files: KeyFilesState,
}

#[derive(Default)]
pub struct ServedKeys {
    entries: Mutex<HashMap<ServedKey, (Served, Instant)>>,
}

impl ServedKeys {
    /// Remembers a line served for `login`, and the state of the login's
    /// own key files at that moment.
    pub fn record(
        &self,
        login: &str,
        (key_type, blob): (&str, &str),
        verify_required: bool,
        files: KeyFilesState,
    ) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| now.duration_since(*at) < SERVED_TTL);
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        let served = Served {
            verify_required,
            at: SystemTime::now(),
            files,
        };
        map.insert((login.into(), key_type.into(), blob.into()), (served, now));
    }

    /// Whether pam-mfa served this key for this login within the TTL: when,
    /// and whether its line carried `verify-required`. `None`: not served
    /// (sshd found the key elsewhere; nothing is known about its options).
    pub fn served(&self, login: &str, key_type: &str, blob: &str) -> Option<Served> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&(login.to_string(), key_type.to_string(), blob.to_string())) {
            Some((served, at)) if at.elapsed() < SERVED_TTL => Some(served.clone()),
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
        let verify = |s: &ServedKeys, login| s.served(login, "t", "b").map(|s| s.verify_required);
        assert_eq!(verify(&s, "j"), None);
        let files = KeyFilesState::unreadable;
        s.record("j", ("t", "b"), true, files());
        assert_eq!(verify(&s, "j"), Some(true));
        assert_eq!(verify(&s, "k"), None, "per login");
        s.record("j", ("t", "b"), false, files());
        assert_eq!(verify(&s, "j"), Some(false));
    }
}
