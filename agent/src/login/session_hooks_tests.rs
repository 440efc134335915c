//! open_session / close_session in-process, and enforce ending a real
//! process's session.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime};

use pam_mfa_protocol::{PamContext, PamHook, ResponseBody};

use super::flow::handle_begin;
use super::tap::Step;
use super::verdict::PeerIds;
use crate::audit::AuditSink;
use crate::config::AgentConfig;
use crate::policy::load_bundle_str;
use crate::state::AgentState;

const BLOB: &str = "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=";
const SK: &str = "sk-ssh-ed25519@openssh.com";

fn bundle(extra: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: prod}}\nspec:\n  allow:\n    logins: ['{{{{internal.logins}}}}']\n    node_labels: {{env: prod}}\n  options:\n    require_session_mfa: true\n---\n\
         kind: user\nversion: v2\nmetadata: {{name: alice}}\nspec:\n  roles: [prod]\n  traits:\n    logins: [root]\n---\n\
         kind: mfa_device\nversion: v1\nmetadata: {{name: alice-key}}\nspec:\n  id: alice-key-id\n  user: alice\n  ssh_sk:\n    public_key: \"{SK} {BLOB} alice@laptop\"\n{extra}"
    )
}

const LOCK_ALICE: &str =
    "---\nkind: lock\nversion: v2\nmetadata: {name: l1}\nspec:\n  target: {user: alice}\n  message: offboarded\n";
const LOCK_BOB: &str =
    "---\nkind: lock\nversion: v2\nmetadata: {name: l2}\nspec:\n  target: {user: bob}\n  message: not alice\n";

fn state(policy: &str) -> AgentState {
    let cfg = AgentConfig::parse(
        "node:\n  name: prod3\n  labels: {env: prod}\nsshd:\n  authorized_keys_files: []\n  pubkey_auth_options: [touch-required]\nsessions:\n  end_grace: 1s\n",
        "test",
    )
    .unwrap();
    let s = AgentState::new(cfg, AuditSink::Stderr, std::sync::Arc::new(SystemTime::now)).unwrap();
    install(&s, policy);
    s
}

fn install(s: &AgentState, policy: &str) {
    s.store.install(
        load_bundle_str(policy, "test.yaml").unwrap(),
        SystemTime::now(),
    );
}

fn ctx() -> PamContext {
    PamContext {
        service: "sshd".into(),
        user: "root".into(),
        rhost: Some("10.0.0.1".into()),
        tty: Some("ssh".into()),
        ssh_auth_info: Some(format!("publickey {SK} {BLOB}\n")),
        ..Default::default()
    }
}

fn hook(s: &AgentState, pid: u32, uid: u32, h: PamHook) -> ResponseBody {
    let peer = PeerIds::of_process(pid as i32, uid);
    match handle_begin(s, peer, h, &ctx(), Ok(())) {
        Step::Done(b) => b,
        Step::Ask(..) => panic!("session hooks never prompt"),
    }
}

/// A process to stand for sshd's monitor: ending the session kills it.
/// SIGHUP back to its default action, whatever the test runner inherited
/// (under nohup it is ignored, and the tests expect SIGHUP to end it).
fn leader() -> Child {
    Command::new("env")
        .args(["--default-signal=HUP", "sleep", "60"])
        .spawn()
        .unwrap()
}

fn is_deny(b: &ResponseBody, words: &str) -> bool {
    matches!(b, ResponseBody::Deny { message, .. } if message.contains(words))
}

const ALLOW: ResponseBody = ResponseBody::Allow { message: None };

#[test]
fn open_registers_and_close_removes() {
    let s = state(&bundle(""));
    let mut p = leader();
    assert_eq!(hook(&s, p.id(), 0, PamHook::Account), ALLOW);
    assert_eq!(hook(&s, p.id(), 0, PamHook::OpenSession), ALLOW);
    let list = crate::sessions::live(&s);
    assert_eq!(list.len(), 1);
    let info = &list[0];
    assert_eq!(info.pid, p.id());
    assert_eq!(info.login, "root");
    assert_eq!(info.user.as_deref(), Some("alice"));
    assert_eq!(info.service, "sshd");
    assert_eq!(info.rhost.as_deref(), Some("10.0.0.1"));
    assert_eq!(info.evidence, "ssh_sk_touch");
    assert_eq!(info.device.as_deref(), Some("alice-key-id"));
    // Another process cannot close it; the opener can, and always may.
    assert_eq!(
        hook(&s, std::process::id(), 0, PamHook::CloseSession),
        ALLOW
    );
    assert_eq!(crate::sessions::live(&s).len(), 1);
    assert_eq!(hook(&s, p.id(), 0, PamHook::CloseSession), ALLOW);
    assert!(crate::sessions::live(&s).is_empty());
    p.kill().unwrap();
    p.wait().unwrap();
}

