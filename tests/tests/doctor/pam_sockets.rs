//! `pam.socket_mismatch` from a real doctor run: a pam_mfa.so line whose
//! socket is not agent.yaml's `socket.path` finds no agent. With
//! `fail_mode=closed` (the default) every login through it is refused, a
//! warning; with `fail_mode=open` MFA is silently off, an error.

use super::*;

/// config/agent.yaml with its socket.path changed to `socket`.
fn agent_yaml_with_socket(work: &WorkDir, socket: &str) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(workspace_root().join("config/agent.yaml"))
        .expect("config/agent.yaml");
    let from = "  path: /run/pam-mfa/agent.sock\n";
    assert!(
        shipped.contains(from),
        "config/agent.yaml's socket.path moved"
    );
    work.write(
        "agent-other-socket.yaml",
        &shipped.replace(from, &format!("  path: {socket}\n")),
        0o644,
    )
}

fn mismatches(found: &[Value]) -> Vec<&Value> {
    found
        .iter()
        .filter(|f| f["id"] == "pam.socket_mismatch")
        .collect()
}

#[test]
fn a_pam_line_naming_another_socket_than_the_agents_is_found_with_its_place() {
    pam_mfa_e2e::require_root!();
    let work = WorkDir::new("doctor-pam-socket");
    let config = agent_yaml_with_socket(&work, "/run/pam-mfa/other.sock");

    // The shipped examples give no socket=: the module's default, which is
    // not this agent.yaml's.
    let (_, found) = doctor_on(
        &work,
        &shipped_drop_in(),
        &Host {
            config: Some(&config),
            ..Host::default()
        },
    );
    let shipped = mismatches(&found);
    let example = std::fs::read_to_string(workspace_root().join("config/pam.d/sudo"))
        .expect("config/pam.d/sudo");
    let at = example
        .lines()
        .position(|l| l.starts_with("auth") && l.contains("pam_mfa.so"))
        .expect("the sudo example's auth line")
        + 1;
    let sudo = shipped
        .iter()
        .find(|f| {
            f["what"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("pam.d/sudo:{at}:"))
        })
        .unwrap_or_else(|| panic!("the sudo example's auth line (sudo:{at}): {found:#?}"));
    assert_eq!(sudo["severity"], "warning", "{sudo}");
    let message = sudo["what"].as_str().unwrap();
    assert!(message.contains("/run/pam-mfa/agent.sock"), "{message}");
    assert!(message.contains("/run/pam-mfa/other.sock"), "{message}");
    assert!(
        sudo["fix"]
            .as_str()
            .unwrap()
            .contains("socket=/run/pam-mfa/other.sock"),
        "{sudo}"
    );

    // A line that names the agent's socket is fine; one that names another,
    // with fail_mode=open, is an error at its own line.
    let pam = work.join("pam.d");
    std::fs::create_dir_all(&pam).expect("pam.d");
    work.write(
        "pam.d/sshd",
        "auth required pam_mfa.so socket=/run/pam-mfa/other.sock\n\
         account required pam_mfa.so socket=/run/pam-mfa/agnet.sock fail_mode=open\n",
        0o644,
    );
    let (code, found) = doctor_on(
        &work,
        &shipped_drop_in(),
        &Host {
            config: Some(&config),
            pam_dir: Some(&pam),
            ..Host::default()
        },
    );
    let open = mismatches(&found);
    assert_eq!(open.len(), 1, "{found:#?}");
    assert_eq!(open[0]["severity"], "error", "{}", open[0]);
    let message = open[0]["what"].as_str().unwrap();
    assert!(message.contains("pam.d/sshd:2:"), "{message}");
    assert!(message.contains("agnet.sock"), "{message}");
    assert_eq!(code, Some(2), "an error: exit 2");
}
