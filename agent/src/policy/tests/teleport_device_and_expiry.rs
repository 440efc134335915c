//! Device trust (lib/services/role.go `checkAccess` with device
//! verification, as every SSH node asks; `dtauthz.VerifyTrustedDeviceMode`
//! and `VerifySSHUser`) and resources past their `metadata.expires`
//! (Teleport's backend deletes them then).

use std::time::Duration;

use super::support::{bundle, cap, node, now, role, summary, user, Ask};
use crate::policy::{Bundle, Decision, ServiceClass, User};

pub(super) fn worker() -> crate::policy::NodeInfo {
    node("b", &[("role", "worker"), ("status", "follower")])
}

fn no_labels() -> crate::policy::NodeInfo {
    node("a", &[])
}

/// A certificate identity of `name` with `roles`, its device trusted or not.
pub(super) fn identity(name: &str, roles: &[&str], trusted_device: bool) -> User {
    User {
        name: name.into(),
        roles: roles.iter().map(|r| (*r).into()).collect(),
        ..User::default()
    }
    .with_certificate(|c| c.trusted_device = trusted_device)
}

pub(super) fn with_identity(b: &Bundle, n: &crate::policy::NodeInfo, id: &User) -> Decision {
    Ask::new(n, "root").decide_as(b, id)
}

/// TestCheckAccessToServer's "Device Trust" cases: a role that allows the
/// login with `device_trust_mode: required` denies unless the device is
/// trusted, even when another role allows the same login without it.
#[test]
fn roles_requiring_a_trusted_device() {
    let everywhere = "  allow:\n    logins: [root]\n    node_labels: {'*': '*'}";
    let strict = |mode: &str, labels: &str| {
        format!("  options:\n    device_trust_mode: {mode}\n  allow:\n    logins: [root]\n    node_labels: {labels}")
    };
    // One role requires a trusted device everywhere.
    let b = bundle(
        &(role("dt", "v7", &strict("required", "{'*': '*'}")) + &user("u", &["dt"], &["root"])),
    );
    for n in [no_labels(), worker()] {
        let d = Ask::new(&n, "root").user("u").decide(&b);
        assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
        assert!(
            d.reasons.iter().any(|r| r.contains("trusted device")),
            "{:?}",
            d.reasons
        );
        let d = with_identity(&b, &n, &identity("u", &["dt"], true));
        assert_eq!(summary(&d), "allow off [dt]", "{:?}", d.reasons);
        let d = with_identity(&b, &n, &identity("u", &["dt"], false));
        assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    }
    // Required for the worker only, beside a role that allows everywhere.
    let text = role("open", "v7", everywhere)
        + &role("dt", "v7", &strict("required", "{role: worker}"))
        + &user("u", &["open", "dt"], &["root"]);
    let b = bundle(&text);
    let d = Ask::new(&no_labels(), "root").user("u").decide(&b);
    assert_eq!(summary(&d), "allow off [open]", "{:?}", d.reasons);
    let d = Ask::new(&worker(), "root").user("u").decide(&b);
    assert_eq!(summary(&d), "deny off []", "{:?}", d.reasons);
    let d = with_identity(&b, &worker(), &identity("u", &["open", "dt"], true));
    assert_eq!(summary(&d), "allow off [open,dt]", "{:?}", d.reasons);
    // checkAccess asks a role for a device only when its mode is exactly
    // `required` (`required-for-humans` is a cluster mode).
    for (mode, allowed) in [
        ("off", true),
        ("optional", true),
        ("''", true),
        ("required-for-humans", true),
        ("required", false),
    ] {
        let b = bundle(
            &(role("dt", "v7", &strict(mode, "{'*': '*'}")) + &user("u", &["dt"], &["root"])),
        );
        let d = Ask::new(&worker(), "root").user("u").decide(&b);
        assert_eq!(d.is_allowed(), allowed, "{mode}: {:?}", d.reasons);
    }
    let bot = identity("u", &["dt"], false).with_certificate(|c| c.bot = true);
    let b = bundle(
        &(role("dt", "v7", &strict("required", "{'*': '*'}")) + &user("u", &["dt"], &["root"])),
    );
    assert!(!with_identity(&b, &worker(), &bot).is_allowed());
    // A role that does not allow this login does not ask for a device.
    let text = role("open", "v7", everywhere)
        + &role("dt", "v7", &strict("required", "{role: db}"))
        + &user("u", &["open", "dt"], &["root"]);
    let d = Ask::new(&worker(), "root").user("u").decide(&bundle(&text));
    assert_eq!(summary(&d), "allow off [open]", "{:?}", d.reasons);
}

/// The cap's `device_trust.mode` (Enterprise only): `required` holds every
/// login of a cluster user (`dtauthz.VerifySSHUser`); a mode
/// `VerifyTrustedDeviceMode` does not know counts as required ("Assume
/// required so it denies by default").
#[test]
fn the_clusters_device_trust_mode() {
    let base = role(
        "open",
        "v7",
        "  allow:\n    logins: [root]\n    node_labels: {'*': '*'}",
    ) + &user("u", &["open"], &["root"]);
    for (mode, allowed, bot_allowed) in [
        ("off", true, true),
        ("optional", true, true),
        ("required", false, false),
        ("required-for-humans", false, true),
        ("Required", false, false),
        ("always", false, false),
    ] {
        let b = bundle(&(base.clone() + &cap(&format!("  device_trust:\n    mode: {mode}"))));
        let d = Ask::new(&worker(), "root").user("u").decide(&b);
        assert_eq!(d.is_allowed(), allowed, "{mode}: {:?}", d.reasons);
        let d = with_identity(&b, &worker(), &identity("u", &["open"], true));
        assert!(d.is_allowed(), "{mode}: {:?}", d.reasons);
        // A Machine ID bot is not held by required-for-humans.
        let bot = identity("u", &["open"], false).with_certificate(|c| c.bot = true);
        let d = with_identity(&b, &worker(), &bot);
        assert_eq!(d.is_allowed(), bot_allowed, "{mode}, bot: {:?}", d.reasons);
        // sudo, su and desktop logins carry no certificate: device trust,
        // Teleport's access to nodes, does not hold them (they would
        // otherwise be refused for ever).
        for class in [ServiceClass::Admin, ServiceClass::Desktop] {
            let d = Ask::new(&worker(), "root")
                .user("u")
                .class(class)
                .decide(&b);
            assert!(d.is_allowed(), "{mode}, {class:?}: {:?}", d.reasons);
        }
    }
}

