//! The raw `syslog(3)` call. The module never calls `openlog`: the
//! application's identity (sshd, sudo) stays as it set it.

use std::ffi::CString;

use crate::log::{Level, LogSink};

/// Writes one line at `level` with facility `LOG_AUTHPRIV`.
pub fn write(level: Level, line: &str) {
    let severity = match level {
        Level::Alert => libc::LOG_ALERT,
        Level::Crit => libc::LOG_CRIT,
        Level::Err => libc::LOG_ERR,
        Level::Warning => libc::LOG_WARNING,
        Level::Notice => libc::LOG_NOTICE,
        Level::Debug => libc::LOG_DEBUG,
    };
    let Ok(text) = CString::new(line.replace('\0', "")) else {
        return;
    };
    // SAFETY: the format is a NUL-terminated literal whose one `%s` is
    // matched by `text`, a valid NUL-terminated string that outlives the
    // call; syslog(3) copies what it needs.
    unsafe { libc::syslog(libc::LOG_AUTHPRIV | severity, c"%s".as_ptr(), text.as_ptr()) };
}

/// The real sink: `syslog(3)` with `LOG_AUTHPRIV`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Syslog;

impl LogSink for Syslog {
    fn log(&mut self, level: Level, line: &str) {
        write(level, line);
    }
}
