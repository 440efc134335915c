//! A reachable agent that speaks badly: always PAM_AUTH_ERR, even open.

use std::time::{Duration, Instant};

use pam_mfa::ffi::consts::*;
use pam_mfa::log::Level;
use pam_mfa_protocol::{PamHook, Prompt, PromptStyle, RequestBody, ResponseBody};

use crate::agent::{Agent, Peer};
use crate::handle::{run, Scripted};

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn assert_auth_err(script: fn(&mut Peer), why: &str) {
    for mode in ["fail_mode=closed", "fail_mode=open"] {
        let agent = Agent::spawn(script);
        let mut h = Scripted::new().reply(&[Some("answer")]);
        let started = Instant::now();
        let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), mode, "timeout=2"]);
        assert_eq!(code, PAM_AUTH_ERR, "{mode}: {}", lines.all_text());
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(
            lines.any(Level::Err, why),
            "{why} not in {}",
            lines.all_text()
        );
        agent.finish();
    }
}

#[test]
fn garbage() {
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.raw(&frame(b"\x00\xffnot json"));
        },
        "malformed message",
    );
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.raw(&frame(br#"{"v":1,"type":"allow","#));
        },
        "malformed message",
    );
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.raw(&frame(br#"{"v":1,"type":"launch_missiles"}"#));
        },
        "malformed message",
    );
}

#[test]
fn oversized_length_prefix() {
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.raw(&[0xff, 0xff, 0xff, 0xff]);
        },
        "over the 65536-byte limit",
    );
}

#[test]
fn wrong_or_missing_version() {
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.raw(&frame(br#"{"v":2,"type":"allow"}"#));
        },
        "protocol version 2",
    );
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.raw(&frame(br#"{"type":"allow"}"#));
        },
        "missing protocol version",
    );
}

#[test]
fn peer_closes_mid_conversation() {
    // after a prompt was answered
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.send(ResponseBody::Prompt {
                prompts: vec![Prompt {
                    style: PromptStyle::EchoOff,
                    text: "A: ".into(),
                }],
            });
            assert!(matches!(peer.recv(), RequestBody::Answer { .. }));
            peer.stream().shutdown(std::net::Shutdown::Both).unwrap();
        },
        "closed the connection",
    );
    // in the middle of a frame
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.wait(1);
            peer.recv();
            peer.raw(&frame(br#"{"v":1,"type":"allow"}"#)[..10]);
            peer.stream().shutdown(std::net::Shutdown::Both).unwrap();
        },
        "closed the connection",
    );
}

#[test]
fn timeout_mid_conversation() {
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.wait(1);
            peer.recv();
            // never answers the poll
        },
        "timed out",
    );
}

#[test]
fn a_trickling_agent_cannot_stretch_the_deadline() {
    assert_auth_err(
        |peer| {
            peer.recv();
            peer.wait(1);
            peer.recv();
            let bytes = frame(br#"{"v":1,"type":"allow"}"#);
            for b in bytes {
                if std::io::Write::write_all(peer.stream(), &[b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        },
        "timed out",
    );
}