fn expiring(kind_line: &str, at: &str) -> String {
    kind_line.replacen(
        "metadata:\n  name:",
        &format!("metadata:\n  expires: {at}\n  name:"),
        1,
    )
}

/// `metadata.expires` in the past: the user, the role, the lock no longer
/// exist in Teleport. An expired user is denied (even by a key of theirs);
/// an expired role is a missing role (`FetchRoleList` fails); an expired
/// lock holds nobody. Go's zero time means no expiry.
#[test]
fn resources_past_metadata_expires() {
    let r = role(
        "open",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    );
    let u = user("jerry", &["open"], &["jerry"]);
    let past = "2023-12-31T23:59:59Z";
    let future = "2024-01-01T00:00:01.5Z";
    let zero = "0001-01-01T00:00:00Z";
    let allowed = |text: &str| {
        let b = bundle(text);
        let by_login = Ask::new(&worker(), "jerry").decide(&b);
        let by_user = Ask::new(&worker(), "jerry").user("jerry").decide(&b);
        assert_eq!(
            by_login.is_allowed(),
            by_user.is_allowed(),
            "{:?}",
            by_user.reasons
        );
        by_user.is_allowed()
    };
    assert!(allowed(&(r.clone() + &u)));
    assert!(!allowed(&(r.clone() + &expiring(&u, past))));
    assert!(allowed(&(r.clone() + &expiring(&u, future))));
    assert!(allowed(&(r.clone() + &expiring(&u, zero))));
    assert!(!allowed(&(expiring(&r, past) + &u)));
    assert!(allowed(&(expiring(&r, future) + &u)));
    // The older spec.expires counts when metadata.expires is not set
    // (`UserV2.Expiry`); tctl prints Go's zero time there.
    let spec_expires = |at: &str| u.replace("spec:\n", &format!("spec:\n  expires: {at}\n"));
    assert!(!allowed(&(r.clone() + &spec_expires(past))));
    assert!(allowed(&(r.clone() + &spec_expires(zero))));
    assert!(allowed(
        &(r.clone() + &expiring(&spec_expires(past), future))
    ));
    // Expiry is judged at the decision's time, not at load.
    let b = bundle(&(r.clone() + &expiring(&u, future)));
    let later = now() + Duration::from_secs(2);
    assert!(!Ask::new(&worker(), "jerry")
        .user("jerry")
        .at(later)
        .decide(&b)
        .is_allowed());

    let lock = |meta: &str, spec: &str| {
        format!("---\nkind: lock\nversion: v2\nmetadata:\n  name: l\n{meta}spec:\n  target: {{user: jerry}}\n{spec}")
    };
    let locked = |text: String| {
        Ask::new(&worker(), "jerry")
            .decide(&bundle(&(r.clone() + &u + &text)))
            .locked
    };
    assert!(locked(lock("", "")));
    assert!(!locked(lock(&format!("  expires: {past}\n"), "")));
    assert!(locked(lock(&format!("  expires: {future}\n"), "")));
    assert!(!locked(lock(
        &format!("  expires: {future}\n"),
        &format!("  expires: {past}\n")
    )));
    assert!(!locked(lock(
        &format!("  expires: {past}\n"),
        &format!("  expires: {future}\n")
    )));
}

/// lib/auth `WithUserLock`: an account whose `spec.status.is_locked` holds
/// until `lock_expires` (or `recovery_attempt_lock_expires`) after now
/// authenticates nowhere; once that time is past, or without `is_locked`,
/// it is not locked.
#[test]
fn a_user_locked_after_failed_attempts_is_denied_until_the_lock_ends() {
    let r = role(
        "open",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}",
    );
    let with_status = |status: &str| {
        r.clone()
            + &user("jerry", &["open"], &["jerry"])
                .replace("spec:\n", &format!("spec:\n  status: {status}\n"))
    };
    let allowed = |status: &str| {
        Ask::new(&worker(), "jerry")
            .user("jerry")
            .decide(&bundle(&with_status(status)))
            .is_allowed()
    };
    let future = "2024-01-01T00:10:00Z";
    let past = "2023-12-31T23:50:00Z";
    assert!(!allowed(&format!(
        "{{is_locked: true, lock_expires: {future}}}"
    )));
    assert!(!allowed(&format!(
        "{{is_locked: true, lock_expires: {past}, recovery_attempt_lock_expires: {future}}}"
    )));
    assert!(allowed(&format!(
        "{{is_locked: true, lock_expires: {past}}}"
    )));
    assert!(allowed(&format!(
        "{{is_locked: false, lock_expires: {future}}}"
    )));
    assert!(allowed(
        "{is_locked: true, lock_expires: '0001-01-01T00:00:00Z'}"
    ));
    assert!(allowed("{is_locked: false}"));
}
