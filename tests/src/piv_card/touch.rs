//! The scriptable touch sensor. Each operation that needs a touch asks the script:
//! `touched`, `not touched`, or `delay N ms` (touched after N ms). The script is a
//! fixed answer, or a file read at every request so a test can change it while the
//! card runs. Cached touch (policy `cached`) lasts 15 s per slot, as on a YubiKey.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a `cached` touch stays valid.
pub const TOUCH_CACHE: Duration = Duration::from_secs(15);

/// One answer of the touch sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchAnswer {
    Touched,
    NotTouched,
    /// Touched after this long (the card holds the command meanwhile).
    Delay(Duration),
}

impl TouchAnswer {
    /// Parses `touched`, `not touched` (or `not-touched`), `delay N ms` (or `delay:N`).
    pub fn parse(text: &str) -> Result<TouchAnswer, String> {
        let t = text.trim().to_ascii_lowercase();
        let words: Vec<&str> = t
            .split(|c: char| c.is_whitespace() || c == ':' || c == '-')
            .filter(|w| !w.is_empty())
            .collect();
        match words.as_slice() {
            ["touched"] | ["yes"] => Ok(TouchAnswer::Touched),
            ["not", "touched"] | ["no"] => Ok(TouchAnswer::NotTouched),
            ["delay", n] | ["delay", n, "ms"] => n
                .parse::<u64>()
                .map(|ms| TouchAnswer::Delay(Duration::from_millis(ms)))
                .map_err(|_| format!("touch: bad delay {n:?} in {text:?}")),
            _ => Err(format!(
                "touch: {text:?} is not `touched`, `not touched` or `delay N ms`"
            )),
        }
    }
}

/// The sensor: an answer, optionally overridden by a script file.
#[derive(Debug)]
pub struct Touch {
    answer: TouchAnswer,
    script: Option<PathBuf>,
    last: HashMap<u8, Instant>,
    requests: u64,
}

impl Touch {
    pub fn new(answer: TouchAnswer, script: Option<PathBuf>) -> Touch {
        Touch {
            answer,
            script,
            last: HashMap::new(),
            requests: 0,
        }
    }

    /// How many times a touch was asked for.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Forgets cached touches (the key was unplugged).
    pub fn forget(&mut self) {
        self.last.clear();
    }

    /// True when a `cached` touch for `slot` is still valid.
    pub fn cached(&self, slot: u8) -> bool {
        self.last
            .get(&slot)
            .is_some_and(|t| t.elapsed() < TOUCH_CACHE)
    }

    /// Waits for the scripted touch on `slot`; true when touched.
    pub fn wait(&mut self, slot: u8) -> bool {
        self.requests += 1;
        let answer = self.current();
        eprintln!("piv-card: touch requested for slot {slot:02x}: {answer:?}");
        let touched = match answer {
            TouchAnswer::Touched => true,
            TouchAnswer::NotTouched => false,
            TouchAnswer::Delay(d) => {
                std::thread::sleep(d);
                true
            }
        };
        if touched {
            self.last.insert(slot, Instant::now());
        }
        touched
    }

    fn current(&self) -> TouchAnswer {
        let Some(path) = &self.script else {
            return self.answer;
        };
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => self.answer,
            Ok(text) => TouchAnswer::parse(&text).unwrap_or_else(|e| {
                // A broken script never counts as a touch.
                eprintln!("piv-card: {e} (in {}); not touched", path.display());
                TouchAnswer::NotTouched
            }),
            Err(_) => self.answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_script_language() {
        assert_eq!(TouchAnswer::parse("touched\n"), Ok(TouchAnswer::Touched));
        assert_eq!(
            TouchAnswer::parse("not touched"),
            Ok(TouchAnswer::NotTouched)
        );
        assert_eq!(
            TouchAnswer::parse("not-touched"),
            Ok(TouchAnswer::NotTouched)
        );
        assert_eq!(
            TouchAnswer::parse("delay 250 ms"),
            Ok(TouchAnswer::Delay(Duration::from_millis(250)))
        );
        assert!(TouchAnswer::parse("delay soon").is_err());
        assert!(TouchAnswer::parse("maybe").is_err());
    }

    #[test]
    fn a_broken_script_file_is_not_a_touch() {
        let dir = std::env::temp_dir().join(format!("touch-{}", crate::random_hex(4)));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("touch");
        std::fs::write(&f, "wibble").unwrap();
        let mut t = Touch::new(TouchAnswer::Touched, Some(f.clone()));
        assert!(!t.wait(0x9c));
        std::fs::write(&f, "touched").unwrap();
        assert!(t.wait(0x9c));
        assert!(t.cached(0x9c) && !t.cached(0x9a));
        assert_eq!(t.requests(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
