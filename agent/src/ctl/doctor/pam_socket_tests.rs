//! `pam.socket_mismatch`: a pam_mfa.so line whose socket is not the
//! agent's, an error with `fail_mode=open` (MFA silently off).

use super::tests::{good, with_pam};
use super::{check_host, exit_code, Facts, Finding, Severity};
use crate::config::AgentConfig;

const ID: &str = "pam.socket_mismatch";

fn mismatches(f: &Facts) -> Vec<Finding> {
    check_host(f).into_iter().filter(|x| x.id == ID).collect()
}

/// `good()` with agent.yaml's `socket.path` set to `path`.
fn with_agent_socket(mut f: Facts, path: &str) -> Facts {
    let yaml = format!("node:\n  name: prod3\n  id: 5f0e8a3c-2b1d-4c6e-9f7a-8d3b2c1e0f4a\n  labels: {{ env: prod }}\nsshd:\n  pubkey_auth_options: [touch-required]\nsocket:\n  path: {path}\n");
    f.agent_config = Some(Ok(AgentConfig::parse(&yaml, "agent.yaml").unwrap()));
    f
}

#[test]
fn a_mistyped_socket_with_fail_mode_open_is_an_error_naming_file_and_line() {
    let f = with_pam(
        "sshd",
        "# pam-mfa\nauth required pam_mfa.so socket=/run/pam-mfa/agnet.sock fail_mode=open\naccount required pam_mfa.so\n",
    );
    let found = mismatches(&f);
    assert_eq!(found.len(), 1, "{found:#?}");
    let x = &found[0];
    assert_eq!(x.severity, Severity::Error);
    assert!(
        x.what.starts_with("/etc/pam.d/sshd:2: ")
            && x.what.contains("`socket=/run/pam-mfa/agnet.sock`")
            && x.what
                .contains("/etc/pam-mfa/agent.yaml's socket.path is /run/pam-mfa/agent.sock"),
        "{}",
        x.what
    );
    assert!(x.why.contains("PAM_IGNORE"), "{}", x.why);
    assert!(
        x.fix.contains("`socket=/run/pam-mfa/agent.sock`"),
        "{}",
        x.fix
    );
    assert_eq!(exit_code(&check_host(&f)), 2);
}

#[test]
fn a_mistyped_socket_failing_closed_is_a_warning() {
    let f = with_pam(
        "sshd",
        "auth required pam_mfa.so socket=/run/pam-mfa/agnet.sock\naccount required pam_mfa.so\n",
    );
    let found = mismatches(&f);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].severity, Severity::Warning);
    assert!(found[0].what.starts_with("/etc/pam.d/sshd:1: "));
}

/// Any file of the PAM directory, any phase, `-type` lines too; not
/// commented-out lines.
#[test]
fn every_pam_mfa_line_of_every_file_is_compared() {
    let mut f = with_pam(
        "common-auth",
        "auth required pam_unix.so\n#auth required pam_mfa.so socket=/tmp/x.sock fail_mode=open\nauth [success=1 default=ignore] pam_succeed_if.so user = root\nauth required /lib/security/pam_mfa.so socket=/tmp/a.sock fail_mode=open\n",
    );
    f.pam_files.insert(
        "cron".into(),
        "-session optional pam_mfa.so fail_mode=open socket=/tmp/b.sock\n".into(),
    );
    let found = mismatches(&f);
    let places: Vec<&str> = found
        .iter()
        .map(|x| x.what.split(": ").next().unwrap())
        .collect();
    assert_eq!(
        places,
        ["/etc/pam.d/common-auth:4", "/etc/pam.d/cron:1"],
        "{found:#?}"
    );
    assert!(found.iter().all(|x| x.severity == Severity::Error));
}

/// A line without `socket=` uses the module's default: a mismatch when
/// agent.yaml moved the socket.
#[test]
fn the_module_default_is_compared_when_the_line_names_no_socket() {
    let f = with_agent_socket(good(), "/run/mfa/agent.sock");
    let found = mismatches(&f);
    // The sshd file's three lines and sudo's one.
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found.iter().all(|x| x.severity == Severity::Warning));
    assert!(
        found[0]
            .what
            .contains("no `socket=`, so the module's default /run/pam-mfa/agent.sock"),
        "{}",
        found[0].what
    );
    let mut f = with_agent_socket(good(), "/run/mfa/agent.sock");
    for name in ["sshd", "sudo"] {
        let text = f.pam_files[name].replace("pam_mfa.so", "pam_mfa.so socket=/run/mfa/agent.sock");
        f.pam_files.insert(name.into(), text);
    }
    assert_eq!(mismatches(&f), vec![]);
}

#[test]
fn the_same_path_written_otherwise_or_twice_over() {
    let f = with_pam(
        "sshd",
        "auth required pam_mfa.so socket=/run/pam-mfa//agent.sock fail_mode=open\naccount required pam_mfa.so socket=/run/pam-mfa/agent.sock\nsession required pam_mfa.so\n",
    );
    assert_eq!(mismatches(&f), vec![]);
    // Given twice (the module refuses the line): either one differing is said.
    let f = with_pam(
        "sshd",
        "auth required pam_mfa.so socket=/run/pam-mfa/agent.sock socket=/run/x.sock\n",
    );
    let found = mismatches(&f);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].what.contains("`socket=/run/x.sock`"));
}

/// Without a readable agent.yaml there is nothing to compare with
/// (`agent.config_invalid` says why).
#[test]
fn nothing_is_said_without_agent_yaml() {
    let mut f = with_pam(
        "sshd",
        "auth required pam_mfa.so socket=/run/x.sock fail_mode=open\n",
    );
    f.agent_config = Some(Err("agent.yaml: no such file".into()));
    assert_eq!(mismatches(&f), vec![]);
}
