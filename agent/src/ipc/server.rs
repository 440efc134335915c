//! The listening socket, and serving one connection's requests.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use pam_mfa_protocol::{
    write_frame, FrameError, FrameInbox, Request, Response, ResponseBody, MAX_SOCKET_PATH,
};

use super::admission::{admit_login, class_of, settle_connection};
use super::budgets::{ConnectionSlot, PendingSlot};
use super::frame_deadline::FrameDeadline;
use super::handler::handle;
use super::peer::{authorize, Peer};
use super::person::Person;
use super::pidfd::still_runs;
use crate::audit::Throttled;
use crate::login::cancel;
use crate::state::AgentState;

/// How long the agent waits for a connection's whole first frame (the
/// module and mfactl send theirs at once): a connection that sends nothing,
/// or trickles its frame, is closed.
pub const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a read on a root peer's connection retries before it sleeps
/// ([`awake_read`]).
const AWAKE_READ: Duration = Duration::from_micros(100);
/// How long the agent waits for a client's whole next frame.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Beyond a challenge's lifetime, how long an answer may still be on its way.
const ANSWER_GRACE: Duration = Duration::from_secs(10);

/// Binds the public socket: creates the root-owned directory (0755) if
/// needed, replaces a stale socket (never a regular file or a symlink),
/// and makes the socket connectable by everyone: what a peer may ask is
/// decided per request from SO_PEERCRED.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    bind_with_mode(path, 0o666)
}

/// Binds the socket only root may connect to, beside the public socket
/// `public` (`<public>.root`), the same careful way, mode 0600. `None`
/// when its path does not fit a socket address (a public path of more
/// than 102 bytes): root's PAM callers then find no such socket and use
/// the public one, as with an older agent.
pub fn bind_root(public: &Path) -> io::Result<Option<UnixListener>> {
    let path = pam_mfa_protocol::root_socket_path(public);
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        eprintln!(
            "mfa-agent: {} is too long for a socket: serving root's logins on {} only, whose queue any local user can fill",
            path.display(),
            public.display()
        );
        return Ok(None);
    }
    bind_with_mode(&path, 0o600).map(Some)
}

