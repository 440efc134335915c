//! The listening socket, and serving one connection's requests.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pam_mfa_protocol::{
    write_frame, FrameError, FrameInbox, PamHook, Request, RequestBody, Response, ResponseBody,
};

use super::budgets::{Budgets, PendingSlot};
use super::frame_deadline::FrameDeadline;
use super::handler::handle;
use super::peer::{authorize, Peer};
use super::person::{self, Person};
use super::pidfd::still_runs;
use crate::audit::Throttled;
use crate::login::cancel;
use crate::state::AgentState;

/// How long the agent waits for a connection's whole first frame (the
/// module and mfactl send theirs at once): a connection that sends nothing,
/// or trickles its frame, is closed.
pub const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the first read of a root peer's connection retries before it
/// sleeps (see `serve_connection`).
const FIRST_FRAME_SPIN: Duration = Duration::from_micros(100);
/// How long the agent waits for a client's whole next frame.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Beyond a challenge's lifetime, how long an answer may still be on its way.
const ANSWER_GRACE: Duration = Duration::from_secs(10);

/// Binds the socket: creates the root-owned directory (0755) if needed,
/// replaces a stale socket (never a regular file or a symlink), and makes
/// the socket connectable by everyone: what a peer may ask is decided per
/// request from SO_PEERCRED.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        if !dir.exists() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
        // Whoever can write the directory (or one above) can take the
        // socket away.
        super::socket_dir::check(dir)?;
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
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

/// Serves requests on one connection until the client closes it, sends
/// something malformed, or goes quiet past the read timeout. `person` is
/// who the connection was counted against when it was accepted; a login
/// that waits on the person's answer also takes one of that person's
/// pending logins, for as long as it waits. `peer` is from SO_PEERCRED,
/// read when the connection was accepted; `pinned` is that process's
/// pidfd: a request whose process is gone is refused (its pid may name
/// another process by now, and logins read /proc/PID).
pub fn serve_connection(
    mut stream: UnixStream,
    state: &AgentState,
    budgets: &Arc<Budgets>,
    person: &Person,
    peer: Peer,
    pinned: Option<OwnedFd>,
) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut pending = None;
    let mut pending_slot: Option<PendingSlot> = None;
    let mut inbox = FrameInbox::new();
    // The whole next frame must arrive within `wait`, however its bytes
    // are spread out.
    let mut wait = FIRST_FRAME_TIMEOUT;
    // pam_mfa.so (in sshd, sudo, login: root) connects, then reads the PAM
    // context and sends its first frame within microseconds: wait for it
    // awake. Only for root peers, so no user can make the agent spin.
    let mut spin = if peer.uid == 0 {
        FIRST_FRAME_SPIN
    } else {
        Duration::ZERO
    };
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
        let body = match authorize(&peer, state.keys_uid, &req.body) {
            Ok(()) => match admit_login(budgets, person, &peer, &req.body, &pending_slot) {
                Ok(slot) => {
                    pending_slot = pending_slot.or(slot);
                    handle(state, &peer, &mut pending, req.body)
                }
                Err(why) => {
                    state.counters.count("deny");
                    ResponseBody::Deny { message: why }
                }
            },
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
        // A person answering a challenge may take as long as it lives.
        wait = if pending.is_some() {
            state.config.challenge.ttl + ANSWER_GRACE
        } else {
            READ_TIMEOUT
        };
    }
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

/// A `begin` may become a login waiting on the person's answer: it takes
/// one of that person's pending logins first (released once nothing waits).
/// `Err` is the refusal the person reads.
fn admit_login(
    budgets: &Arc<Budgets>,
    person: &Person,
    peer: &Peer,
    req: &RequestBody,
    held: &Option<PendingSlot>,
) -> Result<Option<PendingSlot>, String> {
    let RequestBody::Begin { context, hook } = req else {
        return Ok(None);
    };
    // Sessions never wait on anyone (`login::handle_begin` decides them at
    // once): ending one is always allowed, and opening one is not refused
    // for the pending logins of others on its account (say, unanswered
    // keyboard-interactive prompts, which count against the account).
    if matches!(hook, PamHook::OpenSession | PamHook::CloseSession) {
        return Ok(None);
    }
    if held.is_some() {
        return Ok(None);
    }
    let who = person::for_login(person, *hook, context);
    budgets.pending(&who).map(Some).map_err(|why| {
        static OVER_BUDGET: Throttled = Throttled::new();
        OVER_BUDGET.write(|| {
            format!(
                "refused a login of {:?} ({:?}) from pid {}: {why}",
                context.user, context.service, peer.pid
            )
        });
        why
    })
}

#[cfg(test)]
mod tests {
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
}
