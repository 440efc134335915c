//! USB FIDO2 keys over Linux hidraw: CTAPHID framing (FIDO CTAP 2.1 §11.2)
//! written here, so no C library (hidapi, libudev) is needed.
//!
//! A FIDO key is a HID interface whose report descriptor declares usage page
//! 0xF1D0; sysfs (`/sys/class/hidraw/*/device/report_descriptor`) says which
//! `/dev/hidraw*` nodes those are. Reports are 64 bytes; a message is an
//! initialisation packet (channel, command, length, 57 bytes) and up to 128
//! continuation packets (channel, sequence, 59 bytes).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[cfg(test)]
use super::ctap::{decode_get_assertion_response, encode_get_assertion};
#[cfg(test)]
use super::GetAssertionRequest;
use super::{Authenticator, Fido2Error};

/// HID report size of every FIDO key in use.
pub const REPORT_LEN: usize = 64;
const INIT_DATA: usize = REPORT_LEN - 7;
const CONT_DATA: usize = REPORT_LEN - 5;
const MAX_MESSAGE: usize = INIT_DATA + 128 * CONT_DATA;

const BROADCAST_CID: u32 = 0xffff_ffff;
const CMD_INIT: u8 = 0x86;
const CMD_CBOR: u8 = 0x90;
const CMD_CANCEL: u8 = 0x91;
const CMD_KEEPALIVE: u8 = 0xbb;
const CMD_ERROR: u8 = 0xbf;
const CAPABILITY_CBOR: u8 = 0x04;
/// How long a key may take to answer INIT.
const INIT_TIMEOUT: Duration = Duration::from_secs(3);
/// The FIDO Alliance's HID usage page.
const FIDO_USAGE_PAGE: u32 = 0xf1d0;

const SYSFS_HIDRAW: &str = "/sys/class/hidraw";

/// USB HID CTAP2 keys attached to this computer. No hidraw (no such sysfs
/// class, as in containers): an empty list. Keys are opened only when asked
/// for an assertion.
pub fn hid_authenticators() -> Result<Vec<Box<dyn Authenticator>>, Fido2Error> {
    Ok(scan(Path::new(SYSFS_HIDRAW), Path::new("/dev"))?
        .into_iter()
        .map(|a| Box::new(a) as Box<dyn Authenticator>)
        .collect())
}

fn scan(sysfs: &Path, dev: &Path) -> Result<Vec<HidAuthenticator>, Fido2Error> {
    let entries = match std::fs::read_dir(sysfs) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Fido2Error::Io(format!("listing {}: {e}", sysfs.display()))),
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let node = entry.file_name().to_string_lossy().into_owned();
        let Ok(descriptor) = std::fs::read(entry.path().join("device/report_descriptor")) else {
            continue;
        };
        if !is_fido_descriptor(&descriptor) {
            continue;
        }
        let path = dev.join(&node);
        if !path.exists() {
            continue;
        }
        let product = std::fs::read_to_string(entry.path().join("device/uevent"))
            .ok()
            .and_then(|u| {
                u.lines()
                    .find_map(|l| l.strip_prefix("HID_NAME=").map(str::to_string))
            })
            .unwrap_or_else(|| "FIDO2 security key".to_string());
        found.push(HidAuthenticator {
            path,
            product,
            channel: None,
        });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Whether a HID report descriptor declares the FIDO usage page.
pub fn is_fido_descriptor(descriptor: &[u8]) -> bool {
    let mut i = 0;
    while i < descriptor.len() {
        let prefix = descriptor[i];
        if prefix == 0xfe {
            // long item: size, tag, data
            let size = descriptor.get(i + 1).copied().unwrap_or(0) as usize;
            i += 3 + size;
            continue;
        }
        let size = [0, 1, 2, 4][(prefix & 0x03) as usize];
        let Some(data) = descriptor.get(i + 1..i + 1 + size) else {
            return false;
        };
        // Usage Page: global item, tag 0
        if prefix & 0xfc == 0x04 {
            let page = data
                .iter()
                .rev()
                .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            if page == FIDO_USAGE_PAGE {
                return true;
            }
        }
        i += 1 + size;
    }
    false
}

/// A FIDO2 key behind a `/dev/hidraw*` node. The node is opened at the
/// first command, and the channel kept for the next ones (a PIN token is
/// bound to the key's power-up state, not to a channel, but one open file
/// keeps the key from being swapped in between).
pub struct HidAuthenticator {
    path: PathBuf,
    product: String,
    channel: Option<Channel<Hidraw>>,
}