/// `pam_env user_readenv=1` in the session stack lets a user set
/// `SSH_AUTH_INFO_0` from `~/.pam_environment`: open_session ignores it and
/// uses what account recorded for the same process.
#[test]
fn open_session_ignores_ssh_auth_info_from_the_pam_environment() {
    let s = state(&bundle(""));
    let mut p = leader();
    let peer = PeerIds::of_process(p.id() as i32, 0);
    let open = |s: &AgentState| match handle_begin(s, peer, PamHook::OpenSession, &ctx(), Ok(())) {
        Step::Done(b) => b,
        Step::Ask(..) => panic!("session hooks never prompt"),
    };
    // No account check recorded a key: the key in the environment is not
    // what this login proved.
    assert_eq!(open(&s), ALLOW);
    let info = crate::sessions::live(&s).remove(0);
    assert_eq!(info.device, None, "{info:?}");
    assert!(!info.evidence.starts_with("ssh_sk"), "{}", info.evidence);
    // Nor does it say whom the session counts against.
    let counted = s.sessions.list().remove(0);
    assert_eq!(counted.person, "root over SSH without a key");
    assert_eq!(counted.keys_account, None);
    assert_eq!(hook(&s, p.id(), 0, PamHook::CloseSession), ALLOW);
    // Account saw a password login (no key); the environment now claims
    // alice's key.
    let mut password = ctx();
    password.ssh_auth_info = Some("password\n".into());
    let _ = handle_begin(&s, peer, PamHook::Account, &password, Ok(()));
    assert_eq!(open(&s), ALLOW);
    let info = crate::sessions::live(&s).remove(0);
    assert_eq!(info.device, None, "{info:?}");
    assert_eq!(hook(&s, p.id(), 0, PamHook::CloseSession), ALLOW);
    // Account saw the key: the session records it.
    assert_eq!(hook(&s, p.id(), 0, PamHook::Account), ALLOW);
    assert_eq!(open(&s), ALLOW);
    let info = crate::sessions::live(&s).remove(0);
    assert_eq!(info.evidence, "ssh_sk_touch");
    assert_eq!(info.device.as_deref(), Some("alice-key-id"));
    // ...and counts against that key, with root's other keys.
    let counted = s.sessions.list().remove(0);
    assert!(
        counted.person.starts_with("root with key SHA256:"),
        "{}",
        counted.person
    );
    assert_eq!(counted.keys_account.as_deref(), Some("uid 0"));
    p.kill().unwrap();
    p.wait().unwrap();
}

#[test]
fn a_locked_login_gets_no_session() {
    let s = state(&bundle(LOCK_ALICE));
    let mut p = leader();
    let r = hook(&s, p.id(), 0, PamHook::OpenSession);
    assert!(is_deny(&r, "offboarded"), "{r:?}");
    assert!(crate::sessions::live(&s).is_empty());
    // Nor for a non-root peer (which never registers).
    let r = hook(&s, p.id(), 1000, PamHook::OpenSession);
    assert!(is_deny(&r, "offboarded"), "{r:?}");
    p.kill().unwrap();
    p.wait().unwrap();
}

#[test]
fn a_non_root_peer_is_checked_but_not_registered() {
    let s = state(&bundle(""));
    let mut p = leader();
    assert_eq!(hook(&s, p.id(), 1000, PamHook::OpenSession), ALLOW);
    assert!(crate::sessions::live(&s).is_empty());
    p.kill().unwrap();
    p.wait().unwrap();
}

#[test]
fn a_session_whose_process_exits_is_pruned() {
    let s = state(&bundle(""));
    let mut p = leader();
    assert_eq!(hook(&s, p.id(), 0, PamHook::OpenSession), ALLOW);
    p.kill().unwrap();
    p.wait().unwrap();
    assert!(crate::sessions::live(&s).is_empty());
}

#[test]
fn enforce_ends_what_a_new_lock_targets_and_nothing_else() {
    let s = state(&bundle(""));
    let mut p = leader();
    assert_eq!(hook(&s, p.id(), 0, PamHook::OpenSession), ALLOW);
    // A lock on someone else: the session stays.
    install(&s, &bundle(LOCK_BOB));
    crate::sessions::enforce(&s);
    assert_eq!(p.try_wait().unwrap(), None);
    assert_eq!(crate::sessions::live(&s)[0].ending, None);
    // A lock on alice: SIGHUP at once.
    install(&s, &bundle(LOCK_ALICE));
    let t0 = Instant::now();
    crate::sessions::enforce(&s);
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "enforce must not wait for the grace"
    );
    let st = p.wait().unwrap();
    assert_eq!(st.signal(), Some(1), "SIGHUP");
    // Gone: pruned on the next read.
    assert!(crate::sessions::live(&s).is_empty());
}

