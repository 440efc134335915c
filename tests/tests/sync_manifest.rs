//! The whole chain of issue 12: `mfactl publish` (target/debug/mfactl)
//! writes a signed publisher directory, Debian's nginx serves it over HTTPS
//! (a test CA), and two `mfa-agent`s pull it in manifest mode. A published
//! lock ends a live SSH session (real sshd) on both hosts within one poll +
//! 2 s; an older signed set restored on the server is refused as a
//! rollback; a tampered bundle and a set of another source are refused, each
//! shown by `mfactl status` with its reason while the policy in force stays;
//! a person taps through real sshd with a key that exists only in the
//! published user's Teleport `local_auth` (no `mfa_device` document, no
//! local credential file).

mod common;
#[path = "sync_manifest/world.rs"]
mod world;

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::teleport_user::{teleport_key, teleport_policy, DEVICE_ID, SECRETS};
use serde_json::Value;
use world::*;

#[test]
fn a_published_lock_ends_live_sessions_on_two_hosts_within_one_poll_plus_two_seconds() {
    require_root!();
    let w = world("manifest-lock", true);
    w.wait_revision(&w.served_sha());
    let s = w.status(&w.hosts[0]);
    assert_eq!(s["policy_source"], w.nginx.url("manifest.json"), "{s:#}");
    assert_eq!(s["sync"]["manifest"]["source_name"], SOURCE, "{s:#}");
    assert!(s["sync"]["manifest"]["serial"].as_u64().is_some(), "{s:#}");
    let w = &w;
    let took = thread::scope(|scope| {
        let clients: Vec<_> = w
            .hosts
            .iter()
            .map(|h| scope.spawn(move || (w.ssh(h, "sleep 300"), Instant::now())))
            .collect();
        for h in &w.hosts {
            w.wait_listed(h);
        }
        let published = Instant::now();
        w.publish(&with_lock(base(&w.user.name, &w.sk), &w.user.name));
        clients
            .into_iter()
            .map(|c| {
                let (out, exited) = c.join().expect("ssh thread");
                assert!(!out.success(), "{}", out.describe());
                exited.duration_since(published)
            })
            .collect::<Vec<_>>()
    });
    for (i, t) in took.iter().enumerate() {
        eprintln!(
            "MANIFEST-FIGURE host {i}: lock published -> ssh exited: {} ms",
            t.as_millis()
        );
        assert!(
            *t < POLL + END_MARGIN,
            "host {i}: the session outlived the published lock by {t:?}\n{}",
            w.evidence(&w.hosts[i])
        );
    }
    for h in &w.hosts {
        let ended = h.agent.wait_audit(Duration::from_secs(10), |e| {
            field(e, "event") == "session_ended" && field(e, "reason").contains("offboarded")
        });
        assert!(ended.is_some(), "{}", w.evidence(h));
        let again = w.ssh(h, "true");
        assert_eq!(again.exit_code(), Some(255), "{}", again.describe());
    }
}

#[test]
fn an_older_signed_set_restored_on_the_server_is_refused_as_rollback() {
    require_root!();
    let mut w = world("manifest-rollback", false);
    w.wait_revision(&w.served_sha());
    let older = w.work.subdir("older-set", 0o755);
    copy_set(&w.served, &older);
    // The lock is published; both agents take it.
    w.publish(&with_lock(base(&w.user.name, &w.sk), &w.user.name));
    let newer = w.served_sha();
    w.wait_revision(&newer);
    // Whoever controls the web server brings the older signed set back.
    copy_set(&older, &w.served);
    assert_ne!(w.served_sha(), newer);
    w.assert_refused("rollback", "lower than the last known good serial", &newer);
    // A restarted agent still refuses it: the serial is kept in its state dir.
    w.hosts[0].agent.stop();
    w.hosts[0].agent.spawn();
    assert_eq!(w.revision(), newer);
    w.assert_refused("rollback", "lower than the last known good serial", &newer);
}

