//! A source that drips its answer a byte at a time: the agent still opens
//! its socket at once when it has no cached copy (logins follow fail_mode
//! meanwhile), and each pull ends within `cluster.timeout` (2s here) all
//! told, with an error in `mfactl status`, instead of holding the sync lock
//! (`mfactl sync`, `reload`) for as long as the server likes.

use std::time::{Duration, Instant};

use super::common::*;
use super::world::*;
use pam_mfa_e2e::https_server::{Content, Mode};
use pam_mfa_e2e::require_root;

/// A byte every 300ms: every read is far inside the 2s timeout, the body
/// (over 1 MiB) never ends.
const DRIP: Duration = Duration::from_millis(300);

const EXCEEDED: &str = "the pull took longer than cluster.timeout (2s)";

#[test]
fn with_no_cached_copy_a_dripping_source_does_not_keep_the_socket_shut() {
    require_root!();
    // world_serving returns once the agent answers on its socket (the
    // harness waits 10s): before the fix the first pull ran before the
    // bind and never ended.
    let w = world_serving(
        "sync-drip-start",
        |u| Content {
            mode: Mode::Drip(DRIP),
            ..content(&allowing(u).to_yaml(), "\"d1\"")
        },
        "",
    );
    // The first pull runs, and status says so and since when.
    let s = w.wait_status("a pull in progress", Duration::from_secs(5), |s| {
        s["sync"]["pull_started"].is_string()
    });
    assert_eq!(s["policy_revision"], "", "{s:#}");
    assert_eq!(s["sync"]["policy_state"], "no policy loaded", "{s:#}");
    // Meanwhile logins are decided as with no policy: fail_mode (closed).
    assert!(!w.sudo_allowed(), "{}", w.evidence());
    let login = w.user.name.clone();
    let e = w
        .agent
        .wait_audit(Duration::from_secs(5), |e| {
            field(e, "login") == login && field(e, "event") == "decision"
        })
        .unwrap_or_else(|| panic!("no decision:\n{}", w.evidence()));
    assert_eq!(field(&e, "result"), "deny", "{e}");
    assert_eq!(field(&e, "reason"), "no policy loaded (fail_mode closed)");
    // The pull ends at its deadline, with an error to show.
    let s = w.wait_status("the pull's error", Duration::from_secs(8), |s| {
        s["last_error"].as_str().unwrap_or("").contains(EXCEEDED)
    });
    assert_eq!(s["policy_revision"], "", "{s:#}");
    let text = w.agent.mfactl(&["status"]).stdout;
    assert!(
        text.contains("(none loaded: logins follow fail_mode)"),
        "{text}"
    );
    // The source answers again: its policy loads on the next poll.
    w.serve(&allowing(&w.user.name), "\"d2\"", false);
    w.wait_status("a policy", Duration::from_secs(8), |s| {
        s["policy_revision"] != ""
    });
    assert!(w.sudo_allowed(), "{}", w.evidence());
}

#[test]
fn a_pull_of_a_dripping_source_ends_within_cluster_timeout_and_sync_and_reload_answer() {
    require_root!();
    let w = world(
        "sync-drip-pull",
        |u| content(&allowing(u).to_yaml(), "\"k1\""),
        "",
    );
    let good = w.revision();
    assert!(!good.is_empty(), "{}", w.evidence());
    w.server.set(|c| {
        c.body = locked(&w.user.name).to_yaml().into_bytes();
        c.etag = Some("\"k2\"".into());
        c.mode = Mode::Drip(DRIP);
    });
    // `mfactl sync` pulls (or meets a poll's pull in progress, which ends
    // by the same deadline): either way it answers, and with the deadline.
    let t = Instant::now();
    let (code, out) = w.sync();
    let took = t.elapsed();
    eprintln!("mfactl sync against a dripping source answered in {took:?}");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cluster.timeout"), "{out}");
    // Before the fix it took as long as the drip (over 1 MiB at 300ms a byte).
    assert!(took < Duration::from_secs(30), "{took:?}: {out}");
    let s = w.wait_status("the pull's error", Duration::from_secs(8), |s| {
        s["last_error"].as_str().unwrap_or("").contains(EXCEEDED)
    });
    assert_eq!(s["policy_revision"], good.as_str(), "{s:#}");
    // `mfactl reload` answers too (within its own wait), saying why the
    // policy was not loaded: the deadline, or a pull in progress.
    let f = w.agent.mfactl(&["reload"]);
    let out = format!("{}{}", f.stdout, f.stderr);
    assert_eq!(f.code, Some(1), "{out}");
    assert!(out.contains("cluster.timeout"), "{out}");
    assert!(!out.contains("did not answer"), "{out}");
    // The policy in force keeps deciding.
    assert!(w.sudo_allowed(), "{}", w.evidence());
}
