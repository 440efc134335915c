//! An in-process fake agent on a temporary socket.

use std::fs;
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use pam_mfa_protocol::{read_frame, write_frame, Request, RequestBody, Response, ResponseBody};

/// A private directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("pam-mfa-t.{}.{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `socket=PATH`.
pub fn socket_arg(path: &Path) -> String {
    format!("socket={}", path.display())
}

/// The agent's end of one connection.
pub struct Peer {
    stream: UnixStream,
    /// Every request read so far.
    pub got: Vec<Request>,
}

impl Peer {
    /// Reads the next request (panics on failure).
    pub fn recv(&mut self) -> RequestBody {
        let request: Request = read_frame(&mut self.stream).expect("a request from the module");
        self.got.push(request.clone());
        request.body
    }

    pub fn send(&mut self, body: ResponseBody) {
        write_frame(&mut self.stream, &Response::new(body)).unwrap();
    }

    /// Answers with a `wait` of `after_ms` and no message.
    pub fn wait(&mut self, after_ms: u32) {
        self.send(ResponseBody::Wait {
            after_ms,
            message: None,
        });
    }

    /// Answers every poll with a `wait` of `after_ms` until the module sends
    /// something else (a cancel) or goes away.
    pub fn keep_waiting(&mut self, after_ms: u32) {
        loop {
            self.wait(after_ms);
            if self.recv() != RequestBody::Poll {
                break;
            }
        }
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn stream(&mut self) -> &mut UnixStream {
        &mut self.stream
    }
}

/// A fake agent serving one connection with `script`. After the script it
/// reads what else the module sends (e.g. `cancel`) until the module closes.
pub struct Agent {
    _dir: TempDir,
    pub socket: PathBuf,
    thread: Option<JoinHandle<Vec<Request>>>,
}

impl Agent {
    pub fn spawn(script: impl FnOnce(&mut Peer) + Send + 'static) -> Agent {
        let dir = TempDir::new();
        let socket = dir.path().join("agent.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let thread = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut peer = Peer {
                stream,
                got: Vec::new(),
            };
            script(&mut peer);
            while let Ok(request) = read_frame::<_, Request>(&mut peer.stream) {
                peer.got.push(request);
            }
            peer.got
        });
        Agent {
            _dir: dir,
            socket,
            thread: Some(thread),
        }
    }

    pub fn arg(&self) -> String {
        socket_arg(&self.socket)
    }

    /// Waits for the agent's thread; returns every request it read.
    pub fn finish(mut self) -> Vec<RequestBody> {
        let thread = self.thread.take().unwrap();
        match thread.join() {
            Ok(got) => got.into_iter().map(|r| r.body).collect(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
