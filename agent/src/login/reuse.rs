//! The reuse window (off by default, at most 5 minutes): a tap that
//! satisfied a login may serve the next logins of the same cluster user,
//! login and source address within the window, and only those that present
//! again the key or certificate that identified the person the first time
//! ([`ConnectionKey`]). A source address alone says nothing about who is
//! behind it (a NAT, a bastion, a VPN), and a login name only guesses at
//! its person; like Teleport's MFA-verified certificate, which is bound to
//! the client's key pair, a reused tap is bound to the connection's key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::evidence::KeyClass;

/// What identified a connection's person: a registered login key, or a
/// verified Teleport certificate of this cluster, that sshd accepted.
/// Holds the cluster user it names and the SHA-256 of the key's wire blob.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionKey {
    user: String,
    blob_sha256: [u8; 32],
}

impl ConnectionKey {
    /// The key sshd accepted (its blob in base64, as `SSH_AUTH_INFO_0`
    /// carries it) as evidence of `user`; `None` when the blob does not
    /// decode (it then identifies nobody).
    pub fn new(user: &str, blob_b64: &str) -> Option<ConnectionKey> {
        let blob = base64::engine::general_purpose::STANDARD
            .decode(blob_b64)
            .ok()?;
        Some(ConnectionKey {
            user: user.to_string(),
            blob_sha256: Sha256::digest(&blob).into(),
        })
    }

    /// The cluster user the key identified.
    pub fn user(&self) -> &str {
        &self.user
    }
}

/// (connection key, login, rhost).
type ReuseKey = (ConnectionKey, String, String);

const MAX_ENTRIES: usize = 100_000;

/// A recorded tap: when (on the wall clock and the monotonic one), its
/// key class and its device.
struct Tapped {
    at: SystemTime,
    at_mono: Instant,
    class: KeyClass,
    device: String,
}

#[derive(Default)]
pub struct ReuseCache {
    entries: Mutex<HashMap<ReuseKey, Tapped>>,
}

/// What an earlier tap proved, and with which device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reused {
    pub class: KeyClass,
    pub device: String,
    pub age: Duration,
}

impl ReuseCache {
    /// Remembers a tap of the person `key` identified. Logins without a
    /// source address are never reused.
    pub fn record(
        &self,
        key: &ConnectionKey,
        login: &str,
        rhost: Option<&str>,
        class: KeyClass,
        device: &str,
        now: SystemTime,
    ) {
        self.record_at(key, login, rhost, (class, device), (now, Instant::now()));
    }

    /// [`ReuseCache::record`] with the monotonic time given (tests).
    fn record_at(
        &self,
        key: &ConnectionKey,
        login: &str,
        rhost: Option<&str>,
        (class, device): (KeyClass, &str),
        (now, mono): (SystemTime, Instant),
    ) {
        let Some(rhost) = rhost.filter(|r| !r.is_empty()) else {
            return;
        };
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(
            (key.clone(), login.into(), rhost.into()),
            Tapped {
                at: now,
                at_mono: mono,
                class,
                device: device.into(),
            },
        );
    }

    /// The tap recorded for this connection key (its person and key),
    /// login and source, if it is younger than `window` on both the wall
    /// clock and the monotonic one, as `Challenge::is_expired` judges a
    /// challenge: a wall clock stepped back (an NTP answer nobody signs)
    /// does not keep a tap reusable longer. A tap "from the future" (the
    /// wall clock went back past it) is not reused.
    pub fn lookup(
        &self,
        key: &ConnectionKey,
        login: &str,
        rhost: Option<&str>,
        window: Duration,
        now: SystemTime,
    ) -> Option<Reused> {
        self.lookup_at(key, login, rhost, window, (now, Instant::now()))
    }

