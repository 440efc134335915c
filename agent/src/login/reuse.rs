//! The reuse window (off by default, at most 5 minutes): a tap that
//! satisfied a login may serve the next logins of the same cluster user,
//! login and source address within the window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::evidence::KeyClass;

/// (cluster user, login, rhost).
type ReuseKey = (String, String, String);

const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct ReuseCache {
    entries: Mutex<HashMap<ReuseKey, (SystemTime, KeyClass, String)>>,
}

/// What an earlier tap proved, and with which device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reused {
    pub class: KeyClass,
    pub device: String,
    pub age: Duration,
}

impl ReuseCache {
    /// Remembers a tap. Logins without a source address are never reused.
    pub fn record(
        &self,
        user: &str,
        login: &str,
        rhost: Option<&str>,
        class: KeyClass,
        device: &str,
        now: SystemTime,
    ) {
        let Some(rhost) = rhost.filter(|r| !r.is_empty()) else {
            return;
        };
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(
            (user.into(), login.into(), rhost.into()),
            (now, class, device.into()),
        );
    }

    /// The tap recorded for this user, login and source, if it is younger
    /// than `window`. A tap "from the future" (the clock went back) is not
    /// reused.
    pub fn lookup(
        &self,
        user: &str,
        login: &str,
        rhost: Option<&str>,
        window: Duration,
        now: SystemTime,
    ) -> Option<Reused> {
        if window.is_zero() {
            return None;
        }
        let rhost = rhost.filter(|r| !r.is_empty())?;
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, class, device) =
            map.get(&(user.to_string(), login.to_string(), rhost.to_string()))?;
        let age = now.duration_since(*at).ok()?;
        (age < window).then(|| Reused {
            class: *class,
            device: device.clone(),
            age,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_user_login_and_source_must_match() {
        let c = ReuseCache::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let w = Duration::from_secs(120);
        c.record(
            "jerry",
            "jerry",
            Some("10.0.0.1"),
            KeyClass::Touch,
            "key1",
            t0,
        );
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            c.lookup("jerry", "jerry", Some("10.0.0.1"), w, later)
                .unwrap()
                .class,
            KeyClass::Touch
        );
        assert!(
            c.lookup("jerry", "jerry", Some("10.0.0.1"), Duration::ZERO, later)
                .is_none(),
            "off"
        );
        assert!(
            c.lookup("jerry", "jerry", Some("10.0.0.2"), w, later)
                .is_none(),
            "other source"
        );
        assert!(
            c.lookup("jerry", "root", Some("10.0.0.1"), w, later)
                .is_none(),
            "other login"
        );
        assert!(
            c.lookup("olga", "jerry", Some("10.0.0.1"), w, later)
                .is_none(),
            "other user"
        );
        assert!(
            c.lookup("jerry", "jerry", Some("10.0.0.1"), w, t0 + w)
                .is_none(),
            "expired"
        );
        assert!(c
            .lookup(
                "jerry",
                "jerry",
                Some("10.0.0.1"),
                w,
                t0 - Duration::from_secs(1)
            )
            .is_none());
        c.record("jerry", "jerry", None, KeyClass::Touch, "key1", t0);
        assert!(
            c.lookup("jerry", "jerry", None, w, later).is_none(),
            "no source, no reuse"
        );
    }
}
