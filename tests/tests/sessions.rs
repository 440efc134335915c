//! Live sessions through a real sshd: pam_mfa.so in sshd's `session` stack
//! registers the login with the agent (`mfactl sessions` lists it), a normal
//! logout removes it, and a lock that arrives in the bundle (file source or
//! the HTTPS source, 1 s poll) ends the open SSH session; a role change
//! that removes the access does not (Teleport's session monitor).

mod common;
#[path = "sessions/strict.rs"]
mod strict;
#[path = "sessions/world.rs"]
mod world;

use std::thread;
use std::time::{Duration, Instant};

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{require_root, unique_name};
use world::*;

#[test]
fn a_lock_ends_the_open_session_within_a_poll_and_another_users_lock_does_not() {
    require_root!();
    let w = start("sessions-lock");
    thread::scope(|scope| {
        let client = scope.spawn(|| w.ssh("sleep 300", Duration::from_secs(60)));
        let s = w.wait_listed();
        assert_session_fields(&w, &s);
        // A lock on another cluster user: loaded, and the session stays.
        let other = w.base_bundle().raw(&lock_user("someone-else", "not you"));
        w.write_bundle(&other);
        w.wait_policy_loads(2, "the other user's lock");
        thread::sleep(POLL + END_MARGIN);
        assert!(
            !client.is_finished(),
            "a lock on someone else ended the session"
        );
        assert_eq!(w.my_sessions().len(), 1, "{}", w.post_mortem());
        // A lock on this user: the session ends within one poll + 2 s.
        let locked = other.raw(&lock_user(&w.user.name, "offboarded"));
        let written = Instant::now();
        w.write_bundle(&locked);
        let out = client.join().expect("ssh thread");
        let took = written.elapsed();
        eprintln!(
            "SESSIONS-FIGURE lock written -> ssh exited: {} ms",
            took.as_millis()
        );
        assert!(
            took < POLL + END_MARGIN,
            "the session outlived the lock by {took:?}\n{}\n{}",
            out.describe(),
            w.post_mortem()
        );
        assert!(!out.success(), "{}", out.describe());
    });
    let ended = wait_event(&w, "session_ended");
    assert_eq!(field(&ended, "result"), "ended", "{ended}");
    assert_eq!(field(&ended, "user"), w.user.name, "{ended}");
    assert!(field(&ended, "reason").contains("offboarded"), "{ended}");
    assert!(field(&ended, "reason").starts_with("locked"), "{ended}");
    assert!(!field(&ended, "session").is_empty(), "{ended}");
    // Its processes are gone, so it is no longer listed.
    let gone = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        w.my_sessions().is_empty()
    });
    assert!(gone, "{:?}\n{}", w.my_sessions(), w.post_mortem());
    // And a new login is refused while the lock holds.
    let again = w.ssh("true", Duration::from_secs(20));
    assert_eq!(again.exit_code(), Some(255), "{}", again.describe());
}

#[test]
fn a_lock_served_over_https_ends_the_open_session_within_a_poll_plus_two_seconds() {
    require_root!();
    let w = start_with("sessions-https-lock", true);
    let status = w.agent.mfactl(&["status", "--json"]);
    assert!(
        status.stdout.contains("https://127.0.0.1:"),
        "the agent is not on the HTTPS source: {}",
        status.stdout
    );
    let locked = w.base_bundle().raw(&lock_user(&w.user.name, "offboarded"));
    let (out, took) = end_by_bundle_change(&w, &locked);
    eprintln!(
        "SESSIONS-FIGURE https lock served -> ssh exited: {} ms",
        took.as_millis()
    );
    assert!(
        took < POLL + END_MARGIN,
        "the session outlived the served lock by {took:?}\n{}\n{}",
        out.describe(),
        w.post_mortem()
    );
    assert!(!out.success(), "{}", out.describe());
    let ended = wait_event(&w, "session_ended");
    assert!(field(&ended, "reason").contains("offboarded"), "{ended}");
    let pulls = w.server.as_ref().map(|s| s.counts().full).unwrap_or(0);
    assert!(
        pulls >= 2,
        "the lock was not fetched over HTTPS ({pulls} pulls)"
    );
}

