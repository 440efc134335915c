//! The booted container with the test user and their keys, and what the
//! scenario asks of it.

use pam_mfa_e2e::keys::SshKey;
use pam_mfa_e2e::packaging::container::Container;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::workdir::WorkDir;

/// `mfactl doctor --json` in the container: (exit code, ids of the errors).
pub(super) fn doctor_errors(c: &Container) -> (Option<i32>, Vec<String>, String) {
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

pub(super) struct Host {
    pub(super) c: Container,
    pub(super) work: WorkDir,
    pub(super) user: String,
    pub(super) shim_path: String,
}

impl Host {
    pub(super) fn login(&self, key: &SshKey) -> SshOutcome {
        self.login_as(&self.user, key)
    }

    pub(super) fn login_as(&self, login: &str, key: &SshKey) -> SshOutcome {
        let mut l = SshLogin::new(22, login, key).answer("1234");
        l.extra_env.push(("PATH".into(), self.shim_path.clone()));
        l.run(&self.work, "id -un")
    }

    pub(super) fn evidence(&self, out: &SshOutcome) -> String {
        format!(
            "{}\n--- mfa-agent journal\n{}\n--- ssh journal\n{}",
            out.describe(),
            self.c.journal("mfa-agent"),
            self.c.journal("ssh")
        )
    }

    pub(super) fn assert_logs_in(&self, key: &SshKey) -> SshOutcome {
        let out = self.login(key);
        assert!(
            out.success() && out.stdout().trim() == self.user,
            "login should succeed:\n{}",
            self.evidence(&out)
        );
        out
    }

    pub(super) fn agent_state(&self) -> String {
        self.c
            .run(&["systemctl", "is-active", "mfa-agent.service"], 20)
            .stdout
            .trim()
            .to_string()
    }

    pub(super) fn pam_d_checksums(&self) -> String {
        self.c
            .sh("cd /etc/pam.d && sha256sum * && cat /var/lib/pam/seen")
    }
}

/// Lines in /etc/pam.d that name pam_mfa (grep exits 1 when none do).
pub(super) fn pam_d_references(c: &Container) -> String {
    c.run(&["grep", "-rn", "pam_mfa", "/etc/pam.d"], 20).stdout
}