#[test]
fn what_ignores_sighup_is_killed_after_the_grace() {
    let s = state(&bundle(""));
    // The session starts once the shell ignores SIGHUP: a hangup sent
    // before its `trap` ran would end it, and no session would be left.
    let mut p = Command::new("sh")
        .args(["-c", "trap '' HUP; echo ready; sleep 60 & wait; sleep 60"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(p.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready, "ready\n");
    assert_eq!(hook(&s, p.id(), 0, PamHook::OpenSession), ALLOW);
    install(&s, &bundle(LOCK_ALICE));
    crate::sessions::enforce(&s);
    assert!(crate::sessions::live(&s)[0].ending.is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = p.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "not killed after the 1s grace");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(st.signal(), Some(9), "SIGKILL");
}

/// A cap in `locking_mode`, for the stale-lock-view rules.
fn cap(mode: &str) -> String {
    format!("---\nkind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  locking_mode: {mode}\n")
}

/// Teleport's strict mode: when the lock view is not known to be current,
/// live sessions end (and new ones are refused); best_effort keeps them.
#[test]
fn a_stale_lock_view_ends_sessions_only_in_strict_mode() {
    for (mode, ends) in [("strict", true), ("best_effort", false)] {
        let s = state(&bundle(&cap(mode)));
        let mut p = leader();
        assert_eq!(hook(&s, p.id(), 0, PamHook::OpenSession), ALLOW);
        // The source last confirmed the bundle an hour ago: older than
        // lock_view_max_age (5m by default), younger than
        // max_staleness (24h).
        let ago = SystemTime::now() - Duration::from_secs(3600);
        s.store.record_contact(ago);
        crate::sessions::enforce(&s);
        if ends {
            let deadline = Instant::now() + Duration::from_secs(10);
            let st = loop {
                if let Some(st) = p.try_wait().unwrap() {
                    break st;
                }
                assert!(
                    Instant::now() < deadline,
                    "{mode}: the session was not ended"
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            assert_eq!(st.signal(), Some(1), "{mode}: SIGHUP");
            let r = hook(&s, std::process::id(), 0, PamHook::OpenSession);
            assert!(is_deny(&r, "cannot confirm the cluster's locks"), "{r:?}");
        } else {
            assert_eq!(p.try_wait().unwrap(), None, "{mode}: still running");
            assert_eq!(crate::sessions::live(&s)[0].ending, None);
            p.kill().unwrap();
            p.wait().unwrap();
        }
    }
}

/// Past `max_staleness` too, the locking mode is each person's (Teleport's
/// `RoleSet.LockingMode`): a strict role alice does not hold leaves her
/// best-effort session alone; a strict cap ends it.
#[test]
fn a_stale_policy_ends_only_the_sessions_of_strict_persons() {
    let strict_role = "---\nkind: role\nversion: v7\nmetadata: {name: locker}\nspec:\n  options:\n    lock: strict\n";
    for (extra, ends) in [(strict_role.to_owned(), false), (cap("strict"), true)] {
        let s = state(&bundle(&extra));
        let mut p = leader();
        assert_eq!(hook(&s, p.id(), 0, PamHook::OpenSession), ALLOW);
        // Last confirmed 25 hours ago: past max_staleness (24h).
        s.store
            .record_contact(SystemTime::now() - Duration::from_secs(25 * 3600));
        crate::sessions::enforce(&s);
        // An ended session's leader gets SIGHUP at once.
        let deadline = Instant::now() + Duration::from_secs(2);
        let hung_up = loop {
            if let Some(st) = p.try_wait().unwrap() {
                break st.signal() == Some(1);
            }
            if Instant::now() > deadline {
                p.kill().unwrap();
                p.wait().unwrap();
                break false;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(hung_up, ends, "{extra}");
    }
}

/// Teleport computes a session's lock targets once, when it starts
/// (`ComputeLockTargets`): a lock on a role alice held then ends her
/// session even after the role was taken from her.
#[test]
fn a_lock_on_a_role_held_at_the_start_ends_the_session() {
    let s = state(&bundle(""));
    let mut p = leader();
    assert_eq!(hook(&s, p.id(), 0, PamHook::OpenSession), ALLOW);
    let other = "---\nkind: role\nversion: v7\nmetadata: {name: other}\nspec:\n  allow:\n    logins: [root]\n    node_labels: {env: prod}\n";
    let lock_prod =
        "---\nkind: lock\nversion: v2\nmetadata: {name: l3}\nspec:\n  target: {role: prod}\n";
    let later = bundle(&format!("{other}{lock_prod}")).replace("roles: [prod]", "roles: [other]");
    install(&s, &later);
    crate::sessions::enforce(&s);
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = p.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "the session was not ended");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(st.signal(), Some(1), "SIGHUP");
}
