//! One audit event about the agent's state (a load, a refusal, vanished
//! users), for the node this agent runs on.

use super::agent_state::AgentState;
use crate::audit::AuditEvent;

/// Audits an event of `kind` with `result` about policy `revision`.
pub(super) fn audit(state: &AgentState, kind: &str, result: &str, revision: &str, reason: String) {
    let ev = AuditEvent::new(kind, result, &state.node.name, revision, reason);
    state.audit(&ev);
}
