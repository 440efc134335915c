//! PAM items that are not UTF-8, through real Linux-PAM (pam-harness, a
//! private confdir) and the built pam_mfa.so. The application sets
//! PAM_USER before the stack runs (as sshd, sudo, su and login do), so the
//! module reads it with pam_get_item, not pam_get_user. A lossy copy would
//! ask the agent about someone else (`caf\xe9` as `caf\u{FFFD}`): the module
//! refuses before asking, whatever the fail mode. The stand-in agent allows
//! whatever reaches it, so a request that got through would be a login
//! allowed.

use pam_mfa_e2e::bins;
use pam_mfa_e2e::fake_agent::{FakeAgent, Misbehaviour};
use pam_mfa_e2e::mfa_sshd::module_args;
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

/// Fields drop in order: the fake agent, then the work dir.
struct World {
    agent: FakeAgent,
    stack: PamStack,
    _work: WorkDir,
}

/// pam_mfa.so in every phase, `fail_mode=open`: an item refused must not be
/// taken for an agent that is not there.
fn world(label: &str) -> World {
    let work = WorkDir::new(label);
    let agent = FakeAgent::start(&work.join("agent.sock"), Misbehaviour::AllowEverything);
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(&agent.socket, "fail_mode=open");
    let text = ["auth", "account", "session"]
        .map(|phase| format!("{phase} required {} {args}\n", module.display()))
        .concat();
    let stack = PamStack::new(&work, &unique_name("sshd-utf8-"), &text);
    World {
        agent,
        stack,
        _work: work,
    }
}

/// Runs `run` for each operation: each ends with `want`, and the agent
/// reads no request.
fn refused_unasked(w: &World, run: &HarnessRun, want: &str) {
    let before = w.agent.requests();
    for op in ["auth", "account", "session"] {
        let run = HarnessRun {
            op: op.into(),
            ..run.clone()
        };
        let out = w.stack.run(&run);
        assert_eq!(
            out.result(op),
            want,
            "{op} {:?}:\n{}",
            run.bytes,
            out.describe()
        );
        assert_eq!(
            w.agent.requests(),
            before,
            "{op} {:?}: the agent was asked",
            run.bytes
        );
    }
}

#[test]
fn names_that_are_not_utf8_are_unknown_users_and_the_agent_is_not_asked() {
    require_root!();
    let w = world("not-utf8-names");
    // The control: a UTF-8 name is asked about, and this agent allows it.
    let mut run = HarnessRun::new("cafe", "auth+account");
    run.ruser = Some("cafe".into());
    let out = w.stack.run(&run);
    assert_eq!(out.result("account"), "PAM_SUCCESS", "{}", out.describe());
    assert_eq!(w.agent.requests(), 2, "{}", out.describe());

    let mut bad_user = run.clone();
    bad_user.bytes = vec![("--user", b"caf\xe9".to_vec())];
    refused_unasked(&w, &bad_user, "PAM_USER_UNKNOWN");

    let mut bad_ruser = run.clone();
    bad_ruser.bytes = vec![("--ruser", b"caf\xe9".to_vec())];
    refused_unasked(&w, &bad_ruser, "PAM_USER_UNKNOWN");
}

/// The agent matches a tap's grant and reuse window by PAM_RHOST.
#[test]
fn a_remote_host_that_is_not_utf8_is_refused_and_the_agent_is_not_asked() {
    require_root!();
    let w = world("not-utf8-rhost");
    let mut run = HarnessRun::new("cafe", "auth");
    run.bytes = vec![("--rhost", b"h\xf6st.example".to_vec())];
    refused_unasked(&w, &run, "PAM_AUTH_ERR");
}

/// PAM_TTY is only recorded: the login is asked about, with the bytes
/// that are not UTF-8 sent as U+FFFD, and goes on.
#[test]
fn a_terminal_that_is_not_utf8_is_sent_and_the_login_goes_on() {
    require_root!();
    let w = world("not-utf8-tty");
    let mut run = HarnessRun::new("cafe", "auth");
    run.bytes = vec![("--tty", b"tty\xe9".to_vec())];
    let out = w.stack.run(&run);
    assert_eq!(out.result("auth"), "PAM_SUCCESS", "{}", out.describe());
    assert_eq!(w.agent.requests(), 1, "{}", out.describe());
    let sent = w.agent.last_request().expect("the request the agent read");
    let sent: serde_json::Value = serde_json::from_slice(&sent).expect("a JSON request");
    assert_eq!(
        sent["context"]["tty"], "tty\u{FFFD}",
        "the terminal as sent: {sent}"
    );
}
