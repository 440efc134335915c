//! `pam-mfa-bench`: figures for BENCHMARKS.md (not a pass/fail test).
//!
//! Starts `mfa-agent` on the example policy (node dev1, env=dev) and, in one
//! run, measures:
//! 1. the floor: a bare Unix-socket exchange with a listener thread of this
//!    process (a fresh connection, one 300-byte frame, a 24-byte reply,
//!    close), what any decision over a socket costs at least;
//! 2. the agent's "no tap needed" decision over its socket: connect, Begin,
//!    Allow; decisions per second and latency percentiles, with 1 and 2
//!    client threads;
//! 3. `pam_authenticate` through `pam_mfa.so`, against the same call through
//!    a `pam_permit.so`-only stack (Linux-PAM's `pam_start_confdir`).
//!
//! Rounds are interleaved (every measurement once per round, in turn), so a
//! noisy moment of the shared machine hits every row alike; the ratios to
//! the floor are taken within each round, and their median is printed.
//!
//! ```text
//! pam-mfa-bench --bin-dir target/release --bundle config/examples/bundle.yaml [--seconds 1] [--rounds 5]
//! ```
//! Prints a Markdown section on stdout.

use std::ffi::{c_int, c_void, CString};
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pam_mfa_e2e::pam_ffi::{
    pam_authenticate, pam_end, pam_start_confdir, PamConv, PamHandle, PamMessage, PamResponse,
    PAM_CONV_ERR,
};
use pam_mfa_protocol::{PamContext, PamHook, Request, RequestBody, Response, ResponseBody};

/// The "no tap needed" path never converses; any conversation is an error.
extern "C" fn no_conversation(
    _: c_int,
    _: *mut *const PamMessage,
    _: *mut *mut PamResponse,
    _: *mut c_void,
) -> c_int {
    PAM_CONV_ERR
}

struct Args {
    bin_dir: PathBuf,
    bundle: PathBuf,
    seconds: f64,
    rounds: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        bin_dir: PathBuf::from("target/release"),
        bundle: PathBuf::from("config/examples/bundle.yaml"),
        seconds: 1.0,
        rounds: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--bin-dir" => a.bin_dir = v.into(),
            "--bundle" => a.bundle = v.into(),
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            "--rounds" => a.rounds = v.parse().expect("--rounds N"),
            _ => panic!("unknown argument {k}"),
        }
    }
    assert!(
        a.seconds > 0.0 && a.rounds > 0,
        "--seconds and --rounds above 0"
    );
    a
}

