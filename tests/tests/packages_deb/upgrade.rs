//! Upgrades that must leave a working host as it was, a removal refused
//! while a hand-written PAM line loads the module, and README's uninstall.

use pam_mfa_e2e::keys::SshKey;

use super::host::{pam_d_references, Host};
use super::readme_uninstall;

/// The same package again: PAM files untouched; with a broken agent.yaml
/// or a policy the new agent refuses, the running agent keeps serving.
pub(super) fn leaves_a_working_host_alone(host: &Host, sk: &SshKey) {
    // An upgrade (the same package again) leaves every PAM file as it was and
    // runs the agent again.
    let before = host.pam_d_checksums();
    host.c.sh("dpkg -i /root/pam-mfa.deb");
    assert_eq!(
        host.pam_d_checksums(),
        before,
        "an upgrade must not rewrite /etc/pam.d"
    );
    assert_eq!(host.agent_state(), "active");
    host.assert_logs_in(sk);

    // agent.yaml edited with a mistake and not reloaded: an upgrade leaves
    // the running agent serving and says why, instead of restarting it into
    // a failure that refuses every login.
    let pid = host.c.sh("systemctl show -p MainPID --value mfa-agent");
    host.c.sh("cp /etc/pam-mfa/agent.yaml /root/agent.yaml.good && sed -i 's/^  labels:/  labls:/' /etc/pam-mfa/agent.yaml");
    let upgrade = host.c.run(&["dpkg", "-i", "/root/pam-mfa.deb"], 120);
    assert!(
        upgrade.success() && upgrade.stderr.contains("agent.yaml is refused"),
        "upgrade with a broken agent.yaml:\n{}\n{}",
        upgrade.stdout,
        upgrade.stderr
    );
    assert_eq!(host.agent_state(), "active");
    assert_eq!(
        host.c.sh("systemctl show -p MainPID --value mfa-agent"),
        pid,
        "the running agent must be left running"
    );
    host.assert_logs_in(sk);
    host.c
        .sh("cp /root/agent.yaml.good /etc/pam-mfa/agent.yaml");

    // A policy the new agent would refuse (a file group members may write):
    // the upgrade leaves the running agent, and its policy, serving.
    host.c.sh("chmod g+w /etc/pam-mfa/policy.d/*.yaml");
    let upgrade = host.c.run(&["dpkg", "-i", "/root/pam-mfa.deb"], 120);
    assert!(
        upgrade.success()
            && upgrade
                .stderr
                .contains("the policy is refused (`mfa-agent --check` says why)"),
        "upgrade with a policy the agent refuses:\n{}\n{}",
        upgrade.stdout,
        upgrade.stderr
    );
    assert_eq!(
        host.c.sh("systemctl show -p MainPID --value mfa-agent"),
        pid,
        "the running agent must be left running"
    );
    host.assert_logs_in(sk);
    host.c.sh("chmod g-w /etc/pam-mfa/policy.d/*.yaml");
}

/// Removal refused while /etc/pam.d/sshd loads the module by hand; after
/// README's undo, a purge that leaves the admin's bundle and working logins.
pub(super) fn removal_and_purge(host: &Host, sk: &SshKey, plain: &SshKey, multiarch: &str) {
    // Removal while /etc/pam.d/sshd still loads pam_mfa.so by hand: refused,
    // and nothing changed.
    let refused = host.c.run(&["dpkg", "--remove", "pam-mfa"], 120);
    assert!(
        !refused.success(),
        "removal must be refused:\n{}\n{}",
        refused.stdout,
        refused.stderr
    );
    assert!(
        refused.stderr.contains("/etc/pam.d/sshd") && !refused.stderr.contains("common-auth"),
        "the refusal should name the hand-written lines only:\n{}",
        refused.stderr
    );
    let status = host.c.sh("dpkg-query -W -f='${Status}' pam-mfa");
    // dpkg records the wish (deinstall) but the package stays installed.
    assert!(
        status.ends_with("ok installed"),
        "after the refused removal: {status}"
    );
    assert_eq!(host.agent_state(), "active");
    host.assert_logs_in(sk);

    // README's uninstall: undo the hand edits, then purge.
    host.c.sh(&readme_uninstall());
    host.c.sh("test ! -e /etc/ssh/sshd_config.d/pam-mfa.conf");
    assert_eq!(
        pam_d_references(&host.c),
        "",
        "no PAM file may still load pam_mfa.so"
    );
    assert_ne!(host.agent_state(), "active");
    let left = host.c.run(&["pgrep", "-x", "mfa-agent"], 20);
    assert!(!left.success(), "mfa-agent still running: {}", left.stdout);
    host.c.sh(&format!(
        "test ! -e /usr/lib/{}/security/pam_mfa.so && test ! -e /etc/pam-mfa/agent.yaml && test ! -e /var/lib/pam-mfa && test ! -e /run/pam-mfa && test ! -e /usr/share/pam-configs/pam-mfa",
        multiarch
    ));
    // The admin's bundle is theirs: kept.
    host.c.sh("test -f /etc/pam-mfa/policy.d/bundle.yaml");
    // Logins work without the module: the plain key, by sshd's stock rules.
    host.assert_logs_in(plain);
}
