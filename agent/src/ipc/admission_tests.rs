//! Tests of `admission.rs`: the pending login a `begin` may become, and
//! whom a connection counts against once its first request is read.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use pam_mfa_protocol::PamContext;

use super::super::budgets::{
    Budgets, PER_ACCOUNT_KEYLESS_PENDING, PER_ACCOUNT_PENDING, PER_PERSON_CONNECTIONS,
    PER_PERSON_PENDING,
};
use super::*;

fn services() -> ServiceMap {
    ServiceMap::new(&BTreeMap::new()).unwrap()
}

fn root_peer() -> Peer {
    Peer {
        pid: 1,
        uid: 0,
        name: Some("root".into()),
        real_uid: None,
    }
}

fn begin(
    hook: PamHook,
    service: &str,
    user: &str,
    ruser: Option<&str>,
    info: Option<&str>,
) -> RequestBody {
    RequestBody::Begin {
        hook,
        context: PamContext {
            service: service.into(),
            user: user.into(),
            ruser: ruser.map(Into::into),
            rhost: Some("10.0.0.1".into()),
            ssh_auth_info: info.map(Into::into),
            ..Default::default()
        },
    }
}

/// `admit_login` of `req` from a root peer first counted as `person`, on
/// a connection counted as the system's for sshd's requests and for a root
/// peer with no one behind it, else as `person`'s (as `settle_connection`
/// leaves it).
fn admit(
    budgets: &Arc<Budgets>,
    person: &Person,
    req: &RequestBody,
) -> Result<Option<PendingSlot>, String> {
    let class = class_of(&services(), req);
    let counted_as = if from_sshd_class(class) {
        &Person::System
    } else {
        person
    };
    let connection = budgets.connection(counted_as).unwrap();
    admit_login(&connection, person, &root_peer(), (req, class), &None)
}

fn from_sshd_class(class: Option<ServiceClass>) -> bool {
    super::super::login_person::from_sshd(0, class)
}

fn key(blob: &[u8]) -> String {
    let blob = base64::engine::general_purpose::STANDARD.encode(blob);
    format!("publickey ssh-ed25519 {blob}\n")
}

#[test]
fn a_spent_pending_budget_may_not_wait_but_a_session_is_never_held_back() {
    let budgets = Budgets::new(None);
    let jerry = Person::Uid(4242);
    let sudo = |hook| begin(hook, "sudo", "root", Some("jerry"), None);
    let held: Vec<_> = (0..PER_PERSON_PENDING)
        .map(|_| budgets.pending(&jerry, &jerry).unwrap())
        .collect();
    let why = admit(&budgets, &jerry, &sudo(PamHook::Auth)).err().unwrap();
    assert!(why.starts_with("too many pending logins for "), "{why}");
    assert!(matches!(
        admit(&budgets, &jerry, &sudo(PamHook::CloseSession)),
        Ok(None)
    ));
    assert!(matches!(
        admit(&budgets, &jerry, &sudo(PamHook::OpenSession)),
        Ok(None)
    ));
    // Someone else behind the same root caller has a budget of their own.
    assert!(admit(&budgets, &Person::Uid(4343), &sudo(PamHook::Auth)).is_ok());
    drop(held);
}

/// sshd's logins to one account (`nobody`, standing in for `deploy`): each
/// key sshd authenticated has its own budget; the logins with none share
/// the account's key-less one.
#[test]
fn the_people_sshd_logs_in_to_one_account_each_have_their_own_pending_budget() {
    let budgets = Budgets::new(None);
    let admit = |hook, info: Option<&str>| {
        admit(
            &budgets,
            &Person::System,
            &begin(hook, "sshd", "nobody", None, info),
        )
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
        format!("too many pending logins for nobody with {a_fingerprint}")
    );
    // No key (keyboard-interactive alone, no auth info at all): one
    // budget of the account's, for both.
    let no_key: Vec<_> = (0..PER_ACCOUNT_KEYLESS_PENDING)
        .map(|i| {
            let info = (i % 2 == 0).then_some("keyboard-interactive\n");
            admit(PamHook::Auth, info).unwrap().unwrap()
        })
        .collect();
    let why = admit(PamHook::Auth, None).err().unwrap();
    assert_eq!(
        why,
        "too many pending logins for nobody over SSH without a key"
    );
    // ...and key B's next login is still its own.
    assert!(matches!(admit(PamHook::Auth, Some(&b)), Ok(Some(_))));
    assert!(matches!(admit(PamHook::OpenSession, None), Ok(None)));
    drop((waiting, other_key, no_key));
}

