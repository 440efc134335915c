//! The agent's steps: allow, deny, prompt, wait, unavailable, error.

use std::time::{Duration, Instant};

use pam_mfa::ffi::consts::*;
use pam_mfa::log::Level;
use pam_mfa_protocol::{
    PamContext, PamHook, Prompt, PromptStyle, RequestBody, ResponseBody, StatusReport,
};

use crate::agent::Agent;
use crate::handle::{run, run_with, Scripted};

fn prompt(style: PromptStyle, text: &str) -> Prompt {
    Prompt {
        style,
        text: text.into(),
    }
}

#[test]
fn allow_sends_the_context_and_shows_the_message() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Allow {
            message: Some("welcome".into()),
        });
    });
    let mut h = Scripted::new();
    h.ruser = Some("alice".into());
    h.rhost = Some("10.0.0.7".into());
    h.tty = Some("ssh".into());
    h.env = vec![
        (
            "SSH_AUTH_INFO_0".into(),
            "publickey sk-ssh-ed25519@openssh.com AAAA".into(),
        ),
        ("SSH_AUTH_SOCK".into(), "/tmp/ssh-x/agent.1".into()),
    ];
    let (code, _) = run(&mut h, PamHook::Auth, &[&agent.arg()]);
    assert_eq!(code, PAM_SUCCESS);
    assert_eq!(h.shown(PromptStyle::Info), ["welcome"]);
    let got = agent.finish();
    assert_eq!(
        got,
        [RequestBody::Begin {
            hook: PamHook::Auth,
            context: PamContext {
                service: "sshd".into(),
                user: "jerry".into(),
                ruser: Some("alice".into()),
                rhost: Some("10.0.0.7".into()),
                tty: Some("ssh".into()),
                ssh_auth_info: Some("publickey sk-ssh-ed25519@openssh.com AAAA".into()),
                ssh_auth_sock: Some("/tmp/ssh-x/agent.1".into()),
            },
        }]
    );
}

#[test]
fn ssh_auth_sock_falls_back_to_the_process_environment() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Allow { message: None });
    });
    let mut h = Scripted::new();
    h.service = Some("sudo".into());
    let env = |name: &str| (name == "SSH_AUTH_SOCK").then(|| "/tmp/ssh-y/agent.2".to_owned());
    let (code, _) = run_with(&mut h, PamHook::Auth, &[&agent.arg()], &env, false);
    assert_eq!(code, PAM_SUCCESS);
    assert!(h.calls.is_empty(), "nothing to show");
    match &agent.finish()[0] {
        RequestBody::Begin { context, .. } => {
            assert_eq!(context.service, "sudo");
            assert_eq!(context.ssh_auth_sock.as_deref(), Some("/tmp/ssh-y/agent.2"));
            assert_eq!(context.ssh_auth_info, None);
            assert_eq!(context.ruser, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deny_shows_the_message_with_the_code_of_each_hook() {
    for (hook, want) in [
        (PamHook::Auth, PAM_AUTH_ERR),
        (PamHook::Account, PAM_PERM_DENIED),
        (PamHook::OpenSession, PAM_SESSION_ERR),
        (PamHook::CloseSession, PAM_SESSION_ERR),
    ] {
        for mode in ["fail_mode=closed", "fail_mode=open"] {
            let agent = Agent::spawn(move |peer| {
                match peer.recv() {
                    RequestBody::Begin { hook: got, .. } => assert_eq!(got, hook),
                    other => panic!("{other:?}"),
                }
                peer.send(ResponseBody::Deny {
                    message: "MFA required: tap your key".into(),
                });
            });
            let mut h = Scripted::new();
            let (code, _) = run(&mut h, hook, &[&agent.arg(), mode]);
            assert_eq!(code, want, "{hook:?} {mode}");
            assert_eq!(h.shown(PromptStyle::Error), ["MFA required: tap your key"]);
            assert_eq!(
                agent.finish().len(),
                1,
                "no cancel after the agent's decision"
            );
        }
    }
}

/// sudo passes PAM_SILENT on every authentication: the person still learns
/// to tap and why a login was refused; only allow's text is hidden.
#[test]
fn silent_still_shows_the_tap_cue_and_the_refusal_reason() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Wait {
            after_ms: 1,
            message: Some("Tap your security key".into()),
        });
        peer.recv();
        peer.send(ResponseBody::Deny {
            message: "no registered security key answered".into(),
        });
    });
    let mut h = Scripted::new();
    let (code, _) = run_with(&mut h, PamHook::Auth, &[&agent.arg()], &|_| None, true);
    assert_eq!(code, PAM_AUTH_ERR);
    assert_eq!(h.shown(PromptStyle::Info), ["Tap your security key"]);
    assert_eq!(
        h.shown(PromptStyle::Error),
        ["no registered security key answered"]
    );
    agent.finish();

    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Allow {
            message: Some("welcome".into()),
        });
    });
    let mut h = Scripted::new();
    let (code, _) = run_with(&mut h, PamHook::Auth, &[&agent.arg()], &|_| None, true);
    assert_eq!(code, PAM_SUCCESS);
    assert!(h.calls.is_empty(), "allow's text shown under PAM_SILENT");
    agent.finish();
}

