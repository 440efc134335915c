//! The agent's steps: allow, deny, prompt (waits and failures:
//! `waits_and_failures`).

use pam_mfa::ffi::consts::*;
use pam_mfa::log::Level;
use pam_mfa_protocol::{PamContext, PamHook, Prompt, PromptStyle, RequestBody, ResponseBody};

use crate::agent::Agent;
use crate::handle::{run, run_with, Scripted};

pub(crate) fn prompt(style: PromptStyle, text: &str) -> Prompt {
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
                ssh_connection_env: false,
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

/// Whether sudo runs in an SSH session: `SSH_CONNECTION` or `SSH_CLIENT`
/// set (even empty) in the environment sudo was started with or in PAM's;
/// only whether is sent (the context has no room for the addresses).
#[test]
fn ssh_connection_or_ssh_client_in_either_environment_is_sent_as_set() {
    // (set in the process environment, set in PAM's, sent as set)
    let cases = [
        ("SSH_CONNECTION", None, true),
        ("SSH_CLIENT", None, true),
        ("", Some(("SSH_CLIENT", "10.0.0.1 5000 22")), true),
        ("", Some(("SSH_CONNECTION", "")), true),
        ("SSH_CONNECTIONS", Some(("SSH_AUTH_SOCK", "/tmp/a")), false),
    ];
    for (process_var, pam_var, want) in cases {
        let agent = Agent::spawn(|peer| {
            peer.recv();
            peer.send(ResponseBody::Allow { message: None });
        });
        let mut h = Scripted::new();
        h.service = Some("sudo".into());
        h.env = pam_var
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into_iter()
            .collect();
        let env = |name: &str| (name == process_var).then(|| "10.0.0.1 5000 10.0.0.2 22".into());
        let (code, _) = run_with(&mut h, PamHook::Auth, &[&agent.arg()], &env, false);
        assert_eq!(code, PAM_SUCCESS);
        match &agent.finish()[0] {
            RequestBody::Begin { context, .. } => {
                assert_eq!(
                    context.ssh_connection_env, want,
                    "{process_var} {pam_var:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

/// A deny whose tap spent its last try is PAM_MAXTRIES in auth (sshd then
/// stops asking); in the other hooks it is any deny.
#[test]
fn deny_shows_the_message_with_the_code_of_each_hook() {
    for (hook, tries_spent, want) in [
        (PamHook::Auth, false, PAM_AUTH_ERR),
        (PamHook::Auth, true, PAM_MAXTRIES),
        (PamHook::Account, false, PAM_PERM_DENIED),
        (PamHook::Account, true, PAM_PERM_DENIED),
        (PamHook::OpenSession, false, PAM_SESSION_ERR),
        (PamHook::OpenSession, true, PAM_SESSION_ERR),
        (PamHook::CloseSession, false, PAM_SESSION_ERR),
    ] {
        for mode in ["fail_mode=closed", "fail_mode=open"] {
            let agent = Agent::spawn(move |peer| {
                match peer.recv() {
                    RequestBody::Begin { hook: got, .. } => assert_eq!(got, hook),
                    other => panic!("{other:?}"),
                }
                peer.send(ResponseBody::Deny {
                    message: "MFA required: tap your key".into(),
                    tries_spent,
                });
            });
            let mut h = Scripted::new();
            let (code, _) = run(&mut h, hook, &[&agent.arg(), mode]);
            assert_eq!(code, want, "{hook:?} tries_spent {tries_spent} {mode}");
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
            tries_spent: false,
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
