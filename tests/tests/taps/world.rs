//! What the taps tests share: a world of an agent and a real sshd on a prod
//! node, the user's registered sk key and a stranger's.

use super::common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig};
use pam_mfa_e2e::bins;
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::ssh_agent::TestSshAgent;
use pam_mfa_e2e::sshd::{Sshd, SshdOptions};
use pam_mfa_e2e::unique_name;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

pub(crate) struct TapWorld {
    pub(crate) sshd: Sshd,
    pub(crate) agent: Agent,
    pub(crate) user: TestUser,
    pub(crate) plain: SshKey,
    pub(crate) registered: SshKey,
    pub(crate) stranger: SshKey,
    pub(crate) work: WorkDir,
}

/// A prod node (access-prod requires session MFA) where the user's only
/// authorized key is a plain one; `registered` is the user's mfa_device.
pub(crate) fn tap_world(label: &str, prod_mfa: &str) -> TapWorld {
    tap_world_as(label, prod_mfa, "ssh")
}

/// [`tap_world`] with sshd's PAM service in the agent's service map as
/// `class` (ssh, admin, desktop).
pub(crate) fn tap_world_as(label: &str, prod_mfa: &str, class: &str) -> TapWorld {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let registered = SshKey::generate(work.path(), "id_sk", KeyKind::Ed25519Sk, false);
    let stranger = SshKey::generate(work.path(), "id_stranger", KeyKind::Ed25519Sk, false);
    user.authorize_keys(&[plain.public_line.as_str()]);
    let service = unique_name("sshd-mfat");
    let b = bundle(&user.name, "false", prod_mfa, &[&registered]);
    let agent = Agent::start(
        &work,
        &AgentConfig::with_env("prod").service(&service, class),
        &b,
    );
    let sshd = Sshd::start(&work, &SshdOptions::pam_mfa(&agent.socket, &service));
    TapWorld {
        sshd,
        agent,
        user,
        plain,
        registered,
        stranger,
        work,
    }
}

impl TapWorld {
    pub(crate) fn tap_login(&self, ssh_agent: &TestSshAgent) -> SshOutcome {
        SshLogin::new(self.sshd.port, &self.user.name, &self.plain)
            .tap(bins::require(&bins::mfactl()), &ssh_agent.socket)
            .run(&self.work, "id -un")
    }

    pub(crate) fn evidence(&self, out: &SshOutcome) -> String {
        format!("{}\n{}", out.describe(), self.agent.evidence())
    }

    pub(crate) fn auth_decisions(&self) -> Vec<serde_json::Value> {
        self.agent
            .audit_events()
            .into_iter()
            .filter(|e| e["event"] == "decision" && e["login"] == self.user.name.as_str())
            .collect()
    }
}