impl HidAuthenticator {
    /// The key at `path` (a `/dev/hidraw*` node), without checking it.
    pub fn at(path: &Path) -> HidAuthenticator {
        HidAuthenticator {
            path: path.to_path_buf(),
            product: "FIDO2 security key".into(),
            channel: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Authenticator for HidAuthenticator {
    fn name(&self) -> String {
        format!("{} ({})", self.product, self.path.display())
    }

    fn transact(&mut self, request: &[u8], deadline: Instant) -> Result<Vec<u8>, Fido2Error> {
        let mut channel = match self.channel.take() {
            Some(c) => c,
            None => self.open(deadline)?,
        };
        let reply = channel.transact(CMD_CBOR, request, deadline);
        // After a timeout or a broken exchange the channel is not reused.
        if reply.is_ok() {
            self.channel = Some(channel);
        }
        reply
    }
}

impl HidAuthenticator {
    fn open(&self, deadline: Instant) -> Result<Channel<Hidraw>, Fido2Error> {
        let file = OpenOptions::new().read(true).write(true).open(&self.path).map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::PermissionDenied {
                " (no access to the key: a udev rule such as the one libfido2 ships grants it to the seat's user)"
            } else {
                ""
            };
            Fido2Error::Io(format!("opening {}: {e}{hint}", self.path.display()))
        })?;
        Channel::open(Hidraw(file), deadline)
    }
}

/// One HID report's worth of I/O.
pub(crate) trait HidIo {
    fn write_report(&mut self, report: &[u8; REPORT_LEN]) -> io::Result<()>;
    /// The next input report, or None when `deadline` passes first.
    fn read_report(&mut self, deadline: Instant) -> io::Result<Option<[u8; REPORT_LEN]>>;
}

/// A hidraw node: writes carry a leading report number 0 (FIDO keys use
/// unnumbered reports); reads return the bare report.
struct Hidraw(File);

impl HidIo for Hidraw {
    fn write_report(&mut self, report: &[u8; REPORT_LEN]) -> io::Result<()> {
        let mut out = [0u8; REPORT_LEN + 1];
        out[1..].copy_from_slice(report);
        self.0.write_all(&out)
    }

