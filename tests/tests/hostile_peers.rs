//! Local peers that try to hold the agent without ever finishing a request:
//! a frame trickled a byte at a time (slowloris) must not keep its
//! connection, and its thread, past the frame's deadline.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;

fn agent(work: &WorkDir) -> Agent {
    let bundle = Bundle::new()
        .role("dev", &[("env", "dev")], &["alice"], Some("false"))
        .user("alice", &["dev"], &["alice"])
        .cap("false");
    Agent::start(work, &AgentConfig::with_env("dev"), &bundle)
}

/// Sends `bytes` one at a time, `gap` apart, until the agent closes the
/// connection (`Some(bytes sent)`) or every byte is sent (`None`).
fn trickle(s: &mut UnixStream, bytes: &[u8], gap: Duration) -> Option<usize> {
    for (i, b) in bytes.iter().enumerate() {
        if s.write_all(std::slice::from_ref(b)).is_err() {
            return Some(i);
        }
        std::thread::sleep(gap);
    }
    // Everything sent: did the agent close meanwhile (read gives EOF)?
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(0) => Some(bytes.len()),
        Ok(_) | Err(_) => None,
    }
}

/// A request whose length is announced and whose body then comes a byte
/// every second: each byte arrives well within the agent's wait for the
/// next read (5 s for a first frame), but the frame as a whole never
/// within its deadline. The agent must close the connection at the frame's
/// deadline instead of waiting as long as the bytes keep coming.
#[test]
fn a_frame_trickled_a_byte_at_a_time_is_cut_off_at_its_deadline() {
    require_root!();
    let work = WorkDir::new("hostile-trickle");
    let agent = agent(&work);
    let body = br#"{"v":1,"type":"status"}"#;
    // Announce a body far longer than what the trickle sends in its time.
    let mut wire = 4096u32.to_be_bytes().to_vec();
    wire.extend_from_slice(body);
    wire.extend(std::iter::repeat_n(b' ', 10));
    let mut s = UnixStream::connect(&agent.socket).unwrap();
    let start = Instant::now();
    let cut = trickle(&mut s, &wire, Duration::from_secs(1));
    eprintln!(
        "trickled connection: cut after {cut:?} bytes, {:?}",
        start.elapsed()
    );
    assert!(
        cut.is_some_and(|n| n < wire.len()),
        "the agent kept a connection that trickled {} bytes over {:?}\n{}",
        wire.len(),
        start.elapsed(),
        agent.log()
    );
}

/// The soft `RLIMIT_NOFILE` of the agent's process (`/proc/PID/limits`).
fn soft_open_files(pid: i32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// systemd starts services with 1024 open files (soft). The budgets allow
/// 1,024 connections, and serving one may open more descriptors: at 1024,
/// `accept` fails (EMFILE) long before the system's reserve is reached, so
/// persons holding their share would keep sshd's logins waiting. The agent
/// raises its soft limit to what its budgets need.
#[test]
fn the_agent_makes_room_for_every_connection_its_budgets_allow() {
    require_root!();
    let work = WorkDir::new("hostile-nofile");
    let bundle = Bundle::new()
        .role("dev", &[("env", "dev")], &["alice"], Some("false"))
        .user("alice", &["dev"], &["alice"])
        .cap("false");
    let agent = Agent::start_wrapped(
        &work,
        &AgentConfig::with_env("dev"),
        &bundle,
        vec!["prlimit".into(), "--nofile=1024:8192".into(), "--".into()],
    );
    let soft = soft_open_files(agent.pid().unwrap());
    let needed = mfa_agent::ipc::MAX_CONNECTIONS as u64;
    assert!(
        soft > needed * 2,
        "the agent runs with {soft} open files for {needed} connections\n{}",
        agent.log()
    );
}
