//! Outside SSH a login taps a key attached to this host; inside an SSH
//! session (a forwarded ssh-agent, or SSH_CONNECTION / SSH_CLIENT where
//! the module looked) the person is elsewhere and keeps the challenge
//! prompt.

use pam_mfa_protocol::{PamContext, ResponseBody};

use super::local_tap_fixture::*;
use super::tap::Step;

#[test]
fn sudo_in_an_ssh_session_keeps_the_challenge_prompt() {
    let f = fixture("hardware_key_touch", 1, 2, "0s", None);
    // Local sudo: the attached key.
    let (seen, _) = f.poll_to_end(f.begin("sudo-t", None));
    assert!(
        cue_shown(&seen) && is_allow(seen.last().unwrap()),
        "{seen:?}"
    );
    // A forwarded agent means an SSH session: not this host's keys.
    let step = f.begin("sudo-t", Some("/nonexistent/agent.sock"));
    assert!(
        !matches!(step, Step::Ask(_, ResponseBody::Wait { .. })),
        "sudo with a forwarded agent tapped a local key"
    );
    // So does SSH_CONNECTION or SSH_CLIENT where the module looked (sudo's
    // own environment, which the agent cannot read).
    let ctx = PamContext {
        ssh_connection_env: true,
        ..Fixture::context("sudo-t")
    };
    let step = f.begin_with(ctx);
    assert!(
        !matches!(step, Step::Ask(_, ResponseBody::Wait { .. })),
        "sudo in an SSH session, as the module saw, tapped a local key"
    );
}
