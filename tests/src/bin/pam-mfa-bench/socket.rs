//! Exchanges over a Unix socket: the floor's listener, and the client both
//! the floor and the agent get.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pam_mfa_protocol::{Response, ResponseBody};

use crate::report::{percentiles, Figures};

/// A length-prefixed frame of `body`.
pub fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    frame
}

/// The floor's reply: as long as the agent's `allow`.
const FLOOR_REPLY: &[u8] = br#"{"v":1,"type":"allow"}  "#;

/// The floor's listener: one thread that accepts a connection, reads one
/// frame, writes the reply and closes, then accepts the next; no parsing,
/// no policy, no audit. Lives until the process ends.
pub fn start_floor(path: &Path) {
    let listener = UnixListener::bind(path).expect("binding the floor socket");
    let reply = framed(FLOOR_REPLY);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut len = [0u8; 4];
            if s.read_exact(&mut len).is_err() {
                continue;
            }
            let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
            if s.read_exact(&mut body).is_ok() {
                let _ = s.write_all(&reply);
            }
        }
    });
}

/// One exchange as a client: connect, write `frame` (prepared beforehand,
/// as both servers get the same kind of client), read one framed reply,
/// close. Only the exchange is timed.
fn exchange(sock: &Path, frame: &[u8]) -> (Duration, Vec<u8>) {
    let t = Instant::now();
    let mut s = UnixStream::connect(sock).expect("connect");
    s.write_all(frame).expect("write");
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("read");
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("read");
    drop(s);
    (t.elapsed(), body)
}

/// What a socket row talks to.
#[derive(Clone)]
pub struct Target {
    pub sock: PathBuf,
    pub frame: Vec<u8>,
    /// The agent's reply must be an `allow`; the floor's is not looked at.
    pub agent: bool,
}

fn check_reply(target: &Target, body: &[u8]) {
    if !target.agent {
        return;
    }
    let resp: Response = serde_json::from_slice(body).expect("the agent's reply");
    assert!(
        matches!(resp.body, ResponseBody::Allow { .. }),
        "expected allow, got {:?}",
        resp.body
    );
}

/// One client thread, running `gap` (untimed) before every exchange.
pub fn socket_bench_gapped(target: &Target, seconds: f64, mut gap: impl FnMut()) -> Figures {
    let mut v = Vec::new();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        gap();
        let (took, body) = exchange(&target.sock, &target.frame);
        check_reply(target, &body);
        v.push(took);
    }
    percentiles(v, start.elapsed().as_secs_f64())
}

pub fn socket_bench(target: &Target, threads: usize, seconds: f64) -> Figures {
    for _ in 0..200 {
        let (_, body) = exchange(&target.sock, &target.frame);
        check_reply(target, &body);
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let target = target.clone();
            std::thread::spawn(move || {
                let mut v = Vec::new();
                while Instant::now() < end {
                    let (took, body) = exchange(&target.sock, &target.frame);
                    check_reply(&target, &body);
                    v.push(took);
                }
                v
            })
        })
        .collect();
    let all: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    percentiles(all, start.elapsed().as_secs_f64())
}
