//! Frame decoding and every message type: what the agent reads from any
//! local client, and what the module and mfactl read from the agent.
//! Property: no panic; a frame that decodes re-encodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_mfa_protocol::{
    read_frame, write_frame, Request, Response, SessionInfo, SyncReport, SyncStatus,
};

fn round_trip<T>(msg: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let mut buf = Vec::new();
    write_frame(&mut buf, msg).expect("a decoded message encodes");
    let again: T = read_frame(&mut buf.as_slice()).expect("an encoded message decodes");
    assert_eq!(&again, msg, "the message changed on a round trip");
}

fuzz_target!(|data: &[u8]| {
    // As a whole stream: a length prefix, then the body (the agent's path).
    if let Ok(req) = read_frame::<_, Request>(&mut &data[..]) {
        round_trip(&req);
    }
    if let Ok(resp) = read_frame::<_, Response>(&mut &data[..]) {
        round_trip(&resp);
    }
    // The body alone, with a valid length prefix, so the fuzzer reaches the
    // JSON decoders without first guessing the length.
    let mut framed = (data.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(data);
    if let Ok(req) = read_frame::<_, Request>(&mut framed.as_slice()) {
        round_trip(&req);
    }
    if let Ok(resp) = read_frame::<_, Response>(&mut framed.as_slice()) {
        round_trip(&resp);
    }
    let _ = serde_json::from_slice::<SessionInfo>(data);
    let _ = serde_json::from_slice::<SyncReport>(data);
    let _ = serde_json::from_slice::<SyncStatus>(data);
});