#[test]
fn a_tampered_bundle_and_a_set_of_another_source_are_refused() {
    require_root!();
    let w = world("manifest-tamper", false);
    let good = w.served_sha();
    w.wait_revision(&good);
    // A new set whose bundle is changed after signing (a lock removed by
    // whoever controls the server would look the same).
    let staged = w.work.subdir("staged", 0o755);
    copy_set(&w.served, &staged);
    w.publisher.publish_to(
        &staged,
        &with_lock(base(&w.user.name, &w.sk), &w.user.name),
        SOURCE,
    );
    let m: Value =
        serde_json::from_slice(&std::fs::read(staged.join("manifest.json")).unwrap()).unwrap();
    let bundle = staged.join(m["bundle"]["path"].as_str().unwrap());
    let text = std::fs::read_to_string(&bundle).unwrap();
    let tampered = text.replace("offboarded", "onboarded!");
    assert_ne!(text, tampered);
    std::fs::write(&bundle, tampered).unwrap();
    copy_set(&staged, &w.served);
    w.assert_refused("bundle_mismatch", "the manifest says", &good);
    // A validly signed set of another source (another cluster's publisher
    // with the same key) is not this cluster's policy.
    let other = w.work.subdir("other-source", 0o755);
    w.publisher.publish_to(
        &other,
        &with_lock(base(&w.user.name, &w.sk), &w.user.name),
        "staging",
    );
    copy_set(&other, &w.served);
    w.assert_refused("wrong_source", "\"staging\"", &good);
    // The real set again: taken.
    w.publish(&with_lock(base(&w.user.name, &w.sk), &w.user.name));
    w.wait_revision(&w.served_sha());
}

#[test]
fn a_key_registered_only_in_teleport_taps_through_the_published_policy() {
    require_root!();
    let w = world("manifest-teleport-key", true);
    let (key_file, credential_id, public_key_cbor) = teleport_key(w.work.path());
    let plain = SshKey::generate(w.work.path(), "id_plain", KeyKind::Ed25519, false);
    w.user.authorize_keys(&[plain.public_line.as_str()]);
    w.publish(&teleport_policy(
        &w.user.name,
        &credential_id,
        &public_key_cbor,
    ));
    w.wait_revision(&w.served_sha());
    // What nginx serves holds the public key, none of the secrets.
    let served =
        std::fs::read_to_string(w.served.join(format!("bundles/{}.json", w.served_sha()))).unwrap();
    assert!(served.contains(&credential_id), "{served}");
    for secret in SECRETS {
        assert!(!served.contains(secret), "{secret} was published");
    }
    // No credential file on the person's side: XDG_CONFIG_HOME is empty.
    let empty_config = w.work.subdir("empty-config", 0o700);
    for h in &w.hosts {
        let sshd = h.sshd.as_ref().expect("sshd");
        let mut l = SshLogin::new(sshd.port, &w.user.name, &plain)
            .tap(&bins::soft_mfactl(), Path::new("/nonexistent"));
        l.extra_env.extend([
            ("PAM_MFA_SOFT_FIDO2".into(), key_file.display().to_string()),
            ("XDG_CONFIG_HOME".into(), empty_config.display().to_string()),
        ]);
        let out = l.run(&w.work, "id -un");
        assert!(out.success(), "{}\n{}", out.describe(), w.evidence(h));
        assert_eq!(out.stdout().trim(), w.user.name);
        let auth = h
            .agent
            .audit_events()
            .into_iter()
            .rev()
            .find(|e| {
                e["event"] == "decision"
                    && e["login"] == w.user.name.as_str()
                    && e["hook"] == "auth"
            })
            .expect("an auth decision");
        assert_eq!(auth["result"], "allow", "{auth}");
        assert_eq!(auth["evidence"], "tap_webauthn_touch", "{auth}");
        assert_eq!(auth["device"], DEVICE_ID, "{auth}");
    }
}