    /// [`ReuseCache::lookup`] with the monotonic time given (tests).
    fn lookup_at(
        &self,
        key: &ConnectionKey,
        login: &str,
        rhost: Option<&str>,
        window: Duration,
        (now, mono): (SystemTime, Instant),
    ) -> Option<Reused> {
        if window.is_zero() {
            return None;
        }
        let rhost = rhost.filter(|r| !r.is_empty())?;
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let tap = map.get(&(key.clone(), login.to_string(), rhost.to_string()))?;
        let wall_age = now.duration_since(tap.at).ok()?;
        let age = wall_age.max(mono.saturating_duration_since(tap.at_mono));
        (age < window).then(|| Reused {
            class: tap.class,
            device: tap.device.clone(),
            age,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY1: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
    const KEY2: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAICAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";

    fn key(user: &str, blob: &str) -> ConnectionKey {
        ConnectionKey::new(user, blob).unwrap()
    }

    #[test]
    fn window_key_login_and_source_must_match() {
        let c = ReuseCache::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let w = Duration::from_secs(120);
        let jerry = key("jerry", KEY1);
        c.record(
            &jerry,
            "jerry",
            Some("10.0.0.1"),
            KeyClass::Touch,
            "key1",
            t0,
        );
        let later = t0 + Duration::from_secs(60);
        let find = |k: &ConnectionKey, login: &str, rhost: Option<&str>, w, now| {
            c.lookup(k, login, rhost, w, now)
        };
        assert_eq!(
            find(&jerry, "jerry", Some("10.0.0.1"), w, later)
                .unwrap()
                .class,
            KeyClass::Touch
        );
        assert!(
            find(&jerry, "jerry", Some("10.0.0.1"), Duration::ZERO, later).is_none(),
            "off"
        );
        let misses = [
            (key("jerry", KEY1), "jerry", "10.0.0.2", "other source"),
            (key("jerry", KEY1), "root", "10.0.0.1", "other login"),
            (key("olga", KEY1), "jerry", "10.0.0.1", "other user"),
            (key("jerry", KEY2), "jerry", "10.0.0.1", "other key"),
        ];
        for (k, login, rhost, why) in misses {
            assert!(find(&k, login, Some(rhost), w, later).is_none(), "{why}");
        }
        assert!(
            find(&jerry, "jerry", Some("10.0.0.1"), w, t0 + w).is_none(),
            "expired"
        );
        let before = t0 - Duration::from_secs(1);
        assert!(find(&jerry, "jerry", Some("10.0.0.1"), w, before).is_none());
        let c2 = ReuseCache::default();
        c2.record(&jerry, "jerry", None, KeyClass::Touch, "key1", t0);
        assert!(
            c2.lookup(&jerry, "jerry", None, w, later).is_none(),
            "no source, no reuse"
        );
    }

    /// The wall clock stepped back after the tap: by it the tap looks
    /// young, but the monotonic clock's age ends the window (and is the
    /// age reported).
    #[test]
    fn a_wall_clock_stepped_back_does_not_keep_a_tap_reusable() {
        let c = ReuseCache::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let m0 = Instant::now();
        let w = Duration::from_secs(120);
        let jerry = key("jerry", KEY1);
        let tap = (KeyClass::Touch, "key1");
        c.record_at(&jerry, "jerry", Some("10.0.0.1"), tap, (t0, m0));
        let find = |wall: u64, mono: u64| {
            let at = (
                t0 + Duration::from_secs(wall),
                m0 + Duration::from_secs(mono),
            );
            c.lookup_at(&jerry, "jerry", Some("10.0.0.1"), w, at)
                .map(|r| r.age.as_secs())
        };
        assert_eq!(find(60, 60), Some(60));
        // 100 s on the wall clock, 110 s really: the larger age.
        assert_eq!(find(100, 110), Some(110));
        // Stepped back: 10 s by the wall clock, 120 s (the window) really.
        assert_eq!(find(10, 120), None);
        assert_eq!(find(10, 500), None);
        // Stepped forward: the wall clock ends it as before.
        assert_eq!(find(120, 5), None);
    }

    #[test]
    fn a_key_that_does_not_decode_identifies_nobody() {
        assert!(ConnectionKey::new("jerry", "not base64!").is_none());
        assert_ne!(key("jerry", KEY1), key("jerry", KEY2));
        assert_eq!(key("jerry", KEY1).user(), "jerry");
    }
}
