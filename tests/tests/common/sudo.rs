//! Debian's real sudo run by a test user outside SSH (sudo_silent.rs,
//! sudo_tries.rs, sudo_invoking_user.rs).
//!
//! sudo runs in a private mount namespace where a private directory is bound
//! over `/etc/pam.d` (holding only the test's sudo service) and a private
//! sudoers over `/etc/sudoers`; `setpriv` (no PAM) makes the caller the test
//! user. The host's files are never touched.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins;
use pam_mfa_e2e::process::{run_with_timeout, Finished};
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

use super::module_args;

const NAMESPACE_SCRIPT: &str = r#"set -e
mount --bind "$1" /etc/pam.d
mount --bind "$2" /etc/sudoers
shift 2
exec "$@"
"#;

/// One `sudo -S id -un`.
pub struct Sudo<'a> {
    pub user: &'a TestUser,
    /// The PAM service: pam_mfa.so on `socket` in auth, pam_permit in
    /// account and session.
    pub service: &'a str,
    pub socket: &'a Path,
    /// sudoers' `passwd_tries`: how many times sudo runs the auth stack.
    pub passwd_tries: u32,
    /// What the person types at every prompt (`None`: nothing on the input).
    pub answer: Option<&'a str>,
    /// More sudoers `Defaults` for the user (`rootpw, !pam_ruser`), or "".
    pub defaults: &'a str,
}

impl Sudo<'_> {
    pub fn run(&self, work: &WorkDir) -> Finished {
        let module = bins::pam_module();
        bins::require(&module);
        let pam_dir = work.subdir("pam.d", 0o755);
        std::fs::write(
            pam_dir.join(self.service),
            format!(
                "auth required {} {}\naccount required pam_permit.so\nsession required pam_permit.so\n",
                module.display(),
                module_args(self.socket, "")
            ),
        )
        .unwrap();
        let sudoers = work.write(
            "sudoers",
            &format!(
                "Defaults !requiretty, !lecture, !fqdn\n\
                 Defaults:{u} pam_service={service}, timestamp_timeout=0, passwd_tries={tries}\n\
                 {defaults}\
                 root ALL=(ALL:ALL) ALL\n{u} ALL=(ALL:ALL) ALL\n",
                // By uid: sudo knows its user by getpwuid's name, another
                // name of the uid when two passwd entries share it.
                u = format!("#{}", self.user.uid),
                defaults = match self.defaults {
                    "" => String::new(),
                    d => format!("Defaults:#{} {d}\n", self.user.uid),
                },
                service = self.service,
                tries = self.passwd_tries
            ),
            0o440,
        );
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(NAMESPACE_SCRIPT)
            .arg("sh")
            .arg(&pam_dir)
            .arg(&sudoers)
            .args(["setpriv", "--reuid", &self.user.uid.to_string()])
            .args(["--regid", &self.user.gid.to_string(), "--init-groups"])
            .args(["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
        match self.answer {
            None => cmd.args(["sudo", "-S", "id", "-un"]),
            Some(a) => cmd
                .args(["sh", "-c", r#"yes "$0" | sudo -S id -un"#])
                .arg(a),
        };
        run_with_timeout(&mut cmd, Duration::from_secs(30))
    }
}
