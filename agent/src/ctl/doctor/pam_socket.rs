//! Each pam_mfa.so line's `socket=` against agent.yaml's `socket.path`.
//!
//! A line that names another socket than the agent's finds no socket file
//! (`ENOENT`) or nobody listening (`ECONNREFUSED`): "no agent at all" to
//! the module, so with `fail_mode=open` it returns PAM_IGNORE on every
//! login, MFA silently off; with `fail_mode=closed` every login through it
//! is refused.

use std::path::Path;

use pam_mfa_protocol::DEFAULT_SOCKET;

use super::pam_stack::{file_lines, PamLine};
use super::{Facts, Finding, Severity};
use crate::config::AgentConfig;

/// Every pam_mfa.so line, in every file of the PAM directory (any file
/// there is a service, or included by one), whose socket differs from
/// `socket.path`. Nothing is said without a readable agent.yaml (its own
/// finding says why).
pub fn check_pam_sockets(f: &Facts, config: Option<&AgentConfig>) -> Vec<Finding> {
    let Some(config) = config else {
        return Vec::new();
    };
    let agent_socket = &config.socket.path;
    let mut out = Vec::new();
    for (file, text) in &f.pam_files {
        for (_, line) in file_lines(file, text) {
            if !line.is_mfa() {
                continue;
            }
            let Some(named) = other_socket(&line, agent_socket) else {
                continue;
            };
            out.push(finding(f, &line, &named, agent_socket));
        }
    }
    out
}

/// The socket `line` names when it is not `agent_socket`: its `socket=`
/// (each, when given more than once), else the module's default.
fn other_socket(line: &PamLine, agent_socket: &Path) -> Option<String> {
    let given: Vec<&str> = words(line)
        .filter_map(|w| w.strip_prefix("socket="))
        .collect();
    let named = if given.is_empty() {
        vec![DEFAULT_SOCKET]
    } else {
        given
    };
    named
        .into_iter()
        .find(|s| Path::new(s) != agent_socket)
        .map(str::to_string)
}

fn words(line: &PamLine) -> impl Iterator<Item = &str> {
    line.args.split_whitespace()
}

fn finding(f: &Facts, line: &PamLine, named: &str, agent_socket: &Path) -> Finding {
    let at = format!("{}/{}:{}", f.pam_dir, line.file, line.line);
    let written = if words(line).any(|w| w.starts_with("socket=")) {
        format!("`socket={named}`")
    } else {
        format!("no `socket=`, so the module's default {named}")
    };
    let fail_open = words(line).any(|w| w == "fail_mode=open");
    let (severity, why) = if fail_open {
        (
            Severity::Error,
            "with fail_mode=open the module finds no agent there and returns PAM_IGNORE on every login: MFA is off, and nobody is told but syslog's FAIL-OPEN lines",
        )
    } else {
        (
            Severity::Warning,
            "the module finds no agent there: every login through this line is refused (PAM_AUTHINFO_UNAVAIL), unless another agent serves that socket",
        )
    };
    Finding::new(
        "pam.socket_mismatch",
        severity,
        format!(
            "{at}: pam_mfa.so has {written}, but {}'s socket.path is {}",
            f.agent_config_path,
            agent_socket.display()
        ),
        why,
        format!(
            "make that line say `socket={}`, or set socket.path in {} to the socket the line names and restart the agent",
            agent_socket.display(),
            f.agent_config_path
        ),
    )
}
