//! CTAPHID (FIDO CTAP 2.1 §11.2), written here so no C library (hidapi,
//! libudev) is needed: a message is an initialisation packet (channel,
//! command, length, 57 bytes) and up to 128 continuation packets (channel,
//! sequence, 59 bytes) of 64-byte reports; a channel is allocated with
//! CTAPHID_INIT, keep-alives are waited through, a late (or abandoned)
//! request is cancelled. `hid` carries the reports over hidraw.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::random::random;
use super::Fido2Error;

/// HID report size of every FIDO key in use.
pub(crate) const REPORT_LEN: usize = 64;
const INIT_DATA: usize = REPORT_LEN - 7;
const CONT_DATA: usize = REPORT_LEN - 5;
const MAX_MESSAGE: usize = INIT_DATA + 128 * CONT_DATA;

const BROADCAST_CID: u32 = 0xffff_ffff;
const CMD_INIT: u8 = 0x86;
pub(super) const CMD_CBOR: u8 = 0x90;
const CMD_CANCEL: u8 = 0x91;
const CMD_KEEPALIVE: u8 = 0xbb;
const CMD_ERROR: u8 = 0xbf;
const CAPABILITY_CBOR: u8 = 0x04;
/// How long a key may take to answer INIT.
const INIT_TIMEOUT: Duration = Duration::from_secs(3);
/// One HID report's worth of I/O.
pub(crate) trait HidIo {
    fn write_report(&mut self, report: &[u8; REPORT_LEN]) -> io::Result<()>;
    /// The next input report, or None when `deadline` passes first.
    fn read_report(&mut self, deadline: Instant) -> io::Result<Option<[u8; REPORT_LEN]>>;
}

/// Splits a message into reports.
pub(crate) fn fragment(cid: u32, cmd: u8, payload: &[u8]) -> Vec<[u8; REPORT_LEN]> {
    let mut reports = Vec::new();
    let mut first = [0u8; REPORT_LEN];
    first[..4].copy_from_slice(&cid.to_be_bytes());
    first[4] = cmd;
    first[5..7].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    let n = payload.len().min(INIT_DATA);
    first[7..7 + n].copy_from_slice(&payload[..n]);
    reports.push(first);
    for (seq, chunk) in payload[n..].chunks(CONT_DATA).enumerate() {
        let mut r = [0u8; REPORT_LEN];
        r[..4].copy_from_slice(&cid.to_be_bytes());
        r[4] = seq as u8;
        r[5..5 + chunk.len()].copy_from_slice(chunk);
        reports.push(r);
    }
    reports
}

/// Reads reports for `cid` until one whole message: (command, payload).
/// Reports for other channels are skipped.
pub(crate) fn read_message<D: HidIo>(
    dev: &mut D,
    cid: u32,
    deadline: Instant,
) -> Result<Option<(u8, Vec<u8>)>, Fido2Error> {
    let io_err = |e: io::Error| Fido2Error::Io(format!("reading from the key: {e}"));
    let (cmd, len, mut payload) = loop {
        let Some(r) = dev.read_report(deadline).map_err(io_err)? else {
            return Ok(None);
        };
        if u32::from_be_bytes([r[0], r[1], r[2], r[3]]) != cid || r[4] & 0x80 == 0 {
            continue;
        }
        let len = usize::from(u16::from_be_bytes([r[5], r[6]]));
        if len > MAX_MESSAGE {
            return Err(Fido2Error::Protocol(format!(
                "a {len}-byte message is longer than CTAPHID allows"
            )));
        }
        let n = len.min(INIT_DATA);
        break (r[4], len, r[7..7 + n].to_vec());
    };
    let mut seq = 0u8;
    while payload.len() < len {
        let Some(r) = dev.read_report(deadline).map_err(io_err)? else {
            return Ok(None);
        };
        if u32::from_be_bytes([r[0], r[1], r[2], r[3]]) != cid {
            continue;
        }
        if r[4] != seq {
            return Err(Fido2Error::Protocol(format!(
                "continuation packet {} where {seq} was expected",
                r[4]
            )));
        }
        let n = (len - payload.len()).min(CONT_DATA);
        payload.extend_from_slice(&r[5..5 + n]);
        seq += 1;
    }
    Ok(Some((cmd, payload)))
}

