//! Tests of `server.rs`: binding the socket, and admitting logins to the
//! budgets of pending logins.

use super::*;
use pam_mfa_protocol::PamContext;

fn begin(hook: PamHook) -> RequestBody {
    RequestBody::Begin {
        hook,
        context: PamContext {
            service: "sudo".into(),
            user: "root".into(),
            ruser: Some("jerry".into()),
            ..Default::default()
        },
    }
}

#[test]
fn no_socket_in_a_directory_another_user_may_empty() {
    use std::os::unix::fs::PermissionsExt;
    if !rustix::process::geteuid().is_root() {
        return; // chown needs root
    }
    // A sticky directory a user made before the agent first started:
    // its owner may delete the agent's socket (fail_mode=open would
    // then let logins through).
    let dir = std::env::temp_dir().join(format!("pam-mfa-bind-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let bound = bind(&dir.join("agent.sock"));
    std::fs::remove_dir_all(&dir).unwrap();
    let err = bound.expect_err("bound in a user's directory").to_string();
    assert!(err.contains("owned by uid 65534"), "{err}");
}

#[test]
fn a_spent_pending_budget_refuses_logins_but_never_a_session() {
    let budgets = Budgets::new(None);
    let jerry = Person::Uid(4242);
    let peer = Peer {
        pid: 1,
        uid: 0,
        name: Some("root".into()),
        real_uid: None,
    };
    let held: Vec<_> = (0..super::super::budgets::PER_PERSON_PENDING)
        .map(|_| budgets.pending(&jerry).unwrap())
        .collect();
    let refused = admit_login(&budgets, &jerry, &peer, &begin(PamHook::Auth), &None);
    let why = refused.err().unwrap();
    assert!(why.starts_with("too many pending logins for "), "{why}");
    let close = admit_login(
        &budgets,
        &jerry,
        &peer,
        &begin(PamHook::CloseSession),
        &None,
    );
    assert!(matches!(close, Ok(None)));
    // Opening a session never waits either: not refused.
    let open = admit_login(&budgets, &jerry, &peer, &begin(PamHook::OpenSession), &None);
    assert!(matches!(open, Ok(None)));
    // Someone else behind the same root caller has a budget of their own.
    assert!(admit_login(
        &budgets,
        &Person::Uid(4343),
        &peer,
        &begin(PamHook::Auth),
        &None
    )
    .is_ok());
    drop(held);
}

/// sshd's logins to one account (`deploy`), from a root peer with no one
/// behind it: each key sshd authenticated has its own budget; a login
/// with none counts against the account, as before.
#[test]
fn the_people_sshd_logs_in_to_one_account_each_have_their_own_pending_budget() {
    use super::super::budgets::PER_PERSON_PENDING;
    use base64::Engine as _;
    let budgets = Budgets::new(None);
    let sshd = Peer {
        pid: 1,
        uid: 0,
        name: Some("root".into()),
        real_uid: None,
    };
    let admit = |hook, auth_info: Option<&str>| {
        let req = RequestBody::Begin {
            hook,
            context: PamContext {
                service: "sshd".into(),
                user: "deploy".into(),
                rhost: Some("10.0.0.1".into()),
                ssh_auth_info: auth_info.map(Into::into),
                ..Default::default()
            },
        };
        admit_login(&budgets, &Person::System, &sshd, &req, &None)
    };
    let key = |blob: &[u8]| {
        let blob = base64::engine::general_purpose::STANDARD.encode(blob);
        format!("publickey ssh-ed25519 {blob}\n")
    };
    let (a, b) = (key(b"key-a"), key(b"key-b"));
    let waiting: Vec<_> = (0..PER_PERSON_PENDING)
        .map(|_| admit(PamHook::Auth, Some(&a)).unwrap().unwrap())
        .collect();
    let other_key = admit(PamHook::Auth, Some(&b));
    assert!(matches!(other_key, Ok(Some(_))), "{:?}", other_key.err());
    let why = admit(PamHook::Auth, Some(&a)).err().unwrap();
    let a_fingerprint = super::super::ssh_credential::credential_of(&a).unwrap();
    assert_eq!(
        why,
        format!("too many pending logins for deploy with {a_fingerprint}")
    );
    // No key (keyboard-interactive alone, no auth info at all): the
    // account's budget, as before, one for both.
    let no_key: Vec<_> = (0..PER_PERSON_PENDING)
        .map(|i| {
            let info = (i % 2 == 0).then_some("keyboard-interactive\n");
            admit(PamHook::Auth, info).unwrap().unwrap()
        })
        .collect();
    let why = admit(PamHook::Auth, None).err().unwrap();
    assert_eq!(why, "too many pending logins for deploy");
    // ...and key B's next login is still its own.
    assert!(matches!(admit(PamHook::Auth, Some(&b)), Ok(Some(_))));
    // Sessions never wait: opened whatever the account's logins hold.
    assert!(matches!(admit(PamHook::OpenSession, None), Ok(None)));
    assert!(matches!(admit(PamHook::OpenSession, Some(&a)), Ok(None)));
    drop((waiting, other_key, no_key));
}

/// However many keys an account has (Teleport's keys command serves one
/// per registered security key; its holder may add keys to
/// authorized_keys), sshd's logins to it hold at most
/// PER_ACCOUNT_PENDING of the system's connections: a login to another
/// account still gets its prompt.
#[test]
fn an_accounts_many_keys_together_hold_at_most_its_account_cap() {
    use super::super::budgets::{PER_ACCOUNT_PENDING, PER_PERSON_PENDING};
    use base64::Engine as _;
    let budgets = Budgets::new(None);
    let sshd = Peer {
        pid: 1,
        uid: 0,
        name: Some("root".into()),
        real_uid: None,
    };
    let admit = |user: &str, key: usize| {
        let blob = base64::engine::general_purpose::STANDARD.encode(format!("key-{key}"));
        let req = RequestBody::Begin {
            hook: PamHook::Auth,
            context: PamContext {
                service: "sshd".into(),
                user: user.into(),
                ssh_auth_info: Some(format!("publickey ssh-ed25519 {blob}\n")),
                ..Default::default()
            },
        };
        admit_login(&budgets, &Person::System, &sshd, &req, &None)
    };
    let keys = PER_ACCOUNT_PENDING / PER_PERSON_PENDING;
    assert!(keys >= 4, "the cap is at least 4 keys' worth");
    let mut waiting: Vec<_> = (0..PER_ACCOUNT_PENDING)
        .map(|i| admit("deploy", i % keys).unwrap().unwrap())
        .collect();
    // A key with none of its own logins waiting: refused for the account.
    let why = admit("deploy", keys).err().unwrap();
    assert_eq!(
        why,
        "too many pending logins for deploy (all its keys and certificates together)"
    );
    // Another account, even with the same key, is not touched.
    assert!(matches!(admit("web", keys), Ok(Some(_))));
    assert!(matches!(admit("web", 0), Ok(Some(_))));
    // A key whose own budget is spent is named as before.
    let why = admit("deploy", 0).err().unwrap();
    assert!(why.contains(" with key SHA256:"), "{why}");
    // One login ends: its account slot is free again, and its key's.
    drop(waiting.pop());
    let freed = admit("deploy", keys);
    assert!(matches!(freed, Ok(Some(_))), "{:?}", freed.err());
    assert!(admit("deploy", keys + 1).is_err(), "the cap holds again");
    drop((waiting, freed));
    // All released: the account's whole cap is free.
    let again: Vec<_> = (0..PER_ACCOUNT_PENDING)
        .map(|i| admit("deploy", i % keys).unwrap().unwrap())
        .collect();
    drop(again);
}
