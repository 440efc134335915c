//! A Teleport certificate's `private-key-policy` through the whole SSH
//! decision, signed by `ssh-keygen` under the cluster's user CA: what it
//! proves about the certified key (Teleport's `keys.IsRequiredPolicyMet`:
//! `hardware_key` meets `hardware_key`), and what it does not: the
//! session's MFA, unless the key needs a touch or a PIN
//! (`PrivateKeyPolicy.MFAVerified`). `require_session_mfa: hardware_key`
//! still asks for per-session MFA (`RequireMFAType.IsSessionMFARequired`).

use std::time::Duration;

use pam_mfa_protocol::{PamHook, ResponseBody};

use super::backup_eligible_tests::{entry, key, outcome, policy, RP};
use super::flow_tests::{denied_with, Fixture, ALLOW};
use super::tap::Step;
use super::user_cert_keys::UserCertKeys;
use crate::fido2::soft::SoftAuthenticator;

const CLUSTER: &str = "example.com";

/// Role prod (root on env=prod) requiring `require`, alice holding one
/// WebAuthn device (`synced`: recorded and signing backup-eligible), and
/// this cluster's user CA.
fn login_fixture(
    tag: &str,
    require: &str,
    synced: bool,
    config: &str,
) -> (UserCertKeys, Fixture, SoftAuthenticator) {
    let keys = UserCertKeys::new(&format!("cert-key-policy-{tag}"));
    let tap_key = key(RP, b"alice-tap", synced);
    let bundle = format!(
        "{}---\n{}",
        policy(require, &entry(&tap_key, Some(synced))),
        keys.cert_authority(CLUSTER)
    );
    (keys, Fixture::new(&bundle, config), tap_key)
}

/// sshd's `SSH_AUTH_INFO_0` for alice's certificate (role prod, login
/// root) with `extensions` besides.
fn alice_cert(keys: &UserCertKeys, extensions: &[&str]) -> String {
    let mut all = vec![r#"teleport-traits={"logins":["root"]}"#];
    all.extend_from_slice(extensions);
    keys.auth_info("alice", &["prod"], &all)
}

fn key_policy(name: &str) -> String {
    format!("private-key-policy={name}")
}

/// Before, the certificate's `hardware_key` class did not count for the
/// key part: no tap was offered and alice was locked out, told to log in
/// with a hardware key she had used. Now the tap is offered and, made,
/// allows; a certificate without the key policy is still refused.
#[test]
fn a_hardware_key_certificate_meets_hardware_key_and_a_tap_gives_the_session_mfa() {
    let (keys, f, mut tap_key) = login_fixture("tap", "hardware_key", false, "");
    let info = alice_cert(&keys, &[&key_policy("hardware_key")]);
    let step = f.begin(PamHook::Auth, Some(&info), "10.0.0.1");
    assert!(matches!(step, Step::Ask(..)), "no tap offered");
    assert_eq!(outcome(&f, step, &mut tap_key, RP), Ok(()));
    let plain = alice_cert(&keys, &[]);
    match f.begin(PamHook::Auth, Some(&plain), "10.0.0.1") {
        Step::Done(body) => denied_with(&body, "requires hardware_key for alice"),
        Step::Ask(..) => panic!("a tap offered to a certificate of a file key"),
    }
}

/// The `hardware_key` class is about the key, not MFA: without a tap,
/// neither `hardware_key` nor plain session MFA is met by it; with
/// `mfa-verified`, it meets `hardware_key` alone.
#[test]
fn a_hardware_key_certificate_is_no_session_mfa_by_itself() {
    for require in ["hardware_key", "true"] {
        let (keys, f, _) = login_fixture("no-mfa", require, false, "");
        let info = alice_cert(&keys, &[&key_policy("hardware_key")]);
        let body = f.login(Some(&info), "10.0.0.1");
        assert!(
            matches!(body, ResponseBody::Deny { .. }),
            "{require}: {body:?}"
        );
        let verified = alice_cert(
            &keys,
            &[&key_policy("hardware_key"), "mfa-verified=id-passkey"],
        );
        assert_eq!(f.login(Some(&verified), "10.0.0.1"), ALLOW, "{require}");
    }
}

/// A touch or PIN key policy is MFA and meets its own policy without a
/// tap (as before); a class that does not meet the policy opens no tap,
/// which could not give the key a touch or a PIN.
#[test]
fn touch_or_pin_certificates_meet_their_policies_alone() {
    for (require, certified, allowed) in [
        ("hardware_key", "hardware_key_touch", true),
        ("hardware_key_touch", "hardware_key_touch", true),
        ("hardware_key_touch", "hardware_key_touch_and_pin", true),
        ("hardware_key_pin", "hardware_key_pin", true),
        (
            "hardware_key_touch_and_pin",
            "hardware_key_touch_and_pin",
            true,
        ),
        ("hardware_key_touch", "hardware_key", false),
        ("hardware_key_touch", "hardware_key_pin", false),
        ("hardware_key_pin", "hardware_key_touch", false),
        ("hardware_key_touch_and_pin", "hardware_key_touch", false),
    ] {
        let (keys, f, _) = login_fixture("touch-pin", require, false, "");
        let info = alice_cert(&keys, &[&key_policy(certified)]);
        match f.begin(PamHook::Auth, Some(&info), "10.0.0.1") {
            Step::Done(body) if allowed => assert_eq!(body, ALLOW, "{require} {certified}"),
            Step::Done(ResponseBody::Deny { .. }) if !allowed => {}
            Step::Done(body) => panic!("{require} {certified}: {body:?}"),
            Step::Ask(..) => panic!("{require} {certified}: a tap offered"),
        }
    }
}

/// Within `reuse_window`, a later login presenting the same `hardware_key`
/// certificate reuses the tap (the certificate's class meets the key part
/// there too); one presenting a certificate of a file key does not.
#[test]
fn a_hardware_key_certificate_reuses_its_tap_within_the_reuse_window() {
    let (keys, f, mut tap_key) =
        login_fixture("reuse", "hardware_key", false, "reuse_window: 2m\n");
    let info = alice_cert(&keys, &[&key_policy("hardware_key")]);
    let step = f.begin(PamHook::Auth, Some(&info), "10.0.0.1");
    assert_eq!(outcome(&f, step, &mut tap_key, RP), Ok(()));
    f.advance(Duration::from_secs(60));
    match f.begin_from(2, PamHook::Auth, Some(&info), "10.0.0.1") {
        Step::Done(body) => assert_eq!(body, ALLOW),
        Step::Ask(..) => panic!("the tap was not reused"),
    }
    let plain = alice_cert(&keys, &[]);
    match f.begin_from(3, PamHook::Auth, Some(&plain), "10.0.0.1") {
        Step::Done(body) => denied_with(&body, "hardware security key"),
        Step::Ask(..) => panic!("a tap offered to a certificate of a file key"),
    }
}

/// Where the certificate met the hardware-key part, the tap is the
/// session's MFA, which Teleport takes from any registered MFA device,
/// a synced passkey too; sudo's tap, standing for the hardware key,
/// refuses it (`backup_eligible_tests.rs`).
#[test]
fn a_synced_passkey_gives_the_session_mfa_beside_a_hardware_key_certificate() {
    let (keys, f, mut passkey) = login_fixture("synced", "hardware_key", true, "");
    let info = alice_cert(&keys, &[&key_policy("hardware_key")]);
    let step = f.begin(PamHook::Auth, Some(&info), "10.0.0.1");
    assert_eq!(outcome(&f, step, &mut passkey, RP), Ok(()));
}
