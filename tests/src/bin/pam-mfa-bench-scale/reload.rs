//! Decisions while the bundle is reloaded: one thread decides, as the
//! agent's handler does (the store's current bundle, then `decide`), again
//! and again; another loads the same file anew and installs it in the
//! store, as the reloader does. The decision times at rest (before the
//! reload) and during it (from the start of the load until the old bundle
//! is freed) are kept apart.

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mfa_agent::policy::{self, NodeInfo};
use mfa_agent::state::PolicyStore;

use super::{decide_by_login, percentiles, Percentiles};

const AT_REST: u8 = 0;
const RELOADING: u8 = 1;
const DONE: u8 = 2;

pub struct Stall {
    pub rest: Percentiles,
    pub during: Percentiles,
    pub rest_runs: usize,
    pub during_runs: usize,
    pub reload: Duration,
}

/// `rest`: how long to decide before the reload starts.
pub fn measure(path: &Path, node: &NodeInfo, logins: &[String], rest: Duration) -> Stall {
    let store = Arc::new(PolicyStore::default());
    let first = policy::load_bundle_path(path).unwrap_or_else(|e| panic!("{e}"));
    first.prepare_for_node(node);
    store.install(first, SystemTime::now());
    let phase = Arc::new(AtomicU8::new(AT_REST));
    let reloader = {
        let (store, phase, path) = (store.clone(), phase.clone(), path.to_owned());
        let node = node.clone();
        std::thread::spawn(move || {
            std::thread::sleep(rest);
            phase.store(RELOADING, Ordering::SeqCst);
            let t = Instant::now();
            let again = policy::load_bundle_path(&path).unwrap_or_else(|e| panic!("{e}"));
            // As the agent does before it installs a bundle.
            again.prepare_for_node(&node);
            store.install(again, SystemTime::now());
            let took = t.elapsed();
            phase.store(DONE, Ordering::SeqCst);
            took
        })
    };
    let now = SystemTime::now();
    let (mut at_rest, mut during) = (Vec::new(), Vec::new());
    let mut i = 0usize;
    loop {
        let p = phase.load(Ordering::SeqCst);
        if p == DONE {
            break;
        }
        let login = &logins[i % logins.len()];
        i += 1;
        let t = Instant::now();
        let bundle = store.current().expect("a bundle is installed");
        std::hint::black_box(decide_by_login(&bundle, node, login, now));
        drop(bundle);
        let took = t.elapsed();
        // A decision that straddled the start of the reload counts as during it.
        if p == AT_REST && phase.load(Ordering::SeqCst) == AT_REST {
            at_rest.push(took);
        } else {
            during.push(took);
        }
    }
    let reload = reloader.join().expect("the reload thread");
    let (rest_runs, during_runs) = (at_rest.len(), during.len());
    assert!(
        rest_runs > 0 && during_runs > 0,
        "decisions at rest and during the reload"
    );
    Stall {
        rest: percentiles(at_rest),
        during: percentiles(during),
        rest_runs,
        during_runs,
        reload,
    }
}
