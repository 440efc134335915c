//! Saving and replaying the live sessions file.

use std::os::unix::fs::PermissionsExt;
use std::time::SystemTime;

use super::*;
use crate::policy::User;
use crate::sessions::registry::tests::session as sample;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "pam-mfa-sessions-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir(&d).unwrap();
    d
}

#[test]
fn round_trip_and_refusals() {
    let d = dir();
    let path = sessions_file(&d.join("agent.sock"));
    assert_eq!(path, d.join("agent.sessions.json"));
    assert!(load(&path).unwrap().is_none());
    let mut a = sample(10, 10, "jerry");
    a.id = "10-1".into();
    a.ending = Some("locked".into());
    a.terms = Some(crate::policy::SessionTerms {
        strict: true,
        ends_at: Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_893_553_445_250)),
        idle_timeout: Some(std::time::Duration::from_secs(900)),
    });
    a.identity = Some(
        User {
            name: "jerry".into(),
            roles: ["r".into()].into(),
            traits: crate::policy::Traits::from([("logins", &["jerry"][..])]),
            ..Default::default()
        }
        // What a certificate identity carries for the re-decisions.
        .with_certificate(|c| {
            c.trusted_device = true;
            c.device_id = Some("laptop-7".into());
            c.key_policy_mfa = true;
            // A bot's instance: a lock on it ends the session after a restart.
            c.bot = true;
            c.bot_instance_id = Some("b-1".into());
            c.join_token_sha256 = Some(crate::policy::join_token_sha256("ci-token"));
            c.cert_expires =
                Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_893_553_445_250));
        }),
    );
    save(&path, &[a.clone()], 7).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (back, next) = load(&path).unwrap().unwrap();
    assert_eq!(next, 7);
    assert_eq!(back.len(), 1);
    let b = &back[0];
    assert_eq!(
        (b.id.as_str(), b.leader, b.login.as_str()),
        ("10-1", a.leader, "jerry")
    );
    assert_eq!(b.identity, a.identity);
    assert_eq!(b.terms, a.terms);
    assert_eq!(b.opened, a.opened);
    assert_eq!(b.ending, None, "judged afresh");
    // Readable by others: not trusted.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(load(&path).unwrap_err().contains("0600"));
    // A symlink is not followed.
    std::fs::remove_file(&path).unwrap();
    let real = d.join("elsewhere.json");
    save(&real, &[a], 1).unwrap();
    std::os::unix::fs::symlink(&real, &path).unwrap();
    assert!(load(&path).is_err());
    // Saving replaces the link, leaving its target alone.
    save(&path, &[], 2).unwrap();
    assert!(!std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(load(&real).unwrap().unwrap().0.len(), 1);
    // Garbage is refused with the file's name.
    std::fs::write(d.join("bad.json"), "{").unwrap();
    std::fs::set_permissions(d.join("bad.json"), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(load(&d.join("bad.json")).unwrap_err().contains("bad.json"));
    std::fs::remove_dir_all(&d).unwrap();
}

/// An older agent's whole-document file is taken over on upgrade.
#[test]
fn a_version_1_file_is_read() {
    let mut a = sample(11, 11, "jerry");
    a.id = "11-3".into();
    let v1 = serde_json::json!({"version": 1, "next": 4, "sessions": [record(&a)]});
    let (back, next) = replay(v1.to_string().as_bytes()).unwrap();
    assert_eq!((back.len(), next), (1, 4));
    assert_eq!(back[0].id, "11-3");
    assert!(replay(br#"{"version":9,"next":1}"#)
        .unwrap_err()
        .contains("version"));
}

/// A damaged record costs that record only: the sessions around it stay
/// (else every live session would be out of reach of locks).
#[test]
fn a_damaged_line_is_skipped_and_the_rest_stands() {
    let d = dir();
    let path = d.join("agent.sessions.json");
    let mut a = sample(12, 12, "jerry");
    a.id = "12-1".into();
    let mut b = sample(13, 13, "tom");
    b.id = "13-2".into();
    save(&path, &[a, b], 3).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two records: {text}");
    lines.insert(2, "{\"open\": garbage");
    let damaged = lines.join("\n") + "\n";
    let (back, next) = replay(damaged.as_bytes()).unwrap();
    let ids: Vec<&str> = back.iter().map(|s| s.id.as_str()).collect();
    assert_eq!((ids, next), (vec!["12-1", "13-2"], 3));
    std::fs::remove_dir_all(&d).unwrap();
}

/// The nodes of a resource access request's certificate survive a restart
/// with what the request limited them to; an older agent's record (names
/// only) reads as unconstrained nodes, as it meant.
#[test]
fn a_resource_requests_nodes_are_kept_with_their_limits() {
    use crate::policy::{AllowedNode, NodeLimit};
    let node = |name: &str, limit: NodeLimit| AllowedNode {
        name: name.into(),
        limit,
    };
    let mut a = sample(12, 12, "jerry");
    a.id = "12-1".into();
    a.identity = Some(User::default().with_certificate(|c| {
        c.allowed_nodes = Some(vec![
            node("uuid-a", NodeLimit::Unconstrained),
            node("uuid-b", NodeLimit::Logins(vec!["deploy".into()])),
            node(
                "uuid-c",
                NodeLimit::Unsupported("a constraint of kind x".into()),
            ),
        ])
    }));
    let journal = |open: serde_json::Value| {
        format!(
            "{{\"version\":2,\"next\":13}}\n{}\n",
            serde_json::json!({ "open": open })
        )
    };
    let mut open = serde_json::to_value(record(&a)).unwrap();
    let (back, _) = replay(journal(open.clone()).as_bytes()).unwrap();
    assert_eq!(back[0].identity, a.identity);
    open["identity"]["allowed_nodes"] = serde_json::json!(["uuid-a"]);
    let older = journal(open);
    let (back, _) = replay(older.as_bytes()).unwrap();
    assert_eq!(
        back[0].identity.as_ref().unwrap().cert().allowed_nodes,
        Some(vec![node("uuid-a", NodeLimit::Unconstrained)])
    );
}

/// Runs `f` on a thread of its own and waits for its result up to a
/// deadline far beyond what it takes: a call that blocks fails the test
/// instead of hanging it.
fn without_blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .expect("blocked: no answer by the deadline")
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// A FIFO made at the journal's name (by anyone who could create names
/// beside the socket) hung the agent's start, every session's open and
/// close, and let its maker read the records: refused at once instead.
#[test]
fn a_fifo_at_the_journals_name_is_refused_without_blocking() {
    let d = dir();
    let path = d.join("agent.sessions.json");
    mkfifo(&path);
    let p = path.clone();
    let loaded = without_blocking(move || load(&p));
    let err = loaded.unwrap_err();
    assert!(err.contains("not a regular file"), "{err}");
    let p = path.clone();
    let appended = without_blocking(move || append_open(&p, &sample(20, 20, "jerry")));
    assert!(appended
        .unwrap_err()
        .to_string()
        .contains("not a regular file"));
    std::fs::remove_dir_all(&d).unwrap();
}

/// Another user's file at the journal's name is neither read nor written.
#[test]
fn another_users_journal_is_refused() {
    if !rustix::process::geteuid().is_root() {
        return; // chown needs root
    }
    let d = dir();
    let path = d.join("agent.sessions.json");
    save(&path, &[], 1).unwrap();
    std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
    let err = load(&path).unwrap_err();
    assert!(err.contains("owned by uid 65534"), "{err}");
    let err = append_open(&path, &sample(21, 21, "jerry")).unwrap_err();
    assert!(err.to_string().contains("owned by uid 65534"), "{err}");
    assert_eq!(
        std::fs::read(&path)
            .unwrap()
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        1
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// The agent attached to a planted FIFO starts, opens and closes sessions
/// without waiting, and writes its list whole in the FIFO's place.
#[test]
fn a_registry_on_a_planted_fifo_keeps_working_and_replaces_it() {
    use crate::sessions::registry::SessionRegistry;
    let d = dir();
    let path = d.join("agent.sessions.json");
    mkfifo(&path);
    let p = path.clone();
    let ids = without_blocking(move || {
        let r = SessionRegistry::with_liveness(|p| p.start == p.pid as u64);
        let attached = r.attach_file(&p);
        let a = r.open(sample(30, 30, "jerry")).unwrap();
        let b = r.open(sample(31, 31, "tom")).unwrap();
        r.close(sample(30, 30, "jerry").leader, "sshd", "jerry");
        (attached, a, b)
    });
    assert!(ids.0.unwrap_err().contains("not a regular file"));
    assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    let (back, _) = load(&path).unwrap().unwrap();
    let kept: Vec<&str> = back.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(kept, [ids.2.as_str()]);
    std::fs::remove_dir_all(&d).unwrap();
}
