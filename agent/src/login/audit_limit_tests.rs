//! The audit trail of decisions non-root peers ask for, in-process with an
//! injected clock: a user looping `begin` about themselves gets a burst of
//! records, then one a second with a summary of what was left out; root
//! peers' decisions are all written.

use std::fs::File;
use std::sync::{Arc, Mutex};

use pam_mfa_protocol::{PamContext, PamHook};

use super::flow::handle_begin;
use super::flow_tests::{bundle, Fixture};
use super::verdict::PeerIds;
use crate::audit::{AuditSink, BURST, REFILL_EVERY};

/// The audit file the fixture writes to, removed on drop.
struct AuditFile(std::path::PathBuf);

impl AuditFile {
    /// Makes `f` write its audit events to a new file.
    fn for_fixture(f: &mut Fixture, tag: &str) -> AuditFile {
        let path = std::env::temp_dir().join(format!(
            "pam-mfa-audit-limit-{tag}-{}.jsonl",
            std::process::id()
        ));
        let file = File::create(&path).unwrap();
        f.state.audit = Arc::new(AuditSink::File(Mutex::new(file)));
        AuditFile(path)
    }

    fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.0)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for AuditFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn ask(f: &Fixture, uid: u32, n: usize) {
    // A screen locker running as the user asks about the user's own login.
    let ctx = PamContext {
        service: "xscreensaver".into(),
        user: "root".into(),
        ..Default::default()
    };
    let peer = PeerIds {
        pid: std::process::id() as i32,
        uid,
        real_uid: None,
    };
    for _ in 0..n {
        drop(handle_begin(&f.state, peer, PamHook::Account, &ctx, Ok(())));
    }
}

#[test]
fn a_user_looping_begin_cannot_flood_the_audit_trail() {
    let mut f = Fixture::new(&bundle("false", ""), "");
    let audit = AuditFile::for_fixture(&mut f, "flood");
    let events = || audit.events();
    let burst = BURST as usize;
    ask(&f, 4242, burst + 500);
    let seen = events();
    assert_eq!(seen.len(), burst, "a burst, then nothing");
    assert!(seen.iter().all(|e| e["peer_uid"] == 4242));
    // Root's decisions (sshd, sudo) are all written meanwhile.
    for _ in 0..100 {
        drop(f.begin(PamHook::Account, None, "10.0.0.1"));
    }
    assert_eq!(events().len(), burst + 100);
    // A second later: one more, after one summary of what was left out.
    f.advance(REFILL_EVERY);
    ask(&f, 4242, 10);
    let seen = events();
    assert_eq!(seen.len(), burst + 100 + 2, "{:?}", &seen[burst + 100..]);
    let summary = &seen[burst + 100];
    assert_eq!(summary["event"], "audit_suppressed");
    assert_eq!(summary["peer_uid"], 4242);
    assert!(
        summary["reason"]
            .as_str()
            .unwrap()
            .starts_with("500 decision events of uid 4242 suppressed"),
        "{summary}"
    );
    assert_eq!(seen[burst + 101]["event"], "decision");
    // The decisions were all counted, written or not.
    let c = f.state.counters.snapshot();
    let counted = c.allowed + c.denied + c.unavailable + c.errors;
    assert_eq!(counted, (burst + 500 + 100 + 10) as u64);
    // Another user is not held by the first one's flood.
    ask(&f, 4343, 1);
    assert_eq!(events().len(), burst + 100 + 3);
}
