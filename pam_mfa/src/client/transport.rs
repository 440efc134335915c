//! Frames over the connection, each read and write bounded by the deadline.
//! The socket is non-blocking: a read or write that would block waits in
//! `poll` for at most the time left, so a peer that trickles bytes cannot
//! stretch the exchange. Waiting in `poll` for input only also means the
//! agent taking the request (which frees room to write) does not wake the
//! module for nothing, as a blocked `read` would be. A read that finds
//! nothing first retries for [`SPIN_BEFORE_POLL`], since the answer is
//! usually that close.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use pam_mfa_protocol::{write_frame, FrameError, FrameInbox, Request, RequestBody, Response};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::{send, SendFlags};

use super::Deadline;

/// How long a best-effort `cancel` may take, even past the deadline.
const CANCEL_GRACE: Duration = Duration::from_millis(100);

/// How long a read that finds nothing keeps trying (yielding the CPU
/// between tries) before it sleeps in `poll`. The agent answers a login
/// that needs no person within tens of microseconds, and a thread that
/// sleeps is woken late: on a virtual machine whose idle vCPUs halt, tens
/// of microseconds late (BENCHMARKS.md). Bounded, and the yield lets the
/// agent run first when it shares this CPU.
const SPIN_BEFORE_POLL: Duration = Duration::from_micros(100);

/// A connection to a trusted agent.
#[derive(Debug)]
pub struct Connection {
    /// Non-blocking.
    fd: OwnedFd,
    deadline: Deadline,
    inbox: FrameInbox,
}

impl Connection {
    /// `fd` must be non-blocking.
    pub(super) fn new(fd: OwnedFd, deadline: Deadline) -> Self {
        Connection {
            fd,
            deadline,
            inbox: FrameInbox::new(),
        }
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
        let mut io = DeadlineIo {
            fd: &self.fd,
            deadline: self.deadline,
        };
        self.inbox.read_frame(&mut io)
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
    /// Waits until the socket is ready for `what`, at most until the
    /// deadline.
    fn wait_for(&self, what: PollFlags) -> io::Result<()> {
        loop {
            let left = self.deadline.remaining().ok_or_else(timed_out)?;
            let left = Timespec::try_from(left).map_err(|_| timed_out())?;
            let mut fds = [PollFd::new(self.fd, what)];
            match poll(&mut fds, Some(&left)) {
                // Readiness, an error or a hang-up: the next call says which.
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) => return Err(timed_out()),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the agent did not answer in time")
}

impl Read for DeadlineIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Past the deadline even an answer already waiting is not taken.
        self.deadline.remaining().ok_or_else(timed_out)?;
        // Set at the first "nothing yet", and never past the deadline.
        let mut spin_until: Option<Instant> = None;
        loop {
            match rustix::io::read(self.fd, &mut *buf) {
                Ok(n) => return Ok(n),
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => {
                    let until = *spin_until.get_or_insert_with(|| {
                        let left = self.deadline.remaining().unwrap_or_default();
                        Instant::now() + left.min(SPIN_BEFORE_POLL)
                    });
                    match Instant::now() < until {
                        true => std::thread::yield_now(),
                        false => self.wait_for(PollFlags::IN)?,
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Write for DeadlineIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.deadline.remaining().ok_or_else(timed_out)?;
        loop {
            // MSG_NOSIGNAL: a closed peer must not raise SIGPIPE in sshd/sudo.
            match send(self.fd, buf, SendFlags::NOSIGNAL) {
                Ok(n) => return Ok(n),
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => self.wait_for(PollFlags::OUT)?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
