//! README's "When the agent cannot decide, and the way back in", in a booted
//! Debian 12 container with the .deb: after `pam-auth-update --enable
//! pam-mfa`, the step that puts pam_mfa.so in common-auth (so in login, su
//! and sudo), root logs in at a local console with its password alone
//! (the break-glass) while the agent is not yet given a policy, stopped
//! with its socket gone, or running on a policy.d whose only bundle does not
//! load; and nothing wider passes: root on a pseudo-terminal, another user
//! at the console and sudo are refused in those states. Each break-glass use
//! is in the auth log; `mfactl doctor` does not count it as a way around
//! pam_mfa.so; removing the package takes both lines out of common-auth and
//! leaves login and sudo working, and installing it again runs the agent
//! again.
//!
//! The logins run the container's own /etc/pam.d stacks through real
//! Linux-PAM (pam-harness, copied in, with PAM_TTY as login sets it:
//! Debian's login (shadow) sets `ttyname(0)`, `/dev/tty1`; util-linux's
//! login, on RPM systems, `tty1`).
//! Needs root, debootstrap, systemd-container and `make deb`, as
//! packages_deb.rs.

use pam_mfa_e2e::bins::{pam_harness, workspace_root};
use pam_mfa_e2e::packaging::built_deb;
use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::packaging::debian_root::{copy_root, pristine_root};
use pam_mfa_e2e::workdir::WorkDir;
use pam_mfa_e2e::{random_hex, require_root, unique_name};

/// The README's break-glass line, as the profile writes it.
const BREAK_GLASS: &str =
    "pam_succeed_if.so quiet_fail service = login user = root tty =~ *[cht][otv][cny]*";

struct Host {
    c: Container,
    admin: String,
    admin_pw: String,
    root_pw: String,
}

impl Host {
    /// One `auth` of `service` for `user` on `tty`, answering `password`:
    /// (passed, the harness's output).
    fn auth(
        &self,
        service: &str,
        user: &str,
        tty: &str,
        ruser: Option<&str>,
        password: &str,
    ) -> (bool, String) {
        let mut argv = vec![
            "/root/pam-harness",
            "--confdir",
            "/etc/pam.d",
            "--service",
            service,
            "--user",
            user,
            "--tty",
            tty,
            "--answer",
            password,
            "--op",
            "auth",
        ];
        if let Some(r) = ruser {
            argv.extend(["--ruser", r]);
        }
        let out = self.c.run(&argv, 60);
        let text = format!("{}{}", out.stdout, out.stderr);
        (out.success(), text)
    }

    /// As Debian's login, whose PAM_TTY is `ttyname(0)`.
    fn root_at_console(&self) -> (bool, String) {
        self.auth("login", "root", "/dev/tty1", None, &self.root_pw)
    }

    /// The admin's `sudo` in a terminal, with the admin's password.
    fn admin_sudo(&self) -> (bool, String) {
        let admin = self.admin.as_str();
        self.auth("sudo", admin, "pts/0", Some(admin), &self.admin_pw)
    }

    /// In every state the agent cannot decide in: root at the console gets
    /// in with its password, and nothing wider does: pam_mfa.so refuses the
    /// rest (`refusal`: what its refusal shows in the harness's output).
    fn assert_only_console_root_passes(&self, state: &str, refusal: &str) {
        let (ok, out) = self.root_at_console();
        assert!(
            ok,
            "{state}: root at the console (tty1) must get in:\n{out}\n{}",
            self.logs()
        );
        for console in ["/dev/ttyS0", "tty1", "ttyS0"] {
            let (ok, out) = self.auth("login", "root", console, None, &self.root_pw);
            assert!(ok, "{state}: root on {console} must get in:\n{out}");
        }
        let (ok, out) = self.auth("login", "root", "/dev/tty1", None, "wrong-password");
        assert!(
            !ok,
            "{state}: the break-glass still needs root's password:\n{out}"
        );
        for (service, user, tty, ruser, pw) in [
            ("login", "root", "pts/0", None, &self.root_pw),
            ("login", "root", "/dev/pts/0", None, &self.root_pw),
            (
                "login",
                self.admin.as_str(),
                "/dev/tty1",
                None,
                &self.admin_pw,
            ),
            (
                "sudo",
                self.admin.as_str(),
                "pts/0",
                Some(self.admin.as_str()),
                &self.admin_pw,
            ),
            (
                "sudo",
                self.admin.as_str(),
                "/dev/tty1",
                Some(self.admin.as_str()),
                &self.admin_pw,
            ),
        ] {
            let (ok, out) = self.auth(service, user, tty, ruser, pw);
            assert!(
                !ok,
                "{state}: {service} for {user} on {tty} must be refused:\n{out}"
            );
            assert!(
                out.contains(refusal),
                "{state}: {service} for {user} on {tty}: refused by pam_mfa.so ({refusal}), not something else:\n{out}"
            );
        }
    }

    fn logs(&self) -> String {
        format!(
            "--- mfa-agent\n{}\n--- common-auth\n{}",
            self.c.journal("mfa-agent"),
            self.c.sh("cat /etc/pam.d/common-auth")
        )
    }
}

