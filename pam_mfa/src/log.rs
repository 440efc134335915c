//! Syslog lines (facility `LOG_AUTHPRIV`), in Linux-PAM's
//! `pam_mfa(SERVICE:HOOK): message` form.
//!
//! What is logged: configuration errors, an unreachable or unavailable agent,
//! every use of fail-open (at `LOG_ALERT`), protocol and agent errors, and
//! with the `debug` argument one `LOG_DEBUG` line per step naming message
//! types and counts. Never answers, never prompt texts.

use std::fmt::Display;

/// Syslog severities the module uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Alert,
    Crit,
    Err,
    Warning,
    Notice,
    Debug,
}

/// Where log lines go: syslog in the real module (`ffi::syslog::Syslog`),
/// a vector in tests.
pub trait LogSink {
    fn log(&mut self, level: Level, line: &str);
}

/// Longest line written, in bytes (before the prefix).
const MAX_LINE: usize = 1024;

/// A sink with the `pam_mfa(SERVICE:HOOK): ` prefix and the debug switch.
pub struct Logger<'a> {
    sink: &'a mut dyn LogSink,
    prefix: String,
    debug: bool,
}

impl<'a> Logger<'a> {
    pub fn new(sink: &'a mut dyn LogSink, service: &str, hook: &str) -> Self {
        let prefix = format!("pam_mfa({}:{hook}): ", sanitize(service, 64));
        Logger {
            sink,
            prefix,
            debug: false,
        }
    }

    pub fn set_debug(&mut self, on: bool) {
        self.debug = on;
    }

    pub fn log(&mut self, level: Level, msg: impl Display) {
        if level == Level::Debug && !self.debug {
            return;
        }
        let line = format!("{}{}", self.prefix, sanitize(&msg.to_string(), MAX_LINE));
        self.sink.log(level, &line);
    }

    pub fn alert(&mut self, msg: impl Display) {
        self.log(Level::Alert, msg);
    }

    pub fn error(&mut self, msg: impl Display) {
        self.log(Level::Err, msg);
    }

    pub fn notice(&mut self, msg: impl Display) {
        self.log(Level::Notice, msg);
    }

    pub fn debug(&mut self, msg: impl Display) {
        self.log(Level::Debug, msg);
    }
}

/// Escapes control characters (a peer's text must not forge log lines) and
/// cuts the text to at most `max` bytes on a character boundary.
pub fn sanitize(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars() {
        let piece: String = if c.is_control() {
            c.escape_default().collect()
        } else {
            c.into()
        };
        if out.len() + piece.len() > max {
            out.push_str("...");
            break;
        }
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lines(Vec<(Level, String)>);
    impl LogSink for Lines {
        fn log(&mut self, level: Level, line: &str) {
            self.0.push((level, line.to_owned()));
        }
    }

    #[test]
    fn prefix_debug_switch_and_escaping() {
        let mut lines = Lines(Vec::new());
        let mut log = Logger::new(&mut lines, "sshd", "auth");
        log.debug("hidden");
        log.error("bad\nline\0");
        log.set_debug(true);
        log.debug("shown");
        assert_eq!(
            lines.0,
            vec![
                (
                    Level::Err,
                    "pam_mfa(sshd:auth): bad\\nline\\u{0}".to_owned()
                ),
                (Level::Debug, "pam_mfa(sshd:auth): shown".to_owned()),
            ]
        );
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        let s = sanitize(&"é".repeat(100), 11);
        assert_eq!(s, format!("{}...", "é".repeat(5)));
    }
}
