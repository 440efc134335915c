//! The agent's steps: wait, unavailable, error, and answers out of the
//! protocol's bounds.

use std::time::{Duration, Instant};

use pam_mfa::ffi::consts::*;
use pam_mfa::log::Level;
use pam_mfa_protocol::{PamHook, PromptStyle, RequestBody, ResponseBody, StatusReport};

use crate::agent::Agent;
use crate::handle::{run, Scripted};
use crate::steps::prompt;

#[test]
fn wait_shows_its_message_once_then_polls() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        for _ in 0..3 {
            peer.send(ResponseBody::Wait {
                after_ms: 50,
                message: Some("Tap your key".into()),
            });
            assert_eq!(peer.recv(), RequestBody::Poll);
        }
        peer.send(ResponseBody::Wait {
            after_ms: 0,
            message: Some("Still waiting".into()),
        });
        assert_eq!(peer.recv(), RequestBody::Poll);
        peer.send(ResponseBody::Allow { message: None });
    });
    let mut h = Scripted::new();
    let started = Instant::now();
    let (code, _) = run(&mut h, PamHook::Auth, &[&agent.arg()]);
    assert_eq!(code, PAM_SUCCESS);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "after_ms was honoured"
    );
    assert_eq!(
        h.shown(PromptStyle::Info),
        ["Tap your key", "Still waiting"]
    );
    assert_eq!(agent.finish().len(), 5);
}

#[test]
fn an_application_refusing_the_wait_message_gives_up_the_wait() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Wait {
            after_ms: 5_000,
            message: Some("Tap your security key".into()),
        });
        peer.recv();
    });
    let mut h = Scripted::new();
    h.refuse_messages = true;
    let started = Instant::now();
    let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), "fail_mode=open"]);
    assert_eq!(code, PAM_CONV_ERR);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not wait it out"
    );
    assert!(
        lines.any(Level::Notice, "gave up the wait"),
        "{}",
        lines.all_text()
    );
    assert_eq!(agent.finish()[1..], [RequestBody::Cancel]);
}

#[test]
fn waiting_past_wait_timeout_fails_and_cancels() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.keep_waiting(400);
    });
    let mut h = Scripted::new();
    let started = Instant::now();
    let (code, lines) = run(
        &mut h,
        PamHook::Auth,
        &[&agent.arg(), "wait_timeout=1", "fail_mode=open"],
    );
    assert_eq!(code, PAM_AUTH_ERR);
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(
        lines.any(Level::Err, "gave up waiting for the security key after 1 s"),
        "{}",
        lines.all_text()
    );
    assert_eq!(agent.finish().last(), Some(&RequestBody::Cancel));
}

/// A person tapping an attached key takes longer than `timeout=` allows the
/// agent to answer: the waits count against `wait_timeout=` only.
#[test]
fn waits_do_not_count_against_timeout() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        for _ in 0..4 {
            peer.send(ResponseBody::Wait {
                after_ms: 400,
                message: Some("Tap your security key".into()),
            });
            assert_eq!(peer.recv(), RequestBody::Poll);
        }
        peer.send(ResponseBody::Allow { message: None });
    });
    let mut h = Scripted::new();
    let started = Instant::now();
    let (code, lines) = run(
        &mut h,
        PamHook::Auth,
        &[&agent.arg(), "timeout=1", "wait_timeout=10"],
    );
    assert_eq!(code, PAM_SUCCESS, "{}", lines.all_text());
    assert!(started.elapsed() >= Duration::from_millis(1600));
    assert_eq!(h.shown(PromptStyle::Info), ["Tap your security key"]);
    agent.finish();
}

#[test]
fn conversation_time_does_not_count_against_the_deadline() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Prompt {
            prompts: vec![prompt(PromptStyle::EchoOff, "Tap: ")],
        });
        peer.recv();
        peer.send(ResponseBody::Allow { message: None });
    });
    let mut h = Scripted::new().reply(&[Some("done")]);
    h.think = Duration::from_millis(1500);
    let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), "timeout=1"]);
    assert_eq!(code, PAM_SUCCESS, "{}", lines.all_text());
    agent.finish();
}

#[test]
fn unavailable_follows_the_fail_mode() {
    for (mode, want) in [
        ("fail_mode=closed", PAM_AUTHINFO_UNAVAIL),
        ("fail_mode=open", PAM_IGNORE),
    ] {
        let agent = Agent::spawn(|peer| {
            peer.recv();
            peer.send(ResponseBody::Unavailable {
                message: "no policy loaded".into(),
            });
        });
        let mut h = Scripted::new();
        let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), mode]);
        assert_eq!(code, want);
        if want == PAM_IGNORE {
            assert!(lines.any(Level::Alert, "FAIL-OPEN"), "{}", lines.all_text());
            assert!(lines.any(Level::Alert, "no policy loaded"));
        } else {
            assert!(lines.any(Level::Err, "no policy loaded"));
        }
        assert_eq!(agent.finish().len(), 1);
    }
}

#[test]
fn an_error_response_fails_even_open() {
    for hook in [PamHook::Auth, PamHook::Account, PamHook::OpenSession] {
        let agent = Agent::spawn(|peer| {
            peer.recv();
            peer.send(ResponseBody::Error {
                message: "bad request".into(),
            });
        });
        let mut h = Scripted::new();
        let (code, lines) = run(&mut h, hook, &[&agent.arg(), "fail_mode=open"]);
        assert_eq!(code, PAM_AUTH_ERR);
        assert!(lines.any(Level::Err, "bad request"));
        agent.finish();
    }
}

#[test]
fn an_unexpected_response_type_is_a_protocol_error() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Status(StatusReport::default()));
    });
    let mut h = Scripted::new();
    let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), "fail_mode=open"]);
    assert_eq!(code, PAM_AUTH_ERR);
    assert!(lines.any(Level::Err, "unexpected `status` response"));
    assert_eq!(agent.finish()[1..], [RequestBody::Cancel]);
}

#[test]
fn prompt_steps_out_of_pam_limits_are_protocol_errors() {
    for prompts in [vec![], vec![prompt(PromptStyle::Info, "i"); 33]] {
        let agent = Agent::spawn(move |peer| {
            peer.recv();
            peer.send(ResponseBody::Prompt { prompts });
        });
        let mut h = Scripted::new();
        let (code, _) = run(&mut h, PamHook::Auth, &[&agent.arg(), "fail_mode=open"]);
        assert_eq!(code, PAM_AUTH_ERR);
        assert!(h.calls.is_empty());
        agent.finish();
    }
}

#[test]
fn endless_prompt_steps_are_cut_off() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        loop {
            peer.send(ResponseBody::Prompt {
                prompts: vec![prompt(PromptStyle::Info, "hi")],
            });
            if peer.recv() != (RequestBody::Answer { answers: vec![] }) {
                break;
            }
        }
    });
    let mut h = Scripted::new();
    let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg()]);
    assert_eq!(code, PAM_AUTH_ERR);
    assert!(lines.any(Level::Err, "more than 32 prompt steps"));
    assert_eq!(h.calls.len(), 32);
    agent.finish();
}
