//! Locks on Machine ID bots: `bot_instance_id` and `join_token`, which
//! lib/services `SSHAccessLockTargets` adds to an SSH login's lock targets
//! from the certificate (its test `TestSSHAccessLockTargets` lists
//! `{BotInstanceID}` and `{JoinToken}` beside the user, roles and devices).

use super::support::{bundle, role, user};
use super::teleport_device_and_expiry::{identity, with_identity, worker};
use crate::policy::{join_token_sha256, Bundle, User};

const INSTANCE: &str = "2f1c6a8e-7b4d-4e0f-9a31-5c2d8e6f7a10";
const TOKEN: &str = "7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e";

fn open_bundle(locks: &str) -> Bundle {
    bundle(
        &(role(
            "bots",
            "v7",
            "  allow:\n    logins: [root]\n    node_labels: {'*': '*'}",
        ) + &user("bot-ci", &["bots"], &["root"])
            + locks),
    )
}

fn lock(name: &str, target: &str) -> String {
    format!(
        "---\nkind: lock\nversion: v2\nmetadata: {{name: {name}}}\nspec:\n  target: {{{target}}}\n"
    )
}

/// A bot certificate of `bot-ci`, of `instance` when given.
fn bot(instance: Option<&str>) -> User {
    identity("bot-ci", &["bots"], false).with_certificate(|c| {
        c.bot = true;
        c.bot_instance_id = instance.map(str::to_owned);
    })
}

/// A lock on one bot instance holds that instance's certificates and no
/// other's (another instance of the same bot, a human's certificate).
#[test]
fn a_bot_instance_lock_holds_that_instance() {
    let b = open_bundle(&lock("l", &format!("bot_instance_id: {INSTANCE}")));
    let d = with_identity(&b, &worker(), &bot(Some(INSTANCE)));
    assert!(!d.is_allowed() && d.locked, "{:?}", d.reasons);
    assert!(
        d.reasons.iter().any(|r| r.contains(&format!(
            "it holds this login by bot_instance_id={INSTANCE}"
        ))),
        "{:?}",
        d.reasons
    );
    for other in [bot(Some("another-instance")), bot(None)] {
        let d = with_identity(&b, &worker(), &other);
        assert!(d.is_allowed(), "{:?}", d.reasons);
    }
    let human = identity("bot-ci", &["bots"], false)
        .with_certificate(|c| c.bot_instance_id = Some(INSTANCE.to_owned()));
    assert!(!with_identity(&b, &worker(), &human).is_allowed());
    assert!(with_identity(&b, &worker(), &identity("bot-ci", &["bots"], false)).is_allowed());
}

/// A bot certificate of `bot-ci` that names the join token `token`
/// (`join-token@goteleport.com`, kept as its SHA-256), or none.
fn bot_joined_with(token: Option<&str>) -> User {
    bot(Some(INSTANCE)).with_certificate(|c| {
        c.join_token_sha256 = token.map(join_token_sha256);
    })
}

/// A join token lock holds the certificates that name that join token
/// (lib/sshca `Identity.Encode` writes it, `SSHAccessLockTargets` targets
/// it), not a bot's that names another; a bot certificate that names none
/// (an older Teleport's) is held while it is in force (never a locked bot
/// let in); people's certificates are not. The token is kept only as its
/// SHA-256, whether written in clear or as published.
#[test]
fn a_join_token_lock_holds_the_bots_that_joined_with_it() {
    let hash = join_token_sha256(TOKEN);
    for target in [
        format!("join_token: {TOKEN}"),
        format!("join_token_sha256: {hash}"),
        format!("join_token_sha256: {}", hash.to_uppercase()),
    ] {
        let b = open_bundle(&lock("l", &target));
        assert_eq!(
            b.locks()[0].target.join_token_sha256.as_deref(),
            Some(&*hash)
        );
        assert!(!format!("{:?}", b.locks()).contains(TOKEN));
        let d = with_identity(&b, &worker(), &bot_joined_with(Some(TOKEN)));
        assert!(!d.is_allowed() && d.locked, "{target}: {:?}", d.reasons);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.contains(&format!("holds this login by join_token_sha256={hash}"))),
            "{:?}",
            d.reasons
        );
        let d = with_identity(&b, &worker(), &bot_joined_with(Some("another-token")));
        assert!(d.is_allowed(), "{target}: {:?}", d.reasons);
        for instance in [Some(INSTANCE), None] {
            let d = with_identity(&b, &worker(), &bot(instance));
            assert!(!d.is_allowed() && d.locked, "{target}: {:?}", d.reasons);
            assert!(
                d.reasons
                    .iter()
                    .any(|r| r.contains("does not name its join token")),
                "{:?}",
                d.reasons
            );
        }
        let d = with_identity(&b, &worker(), &identity("bot-ci", &["bots"], false));
        assert!(d.is_allowed(), "{target}: {:?}", d.reasons);
        assert!(
            b.warnings
                .iter()
                .any(|w| w.contains("when its certificate names that join token, or names none")),
            "{:?}",
            b.warnings
        );
    }
    // An expired one holds nobody.
    let expired = format!(
        "---\nkind: lock\nversion: v2\nmetadata: {{name: l}}\nspec:\n  target: {{join_token: {TOKEN}}}\n  expires: 2023-06-01T00:00:00Z\n"
    );
    assert!(with_identity(&open_bundle(&expired), &worker(), &bot(None)).is_allowed());
    assert!(with_identity(
        &open_bundle(&expired),
        &worker(),
        &bot_joined_with(Some(TOKEN))
    )
    .is_allowed());
}

/// A bundle of an older `mfactl publish` carries `withheld` in place of a
/// bot instance: the instance is unknown, so every bot certificate is held.
#[test]
fn a_withheld_bot_instance_holds_every_bot_certificate() {
    let b = open_bundle(&lock("l", "bot_instance_id: withheld"));
    assert!(!with_identity(&b, &worker(), &bot(Some(INSTANCE))).is_allowed());
    assert!(with_identity(&b, &worker(), &identity("bot-ci", &["bots"], false)).is_allowed());
    assert!(
        b.warnings.iter().any(|w| w.contains("publish again")),
        "{:?}",
        b.warnings
    );
}

/// What a join token target must be.
#[test]
fn join_token_targets_that_are_refused() {
    for (target, error) in [
        ("join_token_sha256: abc", "is not a SHA-256 in hex"),
        (
            &*format!("join_token: {TOKEN}, join_token_sha256: {}", "0".repeat(64)),
            "name different join tokens",
        ),
    ] {
        let text = lock("l", target);
        let e = crate::policy::load_bundle_str(&text, "t.yaml").unwrap_err();
        assert!(e.to_string().contains(error), "{target}: {e}");
    }
    // The same token both ways is one target.
    let both = format!(
        "join_token: {TOKEN}, join_token_sha256: {}",
        join_token_sha256(TOKEN)
    );
    assert!(!with_identity(&open_bundle(&lock("l", &both)), &worker(), &bot(None)).is_allowed());
}
