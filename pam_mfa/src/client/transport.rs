//! Frames over the connection, each read and write bounded by the deadline:
//! SO_RCVTIMEO/SO_SNDTIMEO are set to the time left before every system
//! call, so a peer that trickles bytes cannot stretch the exchange.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::time::Duration;

use pam_mfa_protocol::{read_frame, write_frame, FrameError, Request, RequestBody, Response};
use rustix::io::Errno;
use rustix::net::sockopt::{set_socket_timeout, Timeout};
use rustix::net::{send, SendFlags};

use super::Deadline;

/// How long a best-effort `cancel` may take, even past the deadline.
const CANCEL_GRACE: Duration = Duration::from_millis(100);

/// A connection to a trusted agent.
#[derive(Debug)]
pub struct Connection {
    fd: OwnedFd,
    deadline: Deadline,
}

impl Connection {
    pub(super) fn new(fd: OwnedFd, deadline: Deadline) -> Self {
        Connection { fd, deadline }
    }

    /// The exchange's deadline (extend it by conversation time).
    pub fn deadline_mut(&mut self) -> &mut Deadline {
        &mut self.deadline
    }

    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    pub fn send(&mut self, request: &Request) -> Result<(), FrameError> {
        write_frame(&mut self.io(), request)
    }

    pub fn recv(&mut self) -> Result<Response, FrameError> {
        read_frame(&mut self.io())
    }

    /// Sends `cancel` without waiting for an answer, within a short grace
    /// period. The caller drops the connection afterwards.
    pub fn cancel(&mut self) {
        let grace = Deadline::after(
            self.deadline
                .remaining()
                .unwrap_or(CANCEL_GRACE)
                .min(CANCEL_GRACE),
        );
        self.deadline = grace;
        let _ = self.send(&Request::new(RequestBody::Cancel));
    }

    fn io(&mut self) -> DeadlineIo<'_> {
        DeadlineIo {
            fd: &self.fd,
            deadline: self.deadline,
        }
    }
}

/// Read/Write over the socket that fails with `TimedOut` at the deadline.
struct DeadlineIo<'a> {
    fd: &'a OwnedFd,
    deadline: Deadline,
}

impl DeadlineIo<'_> {
    fn arm(&self, which: Timeout) -> io::Result<()> {
        let left = self.deadline.remaining().ok_or_else(timed_out)?;
        set_socket_timeout(self.fd, which, Some(left))?;
        Ok(())
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the agent did not answer in time")
}

impl Read for DeadlineIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.arm(Timeout::Recv)?;
            match rustix::io::read(self.fd, &mut *buf) {
                Ok(n) => return Ok(n),
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return Err(timed_out()),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Write for DeadlineIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            self.arm(Timeout::Send)?;
            // MSG_NOSIGNAL: a closed peer must not raise SIGPIPE in sshd/sudo.
            match send(self.fd, buf, SendFlags::NOSIGNAL) {
                Ok(n) => return Ok(n),
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return Err(timed_out()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
