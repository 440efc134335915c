//! Tests of `server.rs`: binding the socket.

use std::sync::Arc;

use super::super::budgets::Budgets;
use super::*;

#[test]
fn no_socket_in_a_directory_another_user_may_empty() {
    use std::os::unix::fs::PermissionsExt;
    if !rustix::process::geteuid().is_root() {
        return; // chown needs root
    }
    // A sticky directory a user made before the agent first started:
    // its owner may delete the agent's socket (fail_mode=open would
    // then let logins through).
    let dir = std::env::temp_dir().join(format!("pam-mfa-bind-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let bound = bind(&dir.join("agent.sock"));
    std::fs::remove_dir_all(&dir).unwrap();
    let err = bound.expect_err("bound in a user's directory").to_string();
    assert!(err.contains("owned by uid 65534"), "{err}");
}

/// A sticky world-writable directory (socket.path in /tmp): anyone may
/// plant a file at the socket's name or a FIFO where the session journal
/// goes. Refused before anything is made there, and a missing directory
/// below one is not made.
#[test]
fn no_socket_in_a_sticky_directory_anyone_may_write() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("pam-mfa-bind-sticky-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let bound = bind(&dir.join("agent.sock")).map(|_| ());
    let below = bind(&dir.join("run/agent.sock")).map(|_| ());
    let made = std::fs::read_dir(&dir).unwrap().count();
    std::fs::remove_dir_all(&dir).unwrap();
    let err = bound.expect_err("bound in a sticky directory").to_string();
    assert!(err.contains("sticky or not"), "{err}");
    assert!(below.is_err());
    assert_eq!(made, 0, "nothing made in the sticky directory");
}

/// A missing socket directory is made 0755 whatever the umask.
#[test]
fn a_missing_socket_directory_is_made_0755() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("pam-mfa-bind-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let listener = bind(&dir.join("run/agent.sock"));
    let mode = std::fs::metadata(dir.join("run")).map(|m| m.permissions().mode() & 0o7777);
    std::fs::remove_dir_all(&dir).unwrap();
    listener.unwrap();
    assert_eq!(mode.unwrap(), 0o755);
}

/// A login whose person's pending logins are all taken (8 unanswered
/// key-less SSH prompts to root) is still decided: one that needs no tap
/// is allowed, never refused for the budget.
#[test]
fn a_login_that_needs_no_tap_is_allowed_whatever_its_persons_budget() {
    use pam_mfa_protocol::{read_frame, PamContext, PamHook, RequestBody};
    let cfg = crate::config::AgentConfig::parse(
        "node: {name: prod3, labels: {env: prod}}\nsshd:\n  authorized_keys_files: []\n",
        "t",
    )
    .unwrap();
    let state = AgentState::new(
        cfg,
        crate::audit::AuditSink::Stderr,
        Arc::new(std::time::SystemTime::now),
    )
    .unwrap();
    let policy = "kind: role\nversion: v7\nmetadata: {name: prod}\nspec:\n  allow:\n    logins: [root]\n    node_labels: {env: prod}\n  options: {require_session_mfa: false}\n---\n\
                  kind: user\nversion: v2\nmetadata: {name: alice}\nspec:\n  roles: [prod]\n";
    let bundle = crate::policy::load_bundle_str(policy, "b.yaml").unwrap();
    state.store.install(bundle, std::time::SystemTime::now());
    let budgets = Budgets::new(None);
    let roots_without_key = Person::SshWithoutKey(Some(0));
    let held: Vec<_> = (0..super::super::budgets::PER_ACCOUNT_KEYLESS_PENDING)
        .map(|_| {
            budgets
                .pending(&roots_without_key, &Person::System)
                .unwrap()
        })
        .collect();
    let (mut client, server) = UnixStream::pair().unwrap();
    let mut slot = budgets.connection(&Person::System).unwrap();
    let peer = Peer {
        pid: std::process::id() as i32,
        uid: 0,
        name: Some("root".into()),
        real_uid: Some(0),
    };
    let begin = Request::new(RequestBody::Begin {
        hook: PamHook::Auth,
        context: PamContext {
            service: "sshd".into(),
            user: "root".into(),
            rhost: Some("10.0.0.1".into()),
            ..Default::default()
        },
    });
    let answer: Response = std::thread::scope(|scope| {
        scope.spawn(|| serve_connection(server, &state, &mut slot, &Person::System, peer, None));
        write_frame(&mut client, &begin).unwrap();
        let answer = read_frame(&mut client).unwrap();
        drop(client);
        answer
    });
    assert!(
        matches!(answer.body, ResponseBody::Allow { .. }),
        "{:?}",
        answer.body
    );
    drop(held);
}

/// Reads retry awake only on a root peer's connection (pam_mfa.so in sshd,
/// sudo, login), and not while a login waits on a person's answer: no
/// unprivileged peer makes the agent spin, and a tap's minutes are slept
/// through.
#[test]
fn only_a_root_peer_with_nothing_pending_is_read_awake() {
    let peer = |uid| Peer {
        pid: 1,
        uid,
        name: None,
        real_uid: None,
    };
    assert_eq!(awake_read(&peer(0), false), AWAKE_READ);
    assert!(AWAKE_READ > Duration::ZERO);
    assert_eq!(awake_read(&peer(0), true), Duration::ZERO);
    for uid in [1, 1000, 65534] {
        assert_eq!(awake_read(&peer(uid), false), Duration::ZERO, "uid {uid}");
        assert_eq!(awake_read(&peer(uid), true), Duration::ZERO, "uid {uid}");
    }
}
