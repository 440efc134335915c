//! Tests of `server.rs`: binding the socket.

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
