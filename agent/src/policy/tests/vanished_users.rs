//! Users a later bundle no longer holds (`policy::vanished`): Teleport has
//! deleted them (their `metadata.expires` passed, as an SSO user's does at
//! the end of their session, or an admin removed them), and a deleted user
//! is allowed nothing. Their login is not a local account's until the agent
//! forgets them.

use std::sync::Arc;
use std::time::Duration;

use super::support::{bundle, node, now, summary, Ask};
use crate::policy::{users_gone, Bundle, VanishedUsers, VANISHED_USER_RETENTION};

const CAP: &str = "---\nkind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\nspec:\n  type: local\n  second_factor: \"on\"\n  require_session_mfa: false\n  webauthn:\n    rp_id: example.com\n";

const ROLE: &str = "---\nkind: role\nversion: v7\nmetadata:\n  name: access-prod\nspec:\n  options:\n    require_session_mfa: true\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels:\n      env: prod\n";

/// alice@example.com, an SSO user whose traits give her the login `alice`.
const ALICE: &str = "---\nkind: user\nversion: v2\nmetadata:\n  name: alice@example.com\n  expires: \"2099-01-01T00:00:00Z\"\nspec:\n  roles: [access-prod]\n  traits:\n    logins: [alice]\n";

const ALICE_LOCK: &str = "---\nkind: lock\nversion: v2\nmetadata:\n  name: lk\nspec:\n  target:\n    user: alice@example.com\n  message: offboarded\n";

fn live() -> Bundle {
    bundle(&format!("{CAP}{ROLE}{ALICE}"))
}

/// `next`, installed after `previous` at `now()`, as the agent installs it.
fn after(previous: &Bundle, next: Bundle) -> Bundle {
    let gone = users_gone(previous, &next, now());
    let set = VanishedUsers::default().after(gone, |n| next.users().contains_key(n), now());
    next.set_vanished(Arc::new(set));
    next
}

/// The review's case: alice's user resource is gone from the next bundle;
/// her login was decided with the cap's requirement alone (mfa off). Now
/// it is denied, naming her, when she vanished and why.
#[test]
fn a_login_only_a_vanished_user_held_is_denied_as_theirs() {
    let prod = node("prod3", &[("env", "prod")]);
    let before = Ask::new(&prod, "alice").decide(&live());
    assert_eq!(summary(&before), "allow session [access-prod]");

    let removed = bundle(&format!("{CAP}{ROLE}"));
    let offline = Ask::new(&prod, "alice").decide(&removed);
    assert_eq!(summary(&offline), "allow off []", "no history offline");

    let d = Ask::new(&prod, "alice").decide(&after(&live(), removed));
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    assert_eq!(d.user.as_deref(), Some("alice@example.com"));
    assert!(!d.known_user);
    let why = &d.reasons[0];
    for part in [
        "alice@example.com",
        "2024-01-01T00:00:00Z",
        "metadata.expires",
        "deleted",
        "mfactl forget-user alice@example.com",
    ] {
        assert!(why.contains(part), "{part}: {why}");
    }
}

/// A key or a tap that names a vanished user: denied the same way, on any
/// login (Teleport gives a deleted user nothing).
#[test]
fn an_identified_vanished_user_is_denied() {
    let prod = node("prod3", &[("env", "prod")]);
    let b = after(&live(), bundle(&format!("{CAP}{ROLE}")));
    for login in ["alice", "somebody-else"] {
        let d = Ask::new(&prod, login).user("alice@example.com").decide(&b);
        assert_eq!(summary(&d), "deny off []", "{login}: {:?}", d.reasons);
        assert!(
            d.reasons[0].contains("no longer in the bundle"),
            "{:?}",
            d.reasons
        );
    }
}

/// A `user` lock on the vanished user still holds (and ends their live
/// sessions): it is reported as the lock.
#[test]
fn a_user_lock_on_a_vanished_user_still_holds() {
    let prod = node("prod3", &[("env", "prod")]);
    let b = after(&live(), bundle(&format!("{CAP}{ROLE}{ALICE_LOCK}")));
    let d = Ask::new(&prod, "alice").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    assert!(d.locked, "{:?}", d.reasons);
    assert_eq!(d.lock_message.as_deref(), Some("offboarded"));
}

