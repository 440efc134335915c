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
        let config = AgentConfig {
            node_id: Some(NODE_ID.into()),
            ..AgentConfig::with_env("dev")
        };
        World::start_with(work, config)
    }

    fn start_with(work: WorkDir, config: AgentConfig) -> World {
        let user = TestUser::create();
        let key = SshKey::generate(work.path(), "id_plain", KeyKind::Ed25519, false);
        user.authorize_keys(&[key.public_line.as_str()]);
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

/// agent.yaml without node.id: the agent takes this node's Teleport host
/// UUID from Teleport's host_uuid file (`node.teleport_data_dir`), so a
/// `server_id` lock naming it, as `tctl lock --server-id` writes one, holds
/// logins here. Without that file such a lock cannot hold this node: the
/// agent's log, `mfactl status` and `mfactl explain` say so; once the file
/// is there, `mfactl reload` reads it.
#[test]
fn a_server_id_lock_holds_this_node_by_teleports_host_uuid_file() {
    require_root!();
    let work = WorkDir::new("locks-host-uuid");
    let teleport = work.subdir("teleport", 0o700);
    let config = AgentConfig {
        teleport_data_dir: Some(teleport.clone()),
        ..AgentConfig::with_env("dev")
    };
    let w = World::start_with(work, config);
    let me = w.user.name.clone();
    w.lock("by-host-uuid", &format!("{{server_id: {NODE_ID}}}"));

    // No host_uuid yet: allowed (matched by node.name only), and said.
    w.assert_logs_in("no host_uuid file: the lock cannot name this node");
    let log = w.agent.log();
    assert!(
        log.contains("node.id is unset (agent.yaml sets none, and there is no")
            && log.contains(
                "server_id/node locks not judged for this node: 1 lock(s) in force name a node other than e2e-dev"
            ),
        "{log}"
    );
    let status = w.agent.mfactl(&["status"]);
    assert!(
        status
            .stdout
            .contains("  node id:         none (agent.yaml sets none, and there is no")
            && status.stdout.contains(
                "WARNING:         1 server_id/node lock(s) in force name another node than e2e-dev"
            ),
        "{}{}",
        status.stdout,
        status.stderr
    );
    let explain = w.agent.mfactl(&["explain", "--login", &me]);
    assert!(
        explain.stdout.contains("access:       allow")
            && explain
                .stdout
                .contains("server_id/node locks not judged for this node: 1 lock(s)"),
        "{}{}",
        explain.stdout,
        explain.stderr
    );

    // Teleport's record of this host's UUID (as it writes it: 0400, a
    // newline at the end), read at reload.
    let host_uuid = w
        .work
        .write("teleport/host_uuid", &format!("{NODE_ID}\n"), 0o400);
    let reload = w.agent.mfactl(&["reload"]);
    assert!(
        reload.success() && reload.stdout.contains("node.id (from Teleport's"),
        "{}{}",
        reload.stdout,
        reload.stderr
    );
    w.assert_locked("by-host-uuid", "this node by Teleport's host_uuid");
    let status = w.agent.mfactl(&["status"]);
    assert!(
        status.stdout.contains(&format!(
            "  node id:         {NODE_ID} (from Teleport's {})",
            host_uuid.display()
        )) && !status.stdout.contains("WARNING"),
        "{}",
        status.stdout
    );
    assert!(
        w.agent.log().contains(&format!(
            "node.id {NODE_ID} (from Teleport's {})",
            host_uuid.display()
        )),
        "{}",
        w.agent.log()
    );
}
