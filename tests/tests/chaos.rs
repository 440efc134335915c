//! Chaos (issue 11 item 4): the agent killed mid-conversation, the wall
//! clock stepped back and forward, the policy file replaced while it is
//! read (the state directory full or read-only: `chaos_state_dir.rs`). Each case says what
//! must hold: fail closed within the deadline, taps still verified or
//! refused with a clear audit line, counters never silently reset,
//! challenges and reuse never stretched by a clock step, a torn policy never
//! replacing a good one.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use common::*;
use mfa_agent::challenge::Challenge;
use mfa_agent::login::{ConnectionKey, KeyClass, ReuseCache};
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

fn auth_stack(work: &WorkDir, service: &str, socket: &Path, fail_open: bool) -> PamStack {
    let module = bins::pam_module();
    bins::require(&module);
    let text = if fail_open {
        format!(
            "auth required {} {}\nauth required pam_permit.so\n",
            module.display(),
            module_args(socket, "fail_mode=open")
        )
    } else {
        format!(
            "auth required {} {}\n",
            module.display(),
            module_args(socket, "")
        )
    };
    PamStack::new(work, service, &text)
}

/// The agent is SIGKILLed while the module waits inside the conversation
/// (the person is reading the challenge prompt): the module's answer meets
/// a dead connection, and the login fails closed (PAM_AUTH_ERR, even with
/// fail_mode=open) within its deadline. Afterwards there is no agent at all
/// (a stale socket nobody listens on): that, and only that, is where the
/// fail mode applies.
#[test]
fn the_agent_killed_mid_conversation_fails_closed_within_the_deadline() {
    require_root!();
    let work = WorkDir::new("chaos-kill");
    let user = TestUser::create();
    let key = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let closed_service = unique_name("sudo-mfat");
    let open_service = unique_name("sudo-open-mfat");
    let mut agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod")
            .service(&closed_service, "admin")
            .service(&open_service, "admin"),
        &bundle(&user.name, "false", "true", &[&key]),
    );
    let closed = auth_stack(&work, &closed_service, &agent.socket, false);
    let open = auth_stack(&work, &open_service, &agent.socket, true);
    let mut sudo = HarnessRun::new(&user.name, "auth");
    sudo.ruser = Some(user.name.clone());
    sudo.answers = vec!["not-a-real-answer".into()];
    const HOLD: u64 = 2;
    for stack in [&closed, &open] {
        let out_path = work.path().join(unique_name("kill-") + ".out");
        let mut cmd = stack.command(&sudo);
        // Inside an SSH session: the challenge prompt, held 2 s.
        cmd.args(["--hold-on-prompt", &HOLD.to_string()])
            .env("SSH_CONNECTION", "127.0.0.1 50000 127.0.0.1 22")
            .stdin(Stdio::null())
            .stdout(File::create(&out_path).unwrap())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn pam-harness");
        let read = || std::fs::read_to_string(&out_path).unwrap_or_default();
        wait_for(Duration::from_secs(20), "the challenge prompt", || {
            read().contains("CONV: holding")
        });
        let pid = agent.pid().expect("agent running");
        // SAFETY: kill by PID of the agent this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        let killed = Instant::now();
        let bound = Duration::from_secs(HOLD + MODULE_TIMEOUT + 5);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if killed.elapsed() > bound {
                let _ = child.kill();
                panic!("the module did not return within {bound:?}:\n{}", read());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let text = read();
        assert!(!status.success(), "{text}");
        assert!(text.contains("RESULT auth=PAM_AUTH_ERR"), "{text}");
        // Not a deny from a live agent: nothing answered the answer.
        assert!(!text.contains("ERROR:"), "{text}");
        // No agent at all now (the socket file is stale): the fail mode.
        let mut bare = sudo.clone();
        bare.answers.clear();
        let out = closed.run(&bare);
        assert_eq!(
            out.result("auth"),
            "PAM_AUTHINFO_UNAVAIL",
            "{}",
            out.describe()
        );
        let out = open.run(&bare);
        assert_eq!(out.result("auth"), "PAM_SUCCESS", "{}", out.describe());
        agent.stop();
        agent.spawn();
    }
}

/// The agent is stopped (SIGSTOP: accepted connections wait in its
/// backlog) and then SIGKILLed while a login waits for its first answer:
/// the module sees its connection closed before any response. That is a
/// failure, never "unreachable": a stack with fail_mode=open and pam_permit
/// after it still refuses the login.
#[test]
fn the_agent_killed_before_its_first_answer_is_a_failure_even_open() {
    require_root!();
    let work = WorkDir::new("chaos-first");
    let user = TestUser::create();
    let key = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let service = unique_name("sudo-open-mfat");
    let mut agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod").service(&service, "admin"),
        &bundle(&user.name, "false", "true", &[&key]),
    );
    let open = auth_stack(&work, &service, &agent.socket, true);
    let mut sudo = HarnessRun::new(&user.name, "auth");
    sudo.ruser = Some(user.name.clone());
    let pid = agent.pid().expect("agent running");
    // SAFETY: signals by PID to the agent this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let out_path = work.path().join("first.out");
    let mut child = open
        .command(&sudo)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pam-harness");
    // The module has connected (into the backlog) and sent begin.
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the module waits");
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(MODULE_TIMEOUT + 5),
            "the module did not return"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&out_path).unwrap();
    assert!(!status.success(), "{text}");
    assert!(text.contains("RESULT auth=PAM_AUTH_ERR"), "{text}");
    agent.stop();
}

