//! Budgets per person, per account and for the system.

use super::*;

#[test]
fn one_person_is_capped_and_others_keep_their_budget() {
    let b = Budgets::new(Some(65534));
    let jerry = Person::Uid(1001);
    let held: Vec<_> = (0..PER_PERSON_CONNECTIONS)
        .map(|_| b.connection(&jerry).unwrap())
        .collect();
    let err = b.connection(&jerry).err().unwrap();
    assert!(err.contains("too many connections for"), "{err}");
    // Someone else, the keys user and the system still get in.
    assert!(b.connection(&Person::Uid(1002)).is_ok());
    assert!(b.connection(&Person::Uid(65534)).is_ok());
    assert!(b.connection(&Person::System).is_ok());
    drop(held);
    assert!(
        b.connection(&jerry).is_ok(),
        "released slots are free again"
    );
    assert_eq!(b.open_connections(), 0);
}

#[test]
fn root_callers_for_different_people_get_separate_pending_budgets() {
    let b = Budgets::new(None);
    let jerry = Person::Login("jerry".into());
    let held: Vec<_> = (0..PER_PERSON_PENDING)
        .map(|_| b.pending(&jerry, &Person::System).unwrap())
        .collect();
    let err = b.pending(&jerry, &Person::System).err().unwrap();
    assert_eq!(err, "too many pending logins for jerry");
    assert!(b
        .pending(&Person::Login("tom".into()), &Person::System)
        .is_ok());
    drop(held);
    assert!(b.pending(&jerry, &Person::System).is_ok());
}

/// Naming the person in a refusal reads the user database (slow with
/// LDAP): done with the budgets lock released, so no other connection
/// waits for it.
#[test]
fn a_refusal_names_the_person_with_the_lock_released() {
    use super::super::user_names::NAME_LOOKUP;
    let b = Budgets::new(None);
    let jerry = Person::Uid(4242);
    let held: Vec<_> = (0..PER_PERSON_CONNECTIONS)
        .map(|_| b.connection(&jerry).unwrap())
        .collect();
    let pending: Vec<_> = (0..PER_PERSON_PENDING)
        .map(|_| b.pending(&jerry, &jerry).unwrap())
        .collect();
    let probe = Arc::clone(&b);
    NAME_LOOKUP.with(|l| {
        *l.borrow_mut() = Some(Box::new(move |_| {
            let free = probe.counts.try_lock().is_ok();
            free.then(|| "jerry".to_string())
        }))
    });
    let connection = b.connection(&jerry).err();
    let login = b.pending(&jerry, &jerry).err();
    NAME_LOOKUP.with(|l| *l.borrow_mut() = None);
    // Named under the lock, jerry would be "uid 4242".
    assert_eq!(connection.unwrap(), "too many connections for jerry");
    assert_eq!(login.unwrap(), "too many pending logins for jerry");
    drop((held, pending));
}

#[test]
fn persons_together_never_take_the_system_reserve() {
    let b = Budgets::new(None);
    let mut held = Vec::new();
    for uid in 2000.. {
        match b.connection(&Person::Uid(uid)) {
            Ok(s) => held.push(s),
            Err(e) => {
                assert!(e.contains("too many connections"), "{e}");
                break;
            }
        }
        assert!(held.len() <= MAX_CONNECTIONS);
    }
    assert_eq!(held.len(), MAX_CONNECTIONS - SYSTEM_RESERVE);
    for _ in 0..SYSTEM_CONNECTIONS {
        held.push(b.connection(&Person::System).unwrap());
    }
    assert!(
        b.connection(&Person::System).is_err(),
        "the system is capped"
    );
}

