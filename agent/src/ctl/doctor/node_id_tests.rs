//! `agent.node_id_unset`: said only while it matters, so that a plain
//! OpenSSH host (no Teleport host UUID to set) can pass doctor.

use super::tests::{good, ids};
use super::{check_host, exit_code, Facts, Severity};
use crate::config::AgentConfig;

#[test]
fn a_missing_node_id_is_said_only_while_a_lock_names_another_node() {
    // No node.id (an empty one is none): Teleport's server_id locks (by
    // host UUID) do not hold this host. Said only while the policy in
    // force locks another node than node.name (it may be this one's
    // UUID): a plain OpenSSH host has no UUID to set, and doctor must be
    // able to find nothing there.
    let locks_elsewhere = |f: &mut Facts, n: usize| {
        if let Some(Ok(s)) = &mut f.agent_status {
            s.counts.node_locks_elsewhere = n;
        }
    };
    let mut f = good();
    locks_elsewhere(&mut f, 2);
    assert!(ids(&f).is_empty(), "node.id set: {:?}", ids(&f));
    for node in ["node:\n  name: prod3\n", "node:\n  name: prod3\n  id: ''\n"] {
        let mut f = good();
        let text = format!(
            "{node}  labels: {{ env: prod }}\nsshd:\n  pubkey_auth_options: [touch-required]\n"
        );
        f.agent_config = Some(Ok(AgentConfig::parse(&text, "a").unwrap()));
        assert!(ids(&f).is_empty(), "no node lock: {node}: {:?}", ids(&f));
        assert_eq!(exit_code(&check_host(&f)), 0);
        locks_elsewhere(&mut f, 2);
        let found = check_host(&f);
        assert_eq!(ids(&f), ["agent.node_id_unset"], "{node}");
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(found[0].what.contains("sets no node.id"), "{:?}", found[0]);
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
            found[0].fix.contains("host_uuid") && found[0].fix.contains("tctl get nodes"),
            "{:?}",
            found[0]
        );
    }
}
