//! Locks through a real sshd, as Teleport matches them
//! (`ComputeLockTargets` + `LockTarget.Match`): a lock that sets two fields
//! locks each of them on its own, not only their combination.

mod common;

use common::*;
use pam_mfa_e2e::agent::{Agent, AgentConfig, Bundle};
use pam_mfa_e2e::keys::{KeyKind, SshKey};
use pam_mfa_e2e::mfa_sshd::MfaSshd;
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::ssh::{SshLogin, SshOutcome};
use pam_mfa_e2e::sshd::Sshd;
use pam_mfa_e2e::users::TestUser;
use pam_mfa_e2e::workdir::WorkDir;

/// This node's Teleport host UUID (agent.yaml `node.id`).
const NODE_ID: &str = "5a3e1c2b-7f0d-4c1e-9a55-3b2d4e6f8a10";

struct World {
    sshd: Sshd,
    agent: Agent,
    user: TestUser,
    key: SshKey,
    work: WorkDir,
}

impl World {
    fn start() -> World {
        let work = WorkDir::new("locks");
        let user = TestUser::create();
        let key = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
        user.authorize_keys(&[key.public_line.as_str()]);
        let config = AgentConfig {
            node_id: Some(NODE_ID.into()),
            ..AgentConfig::with_env("dev")
        };
        let MfaSshd { agent, sshd, .. } =
            MfaSshd::start(&work, config, &bundle(&user.name, "false", "false", &[]));
        World {
            sshd,
            agent,
            user,
            key,
            work,
        }
    }

    fn login(&self) -> SshOutcome {
        SshLogin::new(self.sshd.port, &self.user.name, &self.key).run(&self.work, "id -un")
    }

    fn evidence(&self, out: &SshOutcome, from: usize) -> String {
        format!(
            "{}\n--- sshd log\n{}\n{}",
            out.describe(),
            self.sshd.log_since(from),
            self.agent.evidence()
        )
    }

    /// Loads the scenario bundle plus one lock with `target` (YAML flow map).
    fn lock(&self, name: &str, target: &str) {
        let doc = format!(
            "kind: lock\nversion: v2\nmetadata:\n  name: {name}\nspec:\n  target: {target}\n  message: {name} holds\n"
        );
        let b: Bundle = bundle(&self.user.name, "false", "false", &[]).raw(&doc);
        self.agent.update_bundle(&b);
    }

    fn assert_logs_in(&self, why: &str) {
        let from = self.sshd.log_len();
        let out = self.login();
        assert!(
            out.success() && out.stdout().trim() == self.user.name,
            "{why}: login should succeed:\n{}",
            self.evidence(&out, from)
        );
    }

    fn assert_locked(&self, lock: &str, why: &str) {
        let from = self.sshd.log_len();
        let out = self.login();
        assert_eq!(
            out.exit_code(),
            Some(255),
            "{why}: login should be refused:\n{}",
            self.evidence(&out, from)
        );
        assert!(
            out.stderr().contains(&format!("{lock} holds")),
            "{why}: the lock's message should be shown:\n{}",
            self.evidence(&out, from)
        );
    }
}

#[test]
fn a_two_field_lock_locks_each_field_on_its_own() {
    require_root!();
    let w = World::start();
    let me = w.user.name.clone();
    w.assert_logs_in("no lock");

    // {login: someone else, server_id: this node}: every login on this node.
    w.lock(
        "other-login-here",
        "{login: nobody-else, server_id: e2e-dev}",
    );
    w.assert_locked("other-login-here", "another login, this node");

    // {login: this login, server_id: another node}: this login everywhere,
    // here included, although the node named is not this one.
    w.lock("me-elsewhere", &format!("{{login: {me}, server_id: db7}}"));
    w.assert_locked("me-elsewhere", "this login, another node");

    // Control: neither field names this login or this node.
    w.lock("neither", "{login: nobody-else, server_id: db7}");
    w.assert_logs_in("a lock on another login on another node");

    // This node by its Teleport host UUID (node.id), beside its name.
    w.lock(
        "by-host-uuid",
        &format!("{{login: nobody-else, server_id: {NODE_ID}}}"),
    );
    w.assert_locked("by-host-uuid", "this node by node.id");
}
