//! A hostile stand-in for the agent: a root-owned Unix socket the test controls
//! that answers garbage, an oversized length prefix, nothing at all, or
//! `allow` to whatever it is asked.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use pam_mfa_protocol::{write_frame, Response, ResponseBody};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Reads the request, answers a well-framed body that is not JSON.
    Garbage,
    /// Answers a 0xFFFFFFF0-byte length prefix and a few bytes.
    OversizedLength,
    /// Accepts, reads, never answers, keeps the connection open.
    Silent,
    /// Answers valid JSON from another protocol version.
    WrongVersion,
    /// Answers `allow` to every request: a login that reaches it passes, so
    /// a test can tell the module asked nothing.
    AllowEverything,
}

pub struct FakeAgent {
    pub socket: PathBuf,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    last_request: Arc<Mutex<Option<Vec<u8>>>>,
    held: Arc<Mutex<Vec<UnixStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeAgent {
    pub fn start(socket: &Path, how: Misbehaviour) -> FakeAgent {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket).expect("bind fake agent");
        // World-connectable like the real agent's socket; root-owned since we are root.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(Mutex::new(Vec::new()));
        let last_request = Arc::new(Mutex::new(None));
        let (s, c, h) = (stop.clone(), connections.clone(), held.clone());
        let seen = Seen {
            requests: requests.clone(),
            last: last_request.clone(),
        };
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        c.fetch_add(1, Ordering::SeqCst);
                        serve(conn, how, &seen, &h);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        FakeAgent {
            socket: socket.to_path_buf(),
            stop,
            connections,
            requests,
            last_request,
            held,
            thread: Some(thread),
        }
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// How many requests (first frames of a connection) were read.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The body of the last request read, as it came (JSON text).
    pub fn last_request(&self) -> Option<Vec<u8>> {
        self.last_request
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What the fake agent was sent: how many requests, and the last one.
struct Seen {
    requests: Arc<AtomicUsize>,
    last: Arc<Mutex<Option<Vec<u8>>>>,
}

fn serve(mut conn: UnixStream, how: Misbehaviour, seen: &Seen, held: &Mutex<Vec<UnixStream>>) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
    // Read (and ignore) the first frame, if one comes.
    let mut len = [0u8; 4];
    if conn.read_exact(&mut len).is_ok() {
        let n = (u32::from_be_bytes(len) as usize).min(64 * 1024);
        let mut body = vec![0u8; n];
        if conn.read_exact(&mut body).is_ok() {
            *seen.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(body);
            seen.requests.fetch_add(1, Ordering::SeqCst);
        }
    }
    match how {
        Misbehaviour::Garbage => {
            let body = b"\x00\xffthis is not json\x01";
            let _ = conn.write_all(&(body.len() as u32).to_be_bytes());
            let _ = conn.write_all(body);
        }
        Misbehaviour::OversizedLength => {
            let _ = conn.write_all(&0xFFFF_FFF0u32.to_be_bytes());
            let _ = conn.write_all(b"{\"v\":1,\"type\":\"allow\"");
        }
        Misbehaviour::WrongVersion => {
            let body = br#"{"v":99,"type":"allow"}"#;
            let _ = conn.write_all(&(body.len() as u32).to_be_bytes());
            let _ = conn.write_all(body);
        }
        Misbehaviour::AllowEverything => {
            let allow = Response::new(ResponseBody::Allow { message: None });
            let _ = write_frame(&mut conn, &allow);
        }
        Misbehaviour::Silent => {}
    }
    // Keep every connection open until the fake agent stops, so the module
    // sees neither an answer nor EOF in the silent case.
    held.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
}

impl Drop for FakeAgent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let _ = std::fs::remove_file(&self.socket);
    }
}