/// A CTAPHID channel on one key.
pub(crate) struct Channel<D: HidIo> {
    dev: D,
    cid: u32,
}

impl<D: HidIo> Channel<D> {
    /// Allocates a channel (CTAPHID_INIT) and checks that the key speaks CTAP2.
    pub(crate) fn open(mut dev: D, deadline: Instant) -> Result<Channel<D>, Fido2Error> {
        let mut nonce = [0u8; 8];
        random(&mut nonce)?;
        write_message(&mut dev, BROADCAST_CID, CMD_INIT, &nonce)?;
        let init_deadline = deadline.min(Instant::now() + INIT_TIMEOUT);
        loop {
            let Some((cmd, payload)) = read_message(&mut dev, BROADCAST_CID, init_deadline)? else {
                return Err(Fido2Error::Protocol(
                    "the key did not answer CTAPHID_INIT".into(),
                ));
            };
            if cmd == CMD_ERROR {
                return Err(Fido2Error::Protocol(format!(
                    "the key refused CTAPHID_INIT (error 0x{:02x})",
                    payload.first().copied().unwrap_or(0)
                )));
            }
            if cmd != CMD_INIT || payload.len() < 17 || payload[..8] != nonce {
                continue; // another client's INIT answer
            }
            let cid = u32::from_be_bytes([payload[8], payload[9], payload[10], payload[11]]);
            if cid == 0 || cid == BROADCAST_CID {
                return Err(Fido2Error::Protocol(
                    "the key gave an invalid channel id".into(),
                ));
            }
            if payload[16] & CAPABILITY_CBOR == 0 {
                return Err(Fido2Error::Protocol(
                    "this key speaks only U2F (CTAP1), not FIDO2 (CTAP2)".into(),
                ));
            }
            return Ok(Channel { dev, cid });
        }
    }

    /// Sends a command and waits for its answer, past keep-alives (the key
    /// waiting for a touch). At the deadline the request is cancelled, and
    /// so it is at the first keep-alive after `cancelled` is set (a key
    /// waiting for a touch sends one every 100 ms or so): the login it was
    /// for has ended, and the thread waiting here is freed.
    pub(crate) fn transact(
        &mut self,
        cmd: u8,
        payload: &[u8],
        deadline: Instant,
        cancelled: Option<&AtomicBool>,
    ) -> Result<Vec<u8>, Fido2Error> {
        write_message(&mut self.dev, self.cid, cmd, payload)?;
        loop {
            match read_message(&mut self.dev, self.cid, deadline)? {
                None => {
                    let _ = write_message(&mut self.dev, self.cid, CMD_CANCEL, &[]);
                    return Err(Fido2Error::Timeout);
                }
                Some((CMD_KEEPALIVE, _)) if cancelled.is_some_and(|c| c.load(Ordering::SeqCst)) => {
                    let _ = write_message(&mut self.dev, self.cid, CMD_CANCEL, &[]);
                    return Err(Fido2Error::Cancelled);
                }
                Some((CMD_KEEPALIVE, _)) => continue,
                Some((CMD_ERROR, p)) => {
                    return Err(Fido2Error::Protocol(format!(
                        "CTAPHID error 0x{:02x}",
                        p.first().copied().unwrap_or(0)
                    )))
                }
                Some((c, p)) if c == cmd => return Ok(p),
                Some((c, _)) => {
                    return Err(Fido2Error::Protocol(format!(
                        "answer to command 0x{c:02x} where 0x{cmd:02x} was sent"
                    )))
                }
            }
        }
    }
}

fn write_message<D: HidIo>(
    dev: &mut D,
    cid: u32,
    cmd: u8,
    payload: &[u8],
) -> Result<(), Fido2Error> {
    if payload.len() > MAX_MESSAGE {
        return Err(Fido2Error::Protocol(format!(
            "a {}-byte request is too long for CTAPHID",
            payload.len()
        )));
    }
    for r in fragment(cid, cmd, payload) {
        dev.write_report(&r)
            .map_err(|e| Fido2Error::Io(format!("writing to the key: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "ctaphid_tests.rs"]
mod tests;
