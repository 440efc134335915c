//! The staleness rules through the login flow (`handle_begin`), with an
//! injected clock: what PAM is told for each kind of unusable policy under
//! each fail mode.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::login::{handle_begin, PeerIds, Step};
use crate::policy::load_bundle_str;
use crate::state::{AgentState, Provenance};

/// root may log in on this node without MFA (ops holds the role that gives
/// it); the cap sets `locking_mode`.
fn policy(locking_mode: &str) -> String {
    policy_with(locking_mode, "''")
}

/// `policy`, with the role's `options.lock`.
fn policy_with(locking_mode: &str, role_lock: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: any}}\nspec:\n  options: {{lock: {role_lock}}}\n  allow:\n    logins: [root]\n    node_labels: {{'*': '*'}}\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: ops}}\nspec: {{roles: [any]}}\n---\n\
         kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec: {{locking_mode: {locking_mode}}}\n"
    )
}

fn begin_after(fail_mode: &str, locking_mode: &str, after: Duration) -> ResponseBody {
    begin_with(fail_mode, &policy(locking_mode), after)
}

fn begin_with(fail_mode: &str, policy: &str, after: Duration) -> ResponseBody {
    let cfg = AgentConfig::parse(
        &format!(
            "cluster:\n  source: builtin:example\n  poll_interval: 10s\n  max_staleness: 1h\nfail_mode: {fail_mode}\n"
        ),
        "t",
    )
    .unwrap();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let now = Arc::new(Mutex::new(t0));
    let n = Arc::clone(&now);
    let state =
        AgentState::new(cfg, AuditSink::Stderr, Arc::new(move || *n.lock().unwrap())).unwrap();
    let bundle = load_bundle_str(policy, "b.yaml").unwrap();
    state
        .store
        .install_from(Arc::new(bundle), Provenance::default(), t0, t0);
    *now.lock().unwrap() = t0 + after;
    let ctx = PamContext {
        service: "sshd".into(),
        user: "root".into(),
        ..Default::default()
    };
    match handle_begin(
        &state,
        PeerIds::of_process(1, 0),
        PamHook::Account,
        &ctx,
        Ok(()),
    ) {
        Step::Done(body) => body,
        Step::Ask(..) => panic!("the account hook never prompts"),
    }
}

const FRESH: Duration = Duration::from_secs(5);
const LOCKS_STALE: Duration = Duration::from_secs(301); // > Teleport's LockMaxStaleness (5m)
const POLICY_STALE: Duration = Duration::from_secs(3601); // > max_staleness

#[test]
fn fresh_policies_decide() {
    for mode in ["strict", "best_effort"] {
        assert!(matches!(
            begin_after("closed", mode, FRESH),
            ResponseBody::Allow { .. }
        ));
    }
}

#[test]
fn strict_with_a_stale_lock_view_denies_even_under_fail_mode_open() {
    for fail_mode in ["closed", "open"] {
        match begin_after(fail_mode, "strict", LOCKS_STALE) {
            ResponseBody::Deny { message, .. } => assert!(message.contains("locks"), "{message}"),
            other => panic!("fail_mode {fail_mode}: {other:?}"),
        }
        assert!(matches!(
            begin_after(fail_mode, "strict", POLICY_STALE),
            ResponseBody::Deny { .. }
        ));
    }
    assert!(matches!(
        begin_after("closed", "best_effort", LOCKS_STALE),
        ResponseBody::Allow { .. }
    ));
}

#[test]
fn a_stale_policy_follows_the_fail_mode() {
    match begin_after("closed", "best_effort", POLICY_STALE) {
        ResponseBody::Deny { message, .. } => assert!(message.contains("out of date"), "{message}"),
        other => panic!("{other:?}"),
    }
    match begin_after("open", "best_effort", POLICY_STALE) {
        ResponseBody::Unavailable { message } => {
            assert!(message.contains("policy stale"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

/// Teleport's `RoleSet.LockingMode`: the person's roles set the mode over
/// the cap's (`strict` in any role wins; else a `best_effort` role makes it
/// best effort even under a strict cap). A stale lock view (the policy
/// itself within max_staleness) denies only a login whose mode is strict.
#[test]
fn the_locking_mode_is_the_persons() {
    let cases = [
        ("strict", "best_effort", true),
        ("strict", "''", false),
        ("best_effort", "strict", false),
        ("best_effort", "''", true),
    ];
    for (cap, role, allowed) in cases {
        let got = begin_with("closed", &policy_with(cap, role), LOCKS_STALE);
        match (&got, allowed) {
            (ResponseBody::Allow { .. }, true) => {}
            (ResponseBody::Deny { message, .. }, false) => {
                assert!(message.contains("locks"), "{cap}/{role}: {message}")
            }
            _ => panic!("cap {cap}, role {role}: {got:?}"),
        }
        // Fresh, every mode decides.
        assert!(
            matches!(
                begin_with("closed", &policy_with(cap, role), FRESH),
                ResponseBody::Allow { .. }
            ),
            "{cap}/{role}"
        );
    }
    // Past max_staleness a strict bundle is still refused whatever the fail mode.
    assert!(matches!(
        begin_with("open", &policy_with("best_effort", "strict"), POLICY_STALE),
        ResponseBody::Deny { .. }
    ));
}
