//! `pam-mfa-bench`: figures for BENCHMARKS.md (not a pass/fail test).
//!
//! Starts `mfa-agent` on the example policy (node dev1, env=dev) and measures,
//! in one run:
//! 1. the agent's "no tap needed" decision over its socket: connect, Begin,
//!    Allow; decisions per second and latency percentiles, with 1 and 2
//!    client threads;
//! 2. `pam_authenticate` through `pam_mfa.so`, against the same call through a
//!    `pam_permit.so`-only stack (Linux-PAM's `pam_start_confdir`), and the ratio.
//!
//! ```text
//! pam-mfa-bench --bin-dir target/release --bundle config/examples/bundle.yaml [--seconds 3]
//! ```
//! Prints a Markdown section on stdout.

use std::ffi::{c_char, c_int, c_void, CString};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pam_mfa_protocol::{
    read_frame, write_frame, PamContext, PamHook, Request, RequestBody, Response, ResponseBody,
};

#[repr(C)]
struct PamHandle {
    _private: [u8; 0],
}

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

#[repr(C)]
struct PamConv {
    conv: extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    fn pam_start_confdir(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        confdir: *const c_char,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    fn pam_authenticate(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_end(pamh: *mut PamHandle, status: c_int) -> c_int;
}

/// The "no tap needed" path never converses; any conversation is an error.
extern "C" fn no_conversation(
    _: c_int,
    _: *mut *const PamMessage,
    _: *mut *mut PamResponse,
    _: *mut c_void,
) -> c_int {
    19 // PAM_CONV_ERR
}

struct Args {
    bin_dir: PathBuf,
    bundle: PathBuf,
    seconds: u64,
}

fn parse_args() -> Args {
    let mut a = Args {
        bin_dir: PathBuf::from("target/release"),
        bundle: PathBuf::from("config/examples/bundle.yaml"),
        seconds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--bin-dir" => a.bin_dir = v.into(),
            "--bundle" => a.bundle = v.into(),
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            _ => panic!("unknown argument {k}"),
        }
    }
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

fn decide_once(sock: &Path, req: &Request) -> Duration {
    let t = Instant::now();
    let mut s = UnixStream::connect(sock).expect("connect");
    write_frame(&mut s, req).expect("write");
    let resp: Response = read_frame(&mut s).expect("read");
    let took = t.elapsed();
    assert!(
        matches!(resp.body, ResponseBody::Allow { .. }),
        "expected allow, got {:?}",
        resp.body
    );
    took
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

fn socket_bench(sock: &Path, threads: usize, seconds: u64) -> Figures {
    let req = Request::new(RequestBody::Begin {
        hook: PamHook::Auth,
        context: PamContext {
            service: "sshd".into(),
            user: "jerry".into(),
            rhost: Some("127.0.0.1".into()),
            ..Default::default()
        },
    });
    for _ in 0..200 {
        decide_once(sock, &req);
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let sock = sock.to_path_buf();
            let req = req.clone();
            std::thread::spawn(move || {
                let mut v = Vec::new();
                while Instant::now() < end {
                    v.push(decide_once(&sock, &req));
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

fn pam_bench(confdir: &Path, service: &str, seconds: u64) -> Figures {
    let conv = PamConv {
        conv: no_conversation,
        appdata_ptr: std::ptr::null_mut(),
    };
    let svc = CString::new(service).unwrap();
    let user = CString::new("jerry").unwrap();
    let dir = CString::new(confdir.to_str().unwrap()).unwrap();
    let mut v = Vec::new();
    let run = |v: &mut Vec<Duration>| {
        let mut h: *mut PamHandle = std::ptr::null_mut();
        // SAFETY: all pointers are valid NUL-terminated strings or a live PamConv for the call.
        let rc =
            unsafe { pam_start_confdir(svc.as_ptr(), user.as_ptr(), &conv, dir.as_ptr(), &mut h) };
        assert_eq!(rc, 0, "pam_start_confdir");
        let t = Instant::now();
        // SAFETY: h is the live handle pam_start_confdir returned.
        let rc = unsafe { pam_authenticate(h, 0) };
        v.push(t.elapsed());
        // SAFETY: h is live and ended exactly once.
        unsafe { pam_end(h, rc) };
        assert_eq!(rc, 0, "pam_authenticate through {service} returned {rc}");
    };
    for _ in 0..200 {
        run(&mut Vec::new());
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    while Instant::now() < end {
        run(&mut v);
    }
    percentiles(v, start.elapsed().as_secs_f64())
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let args = parse_args();
    let agent = start_agent(&args);
    let sock = agent.dir.join("agent.sock");
    let module = std::fs::canonicalize(args.bin_dir.join("libpam_mfa.so")).expect("libpam_mfa.so");
    let confdir = agent.dir.join("pam.d");
    std::fs::create_dir_all(&confdir).unwrap();
    std::fs::write(
        confdir.join("bench-mfa"),
        format!(
            "auth required {} socket={} timeout=5\n",
            module.display(),
            sock.display()
        ),
    )
    .unwrap();
    std::fs::write(
        confdir.join("bench-permit"),
        "auth required pam_permit.so\n",
    )
    .unwrap();

    let one = socket_bench(&sock, 1, args.seconds);
    let two = socket_bench(&sock, 2, args.seconds);
    let permit = pam_bench(&confdir, "bench-permit", args.seconds);
    let mfa = pam_bench(&confdir, "bench-mfa", args.seconds);

    println!("| measurement | runs | per second | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for (name, f) in [
        ("agent decision over the socket, 1 client thread", &one),
        ("agent decision over the socket, 2 client threads", &two),
        ("pam_authenticate, pam_permit.so only", &permit),
        ("pam_authenticate, pam_mfa.so (no tap needed)", &mfa),
    ] {
        println!(
            "| {name} | {} | {:.0} | {} | {} |",
            f.n,
            f.rate,
            us(f.p50),
            us(f.p99)
        );
    }
    println!();
    println!(
        "Ratio pam_mfa.so / pam_permit.so: p50 {:.1}x, p99 {:.1}x.",
        mfa.p50.as_secs_f64() / permit.p50.as_secs_f64(),
        mfa.p99.as_secs_f64() / permit.p99.as_secs_f64()
    );
    println!(
        "Targets (2 cores): p99 through the module under 250 µs: {}; at least 20,000 decisions/s: {}.",
        if mfa.p99 < Duration::from_micros(250) { "met" } else { "NOT met" },
        if two.rate.max(one.rate) >= 20_000.0 { "met" } else { "NOT met" }
    );
}