#[test]
fn the_keys_user_holding_its_share_leaves_the_systems_to_sshd() {
    let b = Budgets::new(Some(65534));
    let mut held = Vec::new();
    for uid in 2000.. {
        match b.connection(&Person::Uid(uid)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    while let Ok(s) = b.connection(&Person::Uid(65534)) {
        held.push(s);
    }
    let system: Vec<_> = (0..SYSTEM_CONNECTIONS)
        .map_while(|_| b.connection(&Person::System).ok())
        .collect();
    assert_eq!(
        system.len(),
        SYSTEM_CONNECTIONS,
        "persons and the keys user left sshd less than its reserve"
    );
    assert_eq!(b.open_connections(), MAX_CONNECTIONS);
}

#[test]
fn a_smaller_capacity_shrinks_the_persons_share_first() {
    let b = Budgets::with_capacity(None, 300);
    let mut held = Vec::new();
    for uid in 2000.. {
        match b.connection(&Person::Uid(uid)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    assert_eq!(held.len(), 300 / 2);
    const { assert!(300 / 2 < SYSTEM_RESERVE) };
    while let Ok(s) = b.connection(&Person::System) {
        held.push(s);
    }
    assert_eq!(held.len(), 300);
}

/// A case-insensitive directory maps `DEPLOY` and `deploy` to one
/// account: the spellings share its cap (kept by uid), so one key
/// cannot multiply it by writing the name otherwise.
#[test]
fn spellings_of_one_account_share_its_cap() {
    use super::super::ssh_credential::SshCredential;
    let budgets = Budgets::new(None);
    let login = |name: &str, key: usize| Person::LoginWith {
        login: name.into(),
        credential: SshCredential::Key(format!("SHA256:key{key}")),
        account_uid: Some(4242),
    };
    let held: Vec<_> = (0..PER_ACCOUNT_PENDING)
        .map(|i| {
            budgets
                .pending(&login("deploy", i / PER_PERSON_PENDING), &Person::System)
                .unwrap()
        })
        .collect();
    let why = budgets
        .pending(&login("DEPLOY", 99), &Person::System)
        .err()
        .unwrap();
    assert!(
        why.contains("all its keys and certificates together"),
        "{why}"
    );
    // Another account (another uid) keeps its own cap.
    let other = Person::LoginWith {
        login: "ops".into(),
        credential: SshCredential::Key("SHA256:key99".into()),
        account_uid: Some(4343),
    };
    assert!(budgets.pending(&other, &Person::System).is_ok());
    drop(held);
    assert!(budgets
        .pending(&login("DEPLOY", 99), &Person::System)
        .is_ok());
}

/// A login of sshd on a connection of its own, held while it waits: what
/// an unanswered prompt holds.
struct Waiting {
    _connection: ConnectionSlot,
    _pending: PendingSlot,
}

/// A connection of the system's for `person`'s login, with the login
/// waiting on it; `Err`: why the login may not wait (its connection is
/// given back, as when the login is refused).
fn wait_on_system(b: &Arc<Budgets>, person: &Person) -> Result<Waiting, String> {
    let connection = b.connection(&Person::System)?;
    let pending = connection.pending(person)?;
    Ok(Waiting {
        _connection: connection,
        _pending: pending,
    })
}

/// Key-less SSH prompts (anyone who reaches sshd may leave them) left
/// unanswered on as many accounts as it takes: they hold at most
/// KEYLESS_PENDING in all. A login sshd authenticated with a key still
/// waits, and logins that need no answer still connect.
#[test]
fn keyless_prompts_on_every_account_leave_the_system_connections_to_others() {
    let b = Budgets::new(None);
    let mut held = Vec::new();
    let why = 'flood: {
        for uid in 5000..5100 {
            for _ in 0..PER_ACCOUNT_KEYLESS_PENDING {
                match wait_on_system(&b, &Person::SshWithoutKey(Some(uid))) {
                    Ok(w) => held.push(w),
                    Err(why) => break 'flood why,
                }
            }
        }
        unreachable!("key-less prompts on 100 accounts all held");
    };
    assert_eq!(
        why,
        "too many pending logins over SSH without a key (all accounts together)"
    );
    assert_eq!(held.len(), KEYLESS_PENDING);
    const { assert!(KEYLESS_PENDING < SYSTEM_PENDING) };
    let key = |n: usize| Person::LoginWith {
        login: "deploy".into(),
        credential: super::super::ssh_credential::SshCredential::Key(format!("SHA256:k{n}")),
        account_uid: Some(4242),
    };
    let keyed = wait_on_system(&b, &key(0));
    assert!(keyed.is_ok(), "{:?}", keyed.err());
    let deciding: Vec<_> = (0..SYSTEM_CONNECTIONS - KEYLESS_PENDING - 1)
        .map(|_| b.connection(&Person::System).unwrap())
        .collect();
    drop((held, keyed, deciding));
    assert_eq!(b.open_connections(), 0, "all given back");
}

/// Logins of sshd with keys (8 accounts' worth) and key-less ones
/// together hold at most SYSTEM_PENDING of the system's connections: the
/// rest are left to logins that need no answer, which are decided at once.
#[test]
fn waiting_logins_leave_the_system_connections_for_logins_that_need_no_answer() {
    let b = Budgets::new(None);
    let mut held = Vec::new();
    let why = 'flood: {
        for account in 0..100 {
            for n in 0..PER_ACCOUNT_PENDING {
                let person = Person::LoginWith {
                    login: format!("user{account}"),
                    credential: super::super::ssh_credential::SshCredential::Key(format!(
                        "SHA256:k{}",
                        n / PER_PERSON_PENDING
                    )),
                    account_uid: Some(6000 + account),
                };
                match wait_on_system(&b, &person) {
                    Ok(w) => held.push(w),
                    Err(why) => break 'flood why,
                }
            }
        }
        unreachable!("prompts on 100 accounts all held");
    };
    assert_eq!(why, "too many pending logins for the system (sshd, login)");
    assert_eq!(held.len(), SYSTEM_PENDING);
    // Root's own sudo (a root peer with no one behind it) may not wait
    // either, but connects and is decided.
    let roots = Person::Login("root".into());
    assert!(wait_on_system(&b, &roots).is_err());
    let deciding: Vec<_> = (0..SYSTEM_CONNECTIONS - SYSTEM_PENDING)
        .map(|_| b.connection(&Person::System).unwrap())
        .collect();
    // A connection of a person (sudo run by a user) is no system
    // connection: its login still waits.
    let jerry = Person::Uid(4242);
    let sudo = b.connection(&jerry).unwrap();
    assert!(sudo.pending(&jerry).is_ok());
    drop((held, deciding));
    assert!(wait_on_system(&b, &roots).is_ok());
}

/// With room for fewer connections, waiting logins take as much less of
/// the system's: logins that need no answer still connect.
#[test]
fn a_smaller_capacity_keeps_connections_for_logins_that_need_no_answer() {
    let b = Budgets::with_capacity(None, 300);
    let mut held = Vec::new();
    for uid in 7000.. {
        match wait_on_system(&b, &Person::Login(format!("user{uid}"))) {
            Ok(w) => held.push(w),
            Err(why) => {
                assert_eq!(why, "too many pending logins for the system (sshd, login)");
                break;
            }
        }
    }
    assert!(held.len() < 300 / 2, "{}", held.len());
    assert!(b.connection(&Person::System).is_ok());
    drop(held);
}

/// With room for only a few connections (a low open files limit), the
/// system's share of waiting logins and the key-less share are rounded to
/// at least one: a login that waits for an answer is not refused outright.
#[test]
fn a_tiny_capacity_still_lets_one_login_wait() {
    for total in [4, 10] {
        let b = Budgets::with_capacity(None, total);
        let console = wait_on_system(&b, &Person::Login("user1".into()));
        assert!(console.is_ok(), "{total}: {:?}", console.err());
        drop(console);
        let keyless = wait_on_system(&b, &Person::SshWithoutKey(Some(5000)));
        assert!(keyless.is_ok(), "{total}: {:?}", keyless.err());
    }
}

/// The accepting thread's check names the peer as it is told to (by uid:
/// no user database look-up before another thread accepts), and counts
/// against the same budget as any other of the person's connections.
#[test]
fn a_connection_checked_at_accept_names_the_peer_by_uid_and_shares_the_budget() {
    let b = Budgets::new(None);
    let jerry = Person::Uid(1001);
    let held: Vec<_> = (0..PER_PERSON_CONNECTIONS)
        .map(|_| b.connection_named(&jerry, || "uid 1001".into()).unwrap())
        .collect();
    let err = b
        .connection_named(&jerry, || "uid 1001".into())
        .err()
        .unwrap();
    assert_eq!(err, "too many connections for uid 1001");
    assert!(b.connection(&jerry).is_err(), "the same budget");
    drop(held);
    assert!(b.connection_named(&jerry, || unreachable!()).is_ok());
}
