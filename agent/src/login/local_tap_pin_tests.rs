//! A PIV card's PIN tries on a key attached to this host: a wrong PIN with
//! tries left is a plain refusal (sudo or a greeter may ask again); the one
//! that blocks the card says the tries are spent (the module returns
//! PAM_MAXTRIES), since nothing this login could ask would work any more.
//! A PIN the card accepted is kept for the cap's `pin_cache_timeout`,
//! written as `tctl get cap` writes it.

use pam_mfa_protocol::ResponseBody;

use super::conversation::answer;
use super::local_tap_fixture::*;
use super::tap::Step;

#[test]
fn the_wrong_pin_that_blocks_the_card_spends_the_tries() {
    let f = fixture("hardware_key_pin", 2, 1, "0s", None);
    let wrong_pin = || -> ResponseBody {
        let Step::Ask(conv, ResponseBody::Prompt { .. }) = f.begin("login-t", None) else {
            panic!("no PIN prompt")
        };
        let (mut seen, _) = f.poll_to_end(answer(&f.state, conv, &["000000".into()]));
        seen.pop().expect("a final answer")
    };
    for left in [2, 1] {
        let body = wrong_pin();
        assert!(
            deny_text(&body).contains(&format!("{left} tries left")),
            "{body:?}"
        );
        assert!(
            matches!(
                body,
                ResponseBody::Deny {
                    tries_spent: false,
                    ..
                }
            ),
            "{left} PIN tries left: the application may ask again: {body:?}"
        );
    }
    let body = wrong_pin();
    assert!(deny_text(&body).contains("0 tries left"), "{body:?}");
    assert!(
        matches!(
            body,
            ResponseBody::Deny {
                tries_spent: true,
                ..
            }
        ),
        "the card blocked its PIN: {body:?}"
    );
    assert_eq!(f.card.lock().unwrap().signs, 0);
}

/// `tctl get cap` prints `pin_cache_timeout` with Go's
/// `time.Duration.String()` (`1m30.5s`): the key taps, and the PIN it
/// accepted is kept (the second login asks none).
#[test]
fn a_fractional_pin_cache_timeout_keeps_the_pin() {
    let f = fixture("hardware_key_pin", 2, 1, "1m30.5s", None);
    let Step::Ask(conv, ResponseBody::Prompt { .. }) = f.begin("login-t", None) else {
        panic!("no PIN prompt")
    };
    let (seen, _) = f.poll_to_end(answer(&f.state, conv, &["123456".into()]));
    assert!(is_allow(seen.last().unwrap()), "{seen:?}");
    let (seen, _) = f.poll_to_end(f.begin("login-t", None));
    assert!(
        !seen
            .iter()
            .any(|b| matches!(b, ResponseBody::Prompt { .. })),
        "{seen:?}"
    );
    assert!(is_allow(seen.last().unwrap()), "{seen:?}");
    assert_eq!(f.card.lock().unwrap().signs, 2);
}