/// Teleport's session monitor (lib/srv/monitor.go) ends a session only on
/// a lock, a strict stale lock view or its certificate's end: a role
/// change that removes the access refuses new logins and leaves the open
/// session alone. A lock then still ends it.
#[test]
fn a_role_change_that_removes_access_leaves_the_open_session() {
    require_root!();
    let w = start("sessions-role");
    let dev_only = bundle_with_roles(&w.user.name, &["access-dev"], &w.sk);
    thread::scope(|scope| {
        let client = scope.spawn(|| w.ssh("sleep 300", Duration::from_secs(60)));
        let s = w.wait_listed();
        assert_session_fields(&w, &s);
        w.write_bundle(&dev_only);
        w.wait_policy_loads(2, "the role change");
        // A new login is refused under the new roles...
        let again = w.ssh("true", Duration::from_secs(20));
        assert_eq!(again.exit_code(), Some(255), "{}", again.describe());
        // ... and the open session goes on past a poll and a check.
        thread::sleep(POLL + END_MARGIN);
        assert!(
            !client.is_finished(),
            "the role change ended the session\n{}",
            w.post_mortem()
        );
        assert_eq!(w.my_sessions().len(), 1, "{}", w.post_mortem());
        // A lock on the user still ends it.
        w.write_bundle(&dev_only.raw(&lock_user(&w.user.name, "offboarded")));
        let out = client.join().expect("ssh thread");
        assert!(!out.success(), "{}", out.describe());
    });
    let ended = wait_event(&w, "session_ended");
    assert!(field(&ended, "reason").starts_with("locked"), "{ended}");
}

#[test]
fn a_normal_logout_removes_the_session() {
    require_root!();
    let w = start("sessions-logout");
    thread::scope(|scope| {
        let client = scope.spawn(|| w.ssh("sleep 3", Duration::from_secs(60)));
        let s = w.wait_listed();
        assert_session_fields(&w, &s);
        let out = client.join().expect("ssh thread");
        assert!(out.success(), "{}\n{}", out.describe(), w.post_mortem());
    });
    let closed = wait_event(&w, "session_closed");
    assert_eq!(
        field(&closed, "reason"),
        "closed by close_session",
        "{closed}"
    );
    assert!(w.my_sessions().is_empty(), "{:?}", w.my_sessions());
    let events = w.agent.audit_events();
    assert!(
        !events.iter().any(|e| field(e, "event") == "session_ended"),
        "{}",
        w.agent.audit_text()
    );
    // The open_session decision was audited with what the login proved.
    let opened = events
        .iter()
        .find(|e| field(e, "hook") == "open_session" && field(e, "login") == w.user.name)
        .unwrap_or_else(|| panic!("no open_session decision\n{}", w.agent.audit_text()));
    assert_eq!(field(opened, "result"), "allow", "{opened}");
    assert!(field(opened, "evidence").starts_with("ssh_sk_"), "{opened}");
}

/// `ssh ... sleep 300` on a thread of its own (with its own work dir), so
/// the test can restart the agent meanwhile.
fn spawn_client(w: &World) -> thread::JoinHandle<(SshOutcome, Instant)> {
    let mut login = SshLogin::new(w.sshd.port, &w.user.name, &w.sk);
    login.timeout = Duration::from_secs(60);
    thread::spawn(move || {
        let work = WorkDir::new("sessions-client");
        let out = login.run(&work, "sleep 300");
        (out, Instant::now())
    })
}

#[test]
fn a_restarted_agent_still_ends_the_session() {
    require_root!();
    let mut w = start("sessions-restart");
    let client = spawn_client(&w);
    let before = w.wait_listed();
    assert_session_fields(&w, &before);
    // An upgrade restarts the agent: it takes the live session over.
    w.agent.stop();
    w.agent.spawn();
    let after = w.wait_listed();
    assert_eq!(after["id"], before["id"], "{after}");
    assert_eq!(after["pid"], before["pid"], "{after}");
    assert!(
        w.agent.log().contains("took over 1 live session"),
        "{}",
        w.agent.log()
    );
    let written = Instant::now();
    w.write_bundle(&w.base_bundle().raw(&lock_user(&w.user.name, "offboarded")));
    let (out, exited) = client.join().expect("ssh thread");
    let took = exited.duration_since(written);
    eprintln!(
        "SESSIONS-FIGURE lock after agent restart -> ssh exited: {} ms",
        took.as_millis()
    );
    assert!(
        took < POLL + END_MARGIN,
        "the session outlived the lock by {took:?}\n{}\n{}",
        out.describe(),
        w.post_mortem()
    );
    let ended = wait_event(&w, "session_ended");
    assert_eq!(
        field(&ended, "session"),
        before["id"].as_str().unwrap(),
        "{ended}"
    );
}

