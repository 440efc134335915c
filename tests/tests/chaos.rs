//! Chaos (issue 11 item 4): the agent killed mid-conversation, a state
//! directory that is full or read-only, the wall clock stepped back and
//! forward, the policy file replaced while it is read. Each case says what
//! must hold: fail closed within the deadline, taps still verified or
//! refused with a clear audit line, counters never silently reset,
//! challenges and reuse never stretched by a clock step, a torn policy never
//! replacing a good one.

mod common;

use std::ffi::CString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use mfa_agent::challenge::{Challenge, SignatureCounters};
use mfa_agent::login::{KeyClass, ReuseCache};
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};

/// Waits until `done`, or panics after `limit`.
fn wait_for(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

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

/// Runs `f` on a thread of its own with a private mount namespace (the
/// thread's own fs context, so the test process's other threads are not
/// affected) where mounts do not propagate back to the host.
fn in_private_mounts<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare(2) of this thread's fs context and mount
            // namespace; no memory is shared with Rust.
            let rc = unsafe { libc::unshare(libc::CLONE_FS | libc::CLONE_NEWNS) };
            assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
            sys_mount(
                None,
                Path::new("/"),
                None,
                libc::MS_REC | libc::MS_PRIVATE,
                None,
            );
            f()
        })
        .join()
        .unwrap()
    })
}

fn sys_mount(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) {
    let c = |s: Option<&str>| s.map(|s| CString::new(s).unwrap());
    let (source, fstype, data) = (c(source), c(fstype), c(data));
    let target = CString::new(target.to_str().unwrap()).unwrap();
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is a NUL-terminated string that outlives the call,
    // or null where mount(2) allows it.
    let rc = unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    };
    assert_eq!(rc, 0, "mount: {}", std::io::Error::last_os_error());
}

/// Fills the file system of `dir` until a write fails with ENOSPC.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    loop {
        match f.write_all(&block) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    path
}

fn reporting(counters: &SignatureCounters) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    counters.report_save_failures(Box::new(move |why: &str| {
        sink.lock().unwrap().push(why.to_string())
    }));
    seen
}

fn scratch(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique_name(&format!("pam-mfa-chaos-{label}-")));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The state directory fills up (ENOSPC): a tap is still verified (against
/// the counters in memory, which never go back), the failure is reported in
/// words, the file keeps its last good counters (replaced atomically, never
/// truncated, so a restart does not start from zero), and the next save
/// that works writes every counter.
#[test]
fn a_full_state_dir_keeps_the_counters_and_says_so() {
    require_root!();
    let mount = scratch("full");
    let state = mount.join("state");
    in_private_mounts(|| {
        sys_mount(
            Some("tmpfs"),
            &mount,
            Some("tmpfs"),
            0,
            Some("size=64k,mode=0700"),
        );
        let counters = SignatureCounters::default();
        let reports = reporting(&counters);
        assert_eq!(counters.persist_in(&state).unwrap(), 0);
        counters.check_and_record("jerry/k1", 5).unwrap();
        let file = state.join(mfa_agent::challenge::COUNTERS_FILE);
        let good = std::fs::read(&file).unwrap();
        let filler = fill(&mount);
        counters
            .check_and_record("jerry/k1", 6)
            .expect("a good tap is still verified");
        let said = reports.lock().unwrap().clone();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("No space left on device"), "{said:?}");
        assert!(said[0].contains("kept in memory only"), "{said:?}");
        assert_eq!(std::fs::read(&file).unwrap(), good, "the file is intact");
        assert!(
            counters.check_and_record("jerry/k1", 6).is_err(),
            "the counter in memory did not go back"
        );
        let restarted = SignatureCounters::default();
        assert_eq!(restarted.persist_in(&state).unwrap(), 1);
        assert!(
            restarted.check_and_record("jerry/k1", 5).is_err(),
            "a restart does not start from zero"
        );
        std::fs::remove_file(filler).unwrap();
        counters.check_and_record("jerry/k1", 7).unwrap();
        let caught_up = SignatureCounters::default();
        caught_up.persist_in(&state).unwrap();
        assert!(caught_up.check_and_record("jerry/k1", 7).is_err());
        assert_eq!(reports.lock().unwrap().len(), 1, "no failure once saved");
    });
    std::fs::remove_dir_all(&mount).unwrap();
}

/// The state directory is read-only: taps are still verified, and each
/// unsaved counter is a `state_write` audit event with the reason.
#[test]
fn a_read_only_state_dir_is_audited_and_taps_still_verified() {
    require_root!();
    let mount = scratch("ro");
    let state_dir = mount.join("state");
    let audit_path = std::env::temp_dir().join(unique_name("pam-mfa-chaos-audit-"));
    in_private_mounts(|| {
        sys_mount(
            Some("tmpfs"),
            &mount,
            Some("tmpfs"),
            0,
            Some("size=64k,mode=0700"),
        );
        let cfg = mfa_agent::config::AgentConfig::parse("node: {name: n}\n", "t").unwrap();
        let audit = File::create(&audit_path).unwrap();
        let state = mfa_agent::state::AgentState::new(
            cfg,
            mfa_agent::audit::AuditSink::File(Mutex::new(audit)),
            Arc::new(SystemTime::now),
        )
        .unwrap();
        let counters = &state.signature_counters;
        counters.persist_in(&state_dir).unwrap();
        counters.check_and_record("jerry/k1", 1).unwrap();
        sys_mount(None, &mount, None, libc::MS_REMOUNT | libc::MS_RDONLY, None);
        counters
            .check_and_record("jerry/k1", 2)
            .expect("a good tap is still verified");
        assert!(counters.check_and_record("jerry/k1", 2).is_err());
        let audit = std::fs::read_to_string(&audit_path).unwrap();
        let line = audit
            .lines()
            .find(|l| l.contains("\"state_write\""))
            .unwrap_or_else(|| panic!("no state_write event:\n{audit}"));
        let ev: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(ev["result"], "error", "{ev}");
        let reason = ev["reason"].as_str().unwrap();
        assert!(reason.contains("Read-only file system"), "{reason}");
        assert!(reason.contains("jerry/k1"), "{reason}");
    });
    std::fs::remove_dir_all(&mount).unwrap();
    let _ = std::fs::remove_file(&audit_path);
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
    cache.record("jerry", "jerry", rhost, KeyClass::Touch, "k1", t0);
    assert!(cache
        .lookup(
            "jerry",
            "jerry",
            rhost,
            window,
            t0 + Duration::from_secs(10)
        )
        .is_some());
    assert!(cache
        .lookup(
            "jerry",
            "jerry",
            rhost,
            window,
            t0 - Duration::from_secs(10)
        )
        .is_none());
    assert!(cache
        .lookup(
            "jerry",
            "jerry",
            rhost,
            window,
            t0 + Duration::from_secs(3600)
        )
        .is_none());
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
