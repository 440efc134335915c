//! Tests of the session registry (open, close, prune, caps, the journal).
use super::*;
use std::sync::atomic::AtomicI32;
use std::time::{Duration, SystemTime};

use crate::policy::ServiceClass;

/// Processes "alive" in these tests: pid == start, and the pid is not
/// the one marked dead.
static DEAD: AtomicI32 = AtomicI32::new(-1);

fn fake_alive(p: ProcId) -> bool {
    p.start == p.pid as u64 && p.pid != DEAD.load(Ordering::Relaxed)
}

pub(crate) fn session(pid: i32, start: u64, account: &str) -> Session {
    Session {
        id: String::new(),
        leader: ProcId { pid, start },
        account: account.into(),
        login: account.into(),
        class: ServiceClass::Ssh,
        user: Some(account.into()),
        person: account.into(),
        keys_account: None,
        identity: None,
        lock_roles: Vec::new(),
        terms: None,
        device: None,
        evidence: "none needed".into(),
        service: "sshd".into(),
        tty: Some("ssh".into()),
        rhost: Some("10.0.0.1".into()),
        opened: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ending: None,
    }
}

#[test]
fn open_close_and_pid_reuse() {
    let r = SessionRegistry::with_liveness(fake_alive);
    let a = r.open(session(100, 100, "jerry")).unwrap();
    let b = r.open(session(200, 200, "tom")).unwrap();
    assert_ne!(a, b);
    assert_eq!(r.list().len(), 2);
    // The same pid with another start time is another process: it
    // cannot close jerry's session.
    assert!(r
        .close(ProcId { pid: 100, start: 7 }, "sshd", "jerry")
        .is_empty());
    assert!(r
        .close(
            ProcId {
                pid: 100,
                start: 100
            },
            "sudo",
            "jerry"
        )
        .is_empty());
    let closed = r.close(
        ProcId {
            pid: 100,
            start: 100,
        },
        "sshd",
        "jerry",
    );
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].id, a);
    let left: Vec<String> = r.list().into_iter().map(|s| s.id).collect();
    assert_eq!(left, vec![b]);
}

#[test]
fn a_reused_pid_does_not_keep_a_session_alive() {
    let r = SessionRegistry::with_liveness(fake_alive);
    // Registered for pid 300 started at 300; /proc now shows pid 300
    // with another start time (fake_alive says no): pruned.
    r.open(session(300, 299, "jerry")).unwrap();
    r.open(session(301, 301, "jerry")).unwrap();
    let listed = r.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].leader.pid, 301);
}

#[test]
fn gone_processes_are_pruned() {
    let r = SessionRegistry::with_liveness(fake_alive);
    r.open(session(400, 400, "jerry")).unwrap();
    r.open(session(401, 401, "tom")).unwrap();
    DEAD.store(400, Ordering::Relaxed);
    let gone = r.prune();
    DEAD.store(-1, Ordering::Relaxed);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].account, "jerry");
    assert_eq!(r.list().len(), 1);
}

#[test]
fn reopen_replaces_and_ending_is_marked_once() {
    let r = SessionRegistry::with_liveness(fake_alive);
    r.open(session(500, 500, "jerry")).unwrap();
    let id = r.open(session(500, 500, "jerry")).unwrap();
    assert_eq!(r.list().len(), 1);
    let first = r.mark_ending(&[(id.clone(), "locked".into())]);
    assert_eq!(first.len(), 1);
    assert!(r.mark_ending(&[(id.clone(), "locked".into())]).is_empty());
    assert_eq!(r.list()[0].ending.as_deref(), Some("locked"));
    assert_eq!(r.list()[0].info().ending.as_deref(), Some("locked"));
    assert!(r.remove(&id).is_some());
    assert!(r.list().is_empty());
}

