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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use mfa_agent::audit::AuditSink;
use mfa_agent::config::AgentConfig;
use mfa_agent::login::{handle_begin, lines_for_login, PeerIds, Step};
use mfa_agent::policy::{
    self, decide, Access, Bundle, BundleParts, DeviceKind, LoginQuery, NodeInfo, ServiceClass,
};
use mfa_agent::state::AgentState;
use pam_mfa_e2e::scale_bundle::{write_bundle, Format, Rng, Scale, NODE_LABELS, NODE_NAME, SEED};
use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};
use serde_json::json;

mod alloc;
mod reload;
mod report;

#[global_allocator]
static HEAP: alloc::Counting = alloc::Counting;

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

/// One bundle, measured in this (fresh) process; prints one JSON line.
/// `pool`: ask about that many users only (so that their data stays in the
/// CPU caches), to tell the cost of the work from the cost of cold memory.
fn child(path: &Path, decisions: usize, pool: Option<usize>) {
    let (rss_before, _) = memory_kib();
    let (t, cpu) = (Instant::now(), cpu_time());
    let bundle = policy::load_bundle_path(path).unwrap_or_else(|e| panic!("{e}"));
    let load = t.elapsed();
    let load_cpu = cpu_time() - cpu;
    let (rss_after, hwm) = memory_kib();
    let heap_after = alloc::heap();
    if std::env::var_os("BENCH_SCALE_LOAD_ONLY").is_some() {
        println!(
            "{}",
            json!({"load_ms": load.as_secs_f64() * 1e3, "load_cpu_ms": load_cpu.as_secs_f64() * 1e3, "rss_after_kib": rss_after, "hwm_kib": hwm,
                   "heap_kib": heap_after / 1024})
        );
        return;
    }

    // Random users, and random registered ssh_sk keys with their owners.
    let mut users: Vec<&str> = bundle.users().keys().collect();
    if let Some(n) = pool {
        let mut rng = Rng::new(SEED, 98);
        let picked: Vec<&str> = (0..n).map(|_| users[rng.below(users.len())]).collect();
        users = picked;
    }
    let keys: Vec<(&str, &str, String)> = bundle
        .devices()
        .iter()
        .filter_map(|d| match &d.kind {
            DeviceKind::SshSk { key_type, .. } => {
                Some((&*d.user, *key_type, d.kind.ssh_sk_blob_base64()?))
            }
            _ => None,
        })
        .filter(|(user, ..)| pool.is_none() || users.contains(user))
        .collect();
    let mut rng = Rng::new(SEED, 99);
    let logins: Vec<String> = (0..decisions)
        .map(|_| {
            let u = &bundle.users()[users[rng.below(users.len())]];
            u.logins()
                .first()
                .map_or_else(|| u.name.clone(), str::to_owned)
        })
        .collect();
    let key_logins: Vec<(String, String)> = (0..decisions)
        .map(|_| {
            if keys.is_empty() {
                return (logins[rng.below(logins.len())].clone(), String::new());
            }
            let (user, t, blob) = &keys[rng.below(keys.len())];
            let u = &bundle.users()[user];
            let login = u
                .logins()
                .first()
                .map_or_else(|| u.name.clone(), str::to_owned);
            (login, format!("publickey {t} {blob}\n"))
        })
        .collect();

    let node = node();
    let now = SystemTime::now();
    let by_login = |login: &String| decide_by_login(&bundle, &node, login, now);
    let allowed = logins
        .iter()
        .filter(|l| by_login(l).access == Access::Allow)
        .count();
    let allowed_share = allowed as f64 / logins.len() as f64;
    let decide_p = time_each(&logins, |login| {
        std::hint::black_box(by_login(login));
    });

    let config = format!(
        "node:\n  name: {NODE_NAME}\n  labels: {{{}}}\ncluster:\n  source: file://{}\nsshd:\n  authorized_keys_files: []\n",
        NODE_LABELS
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        std::path::absolute(path).expect("absolute path").display()
    );
    let cfg = AgentConfig::parse(&config, "bench").unwrap_or_else(|e| panic!("{e}"));
    let sink = AuditSink::File(Mutex::new(File::create("/dev/null").expect("/dev/null")));
    let state = AgentState::new(cfg, sink, Arc::new(SystemTime::now)).expect("agent state");
    state.store.install(bundle, SystemTime::now());
    let current = state.store.current().expect("installed");
    let begin = |(login, auth_info): &(String, String)| {
        let ctx = PamContext {
            service: "sshd".into(),
            user: login.clone(),
            rhost: Some("192.0.2.7".into()),
            ssh_auth_info: (!auth_info.is_empty()).then(|| auth_info.clone()),
            ..Default::default()
        };
        match handle_begin(&state, PeerIds { pid: 1, uid: 0 }, PamHook::Account, &ctx) {
            Step::Done(ResponseBody::Allow { .. }) => true,
            Step::Done(_) => false,
            Step::Ask(..) => panic!("the account hook never prompts"),
        }
    };
    let begin_allowed = key_logins.iter().filter(|k| begin(k)).count();
    let begin_p = time_each(&key_logins, |k| {
        std::hint::black_box(begin(k));
    });
    let lines_n = (decisions / 10).max(100).min(key_logins.len());
    let lines = |(login, _): &(String, String)| {
        lines_for_login(&current, &state.node, login, SystemTime::now()).len()
    };
    let served: usize = key_logins[..lines_n].iter().map(lines).sum();
    let lines_p = time_each(&key_logins[..lines_n], |k| {
        std::hint::black_box(lines(k));
    });

    // The index on its own: the same resources, indexed again, on a thread
    // of its own as a load is (the copies it frees would otherwise crowd
    // this thread's heap), and after the latencies.
    let (index, rss_parts, rss_indexed) = std::thread::scope(|s| {
        s.spawn(|| {
            let parts = BundleParts {
                roles: current
                    .roles()
                    .values()
                    .map(|r| (r.name.clone(), r.clone()))
                    .collect(),
                users: current
                    .users()
                    .values()
                    .map(|u| (u.name.clone(), u.clone()))
                    .collect(),
                cap: current.cap.clone(),
                locks: current.locks().to_vec(),
                devices: current.devices().to_vec(),
                cert_authorities: current.cert_authorities().to_vec(),
                warnings: Vec::new(),
                revision: current.revision.clone(),
            };
            let (rss_parts, _) = memory_kib();
            let t = Instant::now();
            let again = Bundle::from_parts(parts);
            let index = t.elapsed();
            let (rss_indexed, _) = memory_kib();
            drop(again);
            (index, rss_parts, rss_indexed)
        })
        .join()
        .expect("index thread")
    });

    // The seed example decided in this process, with this bundle still
    // loaded: what the heap left by a big load costs a small decision.
    let seed = policy::load_bundle_str(SEED_EXAMPLE, "seed").expect("the seed example loads");
    let jerry = vec!["jerry".to_owned(); decisions];
    let seed_after = time_each(&jerry, |login| {
        std::hint::black_box(decide_by_login(&seed, &node, login, now));
    });

    let out = json!({
        "seed_decide_after": us3(seed_after),
        "roles": current.roles().len(),
        "users": current.users().len(),
        "devices": current.devices().len(),
        "locks": current.locks().len(),
        "load_ms": load.as_secs_f64() * 1e3,
        "load_cpu_ms": load_cpu.as_secs_f64() * 1e3,
        "index_ms": index.as_secs_f64() * 1e3,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "hwm_kib": hwm,
        "heap_kib": heap_after / 1024,
        "index_kib": rss_indexed.saturating_sub(rss_parts),
        "decisions": logins.len(),
        "allowed_share": allowed_share,
        "decide": us3(decide_p),
        "begin": us3(begin_p),
        "begin_allowed_share": begin_allowed as f64 / key_logins.len() as f64,
        "lines": us3(lines_p),
        "lines_runs": lines_n,
        "lines_per_login": served as f64 / lines_n as f64,
    });
    println!("{out}");
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
        child(path, args.decisions, args.pool);
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
    report::print(&cases, &results, &stall, args.decisions);
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
