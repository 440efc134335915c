//! One bundle measured in this (fresh) process (`--child`): its load and
//! memory, then the latency of `decide`, of the agent's account hook with a
//! registered key, and of the AuthorizedKeysCommand's lines, for random
//! users; the index built alone; the seed example decided beside it. Prints
//! one JSON line.

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use mfa_agent::audit::AuditSink;
use mfa_agent::config::AgentConfig;
use mfa_agent::login::{handle_begin, lines_for_login, PeerIds, Step};
use mfa_agent::policy::{self, Access, Bundle, BundleParts, DeviceKind};
use mfa_agent::state::AgentState;
use pam_mfa_e2e::scale_bundle::{Rng, NODE_LABELS, NODE_NAME, SEED};
use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};
use serde_json::json;

use super::{
    alloc, cpu_time, decide_by_login, memory_kib, node, time_each, us3, Percentiles, SEED_EXAMPLE,
};

/// A login, and the `SSH_AUTH_INFO_0` of its registered key (empty: none).
type KeyLogin = (String, String);

/// The load and what it left in memory.
struct Loaded {
    bundle: Bundle,
    load: Duration,
    load_cpu: Duration,
    rss_before: u64,
    rss_after: u64,
    hwm: u64,
    heap_after: usize,
}

/// The agent's load: read, parse, index, and match the roles' literal
/// node_labels against its node.
fn load(path: &Path) -> Loaded {
    let (rss_before, _) = memory_kib();
    let (t, cpu) = (Instant::now(), cpu_time());
    let bundle = policy::load_bundle_path(path).unwrap_or_else(|e| panic!("{e}"));
    bundle.prepare_for_node(&node());
    let (load, load_cpu) = (t.elapsed(), cpu_time() - cpu);
    let (rss_after, hwm) = memory_kib();
    Loaded {
        bundle,
        load,
        load_cpu,
        rss_before,
        rss_after,
        hwm,
        heap_after: alloc::heap(),
    }
}

/// `pool`: ask about that many users only (so that their data stays in the
/// CPU caches), to tell the cost of the work from the cost of cold memory.
pub fn child(path: &Path, decisions: usize, pool: Option<usize>) {
    let l = load(path);
    if std::env::var_os("BENCH_SCALE_LOAD_ONLY").is_some() {
        println!(
            "{}",
            json!({"load_ms": l.load.as_secs_f64() * 1e3, "load_cpu_ms": l.load_cpu.as_secs_f64() * 1e3,
                   "rss_after_kib": l.rss_after, "hwm_kib": l.hwm, "heap_kib": l.heap_after / 1024})
        );
        return;
    }
    let (logins, key_logins) = pick(&l.bundle, decisions, pool);
    let (node, now) = (node(), SystemTime::now());
    let by_login = |login: &String| decide_by_login(&l.bundle, &node, login, now);
    let allowed = logins
        .iter()
        .filter(|x| by_login(x).access == Access::Allow)
        .count();
    let decide_p = time_each(&logins, |login| {
        std::hint::black_box(by_login(login));
    });
    let state = agent_state(path);
    state.store.install(l.bundle, SystemTime::now());
    let current = state.store.current().expect("installed");
    let (begin_allowed, begin_p) = time_begin(&state, &key_logins);
    let lines_n = (decisions / 10).max(100).min(key_logins.len());
    let (served, lines_p) = time_lines(&state, &current, &key_logins[..lines_n]);
    let (index, index_kib) = index_alone(&current);
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
        "load_ms": l.load.as_secs_f64() * 1e3,
        "load_cpu_ms": l.load_cpu.as_secs_f64() * 1e3,
        "index_ms": index.as_secs_f64() * 1e3,
        "rss_before_kib": l.rss_before,
        "rss_after_kib": l.rss_after,
        "hwm_kib": l.hwm,
        "heap_kib": l.heap_after / 1024,
        "index_kib": index_kib,
        "decisions": logins.len(),
        "allowed_share": allowed as f64 / logins.len() as f64,
        "decide": us3(decide_p),
        "begin": us3(begin_p),
        "begin_allowed_share": begin_allowed as f64 / key_logins.len() as f64,
        "lines": us3(lines_p),
        "lines_runs": lines_n,
        "lines_per_login": served as f64 / lines_n as f64,
    });
    println!("{out}");
}

