//! The last signature counter seen per device: a counter that does not
//! move forward means a cloned key or a replayed signature, and is refused.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct SignatureCounters {
    last: Mutex<HashMap<String, u32>>,
}

impl SignatureCounters {
    /// Accepts `counter` for `device` when it is above the last one seen (a
    /// counter of 0 means the authenticator keeps none, and is accepted only
    /// while the device has never reported another). Records it on success.
    pub fn check_and_record(&self, device: &str, counter: u32) -> Result<(), String> {
        let mut map = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(device).copied() {
            Some(last) if counter == 0 && last == 0 => Ok(()),
            Some(last) if counter <= last => Err(format!(
                "signature counter went from {last} to {counter}: the key may be cloned, or the answer replayed"
            )),
            _ => {
                map.insert(device.to_string(), counter);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_must_grow() {
        let c = SignatureCounters::default();
        assert!(c.check_and_record("d", 5).is_ok());
        assert!(c.check_and_record("d", 5).is_err());
        assert!(c.check_and_record("d", 4).is_err());
        assert!(c.check_and_record("d", 6).is_ok());
        assert!(c.check_and_record("e", 0).is_ok());
        assert!(c.check_and_record("e", 0).is_ok(), "no counter kept");
        assert!(c.check_and_record("e", 1).is_ok());
        assert!(c.check_and_record("e", 0).is_err());
    }
}
