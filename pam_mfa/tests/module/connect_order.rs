//! When the module connects: before it reads the PAM context when PAM
//! already has the user (the agent takes the connection meanwhile), and
//! only after `pam_get_user` when that may ask the person for their name
//! (the agent gives a connection only seconds for its first frame).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pam_mfa::ffi::consts::PAM_SUCCESS;
use pam_mfa_protocol::{PamHook, RequestBody, ResponseBody};

use crate::agent::Agent;
use crate::handle::{run, Scripted};

/// A fake agent that allows, and when it accepted the connection.
fn allowing_agent() -> (Agent, Arc<Mutex<Option<Instant>>>) {
    let accepted = Arc::new(Mutex::new(None));
    let at = Arc::clone(&accepted);
    let agent = Agent::spawn(move |peer| {
        *at.lock().unwrap() = Some(Instant::now());
        assert!(matches!(peer.recv(), RequestBody::Begin { .. }));
        peer.send(ResponseBody::Allow { message: None });
    });
    (agent, accepted)
}

#[test]
fn with_the_user_known_the_module_connects_before_reading_the_context() {
    let (agent, accepted) = allowing_agent();
    let mut h = Scripted::new();
    // PAM_USER is set: nobody is asked, and pam_get_user is not called.
    // Reading the context takes a while: the connection is already there.
    h.user_set = true;
    h.env_delay = Duration::from_millis(300);
    let (code, _) = run(&mut h, PamHook::Auth, &[&agent.arg()]);
    assert_eq!(code, PAM_SUCCESS);
    agent.finish();
    let accepted = accepted.lock().unwrap().expect("the agent accepted");
    let env_read = h.env_read_at.get().expect("the context was read");
    assert!(
        accepted <= env_read,
        "connected only after reading the context"
    );
    assert!(
        h.got_user_at.is_none(),
        "pam_get_user was called though PAM_USER was set"
    );
    assert_eq!(h.service_reads.get(), 1, "PAM_SERVICE read more than once");
}

/// With `debug`, the module's syslog line (which a stalled journal may
/// hold) comes before the exchange: no connection is opened early to wait
/// on it.
#[test]
fn with_debug_the_module_connects_only_after_reading_the_context() {
    let (agent, accepted) = allowing_agent();
    let mut h = Scripted::new();
    h.user_set = true;
    h.env_delay = Duration::from_millis(300);
    let (code, _) = run(&mut h, PamHook::Auth, &[&agent.arg(), "debug"]);
    assert_eq!(code, PAM_SUCCESS);
    agent.finish();
    let accepted = accepted.lock().unwrap().expect("the agent accepted");
    let env_read = h.env_read_at.get().expect("the context was read");
    assert!(accepted >= env_read, "connected early with debug");
}

#[test]
fn a_module_that_must_ask_for_the_user_connects_only_after_the_answer() {
    let (agent, accepted) = allowing_agent();
    let mut h = Scripted::new();
    h.user_set = false;
    h.typing = Duration::from_millis(300);
    let (code, _) = run(&mut h, PamHook::Auth, &[&agent.arg()]);
    assert_eq!(code, PAM_SUCCESS);
    agent.finish();
    let accepted = accepted.lock().unwrap().expect("the agent accepted");
    assert!(
        accepted >= h.got_user_at.unwrap(),
        "connected while the person was still typing their name"
    );
}
