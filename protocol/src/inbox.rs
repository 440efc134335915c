//! Reading frames with as few system calls as the bytes allow: one `read`
//! usually brings a whole frame (its length and its body), where
//! [`crate::read_frame`] reads the length and the body apart. Bytes past the
//! frame (a peer that sent ahead) stay for the next frame.

use std::io::{self, Read};

use serde::de::DeserializeOwned;

use crate::frame::{decode, wipe, FrameError};
use crate::MAX_FRAME;

/// How much one `read` asks for: a login's frames are a few hundred bytes.
const READ_CHUNK: usize = 4096;

/// Bytes read from a connection and not yet decoded. They are zeroed
/// before they are freed or reused: an `answer` may carry a PIN.
#[derive(Default)]
pub struct FrameInbox {
    bytes: Vec<u8>,
}

/// Only how much is held: the bytes may be a PIN.
impl std::fmt::Debug for FrameInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FrameInbox({} bytes)", self.bytes.len())
    }
}

/// One read's bytes on the stack, zeroed however the read ends.
struct Chunk([u8; READ_CHUNK]);

impl Drop for Chunk {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

impl FrameInbox {
    pub fn new() -> Self {
        FrameInbox::default()
    }

    /// Reads until one whole frame is here, decodes it and drops its bytes.
    /// The length is checked before more than [`READ_CHUNK`] bytes of its
    /// body are read, so a hostile length never causes a large allocation.
    pub fn read_frame<R: Read, T: DeserializeOwned>(&mut self, r: &mut R) -> Result<T, FrameError> {
        self.fill_to(r, 4)?;
        let len = u32::from_be_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]])
            as usize;
        if len > MAX_FRAME {
            return Err(FrameError::TooLarge(len));
        }
        self.fill_to(r, 4 + len)?;
        let parsed = decode(&self.bytes[4..4 + len]);
        self.consume(4 + len);
        parsed
    }

    /// Reads until at least `want` bytes are held.
    fn fill_to<R: Read>(&mut self, r: &mut R, want: usize) -> io::Result<()> {
        let mut chunk = Chunk([0u8; READ_CHUNK]);
        while self.bytes.len() < want {
            let room = READ_CHUNK
                .min((MAX_FRAME + 4).saturating_sub(self.bytes.len()))
                .max(1);
            let n = match r.read(&mut chunk.0[..room]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.grow_with(&chunk.0[..n]);
        }
        Ok(())
    }

    /// Appends, moving to a larger buffer by hand so the old one is zeroed
    /// (a `Vec` growing by itself would free it as it is).
    fn grow_with(&mut self, more: &[u8]) {
        if self.bytes.capacity() - self.bytes.len() < more.len() {
            let mut bigger = Vec::with_capacity((self.bytes.len() + more.len()).max(READ_CHUNK));
            bigger.extend_from_slice(&self.bytes);
            wipe(std::mem::replace(&mut self.bytes, bigger));
        }
        self.bytes.extend_from_slice(more);
    }

    /// Drops the first `n` bytes, zeroing what is no longer held.
    fn consume(&mut self, n: usize) {
        let len = self.bytes.len();
        self.bytes.copy_within(n.., 0);
        self.bytes[len - n..].fill(0);
        std::hint::black_box(&mut self.bytes);
        self.bytes.truncate(len - n);
    }
}

impl Drop for FrameInbox {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{write_frame, Request, RequestBody, Response, ResponseBody};

    /// A reader that hands out at most `step` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        reads: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn two_frames() -> Vec<u8> {
        let mut wire = Vec::new();
        write_frame(&mut wire, &Request::new(RequestBody::Status)).unwrap();
        write_frame(&mut wire, &Request::new(RequestBody::Poll)).unwrap();
        wire
    }

    #[test]
    fn one_read_brings_a_frame_and_what_follows_stays() {
        let wire = two_frames();
        let mut r = Trickle {
            data: &wire,
            step: usize::MAX,
            reads: 0,
        };
        let mut inbox = FrameInbox::new();
        let first: Request = inbox.read_frame(&mut r).unwrap();
        assert_eq!(first.body, RequestBody::Status);
        assert_eq!(r.reads, 1);
        let second: Request = inbox.read_frame(&mut r).unwrap();
        assert_eq!(second.body, RequestBody::Poll);
        assert_eq!(r.reads, 1, "the second frame was already held");
    }

    #[test]
    fn a_frame_in_pieces_is_put_together() {
        let wire = two_frames();
        let mut r = Trickle {
            data: &wire,
            step: 3,
            reads: 0,
        };
        let mut inbox = FrameInbox::new();
        let first: Request = inbox.read_frame(&mut r).unwrap();
        let second: Request = inbox.read_frame(&mut r).unwrap();
        assert_eq!(
            (first.body, second.body),
            (RequestBody::Status, RequestBody::Poll)
        );
    }

    #[test]
    fn an_oversized_length_is_refused_before_its_body_is_read() {
        let mut wire = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
        wire.extend(std::iter::repeat_n(b' ', 3 * READ_CHUNK));
        let mut r = Trickle {
            data: &wire,
            step: usize::MAX,
            reads: 0,
        };
        let err = FrameInbox::new()
            .read_frame::<_, Request>(&mut r)
            .unwrap_err();
        assert!(matches!(err, FrameError::TooLarge(n) if n == MAX_FRAME + 1));
        assert_eq!(r.reads, 1);
    }

    #[test]
    fn a_peer_that_closes_mid_frame_is_an_unexpected_eof() {
        let mut wire = Vec::new();
        write_frame(
            &mut wire,
            &Response::new(ResponseBody::Allow { message: None }),
        )
        .unwrap();
        wire.truncate(wire.len() - 2);
        let mut r = Trickle {
            data: &wire,
            step: usize::MAX,
            reads: 0,
        };
        match FrameInbox::new().read_frame::<_, Response>(&mut r) {
            Err(FrameError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
            other => panic!("expected an EOF, got {other:?}"),
        }
    }

    #[test]
    fn a_wrong_version_is_refused() {
        let body = br#"{"v":99,"type":"poll"}"#;
        let mut wire = (body.len() as u32).to_be_bytes().to_vec();
        wire.extend_from_slice(body);
        let mut r = Trickle {
            data: &wire,
            step: usize::MAX,
            reads: 0,
        };
        let err = FrameInbox::new()
            .read_frame::<_, Request>(&mut r)
            .unwrap_err();
        assert!(matches!(err, FrameError::Version { got: 99 }));
    }
}
