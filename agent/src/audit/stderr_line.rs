//! The agent's stderr as the audit trail's last resort, without waiting.
//! Under systemd stderr is journald's stream socket: a journald that reads
//! nothing would hold every decision in a blocking write. A record that
//! finds no room is counted and said later, never waited for.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::io::Errno;
use rustix::net::SendFlags;

/// Records that found no room on stderr since the last one that did.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// What became of a line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    Written,
    /// No room (the reader is stalled): counted, not waited for.
    Dropped,
}

/// Writes `line` (and a newline) to the agent's stderr without blocking.
pub(crate) fn write_stderr(line: &str) -> Delivery {
    let stderr = std::io::stderr();
    deliver(stderr.as_fd(), line)
}

/// [`write_stderr`] to any descriptor: a socket gets one non-blocking
/// send (a full one drops the line); anything else (a file, a terminal,
/// which never stall for long) a plain write.
pub(super) fn deliver(fd: BorrowedFd<'_>, line: &str) -> Delivery {
    let dropped = DROPPED.load(Ordering::Relaxed);
    let mut text = String::with_capacity(line.len() + 64);
    if dropped > 0 {
        text.push_str(&format!(
            "mfa-agent: {dropped} line(s) (audit records or log lines) found no room on stderr and were dropped\n"
        ));
    }
    text.push_str(line);
    text.push('\n');
    match rustix::net::send(
        fd,
        text.as_bytes(),
        SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
    ) {
        Ok(n) if n == text.len() => {
            DROPPED.fetch_sub(dropped, Ordering::Relaxed);
            Delivery::Written
        }
        Ok(_) | Err(Errno::AGAIN) => {
            // A short send leaves part of a line: what journald makes of
            // it is its own; the record counts as dropped either way.
            DROPPED.fetch_add(1, Ordering::Relaxed);
            Delivery::Dropped
        }
        Err(Errno::NOTSOCK) => {
            let written = fd
                .try_clone_to_owned()
                .map(std::fs::File::from)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            if written.is_ok() {
                DROPPED.fetch_sub(dropped, Ordering::Relaxed);
                Delivery::Written
            } else {
                DROPPED.fetch_add(1, Ordering::Relaxed);
                Delivery::Dropped
            }
        }
        Err(_) => {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            Delivery::Dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    /// A reader that never reads (a stalled journald): once its buffer is
    /// full, lines are dropped, never waited for. A blocking write would
    /// never return; the deadline below only says so instead of hanging.
    #[test]
    fn a_stalled_reader_costs_a_dropped_line_not_a_wait() {
        let (w, r) = UnixStream::pair().unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let line = "x".repeat(4000);
            let dropped = (0..2000)
                .filter(|_| deliver(w.as_fd(), &line) == Delivery::Dropped)
                .count();
            let _ = done.send(dropped);
        });
        let dropped = finished
            .recv_timeout(Duration::from_secs(120))
            .expect("deliver blocked on a reader that reads nothing");
        assert!(dropped > 0, "the socket buffer never filled");
        drop(r);
    }
}
