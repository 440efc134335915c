//! Length-prefixed JSON framing.

use std::fmt;
use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{MAX_FRAME, PROTOCOL_VERSION};

/// Why a frame could not be read or written.
#[derive(Debug)]
pub enum FrameError {
    /// The transport failed (includes timeouts and a peer that went away).
    Io(io::Error),
    /// The announced or produced length is over [`MAX_FRAME`].
    TooLarge(usize),
    /// The body is not a valid message.
    Malformed(String),
    /// The peer speaks another protocol version.
    Version { got: u64 },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "transport error: {e}"),
            FrameError::TooLarge(n) => {
                write!(f, "frame of {n} bytes is over the {MAX_FRAME}-byte limit")
            }
            FrameError::Malformed(e) => write!(f, "malformed message: {e}"),
            FrameError::Version { got } => write!(
                f,
                "peer speaks protocol version {got}, this build speaks {PROTOCOL_VERSION}"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        FrameError::Io(e)
    }
}

/// Overwrites a frame's bytes before they are freed: an `answer` frame may
/// carry a PIN for a key attached to the host.
pub(crate) fn wipe(mut bytes: Vec<u8>) {
    bytes.fill(0);
    // Keeps the zeroing stores from being removed as dead before the free.
    std::hint::black_box(&mut bytes);
}

/// Serialises `msg` and writes it as one frame.
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    let body = serde_json::to_vec(msg).map_err(|e| FrameError::Malformed(e.to_string()))?;
    if body.len() > MAX_FRAME {
        let len = body.len();
        wipe(body);
        return Err(FrameError::TooLarge(len));
    }
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(&body);
    wipe(body);
    let written = w.write_all(&buf).and_then(|()| w.flush());
    wipe(buf);
    written?;
    Ok(())
}

/// Reads one frame and decodes it, checking the protocol version first.
///
/// The length is checked before any body byte is read, so an oversized or
/// hostile length never causes a large allocation.
pub fn read_frame<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    if let Err(e) = r.read_exact(&mut body) {
        wipe(body);
        return Err(e.into());
    }
    let parsed = decode(&body);
    wipe(body);
    parsed
}

/// serde's text without the values it quotes: "invalid type: string
/// \"123456\"" would put a PIN sent in the wrong place into the agent's log
/// and the error it answers. What is left names the kind of mistake and
/// where it is.
fn without_values(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let kind = text
        .split(['"', '`'])
        .next()
        .unwrap_or_default()
        .split(" at line ")
        .next()
        .unwrap_or_default()
        .trim_end();
    format!("{kind} (line {}, column {})", e.line(), e.column())
}

/// Only the protocol version of a message, the rest skipped.
#[derive(Deserialize)]
struct VersionOnly {
    #[serde(default)]
    v: Option<serde_json::Value>,
}

/// The version first (a message of another version may have another
/// shape), then the message itself, straight from the bytes: no tree of
/// values in between (on the path of every login, both ends).
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    let malformed = |e: serde_json::Error| FrameError::Malformed(without_values(&e));
    let head: VersionOnly = serde_json::from_slice(body).map_err(malformed)?;
    match head.v.as_ref().and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => return Err(FrameError::Version { got: v }),
        None => return Err(FrameError::Malformed("missing protocol version `v`".into())),
    }
    serde_json::from_slice(body).map_err(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, RequestBody, Response, ResponseBody};

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &Request::new(RequestBody::Status)).unwrap();
        let got: Request = read_frame(&mut buf.as_slice()).unwrap();
        assert_eq!(got.body, RequestBody::Status);
        assert_eq!(
            u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize,
            buf.len() - 4
        );
    }

    #[test]
    fn oversized_length_is_refused_before_reading() {
        let mut buf = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
        buf.extend_from_slice(b"{}");
        let err = read_frame::<_, Request>(&mut buf.as_slice()).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge(n) if n == MAX_FRAME + 1));
    }

    #[test]
    fn garbage_and_wrong_version_are_errors() {
        let mut garbage = 4u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(b"\x00\xffab");
        assert!(matches!(
            read_frame::<_, Response>(&mut garbage.as_slice()),
            Err(FrameError::Malformed(_))
        ));
        let body = br#"{"v":99,"type":"allow"}"#;
        let mut other = (body.len() as u32).to_be_bytes().to_vec();
        other.extend_from_slice(body);
        assert!(matches!(
            read_frame::<_, Response>(&mut other.as_slice()),
            Err(FrameError::Version { got: 99 })
        ));
        let body = br#"{"type":"allow"}"#;
        let mut none = (body.len() as u32).to_be_bytes().to_vec();
        none.extend_from_slice(body);
        assert!(read_frame::<_, Response>(&mut none.as_slice()).is_err());
    }

    #[test]
    fn a_malformed_message_error_quotes_none_of_its_values() {
        for body in [
            br#"{"v":1,"type":"answer","answers":"s3cr3t-pin"}"#.as_slice(),
            br#"{"v":1,"type":"answer","answers":[424242]}"#,
            br#"{"v":1,"type":"s3cr3t-pin"}"#,
        ] {
            let mut wire = (body.len() as u32).to_be_bytes().to_vec();
            wire.extend_from_slice(body);
            let err = read_frame::<_, Request>(&mut wire.as_slice()).unwrap_err();
            let shown = err.to_string();
            assert!(matches!(err, FrameError::Malformed(_)), "{shown}");
            assert!(
                !shown.contains("s3cr3t") && !shown.contains("424242"),
                "{shown}"
            );
            assert!(shown.contains("column"), "{shown}");
        }
    }

    #[test]
    fn truncated_frame_is_an_io_error() {
        let mut buf = Vec::new();
        write_frame(
            &mut buf,
            &Response::new(ResponseBody::Allow { message: None }),
        )
        .unwrap();
        buf.truncate(buf.len() - 2);
        assert!(matches!(
            read_frame::<_, Response>(&mut buf.as_slice()),
            Err(FrameError::Io(_))
        ));
    }
}
