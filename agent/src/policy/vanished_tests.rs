use std::time::{Duration, SystemTime};

use super::*;
use crate::policy::{load_bundle_str, personal_logins, users_gone, Bundle};

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200 + secs)
}

fn entry(name: &str, logins: &[&str], since: SystemTime) -> VanishedUser {
    VanishedUser {
        name: name.into(),
        logins: logins.iter().map(|l| l.to_string()).collect(),
        since,
    }
}

fn bundle(yaml: &str) -> Bundle {
    load_bundle_str(yaml, "t.yaml").unwrap()
}

const ROLES: &str = "---\nkind: role\nversion: v7\nmetadata:\n  name: r\nspec:\n  allow:\n    logins: ['{{internal.logins}}', root, '{{email.local(external.email)}}', '{{external.unix}}']\n    node_labels: {'*': '*'}\n";

/// The logins that were the user's own: name, `logins` trait, what the
/// templates of their roles gave; never a literal (a shared account).
#[test]
fn a_users_own_logins_leave_literals_out() {
    let b = bundle(&format!("{ROLES}---\nkind: user\nversion: v2\nmetadata:\n  name: u\nspec:\n  roles: [r, gone]\n  traits:\n    logins: [ann, ann]\n    email: [\"Ann <ann.x@example.com>\"]\n    unix: [ax]\n"));
    let u = b.users().get("u").unwrap();
    assert_eq!(personal_logins(&b, u), ["u", "ann", "ann.x", "ax"]);
}

#[test]
fn users_the_next_bundle_lacks_are_gone_and_come_back() {
    let user = |n: &str| {
        format!("---\nkind: user\nversion: v2\nmetadata:\n  name: {n}\nspec:\n  roles: [r]\n  traits:\n    logins: [{n}-l]\n")
    };
    let both = bundle(&format!("{ROLES}{}{}", user("a"), user("b")));
    let only_b = bundle(&format!("{ROLES}{}", user("b")));
    let gone = users_gone(&both, &only_b, at(0));
    assert_eq!(gone, [entry("a", &["a", "a-l"], at(0))]);
    let set = VanishedUsers::default().after(gone, |n| only_b.users().contains_key(n), at(0));
    assert_eq!(set.get("a", at(1)).map(|e| e.since), Some(at(0)));
    assert_eq!(set.for_login("a-l", at(1)).len(), 1);
    assert!(set.for_login("b-l", at(1)).is_empty());

    // Still missing later: kept, with the first time it was missed.
    let set = set.after(
        users_gone(&only_b, &only_b, at(5)),
        |n| only_b.users().contains_key(n),
        at(5),
    );
    assert_eq!(set.get("a", at(6)).map(|e| e.since), Some(at(0)));
    // Back in a bundle: forgotten.
    let set = set.after(Vec::new(), |n| both.users().contains_key(n), at(9));
    assert!(set.is_empty());
}

#[test]
fn entries_past_their_retention_are_dropped_at_the_next_install() {
    let b = bundle(ROLES);
    let set =
        VanishedUsers::from_entries([entry("old", &["o"], at(0)), entry("new", &["n"], at(10))]);
    let end = at(0) + VANISHED_USER_RETENTION;
    assert!(
        set.get("old", end).is_none(),
        "not counted past the retention"
    );
    assert!(set.get("new", end).is_some());
    let set = set.after(Vec::new(), |n| b.users().contains_key(n), end);
    assert_eq!(
        set.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
}

#[test]
fn an_entry_from_the_future_counts() {
    let e = entry("x", &["x"], at(100));
    assert!(e.in_force(at(0)));
}

#[test]
fn one_entry_per_name_with_the_earliest_time() {
    let set = VanishedUsers::from_entries([entry("a", &["x"], at(5)), entry("a", &["y"], at(1))]);
    assert_eq!(set.len(), 1);
    assert_eq!(set.get("a", at(6)).unwrap().logins, ["y"]);
    assert!(set.for_login("x", at(6)).is_empty());
}

#[test]
fn past_the_cap_the_oldest_are_forgotten() {
    let many = (0..MAX_VANISHED_USERS as u64 + 2).map(|i| entry(&format!("u{i}"), &[], at(i)));
    let set = VanishedUsers::from_entries(many);
    assert_eq!(set.len(), MAX_VANISHED_USERS);
    assert!(set.get("u0", at(0)).is_none() && set.get("u1", at(0)).is_none());
    assert!(set.get("u2", at(0)).is_some());
}

#[test]
fn forgetting_one_keeps_the_others() {
    let set = VanishedUsers::from_entries([entry("a", &["x"], at(0)), entry("b", &["x"], at(0))]);
    assert!(set.without("c").is_none());
    let set = set.without("a").unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set.for_login("x", at(1))[0].name, "b");
}

/// Kept in whole seconds, as on disk: a restart shows the same time.
#[test]
fn the_time_missed_is_kept_in_whole_seconds() {
    let e = VanishedUser::new("a".into(), Vec::new(), at(7) + Duration::from_millis(999));
    assert_eq!(e.since, at(7));
}
