//! The .deb as an admin meets it: installed with dpkg into a Debian 12 root
//! made by debootstrap and booted with systemd-nspawn (a real PID 1 systemd);
//! the agent comes up through sd_notify under the hardened unit; sshd and
//! PAM are set up as README says (agent.yaml reloaded, not restarted; the
//! sshd drop-in with `PermitRootLogin yes`, sshd reloaded; `mfactl doctor`
//! finds the missing sshd settings before the drop-in and no error after);
//! a registered sk key logs in with its touch, root's login included (with
//! Debian's default prohibit-password sshd aborted it), and a plain key is
//! refused on the prod-labelled node; a bad agent.yaml is refused on reload
//! with its place and the running one stays; an upgrade leaves
//! /etc/pam.d alone, and with an agent.yaml the agent would refuse leaves
//! the running agent serving; removal is refused while a hand-written PAM line still
//! loads the module; after the README's undo steps the package purges and
//! logins still work.
//!
//! Needs root, debootstrap and systemd-container (tests/install-deps.sh) and
//! `make deb`. The debootstrap root is cached in /var/cache/pam-mfa-tests
//! (`$PAM_MFA_PKGTEST_CACHE`); each run boots a fresh copy of it.

use std::time::Instant;

use pam_mfa_e2e::agent::Bundle;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::packaging::built_deb;
use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::packaging::debian_root::{copy_root, pristine_root};
use pam_mfa_e2e::process::run_checked;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{random_hex, require_root, unique_name};

/// README's /etc/pam-mfa/agent.yaml for a prod node.
const AGENT_YAML: &str = "node:\n  name: prod3\n  labels: { env: prod }\ncluster:\n  source: file:///etc/pam-mfa/policy.d\nsshd:\n  pubkey_auth_options: [touch-required]\n";

/// The one command line of README.md that starts with `start` (its
/// /etc/pam.d/sshd edit and undo are run here as a reader copies them).
fn readme_command(start: &str) -> String {
    let readme = std::fs::read_to_string(pam_mfa_e2e::bins::workspace_root().join("README.md"))
        .expect("README.md");
    let found: Vec<&str> = readme.lines().filter(|l| l.starts_with(start)).collect();
    assert_eq!(
        found.len(),
        1,
        "README.md lines starting with {start:?}: {found:?}"
    );
    found[0].to_string()
}

/// README's /etc/pam.d/sshd change: `auth required pam_mfa.so` replaces
/// `@include common-auth`; `account required pam_mfa.so` follows
/// `@include common-account`, `session required pam_mfa.so` follows
/// `@include common-session`.
fn edit_sshd_pam() -> String {
    readme_command("sed -i -e 's/^@include common-auth$/")
}

/// README's undo before removing the package.
fn undo_sshd_pam() -> String {
    readme_command("sed -i -e 's/^auth       required     pam_mfa.so$/")
}

