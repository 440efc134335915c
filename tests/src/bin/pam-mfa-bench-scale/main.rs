//! `pam-mfa-bench-scale`: load time, memory and decision latency against the
//! size of the bundle, for BENCHMARKS.md (not a pass/fail test).
//!
//! Writes generated bundles (`pam_mfa_e2e::scale_bundle`, fixed seed) of
//! 1/100, 1/10 and the full 10,000 roles / 100,000 users / 200,000 devices,
//! in YAML and JSON, and measures each one, and the seed example bundle, in
//! a fresh child process (so resident memory belongs to that bundle alone):
//! 1. load: read, parse, check and index (`policy::load_bundle_path`); the
//!    index build on its own (`Bundle::from_parts` on the parsed resources);
//! 2. memory: VmRSS before and after the load, and VmHWM (the peak);
//! 3. latency, for random users of the bundle on node prod3: `policy::decide`
//!    by login; the agent's whole `handle_begin` (account hook, sshd, the
//!    user's registered security key in SSH_AUTH_INFO_0, audit to /dev/null);
//!    and `lines_for_login`, what sshd's AuthorizedKeysCommand asks for.
//!
//! ```text
//! pam-mfa-bench-scale [--seed-bundle config/examples/bundle.yaml] [--work DIR] [--decisions N]
//! ```
//! Prints a Markdown section on stdout.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use mfa_agent::policy::{self, decide, Bundle, LoginQuery, NodeInfo, ServiceClass};
use pam_mfa_e2e::scale_bundle::{write_bundle, Format, Rng, Scale, NODE_LABELS, NODE_NAME, SEED};
use serde_json::json;

mod alloc;
mod child;
mod memory_latency;
mod reload;
mod report;

#[global_allocator]
static HEAP: alloc::Counting = alloc::Counting;
// The agent's jemalloc options, as mfa-agent sets them.
mfa_agent::jemalloc_options!();

/// The seed example, for the decision measured beside each bundle.
const SEED_EXAMPLE: &str = include_str!("../../../../config/examples/bundle.yaml");

struct Args {
    seed_bundle: PathBuf,
    work: Option<PathBuf>,
    decisions: usize,
    child: Option<PathBuf>,
    reload_child: Option<PathBuf>,
    pool: Option<usize>,
}

fn parse_args() -> Args {
    let mut a = Args {
        seed_bundle: PathBuf::from("config/examples/bundle.yaml"),
        work: None,
        decisions: 20_000,
        child: None,
        reload_child: None,
        pool: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--seed-bundle" => a.seed_bundle = v.into(),
            "--work" => a.work = Some(v.into()),
            "--decisions" => a.decisions = v.parse().expect("--decisions N"),
            "--child" => a.child = Some(v.into()),
            "--reload-child" => a.reload_child = Some(v.into()),
            "--pool" => a.pool = Some(v.parse().expect("--pool N")),
            _ => panic!("unknown argument {k}"),
        }
    }
    a
}

