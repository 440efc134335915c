//! A login whose person's pending logins are all taken (`MayWait` is
//! `Err`): still decided, and refused only if it would wait for an answer.

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::flow::handle_begin;
use super::flow_tests::{bundle, Fixture};
use super::tap::Step;
use super::verdict::PeerIds;

const SPENT: &str = "too many pending logins for root over SSH without a key";

fn sshd_login(f: &Fixture, hook: PamHook, may_wait: Result<(), &str>) -> Step {
    let ctx = PamContext {
        service: "sshd".into(),
        user: "root".into(),
        rhost: Some("10.0.0.1".into()),
        ..Default::default()
    };
    handle_begin(&f.state, PeerIds::of_process(1, 0), hook, &ctx, may_wait)
}

/// No MFA needed: allowed whatever the budget, in `auth` and `account`.
#[test]
fn a_decision_that_needs_no_answer_is_never_refused_for_the_budget() {
    let f = Fixture::new(&bundle("false", ""), "");
    for hook in [PamHook::Auth, PamHook::Account] {
        match sshd_login(&f, hook, Err(SPENT)) {
            Step::Done(ResponseBody::Allow { .. }) => {}
            Step::Done(other) => panic!("{hook:?}: {other:?}"),
            Step::Ask(_, body) => panic!("{hook:?} waits: {body:?}"),
        }
    }
}

/// MFA needed: the tap prompt when the login may wait; refused, saying
/// why, and no conversation started, when it may not.
#[test]
fn a_login_that_would_wait_and_may_not_is_refused_with_the_reason() {
    let f = Fixture::new(&bundle("true", ""), "");
    assert!(matches!(
        sshd_login(&f, PamHook::Auth, Ok(())),
        Step::Ask(_, ResponseBody::Prompt { .. })
    ));
    match sshd_login(&f, PamHook::Auth, Err(SPENT)) {
        Step::Done(ResponseBody::Deny { message, .. }) => assert_eq!(message, SPENT),
        Step::Done(other) => panic!("{other:?}"),
        Step::Ask(_, body) => panic!("started to wait: {body:?}"),
    }
}
