//! Budgets per invoking person: open connections, and logins waiting on the
//! person's answer (each holds a thread for as long as its challenge lives).
//! A person whose budget is spent gets a clear refusal at once; everyone
//! else keeps theirs, and the system (sshd, login) and the
//! AuthorizedKeysCommandUser each keep a reserve no local user, and not the
//! other, can take. Of the system's own connections, logins that wait hold
//! at most [`SYSTEM_PENDING`] (sshd's key-less ones at most
//! [`KEYLESS_PENDING`]), so that those who leave prompts unanswered never
//! take the connections of the logins that need no answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::person::Person;

/// Connections one person may hold open at once.
pub const PER_PERSON_CONNECTIONS: usize = 16;
/// Logins of one person that may wait on that person's answer at once.
pub const PER_PERSON_PENDING: usize = 8;
/// sshd's logins to one account authenticated with a key or certificate
/// ([`Person::LoginWith`]) that may wait at once, all its keys together,
/// on top of each key's [`PER_PERSON_PENDING`]. Without it, an account with
/// 32 keys (Teleport's keys command serves one per registered security
/// key; an account holder may add keys or a `cert-authority` line to
/// authorized_keys) would hold all of [`SYSTEM_CONNECTIONS`] and refuse
/// every other SSH login on the host. Four keys' worth: the few people who
/// share an account (`deploy`, `root`) rarely leave more than a prompt or
/// two each, and filling the system's connections takes 8 accounts. The
/// price: one person with 4 keys to a shared account can hold all of its
/// cap (docs/THREAT_MODEL.md).
pub const PER_ACCOUNT_PENDING: usize = 4 * PER_PERSON_PENDING;
/// sshd's logins to one account that sshd did not authenticate with a key
/// ([`Person::SshWithoutKey`]: a password or keyboard-interactive alone)
/// that may wait at once: a budget of their own, taken from neither the
/// account's keys ([`PER_ACCOUNT_PENDING`]) nor its local user's or root's
/// own logins (sudo, su, a screen unlock). Nothing tells apart who asks,
/// so whoever reaches the prompt may hold all of it (docs/THREAT_MODEL.md,
/// G11).
pub const PER_ACCOUNT_KEYLESS_PENDING: usize = PER_PERSON_PENDING;
/// Connections of root peers with no person behind them (sshd, login before
/// their first request) and of the AuthorizedKeysCommandUser, each.
pub const SYSTEM_CONNECTIONS: usize = 256;
/// Of [`SYSTEM_CONNECTIONS`], how many may hold a login that waits (a
/// prompt, a tap, a forwarded ssh-agent's signature), all persons
/// together: sshd's logins and those of root callers with no one behind
/// them (the console `login`, root's own sudo). The other quarter serves
/// only requests that are answered at once: logins that need no answer
/// (sshd's with a key and no tap required, root's own sudo, the console
/// `login` of an account that needs no tap), the keys command as root,
/// `mfactl` run by root. Without it, key-less prompts left unanswered on
/// 32 accounts (8 each, anyone who reaches sshd may leave them) took every
/// system connection, and every such login was refused at connect
/// (docs/THREAT_MODEL.md, G11).
pub const SYSTEM_PENDING: usize = SYSTEM_CONNECTIONS * 3 / 4;
/// Of [`SYSTEM_PENDING`], how many sshd's logins without a key
/// ([`Person::SshWithoutKey`]) may hold, all accounts together. Reaching
/// a key-less prompt needs no credential, so whoever can reach sshd can
/// hold all of these (on 12 accounts); the logins sshd authenticated with
/// a key keep the other half to wait in.
pub const KEYLESS_PENDING: usize = SYSTEM_PENDING / 2;
/// Connections served at once, in all: persons' share and a reserve of
/// [`SYSTEM_CONNECTIONS`] each for the system and the keys user.
pub const MAX_CONNECTIONS: usize = 1280;
/// Of [`MAX_CONNECTIONS`], what persons together never take: the system's
/// and the keys user's. (The keys user is often `nobody`, which other
/// daemons share: counted against the total alone, it could take the
/// system's last connections.)
pub const SYSTEM_RESERVE: usize = 2 * SYSTEM_CONNECTIONS;

#[derive(Default)]
struct Counts {
    connections: HashMap<Person, usize>,
    pending: HashMap<Person, usize>,
    /// Pending [`Person::LoginWith`] logins per account (see
    /// [`account_of`]), all keys together.
    account_pending: HashMap<String, usize>,
    /// Pending logins on the system's connections, all persons together.
    system_pending: usize,
    /// Pending [`Person::SshWithoutKey`] logins, all accounts together.
    keyless_pending: usize,
    /// Connections of persons (not the system), together.
    personal: usize,
    total: usize,
}

