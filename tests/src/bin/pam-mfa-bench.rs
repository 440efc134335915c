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
//! pam-mfa-bench --bin-dir target/release --bundle config/examples/bundle.yaml [--seconds 1]
//! ```
//! Prints a Markdown section on stdout.

use std::ffi::{c_int, c_void, CString};

use pam_mfa_e2e::pam_ffi::{
    pam_authenticate, pam_end, pam_start_confdir, PamConv, PamHandle, PamMessage, PamResponse,
    PAM_CONV_ERR,
};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pam_mfa_protocol::{
    read_frame, write_frame, PamContext, PamHook, Request, RequestBody, Response, ResponseBody,
};

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

/// `pam_authenticate` through `service`. Cold: a fresh handle per call, as
/// sshd does for every connection (the module is loaded by pam_start and
/// unloaded by pam_end; only pam_authenticate is timed). Warm: one handle,
/// many calls.
fn pam_bench(confdir: &Path, service: &str, seconds: u64, warm: bool) -> Figures {
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
    let warm_handle = if warm { Some(start_handle()) } else { None };
    let run = |v: &mut Vec<Duration>| match warm_handle {
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
    let end = start + Duration::from_secs(seconds);
    while Instant::now() < end {
        run(&mut v);
    }
    if let Some(h) = warm_handle {
        // SAFETY: the warm handle is ended exactly once.
        unsafe { pam_end(h, 0) };
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

    // Five short rounds per measurement, interleaved so that a noisy moment
    // of the machine hits every measurement alike; the table shows the median
    // round, and the worst round's p99 beside it.
    const ROUNDS: usize = 5;
    let secs = args.seconds.max(1);
    let mut rounds: Vec<Vec<Figures>> = (0..6).map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        rounds[0].push(socket_bench(&sock, 1, secs));
        rounds[1].push(socket_bench(&sock, 2, secs));
        rounds[2].push(pam_bench(&confdir, "bench-permit", secs, false));
        rounds[3].push(pam_bench(&confdir, "bench-mfa", secs, false));
        rounds[4].push(pam_bench(&confdir, "bench-permit", secs, true));
        rounds[5].push(pam_bench(&confdir, "bench-mfa", secs, true));
    }
    let names = [
        "agent decision over the socket, 1 client thread",
        "agent decision over the socket, 2 client threads",
        "pam_authenticate, pam_permit.so only, fresh handle",
        "pam_authenticate, pam_mfa.so (no tap needed), fresh handle",
        "pam_authenticate, pam_permit.so only, reused handle",
        "pam_authenticate, pam_mfa.so (no tap needed), reused handle",
    ];
    let med: Vec<Figures> = rounds.iter().map(|r| median_round(r)).collect();
    println!("| measurement | runs | per second | p50 | p99 | worst round p99 |");
    println!("|---|---|---|---|---|---|");
    for (name, (m, r)) in names.iter().zip(med.iter().zip(&rounds)) {
        let worst = r.iter().map(|f| f.p99).max().unwrap_or_default();
        let runs: usize = r.iter().map(|f| f.n).sum();
        println!(
            "| {name} | {runs} | {:.0} | {} | {} | {} |",
            m.rate,
            us(m.p50),
            us(m.p99),
            us(worst)
        );
    }
    println!();
    let ratio = |a: &Figures, b: &Figures| {
        (
            a.p50.as_secs_f64() / b.p50.as_secs_f64(),
            a.p99.as_secs_f64() / b.p99.as_secs_f64(),
        )
    };
    let (c50, c99) = ratio(&med[3], &med[2]);
    let (w50, w99) = ratio(&med[5], &med[4]);
    println!("Ratio pam_mfa.so / pam_permit.so: fresh handle p50 {c50:.1}x, p99 {c99:.1}x; reused handle p50 {w50:.1}x, p99 {w99:.1}x.");
    println!();
    let best_rate = med[0].rate.max(med[1].rate);
    println!(
        "Targets (2 cores), on the median round: p99 through the module under 250 µs: {} (fresh handle, as sshd), {} (reused handle); at least 20,000 decisions/s: {} ({best_rate:.0}/s).",
        met(med[3].p99 < Duration::from_micros(250)),
        met(med[5].p99 < Duration::from_micros(250)),
        met(best_rate >= 20_000.0),
    );
}

/// The round with the median p99 (its p50 and rate come with it).
fn median_round(r: &[Figures]) -> Figures {
    let mut idx: Vec<usize> = (0..r.len()).collect();
    idx.sort_by_key(|&i| r[i].p99);
    let f = &r[idx[idx.len() / 2]];
    Figures {
        rate: f.rate,
        p50: f.p50,
        p99: f.p99,
        n: f.n,
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}
