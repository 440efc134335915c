//! Keys attached to this host (issue 4, items 3 and 5(a),(b)): a login-class
//! PAM service (mapped to desktop) run through pam-harness, the real agent
//! reaching the software PIV card through pcscd + vpcd (the agent runs in
//! the card's mount namespace; the harness and the module stay outside and
//! reach it by its socket). The agent signs a fresh challenge on the card
//! and checks it against the registered, attested key; the module shows
//! "Tap your security key" while it waits.

mod common;
#[path = "host_keys/world.rs"]
mod world;

use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::piv_card::tools::require_pcsc_tools;
use pam_mfa_e2e::require_root;
use world::bundle;
use world::*;

#[test]
fn touch_always_passes_touch_never_is_refused_on_a_hardware_key_touch_desktop() {
    require_root!();
    require_pcsc_tools(&["yubico-piv-tool"]);
    let mut chains = Vec::new();
    let w = world("host-keys-touch", |env| {
        chains.push(attested(env, "9c", "always", "never"));
        chains.push(attested(env, "9a", "never", "never"));
        ("hardware_key_touch".into(), Vec::new())
    });
    let (touch, no_touch) = (&chains[0], &chains[1]);

    // Touch never: registered and attested, but its class lacks the touch.
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_touch",
        "5m",
        &[no_touch],
    ));
    let out = w.run(&[]);
    w.assert_refused(&out, "touch-never key");
    let e = w.last_auth();
    assert!(
        field(&e, "reason").contains("touch"),
        "{e}\n{}",
        w.evidence(&out)
    );
    assert!(
        out.errors
            .iter()
            .any(|m| m.contains("none of your registered keys")),
        "{}",
        w.evidence(&out)
    );

    // Touch always, touched: the cue, no prompt, allowed (account too).
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_touch",
        "5m",
        &[touch, no_touch],
    ));
    let started = Instant::now();
    let out = w.run(&[]);
    let took = started.elapsed();
    w.assert_allowed(&out, "touch-always key, touched");
    assert!(out.prompts.is_empty(), "{}", w.evidence(&out));
    assert!(
        out.infos.iter().any(|m| m.contains(CUE)),
        "{}",
        w.evidence(&out)
    );
    let e = w.last_auth();
    assert_eq!(field(&e, "evidence"), "attached_piv_touch", "{e}");
    assert!(
        w.env.card_log().contains("touch requested for slot 9c"),
        "the card was not asked for a touch"
    );
    eprintln!("local PIV tap round trip (touch, no PIN): {took:?}");

    // Local sudo (no SSH session) taps the attached key too ...
    let out = w.sudo(&[]);
    w.assert_allowed(&out, "local sudo");
    assert!(
        out.infos.iter().any(|m| m.contains(CUE)),
        "{}",
        w.evidence(&out)
    );
    assert_eq!(field(&w.last_auth(), "evidence"), "attached_piv_touch");
    // ... but not with a forwarded agent (an SSH session): the agent leaves
    // the card on this host alone and sends the challenge prompt, which
    // `mfactl tap` on the person's computer answers (here: nobody does).
    let card_before = w.env.card_log().len();
    let out = w.sudo(&["SSH_AUTH_SOCK=/nonexistent/agent.sock"]);
    w.assert_refused(&out, "sudo with a forwarded agent");
    assert!(
        out.prompts
            .iter()
            .any(|p| p.contains("MFA challenge") && p.contains(" piv=") && p.contains("9c")),
        "no challenge prompt naming the PIV slot\n{}",
        w.evidence(&out)
    );
    assert_eq!(
        w.env.card_log().len(),
        card_before,
        "the card attached to this host was used for a sudo inside an SSH session"
    );
    // ... nor with SSH_CONNECTION where the module looks (sudo's startup
    // environment, which the agent cannot read under its packaged unit: a
    // setuid sudo is not dumpable; here PAM's, which the agent never reads).
    let out = w.sudo(&["SSH_CONNECTION=192.0.2.9 50022 192.0.2.1 22"]);
    w.assert_refused(&out, "sudo with SSH_CONNECTION set");
    assert_eq!(
        w.env.card_log().len(),
        card_before,
        "the card attached to this host was used for a sudo with SSH_CONNECTION set"
    );

    // Not touched: the card refuses to sign, the login is refused.
    w.env.set_touch("not touched");
    let out = w.run(&[]);
    w.assert_refused(&out, "not touched");
    assert!(
        out.errors.iter().any(|m| m.contains("did not sign")),
        "{}",
        w.evidence(&out)
    );

    // The person gives up while the card waits: a clean, quick refusal.
    // (The card would wait far past the agent's 8 s; the audit below tells a
    // cancel from that timeout, the bound only that nothing waited it out.)
    w.env.set_touch("delay 30000 ms");
    let started = Instant::now();
    let out = w.run_with(&[], Some(CUE));
    w.assert_refused(&out, "gave up");
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    let cancelled = w.agent.wait_audit(Duration::from_secs(5), |e| {
        field(e, "reason").contains("cancelled") && field(e, "result") == "deny"
    });
    assert!(cancelled.is_some(), "{}", w.evidence(&out));

    // No card attached: a clear refusal, not a hang.
    w.env.set_touch("touched");
    let mut w = w;
    w.env.stop_card();
    let started = Instant::now();
    let out = w.run(&[]);
    w.assert_refused(&out, "no card");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        out.errors
            .iter()
            .any(|m| m.contains("no registered security key of yours is attached")),
        "{}",
        w.evidence(&out)
    );
}