/// A login that some user of the current bundle claims is decided for
/// them, as before: the vanished user is not asked about.
#[test]
fn a_login_a_current_user_claims_is_decided_for_them() {
    let prod = node("prod3", &[("env", "prod")]);
    let bob = "---\nkind: user\nversion: v2\nmetadata:\n  name: bob\nspec:\n  roles: [access-prod]\n  traits:\n    logins: [alice]\n";
    let b = after(&live(), bundle(&format!("{CAP}{ROLE}{bob}")));
    assert_eq!(b.vanished().len(), 1);
    let d = Ask::new(&prod, "alice").decide(&b);
    assert_eq!(
        summary(&d),
        "allow session [access-prod]",
        "{:?}",
        d.reasons
    );
    assert_eq!(d.user.as_deref(), Some("bob"));
}

/// Past the retention the entry no longer counts: the login is a local
/// account's again.
#[test]
fn past_the_retention_the_login_is_unknown_again() {
    let prod = node("prod3", &[("env", "prod")]);
    let b = after(&live(), bundle(&format!("{CAP}{ROLE}")));
    let last = now() + VANISHED_USER_RETENTION - Duration::from_secs(1);
    assert_eq!(
        summary(&Ask::new(&prod, "alice").at(last).decide(&b)),
        "deny off []"
    );
    let later = now() + VANISHED_USER_RETENTION;
    let d = Ask::new(&prod, "alice").at(later).decide(&b);
    assert_eq!(summary(&d), "allow off []", "{:?}", d.reasons);
}

/// Several vanished users held the login: denied, naming each.
#[test]
fn a_login_several_vanished_users_held_names_each() {
    let prod = node("prod3", &[("env", "prod")]);
    let carol = "---\nkind: user\nversion: v2\nmetadata:\n  name: carol\nspec:\n  roles: [access-prod]\n  traits:\n    logins: [alice]\n";
    let b = after(
        &bundle(&format!("{CAP}{ROLE}{ALICE}{carol}")),
        bundle(&format!("{CAP}{ROLE}")),
    );
    let d = Ask::new(&prod, "alice").decide(&b);
    assert_eq!(summary(&d), "deny off []");
    assert_eq!(d.user, None);
    assert!(
        d.reasons[0].contains("alice@example.com"),
        "{:?}",
        d.reasons
    );
    assert!(d.reasons[1].contains("carol"), "{:?}", d.reasons);
}

/// An entry whose time lies past year 9999 (a clock set far ahead when it
/// was missed, or a damaged file), so far that its retention's end cannot
/// be held either: the login is still denied, its reason written, and
/// nothing panics.
#[test]
fn a_vanished_user_missed_past_year_9999_is_denied_without_a_panic() {
    let since = std::time::UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 - 10);
    let entry =
        crate::policy::VanishedUser::new("alice@example.com".into(), vec!["alice".into()], since);
    assert_eq!(entry.until(), None);
    let b = bundle(&format!("{CAP}{ROLE}"));
    b.set_vanished(Arc::new(VanishedUsers::from_entries([entry])));
    let prod = node("prod3", &[("env", "prod")]);
    let d = Ask::new(&prod, "alice").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    assert!(
        d.reasons[0].contains("(time out of range)"),
        "{:?}",
        d.reasons
    );
}

/// Installing the same set again changes nothing; another set is seen by
/// every holder of the (shared) bundle.
#[test]
fn a_set_is_swapped_into_a_shared_bundle_and_the_same_one_skipped() {
    let shared = Arc::new(live());
    let holder = Arc::clone(&shared);
    let set = Arc::new(VanishedUsers::default());
    assert!(shared.set_vanished(Arc::clone(&set)), "another Arc");
    assert!(
        !shared.set_vanished(Arc::clone(&set)),
        "the same one: skipped"
    );
    assert!(Arc::ptr_eq(&holder.vanished(), &set));
}
