//! Serving one accepted connection on the thread that accepted it (see
//! `super::acceptor`). Right after `accept`, before another thread is
//! started, [`at_accept`] reads the peer's credentials and counts a
//! non-root peer's connection against its uid when the user database's
//! cached answer says a user has it, refusing it at once when that budget
//! is spent: a user's connections beyond their budget cost the agent no
//! thread. Then [`serve_guarded`] finds the person behind any other peer
//! (a root peer's by /proc reads, a subordinate uid's range owner, a uid
//! not yet looked up: never before another thread waits in `accept`),
//! counts its connection, and serves it; a login
//! waiting on its person's answer holds its own thread, and the budgets
//! bound how many there are.

use std::os::unix::net::UnixStream;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

use super::budgets::ConnectionSlot;
use super::peer::peer_from;
use super::person::{self, Person};
use super::pidfd;
use super::server::serve_connection;
use super::shared::{refuse, Listening, Refusal, Shared};
use super::user_names::has_name_cached;

/// A connection just accepted: its peer's SO_PEERCRED, and a non-root
/// peer's connection slot, taken before another thread was started.
pub(super) struct Accepted {
    pub(super) stream: UnixStream,
    uid: u32,
    pid: i32,
    slot: Option<ConnectionSlot>,
}

/// On the accepting thread, right after `accept`: the peer's credentials
/// and, for a non-root peer whose uid a user has (a cached answer of the
/// user database, never a look-up here), its connection counted against
/// that uid (the refusal names it by number).
/// `None` once the connection is closed: no credentials, or refused (also
/// any non-root peer on the socket only root may connect to). Root
/// peers (sudo, su, sshd) are counted in [`serve_guarded`], as before: who
/// is behind them takes /proc reads.
pub(super) fn at_accept(on: &Listening, stream: UnixStream) -> Option<Accepted> {
    let shared = &on.shared;
    // nix's UnixCredentials holds the kernel's struct ucred as it is: a pid
    // of 0 (a peer in a pid namespace this one cannot see) stays a value,
    // where rustix's UCred (a pid that cannot be 0) would be undefined.
    let Ok(cred) = getsockopt(&stream, PeerCredentials) else {
        return None; // closed: no credentials, nothing to decide on
    };
    let (uid, pid) = (cred.uid(), cred.pid());
    if on.root_only && uid != 0 {
        let why = "only root may connect to this socket";
        refuse(stream, &shared.state, Refusal::Peer, why);
        return None;
    }
    // Early only for a uid the user database named within its cache's
    // life: the accepting thread never waits on a directory (LDAP, sssd)
    // or reads /etc/subuid; any other peer is counted in `serve_guarded`,
    // once another thread accepts.
    let slot = if uid == 0 || has_name_cached(uid) != Some(true) {
        None
    } else {
        let person = Person::Uid(uid);
        match shared
            .budgets
            .connection_named(&person, || format!("uid {uid}"))
        {
            Ok(slot) => Some(slot),
            Err(why) => {
                refuse(stream, &shared.state, Refusal::Budget, &why);
                return None;
            }
        }
    };
    Some(Accepted {
        stream,
        uid,
        pid,
        slot,
    })
}

/// Counts a root peer's connection against the person behind it (a
/// non-root peer's counts already) and serves it, or refuses it when that
/// person's budget is spent. Survives a panic in the handler (the
/// connection closes: the module fails closed). `true` when the peer was
/// root and was served.
pub(super) fn serve_guarded(shared: &Shared, accepted: Accepted) -> bool {
    let Accepted {
        stream,
        uid,
        pid,
        slot,
    } = accepted;
    if pid <= 0 {
        refuse(
            stream,
            &shared.state,
            Refusal::Peer,
            "the connecting process is in a pid namespace the agent cannot see",
        );
        return false;
    }
    let Ok(pinned) = pidfd::of_peer(&stream, pid) else {
        refuse(
            stream,
            &shared.state,
            Refusal::Peer,
            "the process that connected is gone",
        );
        return false;
    };
    let (person, real_uid, mut slot) = match slot {
        // A non-root peer is the person it was counted against.
        Some(slot) => (slot.person().clone(), None, slot),
        None => {
            let accepted = person::at_accept_pinned(uid, pid, pinned.as_ref());
            match shared.budgets.connection(&accepted.counted_as) {
                Ok(slot) => (accepted.person, accepted.real_uid, slot),
                Err(why) => {
                    refuse(stream, &shared.state, Refusal::Budget, &why);
                    return false;
                }
            }
        }
    };
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let peer = peer_from(uid, pid, real_uid);
        serve_connection(stream, &shared.state, &mut slot, &person, peer, pinned)
    }));
    drop(slot);
    if served.is_err() {
        shared.state.counters.count("error");
        eprintln!("mfa-agent: a connection handler panicked; that connection was closed");
    }
    uid == 0
}
