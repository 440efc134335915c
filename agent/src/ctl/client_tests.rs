//! mfactl's client against sockets in a private directory: a silent agent,
//! none at all, and sockets that are not the agent's.

use std::os::unix::net::UnixListener;

use super::*;

/// A private directory for this test's sockets, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("pam-mfa-client-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The agent socket at `path` of an agent running as this process's uid.
fn mine(path: &Path) -> AgentSocket {
    AgentSocket {
        path: path.to_path_buf(),
        uid: rustix::process::geteuid().as_raw(),
    }
}

fn status(agent: &AgentSocket) -> Result<ResponseBody, String> {
    ask(agent, RequestBody::Status, Duration::from_millis(300))
}

#[test]
fn an_agent_that_accepts_but_never_answers_is_reported_as_such() {
    let dir = Dir::new("silent");
    let sock = dir.0.join("agent.sock");
    // Listening, never accepting: what a hung (e.g. SIGSTOPped) agent looks like.
    let _listener = UnixListener::bind(&sock).unwrap();
    let err = ask(
        &mine(&sock),
        RequestBody::AuthorizedKeys { login: "j".into() },
        Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(err.contains("did not answer within 300ms"), "{err}");
    assert!(err.contains(&sock.display().to_string()), "{err}");
    let gone = ask(
        &mine(&dir.0.join("none.sock")),
        RequestBody::Status,
        Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(gone.contains("cannot reach mfa-agent"), "{gone}");
}

/// As pam_mfa.so: a symlink, a file that is no socket, or a socket of
/// another uid than the agent's is refused before anything is sent.
#[test]
fn a_socket_that_is_not_the_agents_is_refused() {
    let dir = Dir::new("files");
    let sock = dir.0.join("agent.sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    let link = dir.0.join("link.sock");
    std::os::unix::fs::symlink(&sock, &link).unwrap();
    let err = status(&mine(&link)).unwrap_err();
    assert!(err.contains("is a symlink"), "{err}");
    let file = dir.0.join("file.sock");
    std::fs::write(&file, b"").unwrap();
    let err = status(&mine(&file)).unwrap_err();
    assert!(err.contains("is not a socket"), "{err}");
    let other = AgentSocket {
        uid: mine(&sock).uid.wrapping_add(1),
        ..mine(&sock)
    };
    let err = status(&other).unwrap_err();
    assert!(
        err.contains(&format!("is owned by uid {}", mine(&sock).uid)),
        "{err}"
    );
    // mfactl's default: root's agent.
    assert_eq!(AgentSocket::of_root(&sock).uid, 0);
}

/// A socket file handed to the agent's uid (chown) by someone else who
/// listens on it: the answering process is not the agent's uid.
#[test]
fn a_peer_that_is_not_the_agents_uid_is_refused() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: chown needs root");
        return;
    }
    let dir = Dir::new("peer");
    let sock = dir.0.join("agent.sock");
    let _listener = UnixListener::bind(&sock).unwrap();
    std::os::unix::fs::chown(&sock, Some(65534), None).unwrap();
    let agent = AgentSocket {
        path: sock.clone(),
        uid: 65534,
    };
    let err = status(&agent).unwrap_err();
    assert!(
        err.contains("runs as uid 0, not as the agent's uid 65534"),
        "{err}"
    );
}
