//! A deadline for a whole frame, not for each `read`: a socket read timeout
//! alone restarts with every byte, so a peer trickling one byte at a time
//! (slowloris) could keep its connection, and the thread serving it, for
//! ever. Before each `read` the socket's timeout is set to the time left.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::RecvFlags;

/// Reads from `stream` until `end`, then fails with `TimedOut`.
pub(super) struct FrameDeadline<'a> {
    stream: &'a UnixStream,
    end: Instant,
    /// Until then a read that finds nothing tries again, yielding the CPU,
    /// instead of sleeping.
    spin_until: Option<Instant>,
}

impl<'a> FrameDeadline<'a> {
    /// A frame that must be whole within `wait` from now.
    pub(super) fn within(stream: &'a UnixStream, wait: Duration) -> Self {
        FrameDeadline {
            stream,
            end: Instant::now() + wait,
            spin_until: None,
        }
    }

    /// Reads that find nothing keep trying for `spin` (at most until the
    /// deadline) before they sleep: for a frame that is known to be on its
    /// way, since a sleeping thread is woken late.
    pub(super) fn spinning(mut self, spin: Duration) -> Self {
        self.spin_until = Some((Instant::now() + spin).min(self.end));
        self
    }

    /// What a non-blocking read finds before the spin ends; `None` when
    /// there is nothing yet.
    fn spin(&mut self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        let until = self.spin_until?;
        while Instant::now() < until {
            match rustix::net::recv(self.stream, &mut *buf, RecvFlags::DONTWAIT) {
                Ok((n, _)) => return Some(Ok(n)),
                Err(Errno::AGAIN) => std::thread::yield_now(),
                Err(Errno::INTR) => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
        self.spin_until = None;
        None
    }
}

impl Read for FrameDeadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The spin ends by the deadline.
        if let Some(got) = self.spin(buf) {
            return got;
        }
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

    #[test]
    fn a_spin_ends_at_the_frame_deadline_and_then_the_read_sleeps() {
        // Nothing comes: the read fails at the deadline, however long the
        // spin asked for.
        let (_tx, rx) = UnixStream::pair().unwrap();
        let started = Instant::now();
        let mut r =
            FrameDeadline::within(&rx, Duration::from_millis(200)).spinning(Duration::from_secs(5));
        let err = r.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err:?}");
        // An uncapped spin would have taken its 5 s.
        assert!(started.elapsed() < Duration::from_secs(3));

        // Bytes that come after the spin are read by the sleeping read.
        let (mut tx, rx) = UnixStream::pair().unwrap();
        let mut r = FrameDeadline::within(&rx, Duration::from_secs(20))
            .spinning(Duration::from_micros(100));
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            tx.write_all(b"frame").unwrap();
            tx
        });
        let mut buf = [0u8; 8];
        let n = r.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"frame");
        drop(writer.join().unwrap());
        // The peer closed: end of stream, not a spin for ever.
        assert_eq!(r.read(&mut buf).unwrap(), 0);
    }
}
