//! Answers one request.

use pam_mfa_protocol::{PolicyCounts, RequestBody, ResponseBody, StatusReport};

use super::peer::Peer;
use crate::audit::now_rfc3339;
use crate::login::{
    answer, cancel, explain, handle_begin, lines_for_login, Conversation, PeerIds, Step,
};
use crate::state::{reload_now, AgentState, ReloadOutcome};

/// Answers one request. `pending` is the connection's conversation: a
/// login waiting for its tap lives only on the connection that began it.
pub fn handle(
    state: &AgentState,
    peer: &Peer,
    pending: &mut Option<Box<Conversation>>,
    req: RequestBody,
) -> ResponseBody {
    let ids = PeerIds {
        pid: peer.pid,
        uid: peer.uid,
    };
    if let Some(conv) = pending.take() {
        return match req {
            RequestBody::Answer { answers } => settle(answer(state, conv, &answers), pending),
            RequestBody::Cancel => cancel(state, conv),
            _ => {
                let _ = cancel(state, conv);
                ResponseBody::Error {
                    message: "the agent was waiting for an answer".into(),
                }
            }
        };
    }
    match req {
        RequestBody::Begin { hook, context } => {
            settle(handle_begin(state, ids, hook, &context), pending)
        }
        RequestBody::Answer { .. } | RequestBody::Poll | RequestBody::Cancel => {
            ResponseBody::Error {
                message: "no conversation is waiting for an answer".into(),
            }
        }
        RequestBody::Explain(q) => match state.store.current() {
            Some(bundle) => ResponseBody::Explanation(explain(
                &bundle,
                &state.node,
                &state.services,
                &q,
                state.now(),
            )),
            None => ResponseBody::Unavailable {
                message: "no policy is loaded".into(),
            },
        },
        RequestBody::Status => ResponseBody::Status(status(state)),
        RequestBody::AuthorizedKeys { login } => match state.store.current() {
            Some(bundle) => {
                let lines = lines_for_login(&bundle, &state.node, &login, state.now());
                for l in &lines {
                    state
                        .served_keys
                        .record(&login, &l.key_type, &l.blob, l.verify_required);
                }
                ResponseBody::Keys {
                    lines: lines.into_iter().map(|l| l.line).collect(),
                }
            }
            None => ResponseBody::Unavailable {
                message: "no policy is loaded".into(),
            },
        },
        RequestBody::Reload => match reload_now(state) {
            ReloadOutcome::Loaded { revision, warnings } => ResponseBody::Reloaded {
                ok: true,
                message: format!("loaded revision {revision} ({warnings} warnings)"),
            },
            ReloadOutcome::Unchanged { revision } => ResponseBody::Reloaded {
                ok: true,
                message: format!("unchanged (revision {revision})"),
            },
            ReloadOutcome::Rejected { error } => ResponseBody::Reloaded {
                ok: false,
                message: format!("refused: {error}; kept revision '{}'", state.revision()),
            },
        },
        RequestBody::Sync | RequestBody::Sessions => ResponseBody::Error {
            message: "not built yet".into(),
        },
    }
}

fn settle(step: Step, pending: &mut Option<Box<Conversation>>) -> ResponseBody {
    match step {
        Step::Done(body) => body,
        Step::Ask(conv, body) => {
            *pending = Some(conv);
            body
        }
    }
}

pub fn status(state: &AgentState) -> StatusReport {
    let snap = state.store.snapshot();
    let counts = snap
        .current
        .as_ref()
        .map(|b| PolicyCounts {
            roles: b.roles().len(),
            users: b.users().len(),
            locks: b.locks().len(),
            devices: b.devices().len(),
            warnings: b.warnings.len(),
        })
        .unwrap_or_default();
    StatusReport {
        agent_version: env!("CARGO_PKG_VERSION").into(),
        node: state.node.name.clone(),
        labels: state.node.labels.clone(),
        policy_source: state.source.describe(),
        policy_revision: snap
            .current
            .as_ref()
            .map(|b| b.revision.clone())
            .unwrap_or_default(),
        last_load: snap.last_load.map(|t| {
            time::OffsetDateTime::from(t)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| now_rfc3339())
        }),
        last_error: snap.last_error,
        counts,
        decisions: state.counters.snapshot(),
        uptime_seconds: state.started.elapsed().as_secs(),
    }
}
