//! CTAPHID against a key in memory (`FakeKey`) that answers with the
//! software authenticator: framing, channels, keep-alives, cancel, errors,
//! and every command the agent sends through it.

use std::collections::VecDeque;

use super::*;
use crate::fido2::ctap::{decode_get_assertion_response, encode_get_assertion};
use crate::fido2::soft::SoftAuthenticator;
use crate::fido2::{Authenticator, GetAssertionRequest};
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
        .transact(CMD_CBOR, &encode_get_assertion(&req), deadline, None)
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
        self.0.transact(CMD_CBOR, request, deadline, None)
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
        let token = pin_token(&mut key, &info, "246810", "teleport.example.com", deadline).unwrap();
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
    use crate::fido2::make_credential::{decode_make_credential_response, encode_make_credential};
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
        .transact(CMD_CBOR, &encode_make_credential(&req), deadline, None)
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
        .transact(CMD_CBOR, &encode_get_assertion(&req), deadline, None)
        .unwrap();
    assert_eq!(
        decode_get_assertion_response(&reply, &req),
        Err(Fido2Error::NoCredentials)
    );

    let mut key = FakeKey::new(soft.clone());
    key.silent = true;
    let mut ch = Channel::open(key, deadline).unwrap();
    assert_eq!(
        ch.transact(CMD_CBOR, &encode_get_assertion(&req), deadline, None),
        Err(Fido2Error::Timeout)
    );
    assert!(ch.dev.cancelled, "a timed-out request is cancelled");

    // A request whose login ended: cancelled at the key's next keep-alive,
    // long before the deadline.
    let mut key = FakeKey::new(soft.clone());
    key.silent = true;
    let mut ch = Channel::open(key, deadline).unwrap();
    let ended = std::sync::atomic::AtomicBool::new(true);
    assert_eq!(
        ch.transact(
            CMD_CBOR,
            &encode_get_assertion(&req),
            deadline,
            Some(&ended)
        ),
        Err(Fido2Error::Cancelled)
    );
    assert!(ch.dev.cancelled, "the key is told to stop waiting");

    let mut ch = Channel::open(FakeKey::new(soft.clone()), deadline).unwrap();
    assert!(
        matches!(ch.transact(0x83, &[], deadline, None), Err(Fido2Error::Protocol(e)) if e.contains("0x01"))
    );

    let mut key = FakeKey::new(soft);
    key.capabilities = 0x01;
    assert!(
        matches!(Channel::open(key, deadline), Err(Fido2Error::Protocol(e)) if e.contains("U2F"))
    );
}
