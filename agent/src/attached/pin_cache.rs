//! PINs verified on a card, kept per (user, card serial) for the cap's
//! `hardware_key.pin_cache_timeout`, never longer than one hour (Teleport's
//! ceiling). Only a PIN the card accepted is kept; a refused one removes
//! the entry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::secret::Pin;
use crate::piv::MAX_PIN_CACHE_TIMEOUT;

/// Entries kept at most (then expired ones go, then all).
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub struct PinCache {
    /// (user, serial) → the PIN and when the card accepted it.
    entries: Mutex<HashMap<(String, u32), (Pin, Instant)>>,
}

impl PinCache {
    /// Keeps `pin`, which `user`'s card `serial` accepted at `now`.
    pub fn put(&self, user: &str, serial: u32, pin: &Pin, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| now.saturating_duration_since(*at) < MAX_PIN_CACHE_TIMEOUT);
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert((user.to_owned(), serial), (pin.clone(), now));
    }

    /// The PIN of `user`'s card `serial`, if the card accepted it less than
    /// `timeout` ago (the policy's `pin_cache_timeout` now, capped at one
    /// hour; zero: none).
    pub fn get(&self, user: &str, serial: u32, timeout: Duration, now: Instant) -> Option<Pin> {
        let timeout = timeout.min(MAX_PIN_CACHE_TIMEOUT);
        let mut map = self.lock();
        let key = (user.to_owned(), serial);
        let (pin, at) = map.get(&key)?;
        if now.saturating_duration_since(*at) < timeout {
            return Some(pin.clone());
        }
        if now.saturating_duration_since(*at) >= MAX_PIN_CACHE_TIMEOUT {
            map.remove(&key);
        }
        None
    }

    pub fn forget(&self, user: &str, serial: u32) {
        self.lock().remove(&(user.to_owned(), serial));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u32), (Pin, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_and_card_within_the_timeout_capped_at_an_hour() {
        let c = PinCache::default();
        let t0 = Instant::now();
        let min = Duration::from_secs(60);
        let pin = Pin::new("123456".into());
        c.put("jerry", 7, &pin, t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(c.get("jerry", 7, min, at(59)), Some(pin.clone()));
        assert_eq!(c.get("jerry", 8, min, t0), None, "another card");
        assert_eq!(c.get("tom", 7, min, t0), None, "another user");
        assert_eq!(c.get("jerry", 7, min, at(60)), None, "expired");
        assert_eq!(c.get("jerry", 7, Duration::ZERO, t0), None, "zero: none");
        let day = Duration::from_secs(86_400);
        assert!(c.get("jerry", 7, day, at(3599)).is_some());
        assert_eq!(c.get("jerry", 7, day, at(3600)), None, "capped at 1h");
        c.put("jerry", 7, &pin, t0);
        c.forget("jerry", 7);
        assert_eq!(c.get("jerry", 7, min, t0), None);
    }
}