/// However many keys an account has, sshd's logins to it hold at most
/// PER_ACCOUNT_PENDING of the system's connections: a login to another
/// account still gets its prompt.
#[test]
fn an_accounts_many_keys_together_hold_at_most_its_account_cap() {
    let budgets = Budgets::new(None);
    let admit = |user: &str, n: usize| {
        let info = key(format!("key-{n}").as_bytes());
        admit(
            &budgets,
            &Person::System,
            &begin(PamHook::Auth, "sshd", user, None, Some(&info)),
        )
    };
    let keys = PER_ACCOUNT_PENDING / PER_PERSON_PENDING;
    assert!(keys >= 4, "the cap is at least 4 keys' worth");
    let mut waiting: Vec<_> = (0..PER_ACCOUNT_PENDING)
        .map(|i| admit("deploy", i % keys).unwrap().unwrap())
        .collect();
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
    drop(waiting.pop());
    let freed = admit("deploy", keys);
    assert!(matches!(freed, Ok(Some(_))), "{:?}", freed.err());
    assert!(admit("deploy", keys + 1).is_err(), "the cap holds again");
    drop((waiting, freed));
}

/// sshd started from an admin's login session is traced to the admin
/// (uid 4242) at accept. Its logins still count by what authenticated
/// them: a user holding 8 prompts with their own key leaves every other
/// key, the key-less logins and the admin's own sudo theirs.
#[test]
fn sshds_logins_count_by_the_login_even_when_sshd_is_traced_to_an_admin() {
    let budgets = Budgets::new(None);
    let admin = Person::Uid(4242);
    let sshd = |info: Option<&str>| begin(PamHook::Auth, "sshd", "nobody", None, info);
    let bobs = key(b"bob");
    let held: Vec<_> = (0..PER_PERSON_PENDING)
        .map(|_| {
            admit(&budgets, &admin, &sshd(Some(&bobs)))
                .unwrap()
                .unwrap()
        })
        .collect();
    assert!(admit(&budgets, &admin, &sshd(Some(&bobs))).is_err());
    let alices = admit(&budgets, &admin, &sshd(Some(&key(b"alice"))));
    assert!(matches!(alices, Ok(Some(_))), "{:?}", alices.err());
    let without_key = admit(&budgets, &admin, &sshd(None));
    assert!(
        matches!(without_key, Ok(Some(_))),
        "{:?}",
        without_key.err()
    );
    let sudo = begin(PamHook::Auth, "sudo", "root", Some("admin"), None);
    let admins_sudo = admit(&budgets, &admin, &sudo);
    assert!(
        matches!(admins_sudo, Ok(Some(_))),
        "{:?}",
        admins_sudo.err()
    );
    drop((held, alices, without_key, admins_sudo));
}

/// Unanswered key-less SSH prompts to root (anyone who reaches the prompt
/// may leave them) do not spend root's own sudo and su, and those to an
/// account do not spend its user's screen unlock.
#[test]
fn keyless_ssh_prompts_leave_roots_sudo_and_the_accounts_user_theirs() {
    let budgets = Budgets::new(None);
    let sshd = |user| {
        begin(
            PamHook::Auth,
            "sshd",
            user,
            None,
            Some("keyboard-interactive\n"),
        )
    };
    let mut held = Vec::new();
    for user in ["root", "nobody"] {
        for _ in 0..PER_ACCOUNT_KEYLESS_PENDING {
            held.push(admit(&budgets, &Person::System, &sshd(user)).unwrap());
        }
        assert!(admit(&budgets, &Person::System, &sshd(user)).is_err());
    }
    // `sudo -u deploy id` run by root itself (no one behind the peer).
    let roots_sudo = begin(PamHook::Account, "sudo", "deploy", Some("root"), None);
    let roots = admit(&budgets, &Person::System, &roots_sudo);
    assert!(matches!(roots, Ok(Some(_))), "{:?}", roots.err());
    // nobody's screen locker, a non-root peer asking about itself.
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let locker_peer = Peer {
        pid: 1,
        uid: nobody.uid.as_raw(),
        name: Some("nobody".into()),
        real_uid: None,
    };
    let locker = begin(PamHook::Auth, "xscreensaver", "nobody", None, None);
    let class = class_of(&services(), &locker);
    let lockers = Person::Uid(nobody.uid.as_raw());
    let unlock = admit_login(
        &budgets.connection(&lockers).unwrap(),
        &lockers,
        &locker_peer,
        (&locker, class),
        &None,
    );
    assert!(matches!(unlock, Ok(Some(_))), "{:?}", unlock.err());
    drop((held, roots, unlock));
}

