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
//!    a `pam_permit.so`-only stack (Linux-PAM's `pam_start_confdir`);
//! 4. the floor again with the fresh-handle row's pause between exchanges
//!    (a `pam_start` and `pam_end` of the pam_mfa.so stack, untimed): on a
//!    virtual machine whose idle CPUs halt, how long the other side slept
//!    changes how fast it wakes, so this is the floor that row really meets.
//!
//! Rounds are interleaved (every measurement once per round, in turn), so a
//! noisy moment of the shared machine hits every row alike; the ratios to
//! the floor are taken within each round, and their median is printed.
//!
//! ```text
//! pam-mfa-bench --bin-dir target/release --bundle config/examples/bundle.yaml [--seconds 1] [--rounds 5]
//! ```
//! Prints a Markdown section on stdout. With `--only agent` or `--only
//! module` it runs that one row (the agent's decision with 1 client thread,
//! or pam_authenticate through pam_mfa.so with a fresh handle) for
//! `--seconds`, and prints how many ran and the agent's pid: what
//! tests/bench/profile.sh divides its samples by.

mod pam;
mod report;
mod socket;

use std::path::{Path, PathBuf};

use pam_mfa_e2e::bench_agent::{flag_values, BenchAgent};
use pam_mfa_protocol::{PamContext, PamHook, Request, RequestBody};

use pam::{fresh_handle_gap, pam_bench};
use report::{
    print_ratios, print_table, Figures, AGENT_1, AGENT_2, FLOOR, FLOOR_GAPPED, MFA_FRESH,
    MFA_REUSED, NAMES, PERMIT_FRESH, PERMIT_REUSED,
};
use socket::{framed, socket_bench, socket_bench_gapped, start_floor, Target};

struct Args {
    bin_dir: PathBuf,
    bundle: PathBuf,
    seconds: f64,
    rounds: usize,
    only: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        bin_dir: PathBuf::from("target/release"),
        bundle: PathBuf::from("config/examples/bundle.yaml"),
        seconds: 1.0,
        rounds: 5,
        only: None,
    };
    for (k, v) in flag_values() {
        match k.as_str() {
            "--bin-dir" => a.bin_dir = v.into(),
            "--bundle" => a.bundle = v.into(),
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            "--rounds" => a.rounds = v.parse().expect("--rounds N"),
            "--only" => a.only = Some(v),
            _ => panic!("unknown argument {k}"),
        }
    }
    assert!(
        a.seconds > 0.0 && a.rounds > 0,
        "--seconds and --rounds above 0"
    );
    a
}

fn start_agent(args: &Args) -> BenchAgent {
    let dir = std::env::temp_dir().join(format!("pam-mfa-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = std::fs::canonicalize(&args.bundle).expect("bundle path");
    let cfg = format!(
        "node:\n  name: dev1\n  labels: {{ env: dev }}\ncluster:\n  source: file://{}\n  state_dir: {}/state\nsocket:\n  path: {}/agent.sock\naudit:\n  sink: file:{}/audit.log\n",
        bundle.display(),
        dir.display(),
        dir.display(),
        dir.display()
    );
    BenchAgent::start(&args.bin_dir, dir, &cfg)
}

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
        sock: agent.socket(),
        frame: begin_frame(),
        agent: true,
    };
    let confdir = pam_services(&agent.dir, &args.bin_dir, &decision.sock);
    let secs = args.seconds;
    if let Some(row) = &args.only {
        let ran = match row.as_str() {
            "agent" => socket_bench(&decision, 1, secs),
            "module" => pam_bench(&confdir, "bench-mfa", secs, false),
            _ => panic!("--only agent or --only module"),
        };
        println!("ran {} agent-pid {}", ran.n, agent.child.id());
        return;
    }
    let mut rounds: Vec<Vec<Figures>> = NAMES.iter().map(|_| Vec::new()).collect();
    for _ in 0..args.rounds {
        rounds[FLOOR].push(socket_bench(&floor, 1, secs));
        rounds[AGENT_1].push(socket_bench(&decision, 1, secs));
        rounds[AGENT_2].push(socket_bench(&decision, 2, secs));
        rounds[PERMIT_FRESH].push(pam_bench(&confdir, "bench-permit", secs, false));
        rounds[MFA_FRESH].push(pam_bench(&confdir, "bench-mfa", secs, false));
        rounds[PERMIT_REUSED].push(pam_bench(&confdir, "bench-permit", secs, true));
        rounds[MFA_REUSED].push(pam_bench(&confdir, "bench-mfa", secs, true));
        let gap = fresh_handle_gap(&confdir, "bench-mfa");
        rounds[FLOOR_GAPPED].push(socket_bench_gapped(&floor, secs, gap));
    }
    print_table(&rounds);
    print_ratios(&rounds);
}
