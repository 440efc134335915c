//! A connection's life on the agent's side: mfactl's questions may follow
//! each other on one connection, and a login whose module went away while
//! it waited is refused and audited as cancelled, whether the agent notices
//! when it reads or when it writes.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
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

fn agent(work: &WorkDir) -> Agent {
    let bundle = Bundle::new()
        .role("dev", &[("env", "dev")], &["alice"], Some("false"))
        .user("alice", &["dev"], &["alice"])
        .cap("false");
    Agent::start(work, &AgentConfig::with_env("dev"), &bundle)
}

/// The module sends `begin` and is gone before the agent answers with the
/// tap prompt: writing the prompt fails, and the login waiting on it must
/// still be ended and audited, not dropped.
#[test]
fn a_login_whose_module_left_before_the_prompt_is_audited_as_cancelled() {
    require_root!();
    let work = WorkDir::new("agent-connection-gone");
    let key = SshKey::generate(work.path(), "alice-sk", KeyKind::Ed25519Sk, false);
    let bundle = Bundle::new()
        .role("prod", &[("env", "prod")], &["alice"], Some("true"))
        .user("alice", &["prod"], &["alice"])
        .sk_device("alice-key", "alice", &key.type_and_blob())
        .cap("false");
    let agent = Agent::start(&work, &AgentConfig::with_env("prod"), &bundle);
    let mut s = connect(&agent);
    write_frame(&mut s, &begin("alice")).unwrap();
    drop(s);
    let cancelled = agent.wait_audit(Duration::from_secs(10), |e| {
        e["login"] == "alice"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("the tap was cancelled"))
    });
    assert!(
        cancelled.is_some(),
        "no cancelled login in the audit:\n{}\n{}",
        agent.audit_text(),
        agent.log()
    );
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
