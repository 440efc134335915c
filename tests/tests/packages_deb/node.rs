//! A prod node set up as README says: the bundle and agent.yaml in place,
//! the agent reloaded (a typo refused), sshd's drop-in and PAM lines, and
//! `mfactl doctor` before and after.

use std::path::Path;

use pam_mfa_e2e::agent::Bundle;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::workdir::WorkDir;

use super::host::doctor_errors;
use super::{edit_sshd_pam, readme_command, AGENT_YAML};

/// The test user and their keys: a plain one, and a registered sk key.
pub(super) struct Person {
    pub(super) user: String,
    pub(super) plain: SshKey,
    pub(super) sk: SshKey,
}

/// The user, the security engineer's bundle and agent.yaml, reloaded.
pub(super) fn prod_node(c: &Container, root: &Path, work: &WorkDir) -> Person {
    let user = unique_name("mfat");
    c.sh(&format!("useradd -m -s /bin/bash {user}"));
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let sk = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    c.sh(&format!(
        "install -d -m 700 -o {user} -g {user} /home/{user}/.ssh && echo '{}' > /home/{user}/.ssh/authorized_keys && chown {user}: /home/{user}/.ssh/authorized_keys",
        plain.public_line
    ));
    // root is a login a role names: the user may have it on prod, with a tap.
    let bundle = Bundle::new()
        .cap("false")
        .role("access-prod", &[("env", "prod")], &[&user], Some("true"))
        .role("root-prod", &[("env", "prod")], &["root"], Some("true"))
        .user(&user, &["access-prod", "root-prod"], &[&user])
        .sk_device(&format!("{user}-sk"), &user, &sk.public_line);
    // The security engineer's bundle, put in place by README's own lines
    // (owner and mode matter: the agent refuses a policy others may write).
    std::fs::write(root.join("root/bundle.yaml"), bundle.to_yaml()).expect("bundle");
    c.sh(&format!(
        "cd /root && {} && {} && {}",
        readme_command("install -d -m 0755 /etc/pam-mfa/policy.d"),
        readme_command("install -m 0644 bundle.yaml "),
        readme_command("mfactl check /etc/pam-mfa/policy.d"),
    ));
    std::fs::write(root.join("etc/pam-mfa/agent.yaml"), AGENT_YAML).expect("agent.yaml");
    // README: check, then reload (not restart) the running agent.
    let pid_before = c.sh("systemctl show -p MainPID --value mfa-agent");
    c.sh("mfactl check /etc/pam-mfa/agent.yaml && systemctl reload mfa-agent");
    let status = c.sh("mfactl status --json");
    let status: serde_json::Value = serde_json::from_str(&status).expect("status --json");
    assert_eq!(status["node"], "prod3", "after the reload: {status}");
    assert_eq!(
        status["labels"]["env"], "prod",
        "after the reload: {status}"
    );
    assert_eq!(
        c.sh("systemctl show -p MainPID --value mfa-agent"),
        pid_before,
        "a reload, not a restart"
    );
    // A typo is refused with its place; the running configuration stays.
    std::fs::write(
        root.join("etc/pam-mfa/agent.yaml"),
        AGENT_YAML.replace("  labels:", "  labls:"),
    )
    .expect("agent.yaml");
    let refused = c.run(&["mfactl", "reload"], 30);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stdout.contains("/etc/pam-mfa/agent.yaml:4:")
            && refused.stdout.contains("the running configuration stays"),
        "{refused:?}"
    );
    let status = c.sh("mfactl status --json");
    assert!(status.contains("\"prod3\""), "{status}");
    std::fs::write(root.join("etc/pam-mfa/agent.yaml"), AGENT_YAML).expect("agent.yaml");
    c.sh("systemctl reload mfa-agent && systemctl is-active mfa-agent");
    let explain = c.sh(&format!("mfactl explain --login {user} --json"));
    let explain: serde_json::Value = serde_json::from_str(&explain).expect("explain --json");
    assert_eq!(
        explain["mfa"], "session",
        "prod node should require a tap: {explain}"
    );
    Person { user, plain, sk }
}

/// sshd and PAM as README says, with doctor's findings before and after.
pub(super) fn sshd_as_readme_says(c: &Container) {
    // Before the drop-in, doctor names what sshd lacks.
    let (code, errors, report) = doctor_errors(c);
    assert_eq!(code, Some(2), "{report}");
    for id in [
        "sshd.authentication_methods",
        "sshd.expose_auth_info",
        "sshd.authorized_keys_command",
        "pam.sshd.missing",
    ] {
        assert!(
            errors.iter().any(|e| e == id),
            "doctor missed {id}:\n{report}"
        );
    }
    // README step 1's line: the copy, then (only if it worked) sshd -t and
    // the reload.
    c.sh(&readme_command(
        "cp /usr/share/pam-mfa/sshd_config.d/pam-mfa.conf ",
    ));
    c.sh(&edit_sshd_pam());
    let sshd_pam =
        c.sh("grep -c '^\\(auth\\|account\\|session\\) *required *pam_mfa.so$' /etc/pam.d/sshd");
    assert_eq!(
        sshd_pam.trim(),
        "3",
        "README's sed must add the three lines"
    );
    c.sh("pam-auth-update --enable pam-mfa && grep -q pam_mfa.so /etc/pam.d/common-auth");
    // README: reload sshd after the drop-in.
    c.sh("sshd -t && systemctl reload ssh && systemctl is-active ssh");
    // After README's steps: no error left (sudo's 15 min cache is a warning).
    let (_, errors, report) = doctor_errors(c);
    assert_eq!(errors, Vec::<String>::new(), "{report}");
}
