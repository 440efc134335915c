//! The product through a real sshd: pam_mfa.so in the sshd PAM service, mfactl as
//! the AuthorizedKeysCommand, the agent with a Teleport bundle, and the OpenSSH
//! client with plain and sk-dummy keys.

mod common;
#[path = "sshd_login/expired_password.rs"]
mod expired_password;
#[path = "sshd_login/world.rs"]
mod world;

use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::fake_agent::{FakeAgent, Misbehaviour};
use pam_mfa_e2e::keys::KeyKind;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::sshd::{sk_flags_in_log, SK_USER_PRESENT, SK_USER_VERIFIED};
use world::*;

#[test]
fn a_dev_node_plain_key_logs_in() {
    require_root!();
    let (w, _) = start(
        "login-a",
        "dev",
        &[],
        |l, _| bundle(l, "false", "true", &[]),
        &[],
    );
    w.assert_logs_in(&w.plain);
    let e = w.wait_decision("allow");
    assert_event_shape(&e);
    assert_eq!(field(&e, "login"), w.user.name);
    assert_eq!(field(&e, "service"), w.sshd.service);
    assert_eq!(field(&e, "node"), "e2e-dev");
    assert_eq!(field(&e, "user"), w.user.name, "{e}");
    // No session MFA on dev.
    assert!(matches!(field(&e, "requirement"), "" | "off"), "{e}");
    let events = w.agent.audit_events();
    assert!(decisions_for(&events, &w.user.name)
        .iter()
        .all(|e| field(e, "result") == "allow"));
}

#[test]
fn b_prod_node_needs_a_registered_sk_key() {
    require_root!();
    let (w, sk) = start(
        "login-b",
        "prod",
        &[(KeyKind::Ed25519Sk, false)],
        |l, sk| bundle(l, "false", "true", &sk.iter().collect::<Vec<_>>()),
        &[],
    );
    // The plain key: refused, with a pointer to security keys.
    let out = w.assert_refused(&w.plain);
    let deny = w.wait_decision("deny");
    assert_event_shape(&deny);
    assert_eq!(field(&deny, "node"), "e2e-prod");
    assert_eq!(field(&deny, "requirement"), "session", "{deny}");
    // The person sees why, on the client.
    assert!(
        mentions_security_key(out.stderr()),
        "no security-key hint:\n{}",
        out.describe()
    );

    // The registered sk key (served by mfactl authorized-keys): accepted with UP.
    let log = w.assert_logs_in(&sk[0]);
    let flags = sk_flags_in_log(&log);
    assert!(
        flags.iter().any(|f| f & SK_USER_PRESENT != 0),
        "no UP flag in:\n{log}"
    );
    // The key came from the agent, through mfactl.
    assert!(log.contains("/run/t/mfactl"), "{log}");
    let allow = w.wait_decision("allow");
    assert_event_shape(&allow);
    assert_eq!(field(&allow, "requirement"), "session", "{allow}");
}

#[test]
fn c_cap_requires_session_mfa_everywhere() {
    require_root!();
    let (w, sk) = start(
        "login-c",
        "dev",
        &[(KeyKind::Ed25519Sk, false)],
        |l, sk| bundle(l, "true", "true", &sk.iter().collect::<Vec<_>>()),
        &[],
    );
    w.assert_refused(&w.plain);
    w.assert_logs_in(&sk[0]);
    w.wait_decision("deny");
    w.wait_decision("allow");
}

#[test]
fn d_hardware_key_pin_needs_a_verify_required_key() {
    require_root!();
    let (w, sk) = start(
        "login-d",
        "prod",
        &[(KeyKind::EcdsaSk, false), (KeyKind::Ed25519Sk, true)],
        |l, sk| {
            bundle(
                l,
                "false",
                "hardware_key_pin",
                &sk.iter().collect::<Vec<_>>(),
            )
        },
        &[],
    );
    // mfactl serves the keys with verify-required.
    let served = w.agent.mfactl(&["authorized-keys", &w.user.name]);
    assert!(served.success(), "{served:?}");
    for k in &sk {
        let line = served
            .stdout
            .lines()
            .find(|l| l.contains(k.blob()))
            .unwrap_or_else(|| panic!("{} not served:\n{}", k.key_type(), served.stdout));
        assert!(line.contains("verify-required"), "{line}");
    }
    let from = w.sshd.log_len();
    w.assert_refused(&sk[0]);
    let log = w.sshd.log_since(from);
    assert!(
        log.contains("user verification requirement not met"),
        "{log}"
    );
    let log = w.assert_logs_in(&sk[1]);
    let flags = sk_flags_in_log(&log);
    assert!(
        flags.iter().any(|f| f & (SK_USER_PRESENT | SK_USER_VERIFIED) == SK_USER_PRESENT | SK_USER_VERIFIED),
        "no UP|UV flags in:\n{log}"
    );
    let allow = w.wait_decision("allow");
    assert!(field(&allow, "requirement").contains("pin"), "{allow}");
}

#[test]
fn e_lock_on_the_login_refuses() {
    require_root!();
    let (w, _) = start(
        "login-e",
        "dev",
        &[],
        |l, _| bundle(l, "false", "true", &[]),
        &[],
    );
    w.assert_logs_in(&w.plain);
    let locked = bundle(&w.user.name, "false", "true", &[]).lock_login(
        "e2e-lock",
        &w.user.name,
        "locked by the e2e suite",
    );
    w.agent.update_bundle(&locked);
    let out = w.assert_refused(&w.plain);
    assert!(
        out.stderr().contains("locked by the e2e suite"),
        "{}",
        out.describe()
    );
    let deny = w.wait_decision("deny");
    assert!(
        field(&deny, "reason").to_lowercase().contains("lock"),
        "{deny}"
    );
}