struct Agent {
    child: Child,
    dir: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_agent(args: &Args) -> Agent {
    let dir = std::env::temp_dir().join(format!("pam-mfa-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = std::fs::canonicalize(&args.bundle).expect("bundle path");
    let cfg = format!(
        "node:\n  name: dev1\n  labels: {{ env: dev }}\ncluster:\n  source: file://{}\nsocket:\n  path: {}/agent.sock\naudit:\n  sink: file:{}/audit.log\n",
        bundle.display(),
        dir.display(),
        dir.display()
    );
    std::fs::write(dir.join("agent.yaml"), cfg).unwrap();
    let child = Command::new(args.bin_dir.join("mfa-agent"))
        .arg("--config")
        .arg(dir.join("agent.yaml"))
        .stderr(Stdio::null())
        .spawn()
        .expect("starting mfa-agent");
    let agent = Agent { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !agent.dir.join("agent.sock").exists() {
        assert!(
            Instant::now() < deadline,
            "mfa-agent did not create its socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    agent
}

/// A length-prefixed frame of `body`.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    frame
}

/// The floor's reply: as long as the agent's `allow`.
const FLOOR_REPLY: &[u8] = br#"{"v":1,"type":"allow"}  "#;

/// The floor's listener: one thread that accepts a connection, reads one
/// frame, writes the reply and closes, then accepts the next; no parsing,
/// no policy, no audit. Lives until the process ends.
fn start_floor(path: &Path) {
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
struct Target {
    sock: PathBuf,
    frame: Vec<u8>,
    /// The agent's reply must be an `allow`; the floor's is not looked at.
    agent: bool,
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

struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
    n: usize,
}

fn percentiles(mut v: Vec<Duration>, seconds: f64) -> Figures {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Figures {
        rate: v.len() as f64 / seconds,
        p50: at(0.50),
        p99: at(0.99),
        n: v.len(),
    }
}

fn socket_bench(target: &Target, threads: usize, seconds: f64) -> Figures {
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

/// `pam_authenticate` through `service`. Fresh: a new handle per call, as
/// sshd does for every connection (the module is loaded by pam_start and
/// unloaded by pam_end; only pam_authenticate is timed). Reused: one
/// handle, many calls.
fn pam_bench(confdir: &Path, service: &str, seconds: f64, reuse: bool) -> Figures {
    let conv = PamConv {
        conv: no_conversation,
        appdata_ptr: std::ptr::null_mut(),
    };
    let svc = CString::new(service).unwrap();
    let user = CString::new("jerry").unwrap();
    let dir = CString::new(confdir.to_str().unwrap()).unwrap();
    let start_handle = || {
        let mut h: *mut PamHandle = std::ptr::null_mut();
        // SAFETY: all pointers are valid NUL-terminated strings or a live PamConv for the call.
        let rc =
            unsafe { pam_start_confdir(svc.as_ptr(), user.as_ptr(), &conv, dir.as_ptr(), &mut h) };
        assert_eq!(rc, 0, "pam_start_confdir");
        h
    };
    let timed = |h: *mut PamHandle, v: &mut Vec<Duration>| {
        let t = Instant::now();
        // SAFETY: h is a live handle from pam_start_confdir.
        let rc = unsafe { pam_authenticate(h, 0) };
        v.push(t.elapsed());
        assert_eq!(rc, 0, "pam_authenticate through {service} returned {rc}");
    };
    let mut v = Vec::new();
    let reused = if reuse { Some(start_handle()) } else { None };
    let run = |v: &mut Vec<Duration>| match reused {
        Some(h) => timed(h, v),
        None => {
            let h = start_handle();
            timed(h, v);
            // SAFETY: h is live and ended exactly once.
            unsafe { pam_end(h, 0) };
        }
    };
    for _ in 0..200 {
        run(&mut Vec::new());
    }
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    while Instant::now() < end {
        run(&mut v);
    }
    if let Some(h) = reused {
        // SAFETY: the reused handle is ended exactly once.
        unsafe { pam_end(h, 0) };
    }
    percentiles(v, start.elapsed().as_secs_f64())
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

const FLOOR: usize = 0;
const AGENT_1: usize = 1;
const AGENT_2: usize = 2;
const PERMIT_FRESH: usize = 3;
const MFA_FRESH: usize = 4;
const PERMIT_REUSED: usize = 5;
const MFA_REUSED: usize = 6;
const NAMES: [&str; 7] = [
    "floor: bare Unix-socket exchange (listener thread, 300-byte frame, reply, close)",
    "agent decision over the socket, 1 client thread",
    "agent decision over the socket, 2 client threads",
    "pam_authenticate, pam_permit.so only, fresh handle",
    "pam_authenticate, pam_mfa.so (no tap needed), fresh handle",
    "pam_authenticate, pam_permit.so only, reused handle",
    "pam_authenticate, pam_mfa.so (no tap needed), reused handle",
];

/// The PAM services of the module rows, in a private directory.
fn pam_services(dir: &Path, bin_dir: &Path, sock: &Path) -> PathBuf {
    let module = std::fs::canonicalize(bin_dir.join("libpam_mfa.so")).expect("libpam_mfa.so");
    let confdir = dir.join("pam.d");
    std::fs::create_dir_all(&confdir).unwrap();
    let mfa = format!(
        "auth required {} socket={} timeout=5\n",
        module.display(),
        sock.display()
    );
    std::fs::write(confdir.join("bench-mfa"), mfa).unwrap();
    std::fs::write(
        confdir.join("bench-permit"),
        "auth required pam_permit.so\n",
    )
    .unwrap();
    confdir
}

/// The Begin sshd's auth hook sends, as the module frames it.
fn begin_frame() -> Vec<u8> {
    let req = Request::new(RequestBody::Begin {
        hook: PamHook::Auth,
        context: PamContext {
            service: "sshd".into(),
            user: "jerry".into(),
            rhost: Some("127.0.0.1".into()),
            ..Default::default()
        },
    });
    framed(&serde_json::to_vec(&req).unwrap())
}

fn main() {
    let args = parse_args();
    let agent = start_agent(&args);
    let floor = Target {
        sock: agent.dir.join("floor.sock"),
        frame: framed(&[b'x'; 300]),
        agent: false,
    };
    start_floor(&floor.sock);
    let decision = Target {
        sock: agent.dir.join("agent.sock"),
        frame: begin_frame(),
        agent: true,
    };
    let confdir = pam_services(&agent.dir, &args.bin_dir, &decision.sock);
    let secs = args.seconds;
    let mut rounds: Vec<Vec<Figures>> = NAMES.iter().map(|_| Vec::new()).collect();
    for _ in 0..args.rounds {
        rounds[FLOOR].push(socket_bench(&floor, 1, secs));
        rounds[AGENT_1].push(socket_bench(&decision, 1, secs));
        rounds[AGENT_2].push(socket_bench(&decision, 2, secs));
        rounds[PERMIT_FRESH].push(pam_bench(&confdir, "bench-permit", secs, false));
        rounds[MFA_FRESH].push(pam_bench(&confdir, "bench-mfa", secs, false));
        rounds[PERMIT_REUSED].push(pam_bench(&confdir, "bench-permit", secs, true));
        rounds[MFA_REUSED].push(pam_bench(&confdir, "bench-mfa", secs, true));
    }
    print_table(&rounds);
    print_ratios(&rounds);
}

fn print_table(rounds: &[Vec<Figures>]) {
    println!("| measurement | runs | per second | p50 | p99 | p50 range | p99 range |");
    println!("|---|---|---|---|---|---|---|");
    for (name, r) in NAMES.iter().zip(rounds) {
        let runs: usize = r.iter().map(|f| f.n).sum();
        let rate = median(r.iter().map(|f| f.rate).collect());
        let p50: Vec<Duration> = r.iter().map(|f| f.p50).collect();
        let p99: Vec<Duration> = r.iter().map(|f| f.p99).collect();
        println!(
            "| {name} | {runs} | {rate:.0} | {} | {} | {} | {} |",
            us(median(p50.clone())),
            us(median(p99.clone())),
            range(&p50),
            range(&p99)
        );
    }
    println!();
}

/// The ratios to the floor, round by round; the median round's is printed.
fn print_ratios(rounds: &[Vec<Figures>]) {
    let ratio = |row: usize, q: fn(&Figures) -> Duration| -> Vec<f64> {
        rounds[row]
            .iter()
            .zip(&rounds[FLOOR])
            .map(|(a, f)| q(a).as_secs_f64() / q(f).as_secs_f64())
            .collect()
    };
    let p50 = |f: &Figures| f.p50;
    let p99 = |f: &Figures| f.p99;
    let module50 = ratio(MFA_FRESH, p50);
    let module99 = ratio(MFA_FRESH, p99);
    let agent50 = ratio(AGENT_1, p50);
    let (m50, m99, a50) = (
        median(module50.clone()),
        median(module99.clone()),
        median(agent50.clone()),
    );
    println!("Floor ratio: module p50 {m50:.2}x, p99 {m99:.2}x; agent p50 {a50:.2}x");
    println!();
    let spread = |v: &[f64]| {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = v.iter().cloned().fold(0.0, f64::max);
        format!("{lo:.2}x–{hi:.2}x")
    };
    println!(
        "Over the {} rounds: module p50 {}, p99 {}; agent p50 {}.",
        module50.len(),
        spread(&module50),
        spread(&module99),
        spread(&agent50)
    );
    println!();
    let module_p99 = median(rounds[MFA_FRESH].iter().map(|f| f.p99).collect());
    let rate = median(rounds[AGENT_2].iter().map(|f| f.rate).collect())
        .max(median(rounds[AGENT_1].iter().map(|f| f.rate).collect()));
    println!("Targets (2 cores), on the medians above:");
    println!();
    println!(
        "- module p50 ≤ 1.5x the floor: {} ({m50:.2}x)",
        met(m50 <= 1.5)
    );
    println!(
        "- module p99 under 250 µs: {} ({})",
        met(module_p99 < Duration::from_micros(250)),
        us(module_p99)
    );
    println!(
        "- agent p50 ≤ 1.2x the floor: {} ({a50:.2}x)",
        met(a50 <= 1.2)
    );
    println!(
        "- at least 20,000 decisions/s: {} ({rate:.0}/s)",
        met(rate >= 20_000.0)
    );
}

fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn range(v: &[Duration]) -> String {
    let lo = v.iter().min().copied().unwrap_or_default();
    let hi = v.iter().max().copied().unwrap_or_default();
    format!(
        "{:.0}–{:.0} µs",
        lo.as_secs_f64() * 1e6,
        hi.as_secs_f64() * 1e6
    )
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}
