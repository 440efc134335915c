//! Debian's real sudo (1.9.13 passes PAM_SILENT on every authentication),
//! outside SSH: a refused sudo still tells the person why, not only
//! "Sorry, try again.", and the cue to tap reaches them too (how sudo is
//! run: `common::sudo`).

mod common;

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

use common::sudo::Sudo;
use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::process::Finished;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use pam_mfa_protocol::{read_frame, write_frame, Request, RequestBody, Response, ResponseBody};

/// `sudo -S id -un` as `user` through service `service` (pam_mfa.so on
/// `socket` in auth), with nothing on its input.
fn sudo_as(work: &WorkDir, user: &TestUser, service: &str, socket: &Path) -> Finished {
    Sudo {
        user,
        service,
        socket,
        passwd_tries: 1,
        answer: None,
        defaults: "",
    }
    .run(work)
}

#[test]
fn a_refused_sudo_outside_ssh_shows_the_reason_despite_pam_silent() {
    require_root!();
    let work = WorkDir::new("sudo-silent");
    let user = TestUser::create();
    let service = unique_name("sudo-mfat");
    // A prod node: the user's role requires session MFA; no key is registered.
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod").service(&service, "admin"),
        &bundle(&user.name, "false", "true", &[]),
    );
    let out = sudo_as(&work, &user, &service, &agent.socket);
    let shown = format!("{}{}", out.stdout, out.stderr);
    let evidence = format!("{out:?}\n{}", agent.evidence());
    assert_ne!(out.code, Some(0), "sudo was allowed:\n{evidence}");
    assert!(!out.stdout.contains(&user.name), "{evidence}");
    // The agent's reason, word for word as it gave it, reached the terminal.
    assert!(
        shown.contains(&format!(
            "pam-mfa: {service} requires MFA (session) for {}",
            user.name
        )) && shown.contains("none of your registered keys can tap here"),
        "the refusal's reason was not shown:\n{evidence}"
    );
}

/// A stand-in agent (root's socket, as the module requires) that answers
/// `begin` with the tap cue, the first `poll` with a refusal.
fn scripted_agent(socket: &Path) -> std::thread::JoinHandle<Vec<RequestBody>> {
    let listener = UnixListener::bind(socket).expect("bind");
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut got = Vec::new();
        let answers = [
            ResponseBody::Wait {
                after_ms: 10,
                message: Some("Tap your security key".into()),
            },
            ResponseBody::Deny {
                message: "pam-mfa: the key did not answer in 30 s; login refused".into(),
                tries_spent: false,
            },
        ];
        for a in answers {
            let req: Request = read_frame(&mut conn).expect("a request");
            got.push(req.body);
            write_frame(&mut conn, &Response::new(a)).expect("answer");
        }
        got
    })
}

#[test]
fn under_sudos_pam_silent_the_tap_cue_and_the_refusal_still_show() {
    require_root!();
    let work = WorkDir::new("sudo-silent-cue");
    let user = TestUser::create();
    let service = unique_name("sudo-mfat");
    let socket = work.join("agent.sock");
    let agent = scripted_agent(&socket);
    let out = sudo_as(&work, &user, &service, &socket);
    let got = agent.join().expect("the stand-in agent");
    assert!(matches!(got[0], RequestBody::Begin { .. }), "{got:?}");
    assert_eq!(got[1], RequestBody::Poll, "{got:?}");
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(shown.contains("Tap your security key"), "no cue: {out:?}");
    assert!(
        shown.contains("pam-mfa: the key did not answer in 30 s; login refused"),
        "no reason: {out:?}"
    );
    // Never more than the cue and the reason.
    assert_eq!(shown.matches("Tap your security key").count(), 1, "{out:?}");
}
