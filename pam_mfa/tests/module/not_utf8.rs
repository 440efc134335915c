//! PAM items that are not UTF-8. A lossy copy names someone else
//! (`caf\xe9` and `caf\xe8` both become `caf\u{FFFD}`), so the items the
//! agent decides or identifies by are refused before it is asked: PAM_USER
//! and PAM_RUSER with PAM_USER_UNKNOWN, PAM_RHOST with PAM_AUTH_ERR,
//! PAM_SERVICE with PAM_SYSTEM_ERR, whatever the fail mode. PAM_TTY, only
//! recorded, is sent lossy.

use std::io::ErrorKind;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use pam_mfa::ffi::consts::{PAM_AUTH_ERR, PAM_SUCCESS, PAM_SYSTEM_ERR, PAM_USER_UNKNOWN};
use pam_mfa::log::Level;
use pam_mfa::Item;
use pam_mfa_protocol::{
    read_frame, write_frame, PamHook, Request, RequestBody, Response, ResponseBody,
};

use crate::agent::{socket_arg, TempDir};
use crate::handle::{run, Scripted};

/// An agent that allows whatever it is asked, serving connections (none or
/// many) until [`AllowingAgent::finish`]: any request that reaches it would
/// be a login allowed.
struct AllowingAgent {
    _dir: TempDir,
    arg: String,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<RequestBody>>,
}

impl AllowingAgent {
    fn start() -> AllowingAgent {
        let dir = TempDir::new();
        let socket = dir.path().join("agent.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut got = Vec::new();
            loop {
                let mut stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        if stopped.load(Ordering::SeqCst) {
                            return got;
                        }
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(e) => panic!("accept: {e}"),
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                while let Ok(request) = read_frame::<_, Request>(&mut stream) {
                    let allow = matches!(request.body, RequestBody::Begin { .. });
                    got.push(request.body);
                    if allow {
                        let body = ResponseBody::Allow { message: None };
                        let _ = write_frame(&mut stream, &Response::new(body));
                    }
                }
            }
        });
        AllowingAgent {
            arg: socket_arg(&socket),
            _dir: dir,
            stop,
            thread,
        }
    }

    /// Every request read (the module has returned: whatever it connected
    /// is in the backlog or served).
    fn finish(self) -> Vec<RequestBody> {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.join() {
            Ok(got) => got,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

const HOOKS: [PamHook; 4] = [
    PamHook::Auth,
    PamHook::Account,
    PamHook::OpenSession,
    PamHook::CloseSession,
];

/// Runs every hook with `item` set to bytes that are not UTF-8 (`lossy`
/// as the module would otherwise read them), in both fail modes: each
/// returns `want`, logs why, and the agent is asked nothing.
fn refused_unasked(item: Item, lossy: &str, want: i32, name: &str) {
    for hook in HOOKS {
        for mode in ["fail_mode=closed", "fail_mode=open"] {
            let agent = AllowingAgent::start();
            let mut h = Scripted::new();
            h.ruser = Some("jerry".into());
            h.rhost = Some("192.0.2.7".into());
            h.tty = Some("/dev/pts/3".into());
            h.not_utf8 = vec![(item, lossy.into())];
            let (code, lines) = run(&mut h, hook, &[&agent.arg, mode, "timeout=2"]);
            let got = agent.finish();
            assert_eq!(code, want, "{item:?} {hook:?} {mode}: {}", lines.all_text());
            assert_eq!(got, [], "{item:?} {hook:?} {mode}: the agent was asked");
            let why = format!("{name} {lossy:?} is not UTF-8");
            assert!(
                lines.any(Level::Notice, &why),
                "{item:?} {hook:?}: {}",
                lines.all_text()
            );
            assert!(h.got_user_at.is_none(), "pam_get_user was asked");
        }
    }
}

/// sshd, sudo, su and login set PAM_USER before the stack runs, so
/// pam_get_user (which refuses such a name itself) is not what reads it.
#[test]
fn a_pam_user_that_is_not_utf8_is_an_unknown_user() {
    refused_unasked(Item::User, "caf\u{FFFD}", PAM_USER_UNKNOWN, "PAM_USER");
}

/// The agent asks about the invoking user (PAM_RUSER) for admin services.
#[test]
fn a_pam_ruser_that_is_not_utf8_is_an_unknown_user() {
    refused_unasked(Item::Ruser, "caf\u{FFFD}", PAM_USER_UNKNOWN, "PAM_RUSER");
}

/// The agent matches a tap's grant and its reuse window by PAM_RHOST.
#[test]
fn a_pam_rhost_that_is_not_utf8_is_refused() {
    refused_unasked(Item::Rhost, "h\u{FFFD}st", PAM_AUTH_ERR, "PAM_RHOST");
}

/// The agent's service classes are chosen by PAM_SERVICE.
#[test]
fn a_pam_service_that_is_not_utf8_is_a_system_error() {
    refused_unasked(Item::Service, "sshd\u{FFFD}", PAM_SYSTEM_ERR, "PAM_SERVICE");
}

/// PAM_TTY is only recorded (audit, session list): sent lossy, the login
/// goes on.
#[test]
fn a_pam_tty_that_is_not_utf8_is_sent_lossy() {
    let agent = AllowingAgent::start();
    let mut h = Scripted::new();
    h.not_utf8 = vec![(Item::Tty, "tty\u{FFFD}".into())];
    let (code, lines) = run(&mut h, PamHook::Auth, &[&agent.arg]);
    let got = agent.finish();
    assert_eq!(code, PAM_SUCCESS, "{}", lines.all_text());
    match got.as_slice() {
        [RequestBody::Begin { context, .. }] => {
            assert_eq!(context.tty.as_deref(), Some("tty\u{FFFD}"));
            assert_eq!(context.user, "jerry");
        }
        other => panic!("expected one begin, got {other:?}"),
    }
}