#[test]
fn a_restarted_agent_takes_over_the_live_sessions() {
    let d = std::env::temp_dir().join(format!(
        "pam-mfa-registry-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir(&d).unwrap();
    let path = d.join("agent.sessions.json");
    let first = SessionRegistry::with_liveness(fake_alive);
    first.attach_file(&path).unwrap();
    let kept = first.open(session(600, 600, "jerry")).unwrap();
    first.open(session(601, 1, "gone")).unwrap(); // its process is not running
    let ending = first.open(session(602, 602, "tom")).unwrap();
    first.mark_ending(&[(ending.clone(), "locked".into())]);
    let second = SessionRegistry::with_liveness(fake_alive);
    assert_eq!(second.attach_file(&path).unwrap(), 2);
    let back = second.list();
    let ids: Vec<&str> = back.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [kept.as_str(), ending.as_str()]);
    assert!(back.iter().all(|s| s.ending.is_none()), "judged afresh");
    // Ids keep counting up; closing is written through.
    let newer = second.open(session(603, 603, "ann")).unwrap();
    assert!(!ids.contains(&newer.as_str()));
    second.close(
        ProcId {
            pid: 600,
            start: 600,
        },
        "sshd",
        "jerry",
    );
    let third = SessionRegistry::with_liveness(fake_alive);
    assert_eq!(third.attach_file(&path).unwrap(), 2);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn one_user_and_one_invoking_person_are_capped() {
    let r = SessionRegistry::with_liveness(fake_alive);
    for pid in 1000..1000 + MAX_SESSIONS_PER_USER as i32 {
        let mut s = session(pid, pid as u64, "jerry");
        s.person = format!("key {pid}");
        r.open(s).unwrap();
    }
    let err = r.open(session(5000, 5000, "jerry")).unwrap_err();
    assert!(err.contains("jerry already has"), "{err}");
    // Someone else still opens sessions.
    r.open(session(5001, 5001, "tom")).unwrap();
    // The cap counts the invoking person too: tom's sudo sessions as many
    // different cluster users (accounts) are capped by tom.
    for pid in 6000..6000 + MAX_SESSIONS_PER_PERSON as i32 - 1 {
        let mut s = session(pid, pid as u64, "tom");
        s.user = Some(format!("acct{pid}"));
        r.open(s).unwrap();
    }
    let mut s = session(9000, 9000, "tom");
    s.user = Some("fresh".into());
    let err = r.open(s).unwrap_err();
    assert!(err.contains("tom already opened"), "{err}");
    // A closed session frees its place.
    r.close(
        ProcId {
            pid: 1000,
            start: 1000,
        },
        "sshd",
        "jerry",
    );
    r.open(session(5000, 5000, "jerry")).unwrap();
}

/// A session of the shared account `deploy` that showed no cluster user
/// (sshd's login with a plain key) by `person`, with `deploy`'s keys.
fn deploy_session(pid: i32, person: &str) -> Session {
    let mut s = session(pid, pid as u64, "deploy");
    s.user = None;
    s.person = person.into();
    s.keys_account = Some("uid 1003".into());
    s
}

/// One holder of the shared account `deploy` opening as many sessions as
/// they may (with their own key) leaves the others who log in to it,
/// with their keys or without one, their own: the cap is per person, not
/// per account. All of the account's keys together stop at
/// MAX_SESSIONS_PER_KEYS_ACCOUNT, short of the host's MAX_SESSIONS.
#[test]
fn one_holder_of_a_shared_account_leaves_the_others_their_sessions() {
    const { assert!(MAX_SESSIONS_PER_KEYS_ACCOUNT < MAX_SESSIONS) };
    let r = SessionRegistry::with_liveness(fake_alive);
    let mallory = "deploy with key SHA256:mallory";
    let mut pid = 10_000;
    for _ in 0..MAX_SESSIONS_PER_PERSON {
        r.open(deploy_session(pid, mallory)).unwrap();
        pid += 1;
    }
    let err = r.open(deploy_session(pid, mallory)).unwrap_err();
    assert_eq!(
        err,
        format!("{mallory} already opened {MAX_SESSIONS_PER_PERSON} live sessions")
    );
    r.open(deploy_session(pid, "deploy with key SHA256:alice"))
        .unwrap();
    let mut without_key = deploy_session(pid + 1, "deploy over SSH without a key");
    without_key.keys_account = None;
    r.open(without_key).unwrap();
    // More keys of deploy's (its holder may add them) stop at the cap for
    // all of them together...
    pid += 2;
    let mut key = 0;
    while r.list().len() < MAX_SESSIONS_PER_KEYS_ACCOUNT + 1 {
        let person = format!("deploy with key SHA256:k{}", key / MAX_SESSIONS_PER_PERSON);
        r.open(deploy_session(pid, &person)).unwrap();
        (pid, key) = (pid + 1, key + 1);
    }
    let err = r
        .open(deploy_session(pid, "deploy with key SHA256:fresh"))
        .unwrap_err();
    assert!(
        err.starts_with("the keys of deploy already opened"),
        "{err}"
    );
    // ...which holds neither the account's key-less sessions nor those
    // that showed a cluster user.
    let mut without_key = deploy_session(pid, "deploy over SSH without a key");
    without_key.keys_account = None;
    r.open(without_key).unwrap();
    let mut shown = deploy_session(pid + 1, "deploy with key SHA256:jerry-sk");
    shown.user = Some("jerry".into());
    r.open(shown).unwrap();
}

fn temp_file(tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let d = std::env::temp_dir().join(format!(
        "pam-mfa-journal-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir(&d).unwrap();
    let path = d.join("agent.sessions.json");
    (d, path)
}

/// Opening a session appends one record: the file is not written whole on
/// every open (it grows by one line), until it is compacted.
#[test]
fn opening_a_session_appends_instead_of_rewriting_the_file() {
    let (d, path) = temp_file("append");
    let r = SessionRegistry::with_liveness(fake_alive);
    r.attach_file(&path).unwrap();
    for pid in 700..720 {
        r.open(session(pid, pid as u64, "jerry")).unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
    r.open(session(720, 720, "jerry")).unwrap();
    let after = std::fs::read(&path).unwrap();
    assert!(after.starts_with(&before), "the old records were rewritten");
    let added = &after[before.len()..];
    assert_eq!(added.iter().filter(|b| **b == b'\n').count(), 1);
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap()),
        inode,
        "not replaced by a rename"
    );
    // Closes append too, and a restart replays the journal.
    r.close(
        ProcId {
            pid: 700,
            start: 700,
        },
        "sshd",
        "jerry",
    );
    let again = SessionRegistry::with_liveness(fake_alive);
    assert_eq!(again.attach_file(&path).unwrap(), 20);
    assert_eq!(again.appended_since_compaction(), 0, "compacted on attach");
    std::fs::remove_dir_all(&d).unwrap();
}

/// The journal stays bounded: compacted once it outgrows the live list.
#[test]
fn the_journal_is_compacted() {
    let (d, path) = temp_file("compact");
    let r = SessionRegistry::with_liveness(fake_alive);
    r.attach_file(&path).unwrap();
    for round in 0..400 {
        let pid = 10_000 + round;
        r.open(session(pid, pid as u64, "jerry")).unwrap();
        r.close(
            ProcId {
                pid,
                start: pid as u64,
            },
            "sshd",
            "jerry",
        );
    }
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert!(lines <= 2 * 256 + 2, "{lines} lines");
    let back = SessionRegistry::with_liveness(fake_alive);
    assert_eq!(back.attach_file(&path).unwrap(), 0);
    // Ids keep counting past every id the journal held.
    let id = back.open(session(42, 42, "x")).unwrap();
    assert!(id.ends_with("-401"), "{id}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A crash mid-append leaves a torn last line: the records before it stand.
#[test]
fn a_torn_last_line_is_ignored() {
    use std::io::Write;
    let (d, path) = temp_file("torn");
    let r = SessionRegistry::with_liveness(fake_alive);
    r.attach_file(&path).unwrap();
    r.open(session(800, 800, "jerry")).unwrap();
    r.open(session(801, 801, "tom")).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"open\":{\"id\":\"80").unwrap();
    drop(f);
    let back = SessionRegistry::with_liveness(fake_alive);
    assert_eq!(back.attach_file(&path).unwrap(), 2);
    std::fs::remove_dir_all(&d).unwrap();
}