/// Under PAM_SILENT a prompt step's messages arrive inside the question.
#[test]
fn silent_folds_a_prompt_steps_messages_into_its_question() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Prompt {
            prompts: vec![
                prompt(PromptStyle::Info, "MFA challenge pmfa1:n:l:x"),
                prompt(PromptStyle::EchoOn, "Answer: "),
            ],
        });
        assert_eq!(
            peer.recv(),
            RequestBody::Answer {
                answers: vec!["sk1.abc".into()]
            }
        );
        peer.send(ResponseBody::Allow { message: None });
    });
    let mut h = Scripted::new().reply(&[Some("sk1.abc")]);
    let (code, _) = run_with(&mut h, PamHook::Auth, &[&agent.arg()], &|_| None, true);
    assert_eq!(code, PAM_SUCCESS);
    assert_eq!(h.calls.len(), 1);
    assert_eq!(
        h.calls[0],
        [prompt(
            PromptStyle::EchoOn,
            "MFA challenge pmfa1:n:l:x\nAnswer: "
        )]
    );
    agent.finish();
}

#[test]
fn prompts_are_relayed_and_answers_sent_in_order() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Prompt {
            prompts: vec![
                prompt(PromptStyle::Info, "Challenge for jerry@prod3"),
                prompt(PromptStyle::EchoOn, "Key id: "),
                prompt(PromptStyle::Error, "Last attempt failed"),
                prompt(PromptStyle::EchoOff, "Answer: "),
            ],
        });
        assert_eq!(
            peer.recv(),
            RequestBody::Answer {
                answers: vec!["yk-1".into(), "s3cret-answer".into()]
            }
        );
        peer.send(ResponseBody::Prompt {
            prompts: vec![prompt(PromptStyle::EchoOff, "PIN: ")],
        });
        assert_eq!(
            peer.recv(),
            RequestBody::Answer {
                answers: vec!["123456".into()]
            }
        );
        peer.send(ResponseBody::Allow { message: None });
    });
    let mut h = Scripted::new()
        .reply(&[None, Some("yk-1"), None, Some("s3cret-answer")])
        .reply(&[Some("123456")]);
    let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), "debug"]);
    assert_eq!(code, PAM_SUCCESS);
    assert_eq!(h.calls.len(), 2);
    assert_eq!(h.calls[0].len(), 4, "one conversation call per prompt step");
    assert_eq!(h.shown(PromptStyle::Info), ["Challenge for jerry@prod3"]);
    assert_eq!(h.shown(PromptStyle::Error), ["Last attempt failed"]);
    assert_eq!(h.shown(PromptStyle::EchoOn), ["Key id: "]);
    assert_eq!(h.shown(PromptStyle::EchoOff), ["Answer: ", "PIN: "]);
    // debug lines name steps, never answers or prompt texts
    let text = lines.all_text();
    assert!(lines.any(Level::Debug, "sent answer (2 answers)"), "{text}");
    assert!(
        lines.any(Level::Debug, "conversation: info, echo_on, error, echo_off"),
        "{text}"
    );
    for secret in ["s3cret-answer", "123456", "yk-1", "Answer: ", "Challenge"] {
        assert!(!text.contains(secret), "{secret} logged: {text}");
    }
    agent.finish();
}

#[test]
fn long_prompts_are_cut_to_pam_limits() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Prompt {
            prompts: vec![prompt(
                PromptStyle::EchoOff,
                &format!("{}\0x", "é".repeat(400)),
            )],
        });
        assert_eq!(
            peer.recv(),
            RequestBody::Answer {
                answers: vec!["ok".into()]
            }
        );
        peer.send(ResponseBody::Allow {
            message: Some("m".repeat(2000)),
        });
    });
    let mut h = Scripted::new().reply(&[Some("ok")]);
    let (code, _) = run(&mut h, PamHook::Auth, &[&agent.arg()]);
    assert_eq!(code, PAM_SUCCESS);
    assert_eq!(h.shown(PromptStyle::EchoOff)[0], "é".repeat(255));
    assert_eq!(h.shown(PromptStyle::Info)[0].len(), 511);
    agent.finish();
}

#[test]
fn an_over_long_answer_is_refused_not_cut() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Prompt {
            prompts: vec![prompt(PromptStyle::EchoOff, "A: ")],
        });
    });
    let long = "x".repeat(513);
    let mut h = Scripted::new().reply(&[Some(&long)]);
    let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), "fail_mode=open"]);
    assert_eq!(code, PAM_AUTH_ERR);
    assert!(lines.any(Level::Err, "longer than 512 bytes"));
    assert_eq!(agent.finish()[1..], [RequestBody::Cancel]);
}

#[test]
fn a_conversation_failure_cancels() {
    for reply in [
        Err(pam_mfa::ConvError::Failed(PAM_CONV_ERR)),
        Ok(vec![None]), // no response to a question
        Ok(vec![]),     // wrong count
    ] {
        let agent = Agent::spawn(|peer| {
            peer.recv();
            peer.send(ResponseBody::Prompt {
                prompts: vec![prompt(PromptStyle::EchoOn, "Q: ")],
            });
        });
        let mut h = Scripted::new();
        h.replies.push_back(reply);
        let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg(), "fail_mode=open"]);
        assert_eq!(code, PAM_CONV_ERR);
        assert!(lines.any(Level::Notice, "conversation failed"));
        assert_eq!(agent.finish()[1..], [RequestBody::Cancel]);
    }
}

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
        loop {
            peer.send(ResponseBody::Wait {
                after_ms: 400,
                message: None,
            });
            if peer.recv() != RequestBody::Poll {
                break;
            }
        }
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