#[test]
fn root_keeps_a_console_break_glass_whatever_the_agent_state() {
    require_root!();
    let deb = built_deb();
    let pristine = pristine_root();
    let work = WorkDir::new("pkg-deb-glass");
    let root = work.join("root");
    copy_root(&pristine, &root);
    std::fs::copy(&deb, root.join("root/pam-mfa.deb")).expect("copy the .deb in");
    std::fs::copy(pam_harness(), root.join("root/pam-harness")).expect("copy pam-harness in");
    let c = Container::boot(&root, &work.join("console.log"));
    c.sh("dpkg -i /root/pam-mfa.deb");

    let admin = unique_name("mfag");
    let host = Host {
        admin_pw: format!("pw-{}", random_hex(6)),
        root_pw: format!("root-{}", random_hex(6)),
        admin,
        c,
    };
    host.c.sh(&format!(
        "useradd -m -s /bin/bash {a} && echo '{a}:{p}' | chpasswd && echo 'root:{r}' | chpasswd",
        a = host.admin,
        p = host.admin_pw,
        r = host.root_pw
    ));
    // Before pam-mfa is in any stack, sudo's stack lets the admin through.
    let (ok, out) = host.admin_sudo();
    assert!(ok, "before pam-auth-update: {out}");

    // README step 3, taken before the policy is in place.
    host.c.sh("pam-auth-update --enable pam-mfa");
    let common = host.c.sh("cat /etc/pam.d/common-auth");
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("auth [success=1 default=ignore] {BREAK_GLASS}")),
        "README.md shows another break-glass line than the profile's"
    );
    let glass_at = common
        .find(BREAK_GLASS)
        .unwrap_or_else(|| panic!("no break-glass:\n{common}"));
    let mfa_at = common
        .find("pam_mfa.so")
        .expect("pam_mfa.so in common-auth");
    assert!(
        glass_at < mfa_at,
        "the break-glass goes just before pam_mfa.so:\n{common}"
    );

    // As installed: the agent runs without a policy (no policy.d).
    host.c
        .sh("test ! -e /etc/pam-mfa/policy.d && systemctl is-active mfa-agent");
    host.assert_only_console_root_passes("no policy yet", "no MFA policy is loaded");

    // Stopped: its socket is gone.
    host.c
        .sh("systemctl stop mfa-agent && test ! -e /run/pam-mfa/agent.sock");
    host.assert_only_console_root_passes("agent stopped", "auth=PAM_AUTHINFO_UNAVAIL");

    // Running on a bundle that does not load.
    std::fs::create_dir(root.join("etc/pam-mfa/policy.d")).expect("mkdir policy.d");
    std::fs::write(
        root.join("etc/pam-mfa/policy.d/bundle.yaml"),
        "kind: role\nversion: v7\nmetadata: [\n",
    )
    .expect("broken bundle");
    host.c
        .sh("systemctl start mfa-agent && systemctl is-active mfa-agent");
    let status = host.c.sh("mfactl status");
    assert!(
        status.contains("bundle.yaml:"),
        "the error names the file: {status}"
    );
    host.assert_only_console_root_passes("broken policy", "no MFA policy is loaded");

    // Every use of the break-glass is in the auth log: README's command
    // finds it, and nothing else. Root's refused logins above (on a
    // pseudo-terminal) met `service = login` and `user = root` too, and
    // pam_succeed_if logged each: those are no break-glass.
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let find = readme
        .split('`')
        .find(|piece| piece.starts_with("journalctl -g") && piece.contains("pam_succeed_if"))
        .expect("README.md gives the journalctl command for the break-glass");
    let log = host.c.sh(find);
    let uses: Vec<&str> = log.lines().filter(|l| !l.starts_with("-- ")).collect();
    assert!(
        !uses.is_empty()
            && uses.iter().all(|l| {
                l.contains("pam_succeed_if(login:auth): requirement \"tty =~ *[cht][otv][cny]*\" was met by user \"root\"")
            }),
        "`{find}` must show the break-glass uses and only them:\n{log}"
    );
    let all = host.c.sh("journalctl -g 'pam_succeed_if' --no-pager");
    assert!(
        all.contains("requirement \"user = root\" was met by user \"root\""),
        "the refused root logins should have logged their partial matches:\n{all}"
    );

    // doctor does not take the break-glass for a way around pam_mfa.so.
    let doctor = host.c.run(&["mfactl", "doctor", "--json"], 60);
    for id in [
        "pam.login.not_effective",
        "pam.su.not_effective",
        "pam.sudo.not_effective",
    ] {
        assert!(
            !doctor.stdout.contains(id),
            "doctor: {id}\n{}",
            doctor.stdout
        );
    }

    // Removal takes both lines out; login and sudo work by the stock stacks.
    host.c.sh("apt-get remove -y pam-mfa");
    let left = host.c.run(
        &[
            "grep",
            "-rn",
            "-e",
            "pam_mfa",
            "-e",
            "pam_succeed_if",
            "/etc/pam.d",
        ],
        20,
    );
    assert_eq!(
        left.stdout, "",
        "after removal, /etc/pam.d still names them"
    );
    let (ok, out) = host.root_at_console();
    assert!(ok, "after removal, root at the console: {out}");
    let (ok, out) = host.admin_sudo();
    assert!(ok, "after removal, sudo: {out}");

    // Installed again after that removal: the agent runs again (the removal
    // masked its unit; a mask left behind would refuse every login once the
    // admin puts pam_mfa.so back).
    host.c.sh("dpkg -i /root/pam-mfa.deb");
    let state = host.c.run(&["systemctl", "is-active", "mfa-agent"], 20);
    let enabled = host.c.run(&["systemctl", "is-enabled", "mfa-agent"], 20);
    assert_eq!(
        (state.stdout.trim(), enabled.stdout.trim()),
        ("active", "enabled"),
        "reinstalled after a removal:\n{}",
        host.c.journal("mfa-agent")
    );
    host.c.sh("apt-get purge -y pam-mfa");
}
