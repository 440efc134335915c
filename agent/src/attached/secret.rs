//! A PIN in memory: never printed, overwritten when dropped.

use std::fmt;

/// A PIN. `Debug` prints nothing of it; the bytes are zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn new(text: String) -> Pin {
        Pin(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Overwrites a text that may hold a secret (a PIN among PAM answers)
/// before its memory is freed.
pub fn wipe(text: String) {
    drop(Pin::new(text));
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(..)")
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        // Keeps the writes from being optimised away.
        std::hint::black_box(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_pin() {
        let p = Pin::new("123456".into());
        assert_eq!(format!("{p:?}"), "Pin(..)");
        assert_eq!(p.expose(), "123456");
    }
}
