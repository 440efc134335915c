//! Logins through the installed package: the registered key (root's login
//! included), a refused plain key, and sudo tapped by a forwarded agent.

use pam_mfa_e2e::keys::SshKey;
use pam_mfa_e2e::random_hex;
use pam_mfa_e2e::ssh::SshLogin;
use pam_mfa_e2e::ssh_agent::TestSshAgent;

use super::host::Host;
use super::readme_command;

/// The registered sk key logs in (root too); a plain key is refused.
pub(super) fn by_key(host: &Host, sk: &SshKey, plain: &SshKey) {
    // The registered security key: sshd checks its touch, pam-mfa allows
    // (the audit names the sk key's touch as the evidence).
    host.assert_logs_in(sk);
    let journal = host.c.journal("mfa-agent");
    let allow = journal
        .lines()
        .find(|l| l.contains(&format!("decision allow service=sshd login={}", host.user)))
        .unwrap_or_else(|| panic!("no allow in the audit:\n{journal}"));
    assert!(
        allow.contains("evidence=ssh_sk_touch"),
        "the allow should rest on the key's touch: {allow}"
    );
    // Root logs in as the policy allows (the user's registered key, tapped):
    // with Debian's default PermitRootLogin prohibit-password, sshd aborted.
    let out = host.login_as("root", sk);
    assert!(
        out.success() && out.stdout().trim() == "root",
        "root should log in with the registered key:\n{}",
        host.evidence(&out)
    );
    assert!(
        !host.c.journal("ssh").contains("should have failed"),
        "sshd aborted root's login:\n{}",
        host.c.journal("ssh")
    );

    // A plain key on a prod node: refused.
    let out = host.login(plain);
    assert!(
        !out.success(),
        "a plain key must be refused on prod:\n{}",
        host.evidence(&out)
    );
    assert!(
        out.stderr().contains("Permission denied"),
        "{}",
        host.evidence(&out)
    );
    let journal = host.c.journal("mfa-agent");
    assert!(
        journal.contains(&format!("decision deny service=sshd login={}", host.user)),
        "the audit should show the deny:\n{journal}"
    );
}

/// sudo inside an SSH session, the tap from the forwarded ssh-agent.
pub(super) fn sudo_with_a_forwarded_agent(host: &Host, sk: &SshKey) {
    // sudo inside that SSH session, with the forwarded ssh-agent holding the
    // registered key: the agent (under the unit's sandbox: host /tmp, only
    // CAP_DAC_OVERRIDE to reach the user's 0700 socket directory) has the
    // key sign a challenge, so sudo needs no prompt beyond the password.
    let password = format!("pw-{}", random_hex(6));
    host.c.sh(&format!(
        "echo '{user}:{password}' | chpasswd && printf '{user} ALL=(ALL) ALL\n' > /etc/sudoers.d/pam-mfa-test && chmod 440 /etc/sudoers.d/pam-mfa-test",
        user = host.user
    ));
    // README's sudoers line, as written: every sudo decided anew.
    host.c.sh(&readme_command(
        "echo 'Defaults timestamp_timeout=0' > /etc/sudoers.d/pam-mfa",
    ));
    // README's host check, as written, after all its steps: exit 0.
    let doctor = host.c.run(
        &["sh", "-c", &readme_command("mfactl doctor           #")],
        60,
    );
    assert!(
        doctor.success(),
        "README's `mfactl doctor` after its steps ({:?}):\n{}\n{}",
        doctor.code,
        doctor.stdout,
        doctor.stderr
    );
    let ssh_agent = TestSshAgent::start(host.work.path(), None);
    ssh_agent.add(sk, None);
    let mut l = SshLogin::new(22, &host.user, sk).answer("1234");
    l.extra_env.push(("PATH".into(), host.shim_path.clone()));
    l.agent_socket = Some(ssh_agent.socket.clone());
    l.extra_args.push("-A".into());
    l.timeout = std::time::Duration::from_secs(40);
    let out = l.run(
        &host.work,
        &format!("echo {password} | sudo -S -p '' id -un"),
    );
    assert!(
        // sudo prints PAM's info lines (the tap cue) from its buffer at exit.
        out.success()
            && out.stdout().lines().rfind(|l| !l.starts_with("pam-mfa: ")) == Some("root"),
        "sudo with the forwarded agent should pass:\n{}",
        host.evidence(&out)
    );
    let journal = host.c.journal("mfa-agent");
    assert!(
        journal.lines().any(|l| l
            .contains(&format!("decision allow service=sudo login={}", host.user))
            && l.contains("evidence=forwarded_agent_ssh_sk")),
        "the sudo tap should come from the forwarded agent:\n{journal}"
    );
    drop(ssh_agent);
}
