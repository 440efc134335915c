//! mfa-agent(8)'s "run in the foreground" on a host whose agent already
//! serves the same socket: the second agent refuses to start, naming the
//! socket, and the running one keeps answering. (It used to take the socket
//! over and remove it when stopped, so the running agent was unreachable
//! and every login through pam_mfa.so was refused.) A left-over socket
//! nobody listens on is still replaced.

use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::process::run_with_timeout;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;

#[test]
fn a_second_agent_on_a_served_socket_refuses_and_the_first_keeps_serving() {
    require_root!();
    let work = WorkDir::new("second-agent");
    let bundle = Bundle::new().scenario_roles("true");
    let mut agent = Agent::start(&work, &AgentConfig::with_env("prod"), &bundle);

    let second = run_with_timeout(
        Command::new(bins::mfa_agent())
            .arg("--config")
            .arg(&agent.config_path),
        Duration::from_secs(20),
    );
    assert_eq!(
        (second.code, second.timed_out),
        (Some(1), false),
        "a second agent must refuse to start:\n{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("another mfa-agent is serving")
            && second.stderr.contains(&agent.socket.display().to_string()),
        "the refusal names the socket:\n{}",
        second.stderr
    );
    let status = agent.mfactl(&["status"]);
    assert!(
        status.success(),
        "the first agent must still answer on its socket:\n{}{}\n{}",
        status.stdout,
        status.stderr,
        agent.log()
    );

    // A socket file left behind with nobody listening is replaced.
    agent.stop();
    let stale = std::os::unix::net::UnixListener::bind(&agent.socket).expect("stale socket");
    drop(stale);
    assert!(agent.socket.exists(), "the stale socket file stays");
    agent.spawn();
    let status = agent.mfactl(&["status"]);
    assert!(
        status.success(),
        "over a stale socket: {}{}",
        status.stdout,
        status.stderr
    );
}
