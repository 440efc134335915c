//! A connection's life on the agent's side: mfactl's questions may follow
//! each other on one connection, a login whose module went away while
//! it waited is refused and audited as cancelled, whether the agent notices
//! when it reads or when it writes, and the logins sshd holds for one
//! shared account count against each key that authenticated them.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use mfa_agent::ipc::PER_PERSON_PENDING;
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

/// What sshd sends for a login to `deploy` that the public key `key`
/// (type and blob; `None`: a password or keyboard-interactive alone)
/// authenticated.
fn sshd_begin(key: Option<&str>, rhost: &str) -> Request {
    Request::new(RequestBody::Begin {
        hook: PamHook::Auth,
        context: PamContext {
            service: "sshd".into(),
            user: "deploy".into(),
            rhost: Some(rhost.into()),
            ssh_auth_info: key.map(|k| format!("publickey {k}\n")),
            ..Default::default()
        },
    })
}

/// Sends `begin` on a new connection; the connection and the answer.
fn begin_on_new(agent: &Agent, begin: &Request) -> (UnixStream, ResponseBody) {
    let mut s = connect(agent);
    write_frame(&mut s, begin).unwrap();
    let answer: Response = read_frame(&mut s)
        .unwrap_or_else(|e| panic!("no answer to {begin:?}: {e}\n{}", agent.log()));
    (s, answer.body)
}

/// Everyone who may log in to a shared account (`deploy`) with a plain key
/// reaches the tap prompt. One of them leaving 8 prompts unanswered spends
/// only the budget of their key: another key's login still gets its
/// prompt, and only a 9th with the same key is refused, naming the account
/// and the key. The logins sshd did not authenticate with a key share a
/// budget of their own. This test stands in for sshd (a root peer asking
/// about the `sshd` service): whoever its process is traced to (a login
/// uid, an ancestor), sshd's logins count by the login.
#[test]
fn one_key_holding_prompts_on_a_shared_account_leaves_other_keys_theirs() {
    require_root!();
    let work = WorkDir::new("agent-connection-shared-budget");
    let sk = SshKey::generate(work.path(), "alice-sk", KeyKind::Ed25519Sk, false);
    let key_a = SshKey::generate(work.path(), "key-a", KeyKind::Ed25519, false);
    let key_b = SshKey::generate(work.path(), "key-b", KeyKind::Ed25519, false);
    let bundle = Bundle::new()
        .role("prod", &[("env", "prod")], &["deploy"], Some("true"))
        .user("alice", &["prod"], &["deploy"])
        .sk_device("alice-key", "alice", &sk.type_and_blob())
        .cap("false");
    let agent = Agent::start(&work, &AgentConfig::with_env("prod"), &bundle);
    let prompted = |body: &ResponseBody| matches!(body, ResponseBody::Prompt { .. });
    let (a, b) = (key_a.type_and_blob(), key_b.type_and_blob());

    let mut held = Vec::new();
    for i in 0..PER_PERSON_PENDING {
        let (s, body) = begin_on_new(&agent, &sshd_begin(Some(&a), &format!("10.0.0.{i}")));
        assert!(
            prompted(&body),
            "key A's login #{i}: {body:?}\n{}",
            agent.log()
        );
        held.push(s);
    }
    let (s, body) = begin_on_new(&agent, &sshd_begin(Some(&b), "10.0.1.1"));
    assert!(prompted(&body), "key B's login: {body:?}\n{}", agent.log());
    held.push(s);
    let (_, body) = begin_on_new(&agent, &sshd_begin(Some(&a), "10.0.0.99"));
    let ResponseBody::Deny { message, .. } = body else {
        panic!("key A's 9th login: {body:?}\n{}", agent.log());
    };
    let fingerprint = key_a.public_line.split_whitespace().nth(1).unwrap();
    assert!(
        message.starts_with("too many pending logins for deploy with key SHA256:"),
        "{message}"
    );
    assert!(
        !message.contains(fingerprint),
        "the key itself is not shown"
    );

    // Without a key: a budget of their own (`deploy` is no user here: the
    // names no user has share one).
    for i in 0..PER_PERSON_PENDING {
        let (s, body) = begin_on_new(&agent, &sshd_begin(None, &format!("10.0.2.{i}")));
        assert!(
            prompted(&body),
            "login #{i} with no key: {body:?}\n{}",
            agent.log()
        );
        held.push(s);
    }
    let (_, body) = begin_on_new(&agent, &sshd_begin(None, "10.0.2.99"));
    assert!(
        matches!(&body, ResponseBody::Deny { message, .. }
            if message == "too many pending logins for names no user has, over SSH without a key"),
        "{body:?}"
    );
    drop(held);
}