pub struct Budgets {
    counts: Mutex<Counts>,
    /// Connections served at once, in all: [`MAX_CONNECTIONS`] unless the
    /// open files limit leaves room for fewer.
    total: usize,
    /// Of `total`, what persons together may take.
    personal: usize,
    /// Pending logins the system's connections may hold: [`SYSTEM_PENDING`],
    /// or as much less as the system's reserve is smaller.
    system_pending: usize,
    /// Of `system_pending`, what key-less SSH logins may hold.
    keyless_pending: usize,
    /// The AuthorizedKeysCommandUser: one per SSH connection attempt, so it
    /// gets the system's budget.
    keys_uid: Option<u32>,
}

/// One open connection; released on drop.
pub struct ConnectionSlot {
    budgets: Arc<Budgets>,
    person: Person,
    personal: bool,
}

/// One login waiting on the person's answer; released on drop, with the
/// host-wide slots it holds (its account's for a [`Person::LoginWith`]
/// login, the key-less logins' for a [`Person::SshWithoutKey`] one, the
/// system's on a system connection: all were taken together, under one
/// lock, and are given back so).
pub struct PendingSlot {
    budgets: Arc<Budgets>,
    person: Person,
    /// Taken on a connection counted as the system's.
    on_system: bool,
}

/// Which budget a pending login found spent, the first of those it takes.
enum Spent {
    Person,
    Account,
    Keyless,
    System,
}

impl Budgets {
    #[cfg(test)]
    pub fn new(keys_uid: Option<u32>) -> Arc<Self> {
        Budgets::with_capacity(keys_uid, MAX_CONNECTIONS)
    }