fn bind_with_mode(path: &Path, mode: u32) -> io::Result<UnixListener> {
    // Whoever can write the directory (or one above) can take the socket
    // away, or plant files beside it: checked before anything is made there.
    super::socket_dir::check_socket_path(path)?;
    if let Some(dir) = path.parent() {
        if std::fs::symlink_metadata(dir).is_err() {
            make_socket_dir(dir)?;
            super::socket_dir::check_socket_path(path)?;
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; refusing to replace it",
                    path.display()
                ),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    // Until this, the socket's mode is what the umask left; a peer that
    // connects to the root socket meanwhile is refused at accept for not
    // being root (`super::pool::at_accept`).
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// Makes the socket's missing directory, mode 0755 whatever the umask (the
/// module runs as each user and must reach the socket): the mode is set on
/// the directory opened without following a symlink, never through a name
/// someone else could have replaced.
fn make_socket_dir(dir: &Path) -> io::Result<()> {
    use rustix::fs::{fchmod, open, Mode, OFlags};
    std::fs::create_dir_all(dir)?;
    let fd = open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    fchmod(&fd, Mode::from_raw_mode(0o755))?;
    Ok(())
}

/// Serves requests on one connection until the client closes it, sends
/// something malformed, or goes quiet past the read timeout. `person` is
/// who the connection acts for, as found when it was accepted; `slot` is
/// what it counts against (the system's, until the first request, for a
/// root peer traced to `person` through its login uid or ancestors). A
/// login that waits on the person's answer also takes one of that
/// person's pending logins (and on a system connection one of the
/// system's), for as long as it waits. `peer` is from
/// SO_PEERCRED, read when the connection was accepted; `pinned` is that
/// process's pidfd: a request whose process is gone is refused (its pid
/// may name another process by now, and logins read /proc/PID).
pub fn serve_connection(
    mut stream: UnixStream,
    state: &AgentState,
    slot: &mut ConnectionSlot,
    person: &Person,
    peer: Peer,
    pinned: Option<OwnedFd>,
) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut pending = None;
    let mut pending_slot: Option<PendingSlot> = None;
    let mut inbox = FrameInbox::new();
    let mut first = true;
    // The whole next frame must arrive within `wait`, however its bytes
    // are spread out.
    let mut wait = FIRST_FRAME_TIMEOUT;
    let mut spin = awake_read(&peer, false);
    loop {
        let frame = (wait, std::mem::take(&mut spin));
        let Some(req) = next_request(&mut stream, &mut inbox, frame, state, &peer, &pinned) else {
            // The module went away, went quiet or sent garbage, maybe
            // mid-conversation: the login is refused, and audited as
            // cancelled.
            if let Some(conv) = pending.take() {
                let _ = cancel(state, conv);
            }
            return;
        };
        let class = class_of(&state.services, &req.body);
        if std::mem::take(&mut first) {
            if let Err(why) = settle_connection(slot, person, &peer, class, &req.body) {
                super::shared::refuse(stream, state, super::shared::Refusal::FirstRequest, &why);
                return;
            }
        }
        let body = match authorize(&peer, state.keys_uid, &req.body) {
            Ok(()) => {
                let admitted = admit_login(slot, person, &peer, (&req.body, class), &pending_slot);
                let refusal = match admitted {
                    Ok(slot) => {
                        pending_slot = pending_slot.or(slot);
                        None
                    }
                    Err(why) => Some(why),
                };
                let may_wait = refusal.as_deref().map_or(Ok(()), Err);
                let body = handle(state, &peer, &mut pending, req.body, may_wait);
                unbudgeted_wait(state, &mut pending, &pending_slot).unwrap_or(body)
            }
            Err(why) => not_permitted(state, &peer, &why),
        };
        if pending.is_none() {
            pending_slot = None;
        }
        if write_frame(&mut stream, &Response::new(body)).is_err() {
            // The module went away while a login waits on its answer: the
            // login is refused, and audited as cancelled.
            if let Some(conv) = pending.take() {
                let _ = cancel(state, conv);
            }
            return;
        }
        spin = awake_read(&peer, pending.is_some());
        // A person answering a challenge may take as long as it lives.
        wait = if pending.is_some() {
            state.config.challenge.ttl + ANSWER_GRACE
        } else {
            READ_TIMEOUT
        };
    }
}

/// How long the next read on `peer`'s connection retries, giving up the
/// CPU between tries, before it sleeps: a thread asleep is woken late
/// (tens of microseconds on a virtual machine whose idle vCPUs halt,
/// BENCHMARKS.md). pam_mfa.so (in sshd, sudo, login: root) sends its first
/// frame within microseconds of connecting, and closes within microseconds
/// of an answer that ends its exchange; read awake, the close finds this
/// thread running, and it is back watching the listener (`super::acceptor`)
/// before the PAM application's next call connects. Not while a login
/// waits on a person's answer (`waiting`), and never for a peer that is not
/// root. A user's sudo or su is a root peer too, so each PAM call a user
/// starts can cost the agent up to twice this (its first frame, its close),
/// yielding the CPU between tries: less than the user's own exec of sudo.
fn awake_read(peer: &Peer, waiting: bool) -> Duration {
    if peer.uid == 0 && !waiting {
        AWAKE_READ
    } else {
        Duration::ZERO
    }
}

/// A login left waiting with none of its person's pending logins held
/// (`login::MayWait` refuses such a wait before it starts: this is the
/// fail-closed guard behind it): cancelled, and the refusal to send in
/// place of its prompt.
fn unbudgeted_wait(
    state: &AgentState,
    pending: &mut Option<Box<crate::login::Conversation>>,
    held: &Option<PendingSlot>,
) -> Option<ResponseBody> {
    if held.is_some() {
        return None;
    }
    let conv = pending.take()?;
    let _ = cancel(state, conv);
    Some(ResponseBody::Error {
        message: "the agent holds no pending login for this one; try again".into(),
    })
}

/// The next request, whole within `wait` (read awake for `spin` first);
/// `None` once the connection is to be closed (after saying why, when the
/// peer is owed an answer): the peer went away or quiet, sent a bad frame,
/// or its process is gone.
fn next_request(
    stream: &mut UnixStream,
    inbox: &mut FrameInbox,
    (wait, spin): (Duration, Duration),
    state: &AgentState,
    peer: &Peer,
    pinned: &Option<OwnedFd>,
) -> Option<Request> {
    let mut within = FrameDeadline::within(stream, wait).spinning(spin);
    let refusal = match inbox.read_frame::<_, Request>(&mut within) {
        Err(FrameError::Io(_)) => return None,
        Err(e) => {
            static BAD_FRAME: Throttled = Throttled::new();
            BAD_FRAME.write(|| format!("bad frame from pid {} uid {}: {e}", peer.pid, peer.uid));
            e.to_string()
        }
        Ok(_) if pinned.as_ref().is_some_and(|fd| !still_runs(fd)) => {
            "the process that connected is gone; connect again".to_string()
        }
        Ok(req) => return Some(req),
    };
    state.counters.count("error");
    let _ = write_frame(
        stream,
        &Response::new(ResponseBody::Error { message: refusal }),
    );
    None
}

/// The answer to a request `peer` may not make.
fn not_permitted(state: &AgentState, peer: &Peer, why: &str) -> ResponseBody {
    state.counters.count("error");
    static REFUSED: Throttled = Throttled::new();
    REFUSED.write(|| {
        format!(
            "refused request from pid {} uid {}: {why}",
            peer.pid, peer.uid
        )
    });
    ResponseBody::Error {
        message: format!("not permitted: {why}"),
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