#[test]
fn hardware_key_pin_wrong_pin_refused_right_pin_passes_and_is_cached() {
    require_root!();
    require_pcsc_tools(&["yubico-piv-tool"]);
    let mut chains = Vec::new();
    let w = world("host-keys-pin", |env| {
        chains.push(attested(env, "9d", "never", "once"));
        ("hardware_key_pin".into(), Vec::new())
    });
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_pin",
        "5m",
        &[&chains[0]],
    ));
    assert!(w.pin_tries_left().ends_with('3'), "{}", w.pin_tries_left());

    // A wrong PIN: refused, and the card counted it.
    let out = w.run(&["654321"]);
    w.assert_refused(&out, "wrong PIN");
    assert!(
        out.prompts
            .iter()
            .any(|p| p.starts_with("PROMPT(echo_off)") && p.contains("PIN")),
        "{}",
        w.evidence(&out)
    );
    assert!(
        out.errors.iter().any(|m| m.contains("wrong PIN")),
        "{}",
        w.evidence(&out)
    );
    assert!(w.pin_tries_left().ends_with('2'), "{}", w.pin_tries_left());

    // The right PIN passes; the class is pin, from the attestation.
    let out = w.run(&[PIN]);
    w.assert_allowed(&out, "right PIN");
    assert_eq!(field(&w.last_auth(), "evidence"), "attached_piv_pin");
    assert!(w.pin_tries_left().ends_with('3'), "{}", w.pin_tries_left());

    // Within pin_cache_timeout, the PIN is not asked again.
    let out = w.run(&[]);
    w.assert_allowed(&out, "cached PIN");
    assert!(out.prompts.is_empty(), "{}", w.evidence(&out));

    // sudo outside SSH never takes the PIN from the cache (whether it runs
    // at this host is read from what the caller can hide): asked again.
    let out = w.sudo_answering(&[], &[]);
    w.assert_refused(&out, "sudo with only a cached PIN");
    assert!(
        out.prompts
            .iter()
            .any(|p| p.starts_with("PROMPT(echo_off)") && p.contains("PIN")),
        "{}",
        w.evidence(&out)
    );
    let out = w.sudo_answering(&[], &[PIN]);
    w.assert_allowed(&out, "sudo with its PIN");
    assert_eq!(field(&w.last_auth(), "evidence"), "attached_piv_pin");

    // The PIN never reaches the logs.
    for text in [w.agent.audit_text(), w.agent.log()] {
        assert!(!text.contains(PIN) && !text.contains("654321"), "{text}");
    }

    // Without a cache timeout the PIN is asked every time.
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_pin",
        "0s",
        &[&chains[0]],
    ));
    let out = w.run(&[PIN]);
    w.assert_allowed(&out, "PIN asked again");
    assert_eq!(out.prompts.len(), 1, "{}", w.evidence(&out));
}

/// Chaos (issue 11 item 4): pcscd is SIGKILLed while the card waits for the
/// touch. The login is refused (never allowed, never hung past the agent's
/// `attached_keys.timeout`), the agent survives it, and the next login with
/// no pcscd is refused clearly too.
#[test]
fn pcscd_killed_mid_tap_is_a_refusal_and_the_agent_survives() {
    require_root!();
    require_pcsc_tools(&["yubico-piv-tool"]);
    let mut chains = Vec::new();
    let w = world("host-keys-pcscd-kill", |env| {
        chains.push(attested(env, "9c", "always", "never"));
        ("hardware_key_touch".into(), Vec::new())
    });
    w.agent.update_bundle(&bundle(
        &w.user.name,
        "hardware_key_touch",
        "5m",
        &[&chains[0]],
    ));
    w.env.set_touch("delay 30000 ms");
    let before = w.env.card_log().matches("touch requested").count();
    let (out, after_kill) = std::thread::scope(|s| {
        let login = s.spawn(|| w.run(&[]));
        let started = Instant::now();
        while w.env.card_log().matches("touch requested").count() == before {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the card was never asked for a touch"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let pid = w.env.pcscd_pid() as i32;
        // SAFETY: kill by PID of the pcscd this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        let killed = Instant::now();
        let out = login.join().expect("login thread");
        (out, killed.elapsed())
    });
    w.assert_refused(&out, "pcscd killed mid-tap");
    eprintln!("login refused {after_kill:?} after pcscd was killed");
    // The agent's attached_keys.timeout is 8 s: nothing waited past it.
    assert!(after_kill < Duration::from_secs(12), "{after_kill:?}");
    let e = w.last_auth();
    assert_eq!(field(&e, "result"), "deny", "{e}\n{}", w.evidence(&out));
    // The agent is still there and refuses the next login clearly.
    let status = w.agent.mfactl(&["status"]);
    assert!(status.success(), "{}", w.evidence(&out));
    let out = w.run(&[]);
    w.assert_refused(&out, "no pcscd");
    assert!(!out.errors.is_empty(), "{}", w.evidence(&out));
}