    /// Budgets for at most `total` connections at once (what the open
    /// files limit leaves room for). The system and the keys user keep
    /// their reserve out of them, or half of them when they are fewer than
    /// twice the reserve.
    pub fn with_capacity(keys_uid: Option<u32>, total: usize) -> Arc<Self> {
        let total = total.min(MAX_CONNECTIONS);
        let reserve = SYSTEM_RESERVE.min(total / 2);
        // The same share of a smaller reserve: logins that need no answer
        // keep theirs. At least one each: a share rounded down to none
        // (fewer than 6 connections, or 12 for the key-less one) would
        // refuse every login that waits for an answer.
        let system_pending = (SYSTEM_PENDING * reserve / SYSTEM_RESERVE).max(1);
        Arc::new(Budgets {
            counts: Mutex::new(Counts::default()),
            total,
            personal: total - reserve,
            system_pending,
            keyless_pending: (KEYLESS_PENDING * system_pending / SYSTEM_PENDING).max(1),
            keys_uid,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_system(&self, person: &Person) -> bool {
        match person {
            Person::System => true,
            Person::Uid(uid) => self.keys_uid == Some(*uid),
            Person::Login(_)
            | Person::LoginWith { .. }
            | Person::SshWithoutKey(_)
            | Person::Unknown => false,
        }
    }

    /// Whether `person` counts among persons (not the system's reserve),
    /// and how many connections it may hold.
    fn connection_limit(&self, person: &Person) -> (bool, usize) {
        if self.is_system(person) {
            (false, SYSTEM_CONNECTIONS)
        } else {
            (true, PER_PERSON_CONNECTIONS)
        }
    }

    /// A connection for `person`, or why not (the refusal the peer reads).
    pub fn connection(self: &Arc<Self>, person: &Person) -> Result<ConnectionSlot, String> {
        self.connection_named(person, || person.to_string())
    }

    /// [`Budgets::connection`], the refusal naming the person as `name`
    /// does: the accepting thread names a peer by its uid, with no user
    /// database look-up before another thread accepts.
    pub fn connection_named(
        self: &Arc<Self>,
        person: &Person,
        name: impl FnOnce() -> String,
    ) -> Result<ConnectionSlot, String> {
        let (personal, limit) = self.connection_limit(person);
        // The refusal names the person (a user database look-up, slow with
        // LDAP): formatted once the lock is released, or every connection
        // would wait for it.
        {
            let mut c = self.lock();
            if c.total >= self.total || (personal && c.personal >= self.personal) {
                return Err("the agent is serving too many connections".into());
            }
            let mine = c.connections.entry(person.clone()).or_insert(0);
            if *mine < limit {
                *mine += 1;
                c.total += 1;
                if personal {
                    c.personal += 1;
                }
                return Ok(ConnectionSlot {
                    budgets: Arc::clone(self),
                    person: person.clone(),
                    personal,
                });
            }
        }
        Err(format!("too many connections for {}", name()))
    }

    /// A pending login for `person` on a connection counted as
    /// `connection`, or why not (formatted, as in [`Budgets::connection`],
    /// once the lock is released). Besides its person's slot, a login sshd
    /// authenticated with a key or certificate takes one of its account's
    /// [`PER_ACCOUNT_PENDING`], a key-less one of sshd takes one of the
    /// host's [`KEYLESS_PENDING`], and a login on a system connection one
    /// of [`SYSTEM_PENDING`]: all of them, or none.
    pub fn pending(
        self: &Arc<Self>,
        person: &Person,
        connection: &Person,
    ) -> Result<PendingSlot, String> {
        let account = account_of(person);
        let keyless = matches!(person, Person::SshWithoutKey(_));
        let on_system = *connection == Person::System;
        let limit = if keyless {
            PER_ACCOUNT_KEYLESS_PENDING
        } else {
            PER_PERSON_PENDING
        };
        let spent = {
            let mut c = self.lock();
            let account_held = account.as_ref().map_or(0, |(key, _)| {
                c.account_pending.get(key).copied().unwrap_or(0)
            });
            if c.pending.get(person).copied().unwrap_or(0) >= limit {
                Spent::Person
            } else if account_held >= PER_ACCOUNT_PENDING {
                Spent::Account
            } else if keyless && c.keyless_pending >= self.keyless_pending {
                Spent::Keyless
            } else if on_system && c.system_pending >= self.system_pending {
                Spent::System
            } else {
                *c.pending.entry(person.clone()).or_insert(0) += 1;
                if let Some((key, _)) = &account {
                    *c.account_pending.entry(key.clone()).or_insert(0) += 1;
                }
                c.keyless_pending += usize::from(keyless);
                c.system_pending += usize::from(on_system);
                return Ok(PendingSlot {
                    budgets: Arc::clone(self),
                    person: person.clone(),
                    on_system,
                });
            }
        };
        // The person's own budget is named first when several are spent:
        // it is what its holder can free.
        Err(match (spent, account) {
            (Spent::Account, Some((_, login))) => format!(
                "too many pending logins for {login} (all its keys and certificates together)"
            ),
            (Spent::Keyless, _) => {
                "too many pending logins over SSH without a key (all accounts together)".into()
            }
            (Spent::System, _) => "too many pending logins for the system (sshd, login)".into(),
            _ => format!("too many pending logins for {person}"),
        })
    }

    /// Open connections (all persons), for tests and status.
    pub fn open_connections(&self) -> usize {
        self.lock().total
    }
}

/// The account whose [`PER_ACCOUNT_PENDING`] a pending login of `person`
/// also takes: sshd's logins with a key or certificate only (any other
/// login's person is its account already, or a local user). Its key in
/// the counts, and its name as logged in to (for the refusal). Kept by
/// uid when the user database knows the name, so that the spellings a
/// case-insensitive directory maps to one account (`DEPLOY`, `deploy`)
/// share one cap.
fn account_of(person: &Person) -> Option<(String, &str)> {
    match person {
        Person::LoginWith { login, .. } => Some((person.keys_account()?, login)),
        _ => None,
    }
}

fn decrement<K, Q>(map: &mut HashMap<K, usize>, key: &Q)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl ConnectionSlot {
    /// Whom the connection counts against now.
    pub fn person(&self) -> &Person {
        &self.person
    }

    /// A pending login for `person` on this connection (see
    /// [`Budgets::pending`]).
    pub fn pending(&self, person: &Person) -> Result<PendingSlot, String> {
        self.budgets.pending(person, &self.person)
    }

    /// Counts the connection against `person` from now on, in place of
    /// whom it counted against; `Err` is the refusal the peer reads when
    /// `person`'s budget (or persons' share) is spent, and the connection
    /// then counts as before.
    pub fn recount(&mut self, person: &Person) -> Result<(), String> {
        if *person == self.person {
            return Ok(());
        }
        let budgets = Arc::clone(&self.budgets);
        let (personal, limit) = budgets.connection_limit(person);
        {
            let mut c = budgets.lock();
            let share_spent = personal && !self.personal && c.personal >= budgets.personal;
            let mine = c.connections.get(person).copied().unwrap_or(0);
            if share_spent {
                return Err("the agent is serving too many connections".into());
            }
            if mine < limit {
                *c.connections.entry(person.clone()).or_insert(0) += 1;
                decrement(&mut c.connections, &self.person);
                if personal && !self.personal {
                    c.personal += 1;
                } else if !personal && self.personal {
                    c.personal = c.personal.saturating_sub(1);
                }
                self.person = person.clone();
                self.personal = personal;
                return Ok(());
            }
        }
        Err(format!("too many connections for {person}"))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut c = self.budgets.lock();
        decrement(&mut c.connections, &self.person);
        c.total = c.total.saturating_sub(1);
        if self.personal {
            c.personal = c.personal.saturating_sub(1);
        }
    }
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        let mut c = self.budgets.lock();
        decrement(&mut c.pending, &self.person);
        if let Some((key, _)) = account_of(&self.person) {
            decrement(&mut c.account_pending, key.as_str());
        }
        if matches!(self.person, Person::SshWithoutKey(_)) {
            c.keyless_pending = c.keyless_pending.saturating_sub(1);
        }
        if self.on_system {
            c.system_pending = c.system_pending.saturating_sub(1);
        }
    }
}

#[cfg(test)]
#[path = "budgets_tests.rs"]
mod tests;
