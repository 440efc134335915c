//! mfa-agent(8)'s EXAMPLES run as a reader copies them: the agent.yaml the
//! page shows (`cat /tmp/agent.yaml`) and its `mfa-agent --config
//! /tmp/agent.yaml`, in the foreground, on the page's own socket, which
//! `mfactl --socket` then reaches. The page's /tmp is a private one here
//! (a mount namespace of the agent's), and so is /var/lib (the agent keeps
//! its state in /var/lib/pam-mfa from its first load on), so no file of the
//! machine's is touched; the socket is the real /run/mfa-test.sock.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pam_mfa_e2e::bins;
use pam_mfa_e2e::man_page::{examples, plain};
use pam_mfa_e2e::process::wait_until;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;

/// The example's agent.yaml (after `# cat /tmp/agent.yaml`) and command
/// (the next `# ` line), as a reader copies them.
fn foreground_example() -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/man/mfa-agent.8");
    let page = std::fs::read_to_string(&path).expect("mfa-agent.8");
    let (_, block) = examples(&plain(&page))
        .into_iter()
        .find(|(_, text)| text.contains("# cat /tmp/agent.yaml"))
        .expect("mfa-agent.8 has the foreground example");
    let mut lines = block.lines();
    assert_eq!(lines.next(), Some("# cat /tmp/agent.yaml"));
    let mut yaml = String::new();
    let mut command = String::new();
    for line in lines {
        match line.strip_prefix("# ") {
            Some(c) => command = c.to_owned(),
            None => {
                yaml.push_str(line);
                yaml.push('\n');
            }
        }
    }
    (yaml, command)
}

const SOCKET: &str = "/run/mfa-test.sock";

/// The agent in the foreground (`unshare` and `sh` exec it, so this is its
/// pid); stopped when dropped, and its socket (absent before it started)
/// removed.
struct Foreground(Child);

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_file(SOCKET);
    }
}

#[test]
fn the_foreground_example_serves_its_own_socket() {
    require_root!();
    let (yaml, command) = foreground_example();
    assert_eq!(command, "mfa-agent --config /tmp/agent.yaml");
    let socket = SOCKET;
    assert!(
        yaml.contains(socket),
        "the example's agent.yaml names {socket}:\n{yaml}"
    );
    // Whatever answers there must be the agent this test starts.
    assert!(
        !Path::new(socket).exists(),
        "{socket} exists already: stop what serves it, or remove it"
    );
    let work = WorkDir::new("man-agent-example");
    let stderr = std::fs::File::create(work.join("agent.err")).expect("agent.err");
    let bin_dir = bins::mfa_agent().parent().expect("a directory").to_owned();
    let script = format!(
        "mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /var/lib && cat > /tmp/agent.yaml && PATH={}:$PATH exec {command}",
        bin_dir.display()
    );
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-euc", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("start the example's agent");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(yaml.as_bytes()).expect("write agent.yaml");
    }
    let mut agent = Foreground(child);
    let status = || {
        Command::new(bins::mfactl())
            .args(["--socket", socket, "status"])
            .output()
            .expect("run mfactl status")
    };
    let up = wait_until(Duration::from_secs(20), Duration::from_millis(100), || {
        status().status.success()
    });
    let out = status();
    let running = agent.0.try_wait().expect("the agent's state").is_none();
    drop(agent);
    let log = std::fs::read_to_string(work.join("agent.err")).unwrap_or_default();
    assert!(
        up && running,
        "mfactl --socket {socket} status (up {up}, agent still running {running}):\n{}{}\n--- agent\n{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("node prod3 [env=prod]") && text.contains("builtin:example"),
        "the status should show the example's node and policy:\n{text}"
    );
}
