//! Arguments, PAM context errors, panics, setcred and chauthtok.

use pam_mfa::ffi::consts::*;
use pam_mfa::hooks::{CHAUTHTOK_CODE, SETCRED_CODE};
use pam_mfa::log::Level;
use pam_mfa_protocol::{PamHook, ResponseBody};

use crate::agent::Agent;
use crate::handle::{run, Scripted};

#[test]
fn an_unknown_argument_is_a_configuration_error() {
    for args in [
        vec!["prompt_timeout=5"],
        vec!["fail_mode=open", "failmode=closed"],
        vec!["timeout=0"],
        vec!["debug", "debug"],
    ] {
        let mut h = Scripted::new();
        let (code, lines) = run(&mut h, PamHook::Auth, &args);
        assert_eq!(code, PAM_SERVICE_ERR, "{args:?}");
        assert!(
            lines.any(Level::Err, "PAM_SERVICE_ERR"),
            "{}",
            lines.all_text()
        );
        assert!(h.calls.is_empty());
    }
    let mut h = Scripted::new();
    let (_, lines) = run(&mut h, PamHook::Account, &["fail_mode=open", "frobnicate"]);
    assert_eq!(
        lines.0,
        [(
            Level::Err,
            "pam_mfa(sshd:account): unknown module argument `frobnicate`: failing with PAM_SERVICE_ERR"
                .to_owned()
        )]
    );
}

#[test]
fn a_failed_pam_get_user_returns_its_code() {
    for (user, want) in [
        (Err(PAM_CONV_ERR), PAM_CONV_ERR),
        (Err(PAM_SUCCESS), PAM_SYSTEM_ERR),
        (Err(PAM_IGNORE), PAM_SYSTEM_ERR),
        (Ok(String::new()), PAM_USER_UNKNOWN),
    ] {
        let mut h = Scripted::new();
        h.user = user;
        let (code, _) = run(&mut h, PamHook::Auth, &["fail_mode=open"]);
        assert_eq!(code, want);
    }
    let mut h = Scripted::new();
    h.service = None;
    assert_eq!(
        run(&mut h, PamHook::Auth, &["fail_mode=open"]).0,
        PAM_SYSTEM_ERR
    );
}

#[test]
fn a_panic_is_caught_and_fails() {
    let agent = Agent::spawn(|peer| {
        peer.recv();
        peer.send(ResponseBody::Allow {
            message: Some("hello".into()),
        });
    });
    let arg = agent.arg();
    let mut h = Scripted::new();
    h.panic_in_converse = true;
    let code = pam_mfa::guard(|| run(&mut h, PamHook::Auth, &[&arg, "fail_mode=open"]).0);
    assert_eq!(code, PAM_AUTH_ERR);
    agent.finish();
}

#[test]
fn setcred_and_chauthtok() {
    assert_eq!(SETCRED_CODE, PAM_SUCCESS);
    assert_eq!(CHAUTHTOK_CODE, PAM_IGNORE);
}
