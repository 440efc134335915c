//! A deadline for a whole frame, not for each `read`: a socket read timeout
//! alone restarts with every byte, so a peer trickling one byte at a time
//! (slowloris) could keep its connection, and the thread serving it, for
//! ever. Before each `read` the socket's timeout is set to the time left.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Reads from `stream` until `end`, then fails with `TimedOut`.
pub(super) struct FrameDeadline<'a> {
    stream: &'a UnixStream,
    end: Instant,
}

impl<'a> FrameDeadline<'a> {
    /// A frame that must be whole within `wait` from now.
    pub(super) fn within(stream: &'a UnixStream, wait: Duration) -> Self {
        FrameDeadline {
            stream,
            end: Instant::now() + wait,
        }
    }
}

impl Read for FrameDeadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the frame did not arrive in time",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn bytes_that_keep_coming_do_not_stretch_the_deadline() {
        let (mut tx, rx) = UnixStream::pair().unwrap();
        let mut r = FrameDeadline::within(&rx, Duration::from_millis(300));
        let mut buf = [0u8; 1];
        let mut got = 0;
        let err = loop {
            tx.write_all(b"x").unwrap();
            match r.read(&mut buf) {
                Ok(n) => got += n,
                Err(e) => break e,
            }
            // Well within any per-read timeout: only the total runs out.
            std::thread::sleep(Duration::from_millis(50));
            assert!(got < 100, "still reading after {got} bytes");
        };
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ),
            "{err:?}"
        );
    }
}
