//! The authorized_keys lines this agent served to sshd, remembered briefly:
//! a `verify-required` line served for a login proves sshd checked the PIN
//! when that key then shows up in `SSH_AUTH_INFO_0`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::authorized_keys_changes::KeyFilesState;
use super::sshd_connection::ConnectionId;

/// How long a served line is remembered: sshd's default LoginGraceTime, the
/// longest an authentication may take. Longer only widens the time in
/// which the user's files could change under a held connection.
pub const SERVED_TTL: Duration = Duration::from_secs(120);
const MAX_ENTRIES: usize = 100_000;

/// (login, key type, key blob, the sshd connection it was served to).
type ServedKey = (String, String, String, Option<ConnectionId>);

/// A line pam-mfa served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub verify_required: bool,
    /// When (wall clock, to compare with the files' change times).
    pub at: SystemTime,
    /// The login's authorized_keys files then.
    pub files: KeyFilesState,
}

/// Served lines, per login, key and sshd connection: a serve for one
/// connection (after a policy reload, say) never stands for another's.
#[derive(Default)]
pub struct ServedKeys {
    entries: Mutex<HashMap<ServedKey, (Served, Instant)>>,
}

impl ServedKeys {
    /// Remembers a line served for `login` to sshd connection `connection`
    /// (`None`: not known), and the state of the login's own key files at
    /// that moment.
    pub fn record(
        &self,
        login: &str,
        (key_type, blob): (&str, &str),
        verify_required: bool,
        files: KeyFilesState,
        connection: Option<ConnectionId>,
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
        let key = (login.into(), key_type.into(), blob.into(), connection);
        map.insert(key, (served, now));
    }

    /// The line pam-mfa served this key for this login within the TTL:
    /// when, and whether it carried `verify-required`. `None`: not served
    /// (sshd found the key elsewhere; nothing is known about its options).
    /// The line served to `connection` only: sshd runs the keys command in
    /// the connection's session, so a connection with no serve of its own
    /// found the key elsewhere (in the user's files, which sshd reads
    /// first), and another connection's line says nothing of it. When the
    /// connection is not known, the weakest line served to any: one without
    /// `verify-required` if there is one, so it never lends a PIN.
    pub fn served(
        &self,
        login: &str,
        key_type: &str,
        blob: &str,
        connection: Option<ConnectionId>,
    ) -> Option<Served> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = |(served, at): &(Served, Instant)| {
            (at.elapsed() < SERVED_TTL).then(|| (served.clone(), *at))
        };
        if let Some(c) = connection {
            let key = (login.into(), key_type.into(), blob.into(), Some(c));
            return map.get(&key).and_then(fresh).map(|(served, _)| served);
        }
        map.iter()
            .filter(|((l, t, b, _), _)| l == login && t == key_type && b == blob)
            .filter_map(|(_, entry)| fresh(entry))
            .min_by_key(|(served, at)| (served.verify_required, std::cmp::Reverse(*at)))
            .map(|(served, _)| served)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify(s: &ServedKeys, login: &str, c: Option<ConnectionId>) -> Option<bool> {
        s.served(login, "t", "b", c).map(|s| s.verify_required)
    }

    #[test]
    fn remembers_per_login_and_key() {
        let s = ServedKeys::default();
        assert_eq!(verify(&s, "j", None), None);
        let files = KeyFilesState::unreadable;
        s.record("j", ("t", "b"), true, files(), None);
        assert_eq!(verify(&s, "j", None), Some(true));
        assert_eq!(verify(&s, "k", None), None, "per login");
        s.record("j", ("t", "b"), false, files(), None);
        assert_eq!(verify(&s, "j", None), Some(false));
    }

    /// Connection A was served a line without verify-required (sshd asked
    /// no PIN); after a policy reload, connection B's has it. A is never
    /// credited B's PIN, B keeps its own; a connection that is not known
    /// gets the weakest, one with no serve of its own none.
    #[test]
    fn a_serve_for_another_connection_never_stands_for_this_one() {
        let s = ServedKeys::default();
        let (a, b) = (ConnectionId::new(100, 7), ConnectionId::new(200, 9));
        let files = KeyFilesState::unreadable;
        s.record("j", ("t", "b"), false, files(), Some(a));
        s.record("j", ("t", "b"), true, files(), Some(b));
        assert_eq!(verify(&s, "j", Some(a)), Some(false));
        assert_eq!(verify(&s, "j", Some(b)), Some(true));
        assert_eq!(verify(&s, "j", None), Some(false), "the weakest");
        // The other order: still the weakest for an unknown connection.
        let s = ServedKeys::default();
        s.record("j", ("t", "b"), true, files(), Some(b));
        s.record("j", ("t", "b"), false, files(), Some(a));
        assert_eq!(verify(&s, "j", None), Some(false));
        assert_eq!(verify(&s, "j", Some(b)), Some(true));
        // A connection with no serve of its own was served nothing: sshd
        // found the key elsewhere.
        let c = ConnectionId::new(300, 1);
        assert_eq!(verify(&s, "j", Some(c)), None);
    }
}