#[test]
fn f_agent_down_fail_closed_refuses_fail_open_allows() {
    require_root!();
    let (mut w, _) = start(
        "login-f",
        "dev",
        &[],
        |l, _| bundle(l, "false", "true", &[]),
        &[],
    );
    w.assert_logs_in(&w.plain);
    w.agent.stop();
    assert!(!w.agent.socket.exists(), "the agent left its socket behind");

    let from = w.sshd.log_len();
    let t = Instant::now();
    let out = w.login(&w.plain);
    let elapsed = t.elapsed();
    assert_eq!(
        out.exit_code(),
        Some(255),
        "fail closed:\n{}",
        w.evidence(&out, from)
    );
    assert!(elapsed < refusal_deadline(), "refusal took {elapsed:?}");
    let closed = w.syslog.wait_for("pam_mfa", Duration::from_secs(5));
    assert!(
        closed.is_some(),
        "no pam_mfa syslog line:\n{}",
        w.evidence(&out, from)
    );

    // fail_mode=open with pam_mfa.so the only auth module (README's
    // /etc/pam.d/sshd): Linux-PAM fails a stack whose every module returned
    // PAM_IGNORE, so this still refuses; the README says to add pam_permit.
    let open_alone =
        sshd_stack_fail_open(&w.agent.socket).replace("auth required pam_permit.so\n", "");
    assert!(!open_alone.contains("auth required pam_permit.so"));
    w.sshd.set_pam_stack(&open_alone);
    let from = w.sshd.log_len();
    let out = w.login(&w.plain);
    assert_eq!(
        out.exit_code(),
        Some(255),
        "fail_mode=open alone in auth:\n{}",
        w.evidence(&out, from)
    );

    let before = w.syslog.lines().len();
    w.sshd.set_pam_stack(&sshd_stack_fail_open(&w.agent.socket));
    let from = w.sshd.log_len();
    let out = w.login(&w.plain);
    assert!(out.success(), "fail open:\n{}", w.evidence(&out, from));
    // Fail-open is logged loudly (LOG_ALERT = severity 1: <PRI> = facility*8 + 1).
    let opened =
        pam_mfa_e2e::process::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            w.syslog.lines()[before..]
                .iter()
                .any(|l| l.contains("pam_mfa") && syslog_severity(l) == Some(1))
        });
    assert!(
        opened,
        "no LOG_ALERT pam_mfa line for fail-open:\n{}",
        w.syslog.lines().join("\n")
    );
}

/// The severity of a raw syslog datagram (`<PRI>...`).
fn syslog_severity(line: &str) -> Option<u32> {
    let pri: u32 = line.strip_prefix('<')?.split_once('>')?.0.parse().ok()?;
    Some(pri % 8)
}

fn hostile_agent(how: Misbehaviour, label: &str) {
    let (mut w, _) = start(
        label,
        "dev",
        &[],
        |l, _| bundle(l, "false", "true", &[]),
        &[],
    );
    let fake = FakeAgent::start(&w.work.join("fake.sock"), how);
    w.sshd.set_pam_stack(&sshd_stack(&fake.socket, ""));
    let from = w.sshd.log_len();
    let t = Instant::now();
    let out = w.login(&w.plain);
    let elapsed = t.elapsed();
    assert_eq!(
        out.exit_code(),
        Some(255),
        "{how:?}:\n{}",
        w.evidence(&out, from)
    );
    assert!(
        elapsed < refusal_deadline(),
        "{how:?}: refusal took {elapsed:?}"
    );
    assert!(
        fake.connections() > 0,
        "{how:?}: the module never connected to the fake agent"
    );
    assert!(w.sshd.is_running(), "{how:?}: sshd died");
    // A good login against the real agent still works.
    w.sshd.set_pam_stack(&sshd_stack(&w.agent.socket, ""));
    w.assert_logs_in(&w.plain);
}

#[test]
fn h_garbage_from_the_agent_refuses() {
    require_root!();
    hostile_agent(Misbehaviour::Garbage, "login-h1");
}

#[test]
fn h_oversized_frame_from_the_agent_refuses() {
    require_root!();
    hostile_agent(Misbehaviour::OversizedLength, "login-h2");
}

#[test]
fn h_silent_agent_refuses_within_the_deadline() {
    require_root!();
    hostile_agent(Misbehaviour::Silent, "login-h3");
}

#[test]
fn h_wrong_protocol_version_refuses() {
    require_root!();
    hostile_agent(Misbehaviour::WrongVersion, "login-h4");
}

#[test]
fn g_unregistered_sk_key_on_prod_is_refused() {
    require_root!();
    // sk[0] is registered; sk[1] sits only in authorized_keys.
    let (w, sk) = start(
        "login-g",
        "prod",
        &[(KeyKind::Ed25519Sk, false), (KeyKind::Ed25519Sk, false)],
        |l, sk| bundle(l, "false", "true", &[&sk[0]]),
        &[1],
    );
    let out = w.assert_refused(&sk[1]);
    assert!(mentions_security_key(out.stderr()), "{}", out.describe());
    let deny = w.wait_decision("deny");
    assert_event_shape(&deny);
    w.assert_logs_in(&sk[0]);
}