/// A challenge lives its ttl by the monotonic clock too: the wall clock
/// stepped back (by an hour) does not keep it alive, and stepped forward
/// it ends it early (the person taps again; never a longer life).
#[test]
fn a_clock_step_never_stretches_a_challenge() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let ttl = Duration::from_secs(60);
    let issued = Instant::now();
    let c = Challenge::new("n", "jerry", [1; 16], t0, ttl);
    let hour = Duration::from_secs(3600);
    assert!(!c.is_expired_at(t0 + Duration::from_secs(59), issued));
    // Stepped back an hour, 61 s after it was issued (monotonic).
    assert!(c.is_expired_at(t0 - hour, issued + Duration::from_secs(61)));
    // Stepped forward an hour right after it was issued.
    assert!(c.is_expired_at(t0 + hour, issued));
}

/// The reuse window counts by the wall clock and never grows by a step: a
/// tap recorded before the clock went back is not reused (its age would be
/// negative), nor after the clock jumped forward past the window.
#[test]
fn a_clock_step_never_stretches_the_reuse_window() {
    let cache = ReuseCache::default();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let window = Duration::from_secs(300);
    let rhost = Some("10.0.0.7");
    let jerry = ConnectionKey::new("jerry", "AAAAC3NzaC1lZDI1NTE5AAAAIA==").unwrap();
    cache.record(&jerry, "jerry", rhost, KeyClass::Touch, "k1", t0);
    let at = |now| cache.lookup(&jerry, "jerry", rhost, window, now);
    assert!(at(t0 + Duration::from_secs(10)).is_some());
    assert!(at(t0 - Duration::from_secs(10)).is_none());
    assert!(at(t0 + Duration::from_secs(3600)).is_none());
}

/// A grant (the auth phase's tap, honoured by the account phase of the
/// same process) never outlives its ttl by a clock step: not taken with
/// the clock stepped back before it, nor an hour forward.
#[test]
fn a_clock_step_never_stretches_a_grant() {
    use mfa_agent::login::Grants;
    let grants = Grants::default();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let pid = std::process::id() as i32;
    let take = |now: SystemTime| grants.take("sudo-t", "jerry", None, pid, now);
    grants.record("sudo-t", "jerry", None, pid, "jerry", "tap_x", None, t0);
    assert!(take(t0 - Duration::from_secs(10)).is_none(), "clock back");
    assert!(
        take(t0 + Duration::from_secs(3600)).is_none(),
        "clock forward"
    );
    assert!(take(t0 + Duration::from_secs(1)).is_some(), "in time");
}

/// The policy directory's files are replaced (renamed over) while the agent
/// reads them: a lock moves from one file to the other, added to the new
/// file before it is taken from the old, so every state on disk holds it.
/// A read that mixed two states could see it in neither; no bundle the
/// agent accepts may lack it.
#[test]
fn a_policy_replaced_while_it_is_read_never_loses_a_lock() {
    use pam_mfa_e2e::agent::Bundle;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = scratch("policy");
    let roles = bundle("jerry", "false", "true", &[]).to_yaml();
    let lock = |name: &str| {
        Bundle::new()
            .lock_login(name, "jerry", "offboarded")
            .to_yaml()
    };
    let spare = |name: &str| {
        Bundle::new()
            .role(name, &[("env", "none")], &["nobody"], None)
            .to_yaml()
    };
    let put = |name: &str, text: &str| {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    };
    put("a.yaml", &roles);
    put("b.yaml", &lock("lock-b"));
    put("c.yaml", &spare("spare-c"));
    // Files read between b.yaml and c.yaml: the window in which a read can
    // mix two states.
    for i in 0..50 {
        put(&format!("bf-{i:03}.yaml"), &spare(&format!("filler-{i}")));
    }
    let source = mfa_agent::config::PolicySource::Path(dir.clone());
    let stop = AtomicBool::new(false);
    let (accepted, refused) = std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                // To the lock in c.yaml only, then back to b.yaml only,
                // each held a little (a read taking b.yaml from the first
                // and c.yaml from the second would see no lock).
                put("c.yaml", &lock("lock-c"));
                put("b.yaml", &spare("spare-b"));
                std::thread::sleep(Duration::from_millis(3));
                put("b.yaml", &lock("lock-b"));
                put("c.yaml", &spare("spare-c"));
                std::thread::sleep(Duration::from_millis(3));
            }
        });
        let (mut accepted, mut refused) = (0, 0);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            match mfa_agent::state::load_from_source(&source) {
                Ok(b) => {
                    accepted += 1;
                    assert!(!b.locks().is_empty(), "a bundle without the lock");
                }
                Err(_) => refused += 1,
            }
        }
        stop.store(true, Ordering::Relaxed);
        (accepted, refused)
    });
    eprintln!("policy reads during the churn: {accepted} accepted, {refused} refused");
    // At rest, the read is accepted.
    let b = mfa_agent::state::load_from_source(&source).expect("a quiet directory loads");
    assert_eq!(b.locks().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn scratch(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique_name(&format!("pam-mfa-chaos-{label}-")));
    std::fs::create_dir_all(&d).unwrap();
    d
}
