//! Against a real `ssh-agent` (as root, and as `nobody`), with sk keys from
//! OpenSSH's sk-dummy.so, and against fake agents that misbehave.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::client::{list_keys, sign};
use super::test_agent::RunningAgent;
use super::transport::MAX_MESSAGE;
use super::AgentError;
use crate::verify::ssh_sk::testkit::{generate_key, TempDir, SK_DUMMY_COUNTER};
use crate::verify::ssh_sk::verify_sk_signature;

const NOBODY: u32 = 65534;

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

/// A one-connection fake agent on a root-owned socket: it reads one request,
/// sends `reply` (if any), then either closes or waits for the client to go.
struct FakeAgent {
    socket: PathBuf,
    thread: Option<JoinHandle<()>>,
}

impl FakeAgent {
    fn start(dir: &Path, name: &str, reply: Option<Vec<u8>>, close_after_reply: bool) -> Self {
        let socket = dir.join(name);
        let listener = UnixListener::bind(&socket).expect("bind fake agent");
        let thread = std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut len = [0u8; 4];
            if stream.read_exact(&mut len).is_err() {
                return;
            }
            let mut request = vec![0u8; u32::from_be_bytes(len) as usize];
            if stream.read_exact(&mut request).is_err() {
                return;
            }
            if let Some(reply) = reply {
                let _ = stream.write_all(&reply);
                if close_after_reply {
                    return;
                }
            }
            // Hold the connection until the client hangs up.
            let mut sink = [0u8; 64];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        });
        Self {
            socket,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeAgent {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

#[test]
fn lists_keys_and_signs_with_a_real_agent() {
    let dir = TempDir::new("agent-real");
    let agent = RunningAgent::start(dir.path().join("agent.sock"), false);
    assert_eq!(list_keys(&agent.socket, 0, soon()).unwrap(), vec![]);

    let ed = generate_key(dir.path(), "ed", "ed25519-sk", &[]);
    let ec = generate_key(dir.path(), "ec", "ecdsa-sk", &[]);
    agent.add(&ed);
    agent.add(&ec);

    let keys = list_keys(&agent.socket, 0, soon()).unwrap();
    assert_eq!(keys.len(), 2);
    for k in [&ed, &ec] {
        let listed = keys
            .iter()
            .find(|a| a.key_blob == k.public_blob)
            .expect("key listed");
        assert_eq!(listed.comment, k.comment);

        let challenge = b"pam-mfa challenge 0123456789";
        let sig = sign(&agent.socket, 0, &listed.key_blob, challenge, soon()).unwrap();
        let a = verify_sk_signature(&listed.key_blob, &sig, challenge).unwrap();
        assert_eq!(a.flags, 0x01);
        assert_eq!(a.counter, SK_DUMMY_COUNTER);
        assert!(verify_sk_signature(&listed.key_blob, &sig, b"another challenge").is_err());
    }

    // A key the agent does not hold.
    let stranger = generate_key(dir.path(), "stranger", "ed25519-sk", &[]);
    let err = sign(&agent.socket, 0, &stranger.public_blob, b"x", soon()).unwrap_err();
    assert!(matches!(err, AgentError::Refused), "{err}");
}

#[test]
fn the_socket_must_belong_to_the_expected_user() {
    let dir = TempDir::new("agent-nobody");
    let home = dir.path().join("nobody");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    let agent = RunningAgent::start(home.join("agent.sock"), true);
    assert_eq!(list_keys(&agent.socket, NOBODY, soon()).unwrap(), vec![]);

    match list_keys(&agent.socket, 0, soon()) {
        Err(AgentError::WrongOwner {
            expected: 0,
            actual: NOBODY,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    match sign(&agent.socket, 1000, b"key", b"data", soon()) {
        Err(AgentError::WrongOwner { actual: NOBODY, .. }) => {}
        other => panic!("{other:?}"),
    }

    // A socket file that says uid 4242 while the process behind it is
    // nobody (what a swap between the check and the connect looks like):
    // refused on SO_PEERCRED.
    std::os::unix::fs::chown(&agent.socket, Some(4242), None).unwrap();
    let err = list_keys(&agent.socket, 4242, soon()).unwrap_err();
    assert!(
        matches!(
            err,
            AgentError::PeerNotAllowed {
                expected: 4242,
                actual: NOBODY
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("uid 65534"));
}

#[test]
fn a_root_peer_is_refused_for_another_users_socket() {
    // The socket file is the user's, the process behind it is root: a user
    // could have swapped their path for a root-owned listener.
    let dir = TempDir::new("agent-rootpeer");
    let reply = frame(&[12, 0, 0, 0, 0]);
    let fake = FakeAgent::start(dir.path(), "fake.sock", Some(reply), true);
    std::os::unix::fs::chown(&fake.socket, Some(NOBODY), None).unwrap();
    assert!(matches!(
        list_keys(&fake.socket, NOBODY, soon()),
        Err(AgentError::PeerNotAllowed { actual: 0, .. })
    ));
}

#[test]
fn symlinks_are_not_followed() {
    let dir = TempDir::new("agent-symlink");
    let agent = RunningAgent::start(dir.path().join("agent.sock"), false);
    let link = dir.path().join("link.sock");
    std::os::unix::fs::symlink(&agent.socket, &link).unwrap();
    let err = list_keys(&link, 0, soon()).unwrap_err();
    assert!(matches!(err, AgentError::Symlink { .. }), "{err:?}");
    assert!(err.to_string().contains("symbolic link"));
    // The real socket works.
    assert!(list_keys(&agent.socket, 0, soon()).is_ok());
}

#[test]
fn non_sockets_are_refused() {
    let dir = TempDir::new("agent-nonsock");
    let file = dir.path().join("file");
    std::fs::write(&file, b"not an agent").unwrap();
    assert!(matches!(
        list_keys(&file, 0, soon()),
        Err(AgentError::NotASocket { .. })
    ));
    assert!(matches!(
        sign(dir.path(), 0, b"k", b"d", soon()),
        Err(AgentError::NotASocket { .. })
    ));
    let err = list_keys(&dir.path().join("missing"), 0, soon()).unwrap_err();
    assert!(matches!(err, AgentError::Unreachable { .. }), "{err:?}");
}

#[test]
fn a_silent_agent_returns_within_the_deadline() {
    let dir = TempDir::new("agent-silent");
    for (i, listing) in [true, false].into_iter().enumerate() {
        let fake = FakeAgent::start(dir.path(), &format!("silent{i}.sock"), None, false);
        let started = Instant::now();
        let deadline = started + Duration::from_millis(300);
        let result = if listing {
            list_keys(&fake.socket, 0, deadline).map(|_| ())
        } else {
            sign(&fake.socket, 0, b"key", b"data", deadline).map(|_| ())
        };
        let elapsed = started.elapsed();
        assert!(matches!(result, Err(AgentError::Timeout)), "{result:?}");
        assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }
}

#[test]
fn a_passed_deadline_is_a_timeout() {
    let dir = TempDir::new("agent-passed");
    let agent = RunningAgent::start(dir.path().join("agent.sock"), false);
    let err = list_keys(&agent.socket, 0, Instant::now()).unwrap_err();
    assert!(matches!(err, AgentError::Timeout), "{err:?}");
}

#[test]
fn garbage_answers_are_refused() {
    let dir = TempDir::new("agent-garbage");
    let over = (MAX_MESSAGE as u32 + 1).to_be_bytes().to_vec();
    type Case = (&'static str, Vec<u8>, fn(&AgentError) -> bool);
    let cases: Vec<Case> = vec![
        ("unknown type", frame(&[99, 1, 2, 3]), |e| {
            matches!(e, AgentError::Protocol(_))
        }),
        ("huge length", vec![0x7f, 0xff, 0xff, 0xff], |e| {
            matches!(e, AgentError::TooLarge { .. })
        }),
        ("just over the limit", over, |e| {
            matches!(e, AgentError::TooLarge { .. })
        }),
        ("empty message", frame(&[]), |e| {
            matches!(e, AgentError::Protocol(_))
        }),
        ("too many keys", frame(&[12, 0, 0, 3, 232, 0, 0]), |e| {
            matches!(e, AgentError::Protocol(_))
        }),
        (
            "key blob longer than the message",
            frame(&[12, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0]),
            |e| matches!(e, AgentError::Protocol(_)),
        ),
        ("trailing bytes", frame(&[12, 0, 0, 0, 0, 7]), |e| {
            matches!(e, AgentError::Protocol(_))
        }),
        ("truncated", vec![0, 0, 0, 100, 12, 0], |e| {
            matches!(e, AgentError::Closed)
        }),
        ("failure", frame(&[5]), |e| matches!(e, AgentError::Refused)),
        (
            "a sign response to a listing",
            frame(&[14, 0, 0, 0, 0]),
            |e| matches!(e, AgentError::Protocol(_)),
        ),
    ];
    for (i, (what, reply, expected)) in cases.into_iter().enumerate() {
        let fake = FakeAgent::start(dir.path(), &format!("g{i}.sock"), Some(reply), true);
        let err = list_keys(&fake.socket, 0, soon()).unwrap_err();
        assert!(expected(&err), "{what}: {err:?}");
        assert!(!err.to_string().is_empty());
    }

    // A signing agent that answers with an identities list.
    let fake = FakeAgent::start(dir.path(), "s.sock", Some(frame(&[12, 0, 0, 0, 0])), true);
    let err = sign(&fake.socket, 0, b"key", b"data", soon()).unwrap_err();
    assert!(matches!(err, AgentError::Protocol(_)), "{err:?}");
}

#[test]
fn well_formed_answers_from_a_fake_agent_parse() {
    let dir = TempDir::new("agent-fake-ok");
    let mut answer = vec![12, 0, 0, 0, 2];
    for (blob, comment) in [(&b"blob-1"[..], &b"one"[..]), (b"blob-2", b"\xff two")] {
        answer.extend_from_slice(&(blob.len() as u32).to_be_bytes());
        answer.extend_from_slice(blob);
        answer.extend_from_slice(&(comment.len() as u32).to_be_bytes());
        answer.extend_from_slice(comment);
    }
    let fake = FakeAgent::start(dir.path(), "l.sock", Some(frame(&answer)), true);
    let keys = list_keys(&fake.socket, 0, soon()).unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].key_blob, b"blob-1");
    assert_eq!(keys[0].comment, "one");
    assert_eq!(keys[1].comment, "\u{fffd} two");

    let fake = FakeAgent::start(
        dir.path(),
        "s.sock",
        Some(frame(&[14, 0, 0, 0, 3, 1, 2, 3])),
        true,
    );
    assert_eq!(
        sign(&fake.socket, 0, b"key", b"data", soon()).unwrap(),
        vec![1, 2, 3]
    );
}

#[test]
fn oversized_requests_are_not_sent() {
    let dir = TempDir::new("agent-bigreq");
    let fake = FakeAgent::start(dir.path(), "big.sock", None, false);
    let data = vec![0u8; MAX_MESSAGE];
    let err = sign(&fake.socket, 0, b"key", &data, soon()).unwrap_err();
    assert!(matches!(err, AgentError::TooLarge { .. }), "{err:?}");
    // Nothing connected: let the fake agent's accept end.
    drop(std::os::unix::net::UnixStream::connect(&fake.socket));
}
