//! What the sshd_login tests share: the keys, and a world of an agent and a
//! real sshd (syslog captured) on a dev or prod node.

use std::time::Duration;

use super::common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::Sshd;
use pam_mfa_e2e::syslog::SyslogCapture;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

/// One scenario's world. Fields drop in order: sshd, agent, user, work dir.
pub(crate) struct World {
    pub(crate) sshd: Sshd,
    /// sshd's private /dev/log: pam_mfa.so's syslog lines land here.
    pub(crate) syslog: SyslogCapture,
    pub(crate) agent: Agent,
    pub(crate) user: TestUser,
    /// A plain ed25519 key, in the user's authorized_keys.
    pub(crate) plain: SshKey,
    pub(crate) work: WorkDir,
}

/// Keys are generated before the bundle (which registers them).
pub(crate) struct Keys {
    pub(crate) plain: SshKey,
    pub(crate) sk: Vec<SshKey>,
}

pub(crate) fn keys(work: &WorkDir, sk: &[(KeyKind, bool)]) -> Keys {
    let plain = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
    let sk = sk
        .iter()
        .enumerate()
        .map(|(i, (kind, uv))| SshKey::generate(work.path(), &format!("id_sk{i}"), *kind, *uv))
        .collect();
    Keys { plain, sk }
}

/// Like [`world`], with the `sshd-mfat*` -> ssh service mapping.
pub(crate) fn start(
    label: &str,
    env: &str,
    sk: &[(KeyKind, bool)],
    make_bundle: impl FnOnce(&str, &[SshKey]) -> Bundle,
    extra_authorized_sk: &[usize],
) -> (World, Vec<SshKey>) {
    let work = WorkDir::new(label);
    let user = TestUser::create();
    let k = keys(&work, sk);
    let bundle = make_bundle(&user.name, &k.sk);
    let extra: Vec<SshKey> = extra_authorized_sk
        .iter()
        .map(|&i| k.sk[i].clone())
        .collect();
    let extra_refs: Vec<&SshKey> = extra.iter().collect();
    let mut lines = vec![k.plain.public_line.as_str()];
    lines.extend(extra_refs.iter().map(|k| k.public_line.as_str()));
    user.authorize_keys(&lines);
    let syslog = SyslogCapture::start(&work);
    let MfaSshd { agent, sshd, .. } =
        MfaSshd::start_with(&work, AgentConfig::with_env(env), &bundle, |opts| {
            opts.syslog_to(&syslog)
        });
    (
        World {
            sshd,
            syslog,
            agent,
            user,
            plain: k.plain,
            work,
        },
        k.sk,
    )
}

impl World {
    pub(crate) fn login(&self, key: &SshKey) -> SshOutcome {
        SshLogin::new(self.sshd.port, &self.user.name, key)
            .answer("1234")
            .run(&self.work, "id -un")
    }

    pub(crate) fn evidence(&self, out: &SshOutcome, log_from: usize) -> String {
        format!(
            "{}\n--- sshd log (this attempt)\n{}\n--- syslog\n{}\n{}",
            out.describe(),
            self.sshd.log_since(log_from),
            self.syslog.lines().join("\n"),
            self.agent.evidence()
        )
    }

    pub(crate) fn assert_logs_in(&self, key: &SshKey) -> String {
        let from = self.sshd.log_len();
        let out = self.login(key);
        assert!(
            out.success(),
            "login should succeed:\n{}",
            self.evidence(&out, from)
        );
        assert_eq!(
            out.stdout().trim(),
            self.user.name,
            "{}",
            self.evidence(&out, from)
        );
        self.sshd.log_since(from)
    }

    pub(crate) fn assert_refused(&self, key: &SshKey) -> SshOutcome {
        let from = self.sshd.log_len();
        let out = self.login(key);
        assert_eq!(
            out.exit_code(),
            Some(255),
            "login should be refused:\n{}",
            self.evidence(&out, from)
        );
        assert!(
            !out.stdout().contains(&self.user.name),
            "{}",
            self.evidence(&out, from)
        );
        out
    }

    pub(crate) fn wait_decision(&self, result: &str) -> serde_json::Value {
        let login = self.user.name.clone();
        self.agent
            .wait_audit(Duration::from_secs(5), |e| {
                field(e, "login") == login && field(e, "result") == result
            })
            .unwrap_or_else(|| {
                panic!(
                    "no `{result}` audit event for {login}:\n{}",
                    self.agent.audit_text()
                )
            })
    }
}