    fn read_report(&mut self, deadline: Instant) -> io::Result<Option<[u8; REPORT_LEN]>> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let timeout = Timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            let mut fds = [PollFd::new(&self.0, PollFlags::IN)];
            match poll(&mut fds, Some(&timeout)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let revents = fds[0].revents();
            if revents.intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL)
                && !revents.contains(PollFlags::IN)
            {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the key was removed",
                ));
            }
            let mut buf = [0u8; REPORT_LEN];
            let n = self.0.read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the key was removed",
                ));
            }
            return Ok(Some(buf));
        }
    }
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
    /// waiting for a touch). At the deadline the request is cancelled.
    pub(crate) fn transact(
        &mut self,
        cmd: u8,
        payload: &[u8],
        deadline: Instant,
    ) -> Result<Vec<u8>, Fido2Error> {
        write_message(&mut self.dev, self.cid, cmd, payload)?;
        loop {
            match read_message(&mut self.dev, self.cid, deadline)? {
                None => {
                    let _ = write_message(&mut self.dev, self.cid, CMD_CANCEL, &[]);
                    return Err(Fido2Error::Timeout);
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

fn random(buf: &mut [u8]) -> Result<(), Fido2Error> {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Fido2Error::Io(format!("getrandom: {e}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::fido2::soft::SoftAuthenticator;
    use crate::verify::webauthn::{client_data_hash, verify_assertion};

    /// A CTAPHID key in memory, answering with a software authenticator.
    struct FakeKey {
        soft: SoftAuthenticator,
        cid: u32,
        inbox: Vec<[u8; REPORT_LEN]>,
        outbox: VecDeque<[u8; REPORT_LEN]>,
        keepalives: usize,
        /// Never answers CBOR requests (a key nobody touches).
        silent: bool,
        cancelled: bool,
        capabilities: u8,
    }

    impl FakeKey {
        fn new(soft: SoftAuthenticator) -> FakeKey {
            FakeKey {
                soft,
                cid: 0x0102_0304,
                inbox: Vec::new(),
                outbox: VecDeque::new(),
                keepalives: 2,
                silent: false,
                cancelled: false,
                capabilities: 0x05,
            }
        }

        fn reply(&mut self, cid: u32, cmd: u8, payload: &[u8]) {
            self.outbox.extend(fragment(cid, cmd, payload));
        }
    }

    impl HidIo for FakeKey {
        fn write_report(&mut self, report: &[u8; REPORT_LEN]) -> io::Result<()> {
            self.inbox.push(*report);
            // a whole message?
            let first = self.inbox[0];
            let len = usize::from(u16::from_be_bytes([first[5], first[6]]));
            let have = INIT_DATA + (self.inbox.len() - 1) * CONT_DATA;
            if have < len {
                return Ok(());
            }
            let mut payload = first[7..].to_vec();
            for r in &self.inbox[1..] {
                payload.extend_from_slice(&r[5..]);
            }
            payload.truncate(len);
            self.inbox.clear();
            let cid = u32::from_be_bytes([first[0], first[1], first[2], first[3]]);
            match first[4] {
                CMD_INIT => {
                    // first an answer for someone else's nonce, then ours
                    let mut other = vec![9u8; 8];
                    other.extend_from_slice(&0x0909_0909u32.to_be_bytes());
                    other.extend_from_slice(&[2, 5, 1, 0, self.capabilities]);
                    self.reply(BROADCAST_CID, CMD_INIT, &other);
                    let mut a = payload[..8].to_vec();
                    a.extend_from_slice(&self.cid.to_be_bytes());
                    a.extend_from_slice(&[2, 5, 1, 0, self.capabilities]);
                    self.reply(BROADCAST_CID, CMD_INIT, &a);
                }
                CMD_CBOR if cid == self.cid => {
                    if self.silent {
                        self.reply(cid, CMD_KEEPALIVE, &[2]);
                        return Ok(());
                    }
                    for _ in 0..self.keepalives {
                        self.reply(cid, CMD_KEEPALIVE, &[2]);
                    }
                    // noise on another channel
                    self.reply(0x0a0b_0c0d, CMD_CBOR, &[0x2e]);
                    let answer = self
                        .soft
                        .transact(&payload, Instant::now() + Duration::from_secs(5))
                        .unwrap();
                    self.reply(cid, CMD_CBOR, &answer);
                }
                CMD_CANCEL => self.cancelled = true,
                _ => self.reply(cid, CMD_ERROR, &[0x01]),
            }
            Ok(())
        }

        fn read_report(&mut self, _deadline: Instant) -> io::Result<Option<[u8; REPORT_LEN]>> {
            Ok(self.outbox.pop_front())
        }
    }

    fn request(soft: &SoftAuthenticator, allow: Vec<Vec<u8>>) -> GetAssertionRequest {
        GetAssertionRequest {
            rp_id: soft.rp_id.clone(),
            client_data_hash: client_data_hash("pmfa1:prod3:jerry:AAAA", &soft.rp_id),
            allow_credentials: allow,
            user_verification: false,
            pin_uv_auth: None,
        }
    }

    #[test]
    fn fragment_and_reassemble() {
        for len in [0usize, 1, 57, 58, 116, 117, 500] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let reports = fragment(7, CMD_CBOR, &payload);
            assert_eq!(
                reports.len(),
                1 + len.saturating_sub(INIT_DATA).div_ceil(CONT_DATA)
            );
            let mut q = FakeKey::new(SoftAuthenticator::from_seed("example.com", b"x"));
            q.outbox.extend(reports);
            let (cmd, got) = read_message(&mut q, 7, Instant::now()).unwrap().unwrap();
            assert_eq!((cmd, got), (CMD_CBOR, payload));
        }
    }

    #[test]
    fn get_assertion_through_ctaphid() {
        let soft = SoftAuthenticator::from_seed("teleport.example.com", b"hid");
        let cred = soft.credential();
        // a long allow list: the request takes continuation packets
        let allow = vec![vec![0xaa; 64], vec![0xbb; 64], cred.credential_id.clone()];
        let req = request(&soft, allow);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut ch = Channel::open(FakeKey::new(soft), deadline).unwrap();
        assert_eq!(ch.cid, 0x0102_0304);
        let reply = ch
            .transact(CMD_CBOR, &encode_get_assertion(&req), deadline)
            .unwrap();
        let resp = decode_get_assertion_response(&reply, &req).unwrap();
        assert_eq!(resp.credential_id, cred.credential_id);
        let a = verify_assertion(
            &cred,
            "teleport.example.com",
            "pmfa1:prod3:jerry:AAAA",
            &resp.authenticator_data,
            &resp.signature,
        )
        .unwrap();
        assert!(a.user_present());
        assert_eq!(a.counter, 1);
    }

    /// A key on one kept channel, as [`HidAuthenticator`] keeps it.
    struct OnChannel(Channel<FakeKey>);

    impl Authenticator for OnChannel {
        fn name(&self) -> String {
            "fake key".into()
        }
        fn transact(&mut self, request: &[u8], deadline: Instant) -> Result<Vec<u8>, Fido2Error> {
            self.0.transact(CMD_CBOR, request, deadline)
        }
    }

    #[test]
    fn client_pin_through_ctaphid() {
        use crate::fido2::client_pin::{get_info, pin_token};
        for protocols in [vec![2u8, 1], vec![1]] {
            let mut soft = SoftAuthenticator::from_seed("teleport.example.com", b"hid-pin");
            soft.set_pin("246810");
            soft.pin_protocols = protocols.clone();
            let cred = soft.credential();
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut key = OnChannel(Channel::open(FakeKey::new(soft), deadline).unwrap());
            let info = get_info(&mut key, deadline).unwrap();
            assert_eq!(info.client_pin, Some(true));
            // getKeyAgreement and getPinUvAuthToken take continuation packets.
            let token =
                pin_token(&mut key, &info, "246810", "teleport.example.com", deadline).unwrap();
            let mut req = request(&key.0.dev.soft, vec![]);
            req.pin_uv_auth = Some(token.auth_param(&req.client_data_hash));
            let resp = key.get_assertion(&req, deadline).unwrap();
            let a = verify_assertion(
                &cred,
                "teleport.example.com",
                "pmfa1:prod3:jerry:AAAA",
                &resp.authenticator_data,
                &resp.signature,
            )
            .unwrap();
            assert!(a.user_present() && a.user_verified(), "{protocols:?}");
            assert_eq!(
                pin_token(&mut key, &info, "135790", "teleport.example.com", deadline).err(),
                Some(Fido2Error::PinInvalid { retries: Some(7) })
            );
        }
    }

    #[test]
    fn make_credential_through_ctaphid() {
        use crate::fido2::make_credential::{
            decode_make_credential_response, encode_make_credential,
        };
        use crate::fido2::MakeCredentialRequest;
        use crate::verify::webauthn_registration::{verify_registration, AttestationCas};
        let soft = SoftAuthenticator::from_seed("teleport.example.com", b"hid-mc");
        let req = MakeCredentialRequest {
            rp_id: "teleport.example.com".into(),
            client_data_hash: [3; 32],
            user_id: vec![9; 32],
            user_name: "jerry".into(),
            user_verification: true,
            pin_uv_auth: None,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut ch = Channel::open(FakeKey::new(soft), deadline).unwrap();
        let reply = ch
            .transact(CMD_CBOR, &encode_make_credential(&req), deadline)
            .unwrap();
        let resp = decode_make_credential_response(&reply, &req).unwrap();
        assert_eq!(resp.fmt, "packed");
        let reg = verify_registration(
            &resp,
            "teleport.example.com",
            &[3; 32],
            &AttestationCas::default(),
        )
        .unwrap();
        assert_eq!(reg.attestation_type, "self");
        assert!(reg.user_verified);
        // Signed for another client data, or checked for another rp_id: refused.
        let e = verify_registration(
            &resp,
            "teleport.example.com",
            &[4; 32],
            &AttestationCas::default(),
        )
        .unwrap_err();
        assert!(e.contains("self attestation does not verify"), "{e}");
        let e = verify_registration(
            &resp,
            "evil.example.com",
            &[3; 32],
            &AttestationCas::default(),
        )
        .unwrap_err();
        assert!(e.contains("another relying party"), "{e}");
        // Without UP, a registration is not a tap.
        let mut no_up = resp.clone();
        no_up.auth_data[32] &= !crate::verify::webauthn::FLAG_USER_PRESENT;
        let e = verify_registration(
            &no_up,
            "teleport.example.com",
            &[3; 32],
            &AttestationCas::default(),
        )
        .unwrap_err();
        assert!(e.contains("user presence"), "{e}");
    }

    #[test]
    fn ctap_errors_timeouts_and_u2f_only_keys() {
        let soft = SoftAuthenticator::from_seed("example.com", b"hid2");
        let deadline = Instant::now() + Duration::from_secs(5);

        let req = request(&soft, vec![vec![1, 2, 3]]);
        let mut ch = Channel::open(FakeKey::new(soft.clone()), deadline).unwrap();
        let reply = ch
            .transact(CMD_CBOR, &encode_get_assertion(&req), deadline)
            .unwrap();
        assert_eq!(
            decode_get_assertion_response(&reply, &req),
            Err(Fido2Error::NoCredentials)
        );

        let mut key = FakeKey::new(soft.clone());
        key.silent = true;
        let mut ch = Channel::open(key, deadline).unwrap();
        assert_eq!(
            ch.transact(CMD_CBOR, &encode_get_assertion(&req), deadline),
            Err(Fido2Error::Timeout)
        );
        assert!(ch.dev.cancelled, "a timed-out request is cancelled");

        let mut ch = Channel::open(FakeKey::new(soft.clone()), deadline).unwrap();
        assert!(
            matches!(ch.transact(0x83, &[], deadline), Err(Fido2Error::Protocol(e)) if e.contains("0x01"))
        );

        let mut key = FakeKey::new(soft);
        key.capabilities = 0x01;
        assert!(
            matches!(Channel::open(key, deadline), Err(Fido2Error::Protocol(e)) if e.contains("U2F"))
        );
    }

    #[test]
    fn fido_report_descriptors() {
        // a YubiKey's FIDO interface
        let yubikey = [
            0x06, 0xd0, 0xf1, 0x09, 0x01, 0xa1, 0x01, 0x09, 0x20, 0x15, 0x00, 0x26, 0xff, 0x00,
            0x75, 0x08, 0x95, 0x40, 0x81, 0x02, 0x09, 0x21, 0x15, 0x00, 0x26, 0xff, 0x00, 0x75,
            0x08, 0x95, 0x40, 0x91, 0x02, 0xc0,
        ];
        assert!(is_fido_descriptor(&yubikey));
        // a keyboard
        let keyboard = [
            0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x05, 0x07, 0x19, 0xe0, 0x29, 0xe7, 0xc0,
        ];
        assert!(!is_fido_descriptor(&keyboard));
        assert!(!is_fido_descriptor(&[0x06, 0xd0]), "truncated");
        assert!(!is_fido_descriptor(&[]));
    }

    #[test]
    fn scan_finds_fido_nodes_in_sysfs() {
        let dir = std::env::temp_dir().join(format!("pam-mfa-hid-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sys = dir.join("sys");
        let dev = dir.join("dev");
        for (node, desc, name) in [
            ("hidraw0", vec![0x05u8, 0x01, 0x09, 0x06], "Some Keyboard"),
            (
                "hidraw1",
                vec![0x06, 0xd0, 0xf1, 0x09, 0x01],
                "Yubico YubiKey OTP+FIDO+CCID",
            ),
            ("hidraw2", vec![0x06, 0xd0, 0xf1, 0x09, 0x01], "Gone Key"),
        ] {
            std::fs::create_dir_all(sys.join(node).join("device")).unwrap();
            std::fs::write(sys.join(node).join("device/report_descriptor"), desc).unwrap();
            std::fs::write(
                sys.join(node).join("device/uevent"),
                format!("HID_ID=0003:00001050:00000407\nHID_NAME={name}\n"),
            )
            .unwrap();
        }
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("hidraw0"), b"").unwrap();
        std::fs::write(dev.join("hidraw1"), b"").unwrap();
        let found = scan(&sys, &dev).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].name(),
            format!(
                "Yubico YubiKey OTP+FIDO+CCID ({})",
                dev.join("hidraw1").display()
            )
        );
        assert!(scan(&dir.join("none"), &dev).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let mut a = HidAuthenticator::at(Path::new("/nonexistent/hidraw9"));
        let soft = SoftAuthenticator::from_seed("example.com", b"x");
        let e = a
            .get_assertion(
                &request(&soft, vec![]),
                Instant::now() + Duration::from_secs(1),
            )
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/hidraw9"), "{e}");
    }
}
