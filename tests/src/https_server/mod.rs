//! A real HTTPS policy server on loopback, under the test's control: rustls
//! with a test CA and leaf made by rcgen, and a small HTTP/1.1 responder
//! (one request per connection) on its own threads.
//!
//! It serves one bundle at `/bundle.yaml` (with an ETag, answering
//! `If-None-Match` with 304) and its detached signature at
//! `/bundle.yaml.sig`, counts what it answered, and can be told to go down,
//! be slow, cut the body short, or drip it.

mod certs;
mod responder;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use certs::{pin_of, unrelated_pin, TestPki};

use crate::workdir::WorkDir;

/// How the server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Serve the bundle (200, or 304 when the ETag matches).
    Normal,
    /// Accept, then wait this long before answering (beyond the client's timeout).
    Slow(Duration),
    /// Send headers promising more body than is sent, then close.
    Truncated,
    /// Send the headers at once, then the body one byte per this interval,
    /// and never all of it (its `Content-Length` is the body's plus 1 MiB):
    /// each read is quick, the whole never ends.
    Drip(Duration),
}

/// What the server serves; change it with [`HttpsServer::set`].
#[derive(Debug, Clone)]
pub struct Content {
    pub body: Vec<u8>,
    pub etag: Option<String>,
    /// The `/bundle.yaml.sig` text; 404 when absent.
    pub signature: Option<String>,
    pub mode: Mode,
    /// When set, requests without `Authorization: Bearer <token>` get 401.
    pub token: Option<String>,
}

/// What the server has answered so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests for the bundle (any answer).
    pub bundle_requests: u64,
    /// 200s with the bundle body.
    pub full: u64,
    /// 304s.
    pub not_modified: u64,
    /// Requests for the signature.
    pub signature_requests: u64,
    /// 401s.
    pub unauthorized: u64,
}

pub(crate) struct Shared {
    pub(crate) content: Mutex<Content>,
    pub(crate) counts: Mutex<Counts>,
    pub(crate) up: AtomicBool,
    pub(crate) stop: AtomicBool,
}

/// A running server; stopped when dropped.
pub struct HttpsServer {
    pub addr: SocketAddr,
    pub pki: TestPki,
    /// The test CA, PEM, for `cluster.ca_file`.
    pub ca_file: PathBuf,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl HttpsServer {
    /// Starts on 127.0.0.1 (a free port), writing the CA file into `work`.
    pub fn start(work: &WorkDir, content: Content) -> HttpsServer {
        let pki = TestPki::generate();
        let ca_file = work.write("policy-ca.pem", &pki.ca_pem, 0o644);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            content: Mutex::new(content),
            counts: Mutex::new(Counts::default()),
            up: AtomicBool::new(true),
            stop: AtomicBool::new(false),
        });
        let thread = responder::spawn(listener, addr, pki.server_config(), Arc::clone(&shared));
        HttpsServer {
            addr,
            pki,
            ca_file,
            shared,
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT/bundle.yaml`.
    pub fn url(&self) -> String {
        format!("https://{}/bundle.yaml", self.addr)
    }

    /// Changes what is served.
    pub fn set(&self, f: impl FnOnce(&mut Content)) {
        f(&mut self.shared.content.lock().unwrap());
    }

    pub fn counts(&self) -> Counts {
        self.shared.counts.lock().unwrap().clone()
    }

    /// Down: the port is closed (connections are refused). Up: listening again.
    pub fn set_up(&self, up: bool) {
        self.shared.up.store(up, Ordering::SeqCst);
        // The responder closes or reopens the listener within its tick.
        std::thread::sleep(Duration::from_millis(150));
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