/// A connection counted as the system's for a root peer traced to uid
/// 4242 (its login uid or an ancestor): sshd's first request keeps it the
/// system's, even with 4242's connections all taken; any other first
/// request counts it against 4242, and is refused when 4242's are spent.
#[test]
fn a_traced_root_peers_connection_settles_at_its_first_request() {
    let budgets = Budgets::new(None);
    let admin = Person::Uid(4242);
    let admins: Vec<_> = (0..PER_PERSON_CONNECTIONS)
        .map(|_| budgets.connection(&admin).unwrap())
        .collect();
    let settle = |req: &RequestBody| {
        let mut slot = budgets.connection(&Person::System).unwrap();
        let class = class_of(&services(), req);
        let settled = settle_connection(&mut slot, &admin, &root_peer(), class, req);
        (settled, slot.person().clone())
    };
    let sshd = begin(PamHook::Auth, "sshd", "nobody", None, None);
    assert_eq!(settle(&sshd), (Ok(()), Person::System));
    let sudo = begin(PamHook::Auth, "sudo", "root", Some("admin"), None);
    let (refused, counted) = settle(&sudo);
    assert!(refused
        .unwrap_err()
        .starts_with("too many connections for "));
    assert_eq!(counted, Person::System, "as before the refusal");
    drop(admins);
    assert_eq!(settle(&sudo), (Ok(()), admin.clone()));
    assert_eq!(settle(&RequestBody::Status), (Ok(()), admin));
    assert_eq!(budgets.open_connections(), 0, "all given back");
}

/// sshd started from an admin's session (login uid 4242) with root as its
/// AuthorizedKeysCommandUser: each SSH connection attempt's keys command
/// is a root peer traced to 4242. Its `authorized_keys` stays the
/// system's, even with 4242's connections all taken, or anyone who can
/// reach sshd could hold all of the admin's. A non-root keys user counts
/// as itself throughout.
#[test]
fn a_root_keys_commands_connection_stays_the_systems() {
    let budgets = Budgets::new(Some(65534));
    let admin = Person::Uid(4242);
    let admins: Vec<_> = (0..PER_PERSON_CONNECTIONS)
        .map(|_| budgets.connection(&admin).unwrap())
        .collect();
    let keys = RequestBody::AuthorizedKeys {
        login: "deploy".into(),
    };
    let slots: Vec<_> = (0..2 * PER_PERSON_CONNECTIONS)
        .map(|_| {
            let mut slot = budgets.connection(&Person::System).unwrap();
            let settled = settle_connection(&mut slot, &admin, &root_peer(), None, &keys);
            assert_eq!(settled, Ok(()));
            assert_eq!(*slot.person(), Person::System);
            slot
        })
        .collect();
    let keys_user = Person::Uid(65534);
    let nobody = Peer {
        pid: 2,
        uid: 65534,
        name: Some("nobody".into()),
        real_uid: None,
    };
    let mut slot = budgets.connection(&keys_user).unwrap();
    let settled = settle_connection(&mut slot, &keys_user, &nobody, None, &keys);
    assert_eq!((settled, slot.person()), (Ok(()), &keys_user));
    drop((admins, slots, slot));
    assert_eq!(budgets.open_connections(), 0, "all given back");
}