/// CPU time this process has used (all threads): on a shared machine the
/// wall-clock time of a load also counts the time others had the cores.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// VmRSS and VmHWM of this process, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[derive(Debug, Clone, Copy)]
struct Percentiles {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn percentiles(mut v: Vec<Duration>) -> Percentiles {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    Percentiles {
        p50: at(0.50),
        p99: at(0.99),
        mean,
    }
}

/// Rounds over all items, after a warm-up over a tenth of them; the round
/// with the median p50 is kept (the machine is shared: one slow round should
/// not speak for the bundle).
const ROUNDS: usize = 3;

fn time_each<T>(items: &[T], mut f: impl FnMut(&T)) -> Percentiles {
    for item in items.iter().take(items.len() / 10) {
        f(item);
    }
    let mut rounds: Vec<Percentiles> = (0..ROUNDS)
        .map(|_| {
            let mut v = Vec::with_capacity(items.len());
            for item in items {
                let t = Instant::now();
                f(item);
                v.push(t.elapsed());
            }
            percentiles(v)
        })
        .collect();
    rounds.sort_by_key(|p| p.p50);
    rounds[ROUNDS / 2]
}

fn node() -> NodeInfo {
    NodeInfo {
        name: NODE_NAME.to_owned(),
        id: None,
        labels: NODE_LABELS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn decide_by_login(
    bundle: &Bundle,
    node: &NodeInfo,
    login: &str,
    now: SystemTime,
) -> mfa_agent::policy::Decision {
    decide(
        bundle,
        &LoginQuery {
            node,
            login,
            user: None,
            class: ServiceClass::Ssh,
            mfa_device: None,
            now,
            lock_view_stale: false,
        },
    )
}

fn us3(p: Percentiles) -> serde_json::Value {
    json!([
        p.p50.as_secs_f64() * 1e6,
        p.p99.as_secs_f64() * 1e6,
        p.mean.as_secs_f64() * 1e6
    ])
}

#[derive(Clone)]
struct Case {
    label: String,
    path: PathBuf,
    bytes: u64,
    write: Option<Duration>,
    pool: Option<usize>,
}

fn generate(dir: &Path, label: &str, scale: Scale, format: Format) -> Case {
    let ext = match format {
        Format::Yaml => "yaml",
        Format::Json => "json",
    };
    let path = dir.join(format!("bundle-{}.{ext}", label.replace('/', "-of-")));
    let t = Instant::now();
    let mut w = BufWriter::new(File::create(&path).expect("create bundle file"));
    write_bundle(scale, SEED, format, &mut w).expect("write bundle");
    drop(w);
    let write = t.elapsed();
    Case {
        label: format!("{label}, {}", ext.to_uppercase()),
        bytes: std::fs::metadata(&path).expect("bundle file").len(),
        path,
        write: Some(write),
        pool: None,
    }
}

fn run_child(case: &Case, decisions: usize) -> serde_json::Value {
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.arg("--child")
        .arg(&case.path)
        .arg("--decisions")
        .arg(decisions.to_string());
    if let Some(n) = case.pool {
        cmd.arg("--pool").arg(n.to_string());
    }
    let out = cmd.output().expect("run the measuring child");
    assert!(
        out.status.success(),
        "measuring {} failed: {}",
        case.label,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the child's JSON line")
}

fn main() {
    let args = parse_args();
    if let Some(path) = &args.child {
        child::child(path, args.decisions, args.pool);
        return;
    }
    if let Some(path) = &args.reload_child {
        reload_child(path, args.decisions);
        return;
    }
    let work = match &args.work {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("pam-mfa-bench-scale-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work).expect("work directory");

    let mut cases = vec![Case {
        label: "seed example (config/examples/bundle.yaml)".to_owned(),
        bytes: std::fs::metadata(&args.seed_bundle)
            .expect("seed bundle")
            .len(),
        path: args.seed_bundle.clone(),
        write: None,
        pool: None,
    }];
    for (label, scale) in [
        ("1/100", Scale::FULL.divided(100)),
        ("1/10", Scale::FULL.divided(10)),
        ("full", Scale::FULL),
    ] {
        cases.push(generate(&work, label, scale, Format::Yaml));
        cases.push(generate(&work, label, scale, Format::Json));
    }
    let full = cases.last().expect("the full JSON bundle").clone();
    cases.push(Case {
        label: format!("{}, asking about 1,000 users only", full.label),
        pool: Some(1000),
        write: None,
        ..full.clone()
    });
    let results: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            let r = run_child(c, args.decisions);
            eprintln!("bench-scale: {} measured", c.label);
            r
        })
        .collect();
    let stall = run_reload_child(&full.path, args.decisions);
    eprintln!("bench-scale: the reload of {} measured", full.label);
    if args.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let heap_of = |label: &str| {
        let i = cases.iter().position(|c| c.label == label).expect(label);
        results[i]["heap_kib"].as_u64().unwrap_or(0)
    };
    let cold_reads = report::ColdReads {
        small_kib: heap_of("1/100, JSON"),
        small_ns: memory_latency::dependent_read_ns(heap_of("1/100, JSON")),
        full_kib: heap_of("full, JSON"),
        full_ns: memory_latency::dependent_read_ns(heap_of("full, JSON")),
    };
    report::print(&cases, &results, &stall, args.decisions, &cold_reads);
}

/// Decisions during a reload of the bundle at `path`; prints one JSON line.
fn reload_child(path: &Path, decisions: usize) {
    let bundle = policy::load_bundle_path(path).unwrap_or_else(|e| panic!("{e}"));
    let mut users: Vec<&str> = bundle.users().keys().collect();
    let mut rng = Rng::new(SEED, 97);
    let logins: Vec<String> = (0..decisions)
        .map(|_| {
            let u = &bundle.users()[users[rng.below(users.len())]];
            u.logins()
                .first()
                .map_or_else(|| u.name.clone(), str::to_owned)
        })
        .collect();
    users.clear();
    drop(bundle);
    let s = reload::measure(path, &node(), &logins, Duration::from_secs(2));
    println!(
        "{}",
        json!({"rest": us3(s.rest), "during": us3(s.during),
               "rest_runs": s.rest_runs, "during_runs": s.during_runs,
               "reload_ms": s.reload.as_secs_f64() * 1e3})
    );
}

fn run_reload_child(path: &Path, decisions: usize) -> serde_json::Value {
    let out = Command::new(std::env::current_exe().expect("own path"))
        .arg("--reload-child")
        .arg(path)
        .arg("--decisions")
        .arg(decisions.to_string())
        .output()
        .expect("run the reload child");
    assert!(
        out.status.success(),
        "the reload child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reload child's JSON line")
}
