//! sudo inside an SSH session with a real forwarded `ssh-agent` holding an
//! sk-dummy key: the cue naming the key comes first (a `wait` step), the
//! signature is asked for at the module's poll, and the outcome is as it
//! was without the cue: allowed on a verified signature, else the
//! challenge prompt with the reason.

use base64::Engine as _;
use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::conversation::{answer, poll};
use super::flow::handle_begin;
use super::flow_tests::{bundle, prompt_text, Fixture, BLOB};
use super::tap::Step;
use super::verdict::PeerIds;
use crate::ssh_agent::test_agent::RunningAgent;
use crate::verify::ssh_sk::testkit::{generate_key, TempDir, TestKey};

/// A forwarded agent (run by root, as the test is) and the sk key
/// registered to alice, whose logins include root.
struct World {
    f: Fixture,
    agent: RunningAgent,
    registered: TestKey,
    dir: TempDir,
}

fn world(tag: &str) -> World {
    let dir = TempDir::new(tag);
    let registered = generate_key(dir.path(), "alice", "ed25519-sk", &[]);
    let blob = base64::engine::general_purpose::STANDARD.encode(&registered.public_blob);
    let f = Fixture::new(&bundle("true", "").replace(BLOB, &blob), "");
    let agent = RunningAgent::start(dir.path().join("agent.sock"), false);
    World {
        f,
        agent,
        registered,
        dir,
    }
}

impl World {
    /// sudo's auth hook, by root's process 1, with the forwarded agent's
    /// socket in SSH_AUTH_SOCK.
    fn sudo(&self) -> Step {
        let ctx = PamContext {
            service: "sudo".into(),
            user: "root".into(),
            ruser: Some("root".into()),
            ssh_auth_sock: Some(self.agent.socket.display().to_string()),
            ..Default::default()
        };
        handle_begin(
            &self.f.state,
            PeerIds::of_process(1, 0),
            PamHook::Auth,
            &ctx,
            Ok(()),
        )
    }
}

const CUE: &str =
    "pam-mfa: Tap your security key alice-key (through your forwarded ssh-agent) for sudo on prod3";

/// The cue first, then the signature at the poll: allowed.
#[test]
fn the_cue_comes_before_the_forwarded_agents_signature() {
    let w = world("fwd-cue");
    w.agent.add(&w.registered);
    let Step::Ask(conv, shown) = w.sudo() else {
        panic!("sudo was decided without showing the cue")
    };
    assert_eq!(
        shown,
        ResponseBody::Wait {
            after_ms: 0,
            message: Some(CUE.into())
        }
    );
    match poll(&w.f.state, conv) {
        Step::Done(ResponseBody::Allow { .. }) => {}
        Step::Done(other) => panic!("{other:?}"),
        Step::Ask(_, other) => panic!("{other:?}"),
    }
}

/// The signature is asked for after the cue, not before: a forwarded agent
/// gone by the poll leaves the challenge prompt, with the reason.
#[test]
fn the_signature_is_asked_for_at_the_poll_after_the_cue() {
    let mut w = world("fwd-after");
    w.agent.add(&w.registered);
    let Step::Ask(conv, ResponseBody::Wait { .. }) = w.sudo() else {
        panic!("no cue")
    };
    w.agent.stop();
    let Step::Ask(conv, prompt) = poll(&w.f.state, conv) else {
        panic!("no fallback prompt")
    };
    assert!(
        prompt_text(&prompt).contains("MFA challenge pmfa1:"),
        "{prompt:?}"
    );
    assert!(
        conv.verdict.reason.contains("; forwarded ssh-agent: "),
        "{}",
        conv.verdict.reason
    );
}

/// A forwarded agent without a registered key: no cue (nothing to touch),
/// the challenge prompt at once, as before.
#[test]
fn no_registered_key_in_the_forwarded_agent_means_the_prompt_without_a_cue() {
    let w = world("fwd-stranger");
    let stranger = generate_key(w.dir.path(), "stranger", "ed25519-sk", &[]);
    w.agent.add(&stranger);
    let Step::Ask(conv, prompt) = w.sudo() else {
        panic!("no prompt")
    };
    assert!(matches!(prompt, ResponseBody::Prompt { .. }), "{prompt:?}");
    assert!(
        conv.verdict
            .reason
            .contains("forwarded ssh-agent: it holds no registered security key of alice"),
        "{}",
        conv.verdict.reason
    );
}

/// An answer where the module polls after the cue is no way around the
/// forwarded agent: the login is refused.
#[test]
fn an_answer_instead_of_the_poll_is_refused() {
    let w = world("fwd-answer");
    w.agent.add(&w.registered);
    let Step::Ask(conv, ResponseBody::Wait { .. }) = w.sudo() else {
        panic!("no cue")
    };
    match answer(&w.f.state, conv, &["sk1.x.y".into()]) {
        Step::Done(ResponseBody::Deny { message, .. }) => {
            assert!(message.contains("forwarded ssh-agent"), "{message}")
        }
        Step::Done(other) => panic!("{other:?}"),
        Step::Ask(_, other) => panic!("{other:?}"),
    }
}
