//! The reuse window in-process: a tap is reused only by a login that
//! presents again the registered key that identified its person, from the
//! same source, within the window; a login whose person is only guessed
//! from its name (a password, a plain key, another key) reuses nothing.

use std::time::Duration;

use pam_mfa_protocol::{PamHook, ResponseBody};

use super::conversation::answer;
use super::flow_tests::{
    bundle, denied_with, prompt_text, sk_info, Fixture, ALLOW, BLOB, OTHER_BLOB,
};
use super::piv_flow_tests::{piv_answer, piv_device, piv_fixture};
use super::tap::Step;
use crate::piv::tests::chain::{Minted, Slot};
use crate::piv::tests::fake_card::FakeCard;

const PLAIN: &str =
    "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n";

fn touch() -> Slot {
    Slot {
        pin: 1,
        touch: 2,
        ..Default::default()
    }
}

/// alice (login root, session MFA) with her security key `BLOB` (not
/// served by pam-mfa, so sshd's checks of it are unknown: a tap is asked),
/// a second registered security key and a PIV card that taps.
fn world(tag: &str) -> (Fixture, Minted) {
    let card = Minted::new(&touch());
    let second = format!(
        "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: alice-key2}}\nspec:\n  user: alice\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com {OTHER_BLOB} alice@desk\"\n"
    );
    let extra = format!("{second}{}", piv_device("alice-piv", "alice", &card));
    let f = piv_fixture(&bundle("true", &extra), "reuse_window: 2m\n", tag, &[&card]);
    (f, card)
}

/// `auth` with `auth_info` from `rhost`, tapped with `card`, then its
/// `account` (which takes the auth phase's grant): allowed.
fn tapped_login(f: &Fixture, card: &Minted, auth_info: Option<&str>, rhost: &str) {
    let Step::Ask(conv, prompt) = f.begin(PamHook::Auth, auth_info, rhost) else {
        panic!("expected a challenge")
    };
    let line = piv_answer(&mut FakeCard::new(card, &touch()), &prompt);
    match answer(&f.state, conv, &[line]) {
        Step::Done(r) => assert_eq!(r, ALLOW),
        Step::Ask(_, p) => panic!("{}", prompt_text(&p)),
    }
    assert_eq!(f.login(auth_info, rhost), ALLOW, "the grant of this login");
}

/// The account phase of another connection (another sshd process, alive:
/// this test's): the grant of pid 1's tap is not its own.
fn another_login(f: &Fixture, auth_info: Option<&str>, rhost: &str) -> ResponseBody {
    let pid = std::process::id() as i32;
    match f.begin_from(pid, PamHook::Account, auth_info, rhost) {
        Step::Done(body) => body,
        Step::Ask(..) => panic!("the account hook never prompts"),
    }
}

fn refused(r: &ResponseBody, why: &str) {
    assert!(matches!(r, ResponseBody::Deny { .. }), "{why}: {r:?}");
}

#[test]
fn a_reused_tap_needs_the_login_key_that_identified_its_person() {
    let (f, card) = world("reuse-key");
    let key = sk_info(BLOB);
    denied_with(&another_login(&f, Some(&key), "10.0.0.1"), "touch");
    tapped_login(&f, &card, Some(&key), "10.0.0.1");
    f.advance(Duration::from_secs(60));
    assert_eq!(
        another_login(&f, Some(&key), "10.0.0.1"),
        ALLOW,
        "the same key"
    );
    // The same address with nothing, or with another key, of alice or not:
    // whoever is behind that NAT or bastion is not known to be alice.
    refused(&another_login(&f, None, "10.0.0.1"), "a password");
    refused(&another_login(&f, Some(PLAIN), "10.0.0.1"), "a plain key");
    refused(
        &another_login(&f, Some(&sk_info(OTHER_BLOB)), "10.0.0.1"),
        "another key",
    );
    refused(&another_login(&f, Some(&key), "10.0.0.2"), "another source");
    f.advance(Duration::from_secs(60));
    refused(
        &another_login(&f, Some(&key), "10.0.0.1"),
        "past the window",
    );
}

#[test]
fn a_tap_for_a_person_guessed_from_the_login_name_is_never_reused() {
    let (f, card) = world("reuse-guess");
    // No key: alice is only the person whose `logins` name root.
    tapped_login(&f, &card, None, "10.0.0.1");
    refused(&another_login(&f, None, "10.0.0.1"), "a password");
    refused(&another_login(&f, Some(PLAIN), "10.0.0.1"), "a plain key");
    refused(
        &another_login(&f, Some(&sk_info(BLOB)), "10.0.0.1"),
        "her key",
    );
}

/// A tap whose device was removed from the policy since does not serve the
/// window (as a locked one does not).
#[test]
fn a_tap_by_a_device_removed_since_is_not_reused() {
    let (f, card) = world("reuse-removed");
    let key = sk_info(BLOB);
    tapped_login(&f, &card, Some(&key), "10.0.0.1");
    assert_eq!(another_login(&f, Some(&key), "10.0.0.1"), ALLOW);
    let second = format!(
        "---\nkind: mfa_device\nversion: v1\nmetadata: {{name: alice-key2}}\nspec:\n  user: alice\n  ssh_sk:\n    public_key: \"sk-ssh-ed25519@openssh.com {OTHER_BLOB} alice@desk\"\n"
    );
    let without_card = crate::policy::load_bundle_str(&bundle("true", &second), "t.yaml").unwrap();
    f.state
        .store
        .install(without_card, std::time::SystemTime::now());
    refused(
        &another_login(&f, Some(&key), "10.0.0.1"),
        "the card is gone",
    );
}