/// Random users' logins, and random registered ssh_sk keys with their
/// owners' logins.
fn pick(bundle: &Bundle, decisions: usize, pool: Option<usize>) -> (Vec<String>, Vec<KeyLogin>) {
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
    let login_of = |name: &str| {
        let u = &bundle.users()[name];
        u.logins()
            .first()
            .map_or_else(|| u.name.clone(), str::to_owned)
    };
    let mut rng = Rng::new(SEED, 99);
    let logins: Vec<String> = (0..decisions)
        .map(|_| login_of(users[rng.below(users.len())]))
        .collect();
    let key_logins = (0..decisions)
        .map(|_| {
            if keys.is_empty() {
                return (logins[rng.below(logins.len())].clone(), String::new());
            }
            let (user, t, blob) = &keys[rng.below(keys.len())];
            (login_of(user), format!("publickey {t} {blob}\n"))
        })
        .collect();
    (logins, key_logins)
}

/// An agent on node prod3 whose audit goes to /dev/null, and whose state
/// (the last known good copy) goes beside the bundle, never to the host's
/// /var/lib/pam-mfa.
fn agent_state(path: &Path) -> AgentState {
    let bundle = std::path::absolute(path).expect("absolute path");
    let state_dir = bundle.with_extension("state");
    let config = format!(
        "node:\n  name: {NODE_NAME}\n  labels: {{{}}}\ncluster:\n  source: file://{}\n  state_dir: {}\nsshd:\n  authorized_keys_files: []\n",
        NODE_LABELS
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        bundle.display(),
        state_dir.display()
    );
    let cfg = AgentConfig::parse(&config, "bench").unwrap_or_else(|e| panic!("{e}"));
    let sink = AuditSink::File(Mutex::new(File::create("/dev/null").expect("/dev/null")));
    AgentState::new(cfg, sink, Arc::new(SystemTime::now)).expect("agent state")
}

/// sshd's account hook with the user's registered key: how many are
/// allowed, and how long each takes.
fn time_begin(state: &AgentState, key_logins: &[KeyLogin]) -> (usize, Percentiles) {
    let begin = |(login, auth_info): &KeyLogin| {
        let ctx = PamContext {
            service: "sshd".into(),
            user: login.clone(),
            rhost: Some("192.0.2.7".into()),
            ssh_auth_info: (!auth_info.is_empty()).then(|| auth_info.clone()),
            ..Default::default()
        };
        match handle_begin(
            state,
            PeerIds {
                pid: 1,
                uid: 0,
                real_uid: Some(0),
            },
            PamHook::Account,
            &ctx,
            Ok(()),
        ) {
            Step::Done(ResponseBody::Allow { .. }) => true,
            Step::Done(_) => false,
            Step::Ask(..) => panic!("the account hook never prompts"),
        }
    };
    let allowed = key_logins.iter().filter(|k| begin(k)).count();
    let p = time_each(key_logins, |k| {
        std::hint::black_box(begin(k));
    });
    (allowed, p)
}

/// The AuthorizedKeysCommand's lines: how many are served, and how long
/// each login takes.
fn time_lines(
    state: &AgentState,
    current: &Bundle,
    key_logins: &[KeyLogin],
) -> (usize, Percentiles) {
    let lines = |(login, _): &KeyLogin| {
        lines_for_login(current, &state.node, login, SystemTime::now(), false).len()
    };
    let served = key_logins.iter().map(lines).sum();
    let p = time_each(key_logins, |k| {
        std::hint::black_box(lines(k));
    });
    (served, p)
}

/// The index on its own: the same resources, indexed again, on a thread of
/// its own as a load is (the copies it frees would otherwise crowd this
/// thread's heap), and after the latencies. Its time, and the KiB it adds.
fn index_alone(current: &Bundle) -> (Duration, u64) {
    std::thread::scope(|s| {
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
                networking: current.networking.clone(),
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
            (index, rss_indexed.saturating_sub(rss_parts))
        })
        .join()
        .expect("index thread")
    })
}
