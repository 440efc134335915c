//! Serving one accepted connection on the thread that accepted it (see
//! `super::acceptor`): the worker finds the person behind the peer (/proc
//! reads: never before another thread waits in `accept`) and counts the
//! connection against that person's budget, refusing it at once when it is
//! spent; a login waiting on its person's answer holds its own thread, and
//! the budgets bound how many there are.

use std::os::unix::net::UnixStream;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

use super::budgets::ConnectionSlot;
use super::peer::peer_from;
use super::person;
use super::pidfd;
use super::server::serve_connection;
use super::shared::{refuse, Shared};

/// Counts the connection against the person behind its peer and serves it,
/// or refuses it when that person's budget is spent. Survives a panic in
/// the handler (the connection closes: the module fails closed). `true`
/// when the peer was root and was served.
pub(super) fn serve_guarded(shared: &Shared, stream: UnixStream) -> bool {
    // nix's UnixCredentials holds the kernel's struct ucred as it is: a pid
    // of 0 (a peer in a pid namespace this one cannot see) stays a value,
    // where rustix's UCred (a pid that cannot be 0) would be undefined.
    let Ok(cred) = getsockopt(&stream, PeerCredentials) else {
        return false; // closed: no credentials, nothing to decide on
    };
    let (uid, pid) = (cred.uid(), cred.pid());
    if pid <= 0 {
        refuse(
            stream,
            &shared.state,
            "the connecting process is in a pid namespace the agent cannot see",
        );
        return false;
    }
    let Ok(pinned) = pidfd::of_peer(&stream, pid) else {
        refuse(stream, &shared.state, "the process that connected is gone");
        return false;
    };
    let accepted = person::at_accept_pinned(uid, pid, pinned.as_ref());
    let mut slot: ConnectionSlot = match shared.budgets.connection(&accepted.counted_as) {
        Ok(slot) => slot,
        Err(why) => {
            refuse(stream, &shared.state, &why);
            return false;
        }
    };
    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let peer = peer_from(uid, pid, accepted.real_uid);
        serve_connection(
            stream,
            &shared.state,
            &mut slot,
            &accepted.person,
            peer,
            pinned,
        )
    }));
    drop(slot);
    if served.is_err() {
        shared.state.counters.count("error");
        eprintln!("mfa-agent: a connection handler panicked; that connection was closed");
    }
    uid == 0
}
