//! `agent.node_id_unset`: said only while it matters, so that a plain
//! OpenSSH host (no Teleport host UUID to set) can pass doctor; and judged
//! from the running agent's node.id, which may come from Teleport's
//! host_uuid file when agent.yaml sets none.

use super::tests::{good, ids};
use super::{check_host, exit_code, Facts, Severity};
use crate::config::AgentConfig;

const NO_FILE: &str = "agent.yaml sets none, and there is no /var/lib/teleport/host_uuid";

fn locks_elsewhere(f: &mut Facts, n: usize) {
    if let Some(Ok(s)) = &mut f.agent_status {
        s.counts.node_locks_elsewhere = n;
    }
}

/// The running agent's node.id and where it came from.
fn agent_node_id(f: &mut Facts, id: Option<&str>, source: &str) {
    if let Some(Ok(s)) = &mut f.agent_status {
        s.node_id = id.map(str::to_owned);
        s.node_id_source = source.to_owned();
    }
}

fn without_id(f: &mut Facts, node: &str) {
    let text = format!(
        "{node}  labels: {{ env: prod }}\nsshd:\n  pubkey_auth_options: [touch-required]\n"
    );
    f.agent_config = Some(Ok(AgentConfig::parse(&text, "a").unwrap()));
}

#[test]
fn a_missing_node_id_is_said_only_while_a_lock_names_another_node() {
    // No node.id (an empty one is none): Teleport's server_id locks (by
    // host UUID) do not hold this host. Said only while the policy in
    // force locks another node than node.name (it may be this one's
    // UUID): a plain OpenSSH host has no UUID to set, and doctor must be
    // able to find nothing there.
    let mut f = good();
    locks_elsewhere(&mut f, 2);
    assert!(ids(&f).is_empty(), "node.id set: {:?}", ids(&f));
    for node in ["node:\n  name: prod3\n", "node:\n  name: prod3\n  id: ''\n"] {
        let mut f = good();
        without_id(&mut f, node);
        agent_node_id(&mut f, None, NO_FILE);
        assert!(ids(&f).is_empty(), "no node lock: {node}: {:?}", ids(&f));
        assert_eq!(exit_code(&check_host(&f)), 0);
        locks_elsewhere(&mut f, 2);
        let found = check_host(&f);
        assert_eq!(ids(&f), ["agent.node_id_unset"], "{node}");
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(
            found[0].what.contains("knows no node.id")
                && found[0].what.contains(&format!("host UUID: {NO_FILE})")),
            "{:?}",
            found[0]
        );
        assert!(
            found[0]
                .what
                .contains("holds 2 lock(s) whose node/server_id is not prod3"),
            "{:?}",
            found[0]
        );
        assert!(
            found[0].why.contains("tctl lock --server-id")
                && found[0]
                    .why
                    .contains("resources of an access request is refused"),
            "{:?}",
            found[0]
        );
        assert!(
            found[0].fix.contains("host_uuid")
                && found[0].fix.contains("tctl get nodes")
                && found[0].fix.contains("node.teleport_data_dir"),
            "{:?}",
            found[0]
        );
    }
}

/// agent.yaml sets no node.id, and the agent took it from Teleport's
/// host_uuid file: nothing to say, whatever locks are in force.
#[test]
fn a_node_id_from_teleports_host_uuid_file_is_enough() {
    let mut f = good();
    without_id(&mut f, "node:\n  name: prod3\n");
    agent_node_id(
        &mut f,
        Some("5e1c2f7a-0000-4000-8000-000000000001"),
        "from Teleport's /var/lib/teleport/host_uuid",
    );
    locks_elsewhere(&mut f, 2);
    assert!(ids(&f).is_empty(), "{:?}", ids(&f));
}

/// agent.yaml's node.id is not the one the agent uses: not reloaded.
#[test]
fn a_node_id_the_agent_does_not_use_is_an_unapplied_edit() {
    let mut f = good();
    agent_node_id(&mut f, None, NO_FILE);
    assert_eq!(ids(&f), ["agent.config_not_reloaded"]);
    let found = check_host(&f);
    assert!(
        found[0].what.contains("(node.id none)")
            && found[0]
                .what
                .contains("(node.id 5f0e8a3c-2b1d-4c6e-9f7a-8d3b2c1e0f4a)"),
        "{:?}",
        found[0]
    );
}