/// `mfactl doctor --json` in the container: (exit code, ids of the errors).
fn doctor_errors(c: &Container) -> (Option<i32>, Vec<String>, String) {
    let out = c.run(&["mfactl", "doctor", "--json"], 60);
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}\n{}", out.stdout, out.stderr));
    let errors = v["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["severity"] == "error")
                .map(|f| f["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    (out.code, errors, out.stdout)
}

struct Host {
    c: Container,
    work: WorkDir,
    user: String,
    shim_path: String,
}

impl Host {
    fn login(&self, key: &SshKey) -> SshOutcome {
        self.login_as(&self.user, key)
    }

    fn login_as(&self, login: &str, key: &SshKey) -> SshOutcome {
        let mut l = SshLogin::new(22, login, key).answer("1234");
        l.extra_env.push(("PATH".into(), self.shim_path.clone()));
        l.run(&self.work, "id -un")
    }

    fn evidence(&self, out: &SshOutcome) -> String {
        format!(
            "{}\n--- mfa-agent journal\n{}\n--- ssh journal\n{}",
            out.describe(),
            self.c.journal("mfa-agent"),
            self.c.journal("ssh")
        )
    }

    fn assert_logs_in(&self, key: &SshKey) -> SshOutcome {
        let out = self.login(key);
        assert!(
            out.success() && out.stdout().trim() == self.user,
            "login should succeed:\n{}",
            self.evidence(&out)
        );
        out
    }

    fn agent_state(&self) -> String {
        self.c
            .run(&["systemctl", "is-active", "mfa-agent.service"], 20)
            .stdout
            .trim()
            .to_string()
    }

    fn pam_d_checksums(&self) -> String {
        self.c
            .sh("cd /etc/pam.d && sha256sum * && cat /var/lib/pam/seen")
    }
}

/// Lines in /etc/pam.d that name pam_mfa (grep exits 1 when none do).
fn pam_d_references(c: &Container) -> String {
    c.run(&["grep", "-rn", "pam_mfa", "/etc/pam.d"], 20).stdout
}

#[test]
fn deb_installs_into_a_booted_debian_and_gates_ssh() {
    require_root!();
    let started = Instant::now();
    let deb = built_deb();
    let pristine = pristine_root();
    let after_root = started.elapsed();

    let work = WorkDir::new("pkg-deb");
    let root = work.join("root");
    copy_root(&pristine, &root);
    // Not /tmp: the booted container mounts a tmpfs there.
    std::fs::copy(&deb, root.join("root/pam-mfa.deb")).expect("copy the .deb in");
    let c = Container::boot(&root, &work.join("console.log"));
    let booted = started.elapsed();

    // Install: the agent starts under systemd and reports ready (Type=notify).
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

    // Where the files went, and that installing touched no PAM stack.
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
        "/usr/share/doc/pam-mfa/examples/publish.env".into(),
        "/usr/lib/tmpfiles.d/pam-mfa.conf".into(),
        "/usr/share/pam-configs/pam-mfa".into(),
        "/etc/pam-mfa/agent.yaml".into(),
        "/usr/share/man/man8/pam_mfa.8.gz".into(),
        "/usr/share/man/man8/mfa-agent.8.gz".into(),
        "/usr/share/man/man1/mfactl.1.gz".into(),
        "/usr/share/man/man5/agent.yaml.5.gz".into(),
        "/usr/share/doc/pam-mfa/examples/sshd_config.d/pam-mfa.conf".into(),
        "/usr/share/pam-mfa/web/index.html".into(),
        "/usr/share/pam-mfa/web/approval.js".into(),
        "/usr/share/pam-mfa/web/approval.css".into(),
    ] {
        assert!(
            files.lines().any(|l| l == path),
            "{path} not in the package:\n{files}"
        );
    }
    let conffiles = c.sh("dpkg-query -W -f='${Conffiles}' pam-mfa");
    assert!(
        conffiles.contains("/etc/pam-mfa/agent.yaml"),
        "conffiles: {conffiles}"
    );
    assert_eq!(
        pam_d_references(&c),
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

    // Set up a prod node as README says.
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
        refused.stdout.contains("/etc/pam-mfa/agent.yaml:3:")
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

    // Before the drop-in, doctor names what sshd lacks.
    let (code, errors, report) = doctor_errors(&c);
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
    c.sh("cp /usr/share/doc/pam-mfa/examples/sshd_config.d/pam-mfa.conf /etc/ssh/sshd_config.d/");
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
    let (_, errors, report) = doctor_errors(&c);
    assert_eq!(errors, Vec::<String>::new(), "{report}");
    let shim = c.ssh_shim_dir(&work.join("shim"));
    let host = Host {
        shim_path: format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", shim.display()),
        c,
        work,
        user,
    };

    // The registered security key: sshd checks its touch, pam-mfa allows
    // (the audit names the sk key's touch as the evidence).
    host.assert_logs_in(&sk);
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
    let out = host.login_as("root", &sk);
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
    let out = host.login(&plain);
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
    let ssh_agent = TestSshAgent::start(host.work.path(), None);
    ssh_agent.add(&sk, None);
    let mut l = SshLogin::new(22, &host.user, &sk).answer("1234");
    l.extra_env.push(("PATH".into(), host.shim_path.clone()));
    l.agent_socket = Some(ssh_agent.socket.clone());
    l.extra_args.push("-A".into());
    l.timeout = std::time::Duration::from_secs(40);
    let out = l.run(
        &host.work,
        &format!("echo {password} | sudo -S -p '' id -un"),
    );
    assert!(
        out.success() && out.stdout().lines().last() == Some("root"),
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
    host.assert_logs_in(&sk);

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
    host.assert_logs_in(&sk);
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
    host.assert_logs_in(&sk);
    host.c.sh("chmod g-w /etc/pam-mfa/policy.d/*.yaml");

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
    host.assert_logs_in(&sk);

    // README's uninstall: undo the hand edits, then purge.
    host.c.sh(&undo_sshd_pam());
    host.c
        .sh("rm /etc/ssh/sshd_config.d/pam-mfa.conf && systemctl reload ssh");
    host.c.sh("apt-get purge -y pam-mfa");
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
        multiarch.trim()
    ));
    // The admin's bundle is theirs: kept.
    host.c.sh("test -f /etc/pam-mfa/policy.d/bundle.yaml");
    // Logins work without the module: the plain key, by sshd's stock rules.
    host.assert_logs_in(&plain);

    eprintln!(
        "packages_deb: root ready in {:.1?}, booted at {:.1?}, whole test {:.1?}",
        after_root,
        booted,
        started.elapsed()
    );
}
