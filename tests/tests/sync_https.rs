//! Cluster sync against a real HTTPS server on loopback (rustls, a test CA
//! from rcgen), with real `mfa-agent` processes: decisions are checked
//! through PAM (pam-harness, a sudo-class stack) and `mfactl status/sync`.

mod common;
#[path = "sync_https/dripping.rs"]
mod dripping;
#[path = "sync_https/offline.rs"]
mod offline;
#[path = "sync_https/world.rs"]
mod world;

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;

use pam_mfa_e2e::https_server::{unrelated_pin, Content, Mode};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::require_root;
use world::*;

#[test]
fn a_change_is_picked_up_within_one_poll_and_an_unchanged_bundle_costs_a_304() {
    require_root!();
    let w = world(
        "sync-poll",
        |u| content(&allowing(u).to_yaml(), "\"v1\""),
        "",
    );
    let first = allowing(&w.user.name).to_yaml();
    assert_eq!(w.revision(), sha(&first), "{}", w.evidence());
    assert!(w.sudo_allowed(), "{}", w.evidence());
    let s = w.status();
    assert_eq!(s["policy_source"], w.server.url());
    assert_eq!(s["sync"]["from_cache"], false);
    assert_eq!(s["sync"]["etag"], "\"v1\"");

    // Unchanged: the next polls are 304s, not full downloads.
    let before = w.server.counts();
    assert!(
        wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
            w.server.counts().not_modified >= before.not_modified + 2
        }),
        "no 304s: {}",
        w.evidence()
    );
    assert_eq!(
        w.server.counts().full,
        before.full,
        "an unchanged bundle was downloaded again"
    );
    let (code, out) = w.sync();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("unchanged (304)"), "{out}");

    // A lock appears: picked up within one poll (1s ± 10%), plus slack for a loaded machine.
    let second = locked(&w.user.name);
    w.serve(&second, "\"v2\"", false);
    let t = Instant::now();
    let want = sha(&second.to_yaml());
    w.wait_status("the new revision", Duration::from_secs(4), |s| {
        s["policy_revision"] == want.as_str()
    });
    eprintln!(
        "new revision in force after {:?} (poll_interval {POLL})",
        t.elapsed()
    );
    assert!(
        !w.sudo_allowed(),
        "the lock did not apply:\n{}",
        w.evidence()
    );

    // mfactl sync says what changed.
    w.serve(&allowing(&w.user.name), "\"v3\"", false);
    let (code, out) = w.sync();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("- lock/sync-lock"), "{out}");
    assert!(w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn faults_are_refused_and_the_last_known_good_keeps_deciding() {
    require_root!();
    let key = signing_key_line();
    let w = world(
        "sync-faults",
        |u| {
            let y = allowing(u).to_yaml();
            Content {
                signature: Some(sign_with(&signer(), y.as_bytes())),
                ..content(&y, "\"good\"")
            }
        },
        &format!("  signing_keys: [\"{key}\"]\n"),
    );
    let good = w.revision();
    assert_eq!(
        good,
        sha(&allowing(&w.user.name).to_yaml()),
        "{}",
        w.evidence()
    );
    assert!(w.sudo_allowed(), "{}", w.evidence());
    let lock_yaml = locked(&w.user.name).to_yaml();

    let check = |what: &str, needle: &str| {
        let (code, out) = w.sync();
        assert_eq!(code, Some(1), "{what}: mfactl sync should fail: {out}");
        assert!(out.to_lowercase().contains(needle), "{what}: {out}");
        let s = w.status();
        assert_eq!(s["policy_revision"], good.as_str(), "{what}: {s:#}");
        let err = s["last_error"].as_str().unwrap_or("");
        assert!(
            err.to_lowercase().contains(needle),
            "{what}: last_error {err:?}"
        );
        assert!(
            w.sudo_allowed(),
            "{what}: the last known good should decide\n{}",
            w.evidence()
        );
    };

    // A locking bundle signed by another key: refused, so the lock does not apply.
    w.server.set(|c| {
        c.body = lock_yaml.as_bytes().to_vec();
        c.etag = Some("\"evil\"".into());
        c.signature = Some(sign_with(
            &SigningKey::from_bytes(&[7; 32]),
            lock_yaml.as_bytes(),
        ));
    });
    check("wrong signature", "signature does not verify");
    // Unsigned.
    w.server.set(|c| c.signature = None);
    check("no signature", "http 404");
    // Garbage, correctly signed: refused by the parser.
    let garbage = "<html><body>502 Bad Gateway</body></html>\n";
    w.server.set(|c| {
        c.body = garbage.as_bytes().to_vec();
        c.signature = Some(sign_with(&signer(), garbage.as_bytes()));
    });
    check("garbage", "bundle.yaml:1:1: expected mapping");
    // A body cut short.
    w.serve(&locked(&w.user.name), "\"cut\"", true);
    w.server.set(|c| c.mode = Mode::Truncated);
    check("truncated", "reading the bundle");
    // Slow beyond the 2s timeout.
    w.server
        .set(|c| c.mode = Mode::Slow(Duration::from_secs(4)));
    check("slow", "timed out");
    // Down.
    w.server.set(|c| c.mode = Mode::Normal);
    w.server.set_up(false);
    check("down", "connect");
    let s = w.status();
    assert_eq!(s["sync"]["policy_stale"], false, "{s:#}");

    // Back up with a good signed change: taken.
    w.server.set_up(true);
    w.serve(&locked(&w.user.name), "\"v2\"", true);
    let (code, out) = w.sync();
    assert_eq!(code, Some(0), "{out}\n{}", w.evidence());
    assert!(out.contains("+ lock/sync-lock"), "{out}");
    assert!(!w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn ca_pins_trust_the_ca_or_the_leaf_and_a_mismatch_is_refused() {
    require_root!();
    // A CA pin (the server sends its CA in the chain), then the leaf's pin.
    let placeholder = unrelated_pin();
    for which in ["ca", "leaf"] {
        let w = world(
            &format!("sync-pin-{which}"),
            |u| content(&allowing(u).to_yaml(), "\"p\""),
            &format!("  ca_pins: [\"{placeholder}\"]\n"),
        );
        // The pin is only known once the server made its PKI: write it and restart.
        let pin = if which == "ca" {
            w.server.pki.ca_pin()
        } else {
            w.server.pki.leaf_pin()
        };
        let mut agent = w.agent;
        rewrite_config(&agent, &placeholder, &pin);
        agent.stop();
        agent.spawn();
        first_pull_ended(&agent);
        let w = World { agent, ..w };
        assert_eq!(
            w.revision(),
            sha(&allowing(&w.user.name).to_yaml()),
            "{which} pin:\n{}",
            w.evidence()
        );
        assert!(w.sudo_allowed(), "{}", w.evidence());
    }
    // A pin of some other key: nothing is loaded, logins fail closed.
    let w = world(
        "sync-pin-bad",
        |u| content(&allowing(u).to_yaml(), "\"p\""),
        &format!("  ca_pins: [\"{}\"]\n", unrelated_pin()),
    );
    let s = w.status();
    assert_eq!(s["policy_revision"], "", "{s:#}");
    let err = s["last_error"].as_str().unwrap_or("");
    assert!(err.contains("pin mismatch"), "{err}\n{}", w.evidence());
    assert_eq!(
        w.server.counts().bundle_requests,
        0,
        "nothing may be asked of an unpinned server"
    );
    assert!(!w.sudo_allowed(), "{}", w.evidence());
}
#[test]
fn the_bearer_token_is_sent_and_never_logged() {
    require_root!();
    let secret = format!("tok-{}", pam_mfa_e2e::random_hex(16));
    let work_token = secret.clone();
    let w = world(
        "sync-token",
        move |u| Content {
            token: Some(work_token.clone()),
            ..content(&allowing(u).to_yaml(), "\"t\"")
        },
        "  token_file: /nonexistent/pam-mfa-token\n",
    );
    // Without a token file nothing is asked; with a wrong token the server says 401.
    let s = w.status();
    assert!(
        s["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("token_file"),
        "{s:#}"
    );
    assert_eq!(w.server.counts().bundle_requests, 0);
    let token_file = w.work.write("token", "wrong-token\n", 0o600);
    let mut agent = w.agent;
    rewrite_config(
        &agent,
        "/nonexistent/pam-mfa-token",
        &format!("\"{}\"", token_file.display()),
    );
    let (code, out) = {
        let f = agent.mfactl(&["sync"]);
        (f.code, f.stdout + &f.stderr)
    };
    assert_eq!(code, Some(1), "{out}");
    agent.stop();
    agent.spawn();
    let s = first_pull_ended(&agent);
    assert!(
        s["last_error"].as_str().unwrap_or("").contains("401"),
        "{s:#}"
    );
    std::fs::write(&token_file, format!("{secret}\n")).unwrap();
    agent.stop();
    agent.spawn();
    let w = World { agent, ..w };
    // The token file is read on every pull: no restart needed.
    w.wait_status("a policy", Duration::from_secs(8), |s| {
        s["policy_revision"] != ""
    });
    assert!(w.sudo_allowed(), "{}", w.evidence());
    let status = w.agent.mfactl(&["status", "--json"]).stdout;
    for (name, text) in [
        ("log", w.agent.log()),
        ("audit", w.agent.audit_text()),
        ("status", status),
    ] {
        assert!(!text.contains(&secret), "the token appears in the {name}");
    }
}

#[test]
fn a_bundle_over_max_bundle_bytes_is_refused() {
    require_root!();
    let w = world(
        "sync-size",
        |u| content(&allowing(u).to_yaml(), "\"small\""),
        "  max_bundle_bytes: 8192\n",
    );
    let good = w.revision();
    assert!(!good.is_empty(), "{}", w.evidence());
    let padded = format!("# {}\n{}", "x".repeat(9000), locked(&w.user.name).to_yaml());
    w.server.set(|c| {
        c.body = padded.into_bytes();
        c.etag = Some("\"big\"".into());
    });
    let (code, out) = w.sync();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("over the limit of 8192"), "{out}");
    assert_eq!(w.revision(), good);
    assert!(w.sudo_allowed(), "{}", w.evidence());
}
