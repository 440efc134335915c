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
    entries: Mutex<HashMap<(String, u32), (Pin, Instant)>>,
}

impl PinCache {
    /// Keeps `pin` for `user`'s card `serial` until `now + timeout` (capped
    /// at one hour); a zero timeout keeps nothing.
    pub fn put(&self, user: &str, serial: u32, pin: &Pin, timeout: Duration, now: Instant) {
        let timeout = timeout.min(MAX_PIN_CACHE_TIMEOUT);
        let mut map = self.lock();
        if timeout.is_zero() {
            map.remove(&(user.to_owned(), serial));
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, until)| *until > now);
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert((user.to_owned(), serial), (pin.clone(), now + timeout));
    }

    /// The PIN kept for `user`'s card `serial`, if still inside its time.
    pub fn get(&self, user: &str, serial: u32, now: Instant) -> Option<Pin> {
        let mut map = self.lock();
        let key = (user.to_owned(), serial);
        match map.get(&key) {
            Some((pin, until)) if *until > now => Some(pin.clone()),
            Some(_) => {
                map.remove(&key);
                None
            }
            None => None,
        }
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
        let pin = Pin::new("123456".into());
        c.put("jerry", 7, &pin, Duration::from_secs(60), t0);
        assert_eq!(
            c.get("jerry", 7, t0 + Duration::from_secs(59)),
            Some(pin.clone())
        );
        assert_eq!(c.get("jerry", 8, t0), None, "another card");
        assert_eq!(c.get("tom", 7, t0), None, "another user");
        assert_eq!(
            c.get("jerry", 7, t0 + Duration::from_secs(60)),
            None,
            "expired"
        );
        c.put("jerry", 7, &pin, Duration::from_secs(86_400), t0);
        assert!(c.get("jerry", 7, t0 + Duration::from_secs(3599)).is_some());
        assert_eq!(
            c.get("jerry", 7, t0 + Duration::from_secs(3600)),
            None,
            "capped at 1h"
        );
        c.put("jerry", 7, &pin, Duration::from_secs(60), t0);
        c.forget("jerry", 7);
        assert_eq!(c.get("jerry", 7, t0), None);
        c.put("jerry", 7, &pin, Duration::ZERO, t0);
        assert_eq!(c.get("jerry", 7, t0), None, "zero keeps nothing");
    }
}