/// The agent is SIGKILLed (no shutdown code runs) with a live session and
/// started again: the session journal, appended as the session opened,
/// still holds it, so the new agent takes it over and a lock still ends it.
#[test]
fn a_sigkilled_agent_restarted_takes_the_session_over() {
    require_root!();
    let mut w = start("sessions-sigkill");
    let client = spawn_client(&w);
    let before = w.wait_listed();
    let pid = w.agent.pid().expect("agent running");
    // SAFETY: kill by PID of the agent this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    w.agent.stop();
    w.agent.spawn();
    let after = w.wait_listed();
    assert_eq!(after["id"], before["id"], "{after}");
    assert!(
        w.agent.log().contains("took over 1 live session"),
        "{}",
        w.agent.log()
    );
    w.write_bundle(&w.base_bundle().raw(&lock_user(&w.user.name, "offboarded")));
    let (out, _) = client.join().expect("ssh thread");
    let ended = wait_event(&w, "session_ended");
    assert_eq!(
        field(&ended, "session"),
        before["id"].as_str().unwrap(),
        "{ended}\n{}",
        out.describe()
    );
}

#[test]
fn a_tapped_login_records_the_tap_as_its_evidence() {
    require_root!();
    let w = start("sessions-tap");
    let ssh_agent = TestSshAgent::start(w.work.path(), None);
    ssh_agent.add(&w.sk, None);
    thread::scope(|scope| {
        let client = scope.spawn(|| {
            SshLogin::new(w.sshd.port, &w.user.name, &w.plain)
                .tap(bins::require(&bins::mfactl()), &ssh_agent.socket)
                .run(&w.work, "sleep 3")
        });
        let s = w.wait_listed();
        assert_eq!(field(&s, "evidence"), "grant_tap_ssh_sk_touch", "{s}");
        assert_eq!(field(&s, "user"), w.user.name, "{s}");
        let out = client.join().expect("ssh thread");
        assert!(out.success(), "{}\n{}", out.describe(), w.post_mortem());
    });
    wait_event(&w, "session_closed");
}

/// Linux-PAM's own pam_open_session/pam_close_session (pam-harness) with
/// pam_mfa.so in the session stack: allowed and recorded; refused with
/// PAM_SESSION_ERR once a lock holds, and audited.
#[test]
fn open_session_through_linux_pam_is_refused_for_a_locked_login() {
    require_root!();
    use pam_mfa_e2e::pam_stack::{HarnessRun, PamStack};
    let work = WorkDir::new("sessions-pam");
    let login = unique_name("mfats");
    let service = unique_name("svc-mfat");
    let config = AgentConfig::with_env("dev").service(&service, "ssh");
    let dev = Bundle::new()
        .role(
            "access-dev",
            &[("env", "dev")],
            &["{{internal.logins}}"],
            None,
        )
        .cap("false")
        .user(&login, &["access-dev"], &[&login]);
    let agent = Agent::start(&work, &config, &dev);
    let m = bins::pam_module();
    bins::require(&m);
    let stack = PamStack::new(
        &work,
        &service,
        &format!(
            "session required {} {}\n",
            m.display(),
            module_args(&agent.socket, "")
        ),
    );
    let mut run = HarnessRun::new(&login, "session");
    run.rhost = Some("192.0.2.7".into());
    let ok = stack.run(&run);
    assert_eq!(ok.result("session"), "PAM_SUCCESS", "{}", ok.describe());
    let opened = agent
        .wait_audit(Duration::from_secs(5), |e| {
            field(e, "hook") == "open_session" && field(e, "login") == login
        })
        .unwrap_or_else(|| panic!("no open_session decision\n{}", agent.audit_text()));
    assert_eq!(field(&opened, "result"), "allow", "{opened}");
    assert!(field(&opened, "reason").contains("registered"), "{opened}");
    let closed = agent
        .wait_audit(Duration::from_secs(5), |e| {
            field(e, "event") == "session_closed" && field(e, "login") == login
        })
        .unwrap_or_else(|| panic!("no session_closed\n{}", agent.audit_text()));
    assert_eq!(field(&closed, "rhost"), "192.0.2.7", "{closed}");
    assert_eq!(
        field(&closed, "reason"),
        "closed by close_session",
        "{closed}"
    );

    agent.update_bundle(&dev.raw(&lock_user(&login, "incident 42")));
    let refused = stack.run(&run);
    assert_eq!(
        refused.result("session"),
        "PAM_SESSION_ERR",
        "{}",
        refused.describe()
    );
    assert!(
        refused.errors.iter().any(|e| e.contains("incident 42")),
        "the refusal says why: {:?}",
        refused.errors
    );
    let denied = agent
        .wait_audit(Duration::from_secs(5), |e| {
            field(e, "hook") == "open_session" && field(e, "result") == "deny"
        })
        .unwrap_or_else(|| panic!("no open_session denial\n{}", agent.audit_text()));
    assert!(field(&denied, "reason").contains("incident 42"), "{denied}");
    let f = agent.mfactl(&["sessions"]);
    assert!(f.success(), "{} {}", f.stdout, f.stderr);
    assert_eq!(f.stdout, "no live sessions\n");
}
