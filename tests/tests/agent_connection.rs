//! How long the agent keeps a connection: a login's connection ends with the
//! login's last answer (the agent closes it at once: the module reads
//! nothing after it, and waiting for the module's close costs a wake-up on
//! each side of every login), while mfactl's questions may follow each other
//! on one connection. The multi-step logins (prompt, answer, wait, poll) of
//! tests/tests/taps.rs show the connection stays open while a login waits.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_protocol::{
    read_frame, write_frame, PamContext, PamHook, Request, RequestBody, Response, ResponseBody,
};

fn begin(user: &str) -> Request {
    Request::new(RequestBody::Begin {
        hook: PamHook::Auth,
        context: PamContext {
            service: "sshd".into(),
            user: user.into(),
            rhost: Some("127.0.0.1".into()),
            ..Default::default()
        },
    })
}

fn connect(agent: &Agent) -> UnixStream {
    let s = UnixStream::connect(&agent.socket).expect("connecting to the agent");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// What the next read brings once the answer was read: `None` for the
/// end of the connection, else the bytes.
fn after_the_answer(s: &mut UnixStream) -> Option<Vec<u8>> {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => None,
        Ok(n) => Some(buf[..n].to_vec()),
        Err(e) => panic!("the connection stayed open after the last answer: {e}"),
    }
}

fn agent(work: &WorkDir) -> Agent {
    // alice may log in without a tap; the login bob is locked.
    let bundle = Bundle::new()
        .role("dev", &[("env", "dev")], &["alice", "bob"], Some("false"))
        .user("alice", &["dev"], &["alice"])
        .user("bob", &["dev"], &["bob"])
        .lock_login("bob-locked", "bob", "bob is locked")
        .cap("false");
    Agent::start(work, &AgentConfig::with_env("dev"), &bundle)
}

#[test]
fn the_agent_closes_a_login_connection_after_its_allow_or_deny() {
    require_root!();
    let work = WorkDir::new("agent-connection-login");
    let agent = agent(&work);
    for (user, allowed) in [("alice", true), ("bob", false)] {
        let mut s = connect(&agent);
        write_frame(&mut s, &begin(user)).unwrap();
        let answer: Response = read_frame(&mut s).unwrap();
        match (&answer.body, allowed) {
            (ResponseBody::Allow { .. }, true) | (ResponseBody::Deny { .. }, false) => {}
            other => panic!("{user}: unexpected answer {other:?}\n{}", agent.log()),
        }
        assert_eq!(
            after_the_answer(&mut s),
            None,
            "{user}: the agent sent more after the last answer"
        );
    }
}

#[test]
fn questions_that_are_not_logins_may_follow_each_other_on_one_connection() {
    require_root!();
    let work = WorkDir::new("agent-connection-status");
    let agent = agent(&work);
    let mut s = connect(&agent);
    for round in 0..2 {
        write_frame(&mut s, &Request::new(RequestBody::Status)).unwrap();
        let answer: Response =
            read_frame(&mut s).unwrap_or_else(|e| panic!("status #{round}: {e}\n{}", agent.log()));
        assert!(
            matches!(answer.body, ResponseBody::Status(_)),
            "status #{round}: {:?}",
            answer.body
        );
    }
}
