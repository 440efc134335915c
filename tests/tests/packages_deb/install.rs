//! The package installed: the unit up and ready, the files in place, no
//! PAM stack touched, no policy yet.

use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::process::run_checked;

use super::host::pam_d_references;

/// `dpkg -i`: the agent starts under systemd and reports ready
/// (Type=notify); the units verify; the publisher's timer stays off.
pub(super) fn installs_and_serves(c: &Container) {
    c.sh("dpkg -i /root/pam-mfa.deb");
    let show = c.sh(
        "systemctl show -p Type -p ActiveState -p StatusText -p UnitFileState mfa-agent.service",
    );
    for want in [
        "Type=notify",
        "ActiveState=active",
        "StatusText=serving node",
        "UnitFileState=enabled",
    ] {
        assert!(
            show.contains(want),
            "after dpkg -i, want {want}:\n{show}\n{}",
            c.journal("mfa-agent")
        );
    }
    c.sh("test -S /run/pam-mfa/agent.sock && test \"$(stat -c %U:%a /run/pam-mfa)\" = root:755");
    c.sh("systemd-analyze verify --man=no /lib/systemd/system/mfa-agent.service");
    // The publisher's units (Auth Service hosts only): valid, and off until
    // the admin enables the timer.
    c.sh("systemd-analyze verify --man=no /lib/systemd/system/pam-mfa-publish.service /lib/systemd/system/pam-mfa-publish.timer");
    c.sh("test \"$(systemctl is-enabled pam-mfa-publish.timer)\" = disabled");
    let security = c.run(
        &[
            "systemd-analyze",
            "security",
            "--no-pager",
            "mfa-agent.service",
        ],
        30,
    );
    let exposure = security
        .stdout
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or("(no score printed)")
        .to_string();
    eprintln!("packages_deb: {}", exposure.trim());
}

/// Where the files went, and that installing touched no PAM stack nor
/// made a policy. Returns the multiarch triplet (the module's directory).
pub(super) fn puts_its_files_in_place(c: &Container) -> String {
    let multiarch =
        run_checked(std::process::Command::new("dpkg-architecture").arg("-qDEB_HOST_MULTIARCH"));
    let files = c.sh("dpkg -L pam-mfa");
    for path in [
        format!("/usr/lib/{}/security/pam_mfa.so", multiarch.trim()),
        "/usr/sbin/mfa-agent".into(),
        "/usr/bin/mfactl".into(),
        "/usr/lib/systemd/system/mfa-agent.service".into(),
        "/usr/lib/systemd/system/pam-mfa-publish.service".into(),
        "/usr/lib/systemd/system/pam-mfa-publish.timer".into(),
        "/usr/share/pam-mfa/publish.env".into(),
        "/usr/share/pam-mfa/agent.yaml".into(),
        "/usr/share/pam-mfa/pam.d/sshd".into(),
        "/usr/share/pam-mfa/pam.d/sudo".into(),
        "/usr/lib/tmpfiles.d/pam-mfa.conf".into(),
        "/usr/share/pam-configs/pam-mfa".into(),
        "/usr/share/man/man8/pam_mfa.8.gz".into(),
        "/usr/share/man/man8/mfa-agent.8.gz".into(),
        "/usr/share/man/man1/mfactl.1.gz".into(),
        "/usr/share/man/man5/agent.yaml.5.gz".into(),
        "/usr/share/pam-mfa/sshd_config.d/pam-mfa.conf".into(),
        "/usr/share/doc/pam-mfa/examples/agent.yaml".into(),
        "/usr/share/pam-mfa/web/index.html".into(),
        "/usr/share/pam-mfa/web/approval.js".into(),
        "/usr/share/pam-mfa/web/approval.css".into(),
    ] {
        assert!(
            files.lines().any(|l| l == path),
            "{path} not in the package:\n{files}"
        );
    }
    // agent.yaml is made from the default, and is no conffile (dpkg's
    // prompt could put the default over the admin's on an upgrade).
    assert!(
        !files.lines().any(|l| l.starts_with("/etc/")),
        "the package holds files in /etc:\n{files}"
    );
    let conffiles = c.sh("dpkg-query -W -f='${Conffiles}' pam-mfa");
    assert_eq!(conffiles.trim(), "", "conffiles");
    c.sh("cmp /usr/share/pam-mfa/agent.yaml /etc/pam-mfa/agent.yaml && test \"$(stat -c %U:%a /etc/pam-mfa/agent.yaml)\" = root:644");
    assert_eq!(
        pam_d_references(c),
        "",
        "installing must not touch /etc/pam.d"
    );
    c.sh("test ! -e /etc/ssh/sshd_config.d/pam-mfa.conf");
    c.sh("test \"$(stat -c %a /var/lib/pam-mfa)\" = 700");
    // No policy yet: the agent runs, and says the policy is missing.
    c.sh("test ! -e /etc/pam-mfa/policy.d");
    let check = c.run(&["mfa-agent", "--check"], 30);
    assert_eq!(
        check.code,
        Some(1),
        "no bundle must mean no policy:\n{}\n{}",
        check.stdout,
        check.stderr
    );
    multiarch.trim().to_owned()
}
