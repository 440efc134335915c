//! Answers one request.

use std::time::SystemTime;

use pam_mfa_protocol::{
    ExplainQuery, ManifestStatus, PolicyCounts, RequestBody, ResponseBody, StatusReport, SyncStatus,
};

use super::peer::Peer;
use crate::login::{
    answer, cancel, connection_of_keys_command, explain, handle_begin, key_files_state,
    lines_for_login, poll, Conversation, MayWait, PeerIds, Step,
};
use crate::state::{
    freshness, judge, reload_config, sync_now_within, AgentState, ConfigReload, ReloadOutcome,
    BUSY_WAIT,
};
use crate::utc_time::rfc3339_utc;

/// Answers one request. `pending` is the connection's conversation: a
/// login waiting for its tap lives only on the connection that began it.
/// A `begin` starts one only if it `may_wait`.
pub fn handle(
    state: &AgentState,
    peer: &Peer,
    pending: &mut Option<Box<Conversation>>,
    req: RequestBody,
    may_wait: MayWait,
) -> ResponseBody {
    let ids = PeerIds {
        pid: peer.pid,
        uid: peer.uid,
        real_uid: peer.real_uid,
    };
    if let Some(conv) = pending.take() {
        return continue_conversation(state, conv, pending, req);
    }
    match req {
        RequestBody::Begin { hook, context } => {
            settle(handle_begin(state, ids, hook, &context, may_wait), pending)
        }
        RequestBody::Answer { .. } | RequestBody::Poll | RequestBody::Cancel => {
            ResponseBody::Error {
                message: "no conversation is waiting for an answer".into(),
            }
        }
        RequestBody::Explain(q) => explain_login(state, &q),
        RequestBody::Status => {
            let mut report = status(state);
            if peer.uid != 0 {
                super::redact::for_non_root(&mut report, &state.source.describe());
                // Cluster users' names: a non-root peer may explain its own login only.
                report.vanished_users.clear();
                // Everyone's decisions: counted, they show when others log in.
                report.decisions = Default::default();
                report.decisions_hidden = true;
            }
            ResponseBody::Status(report)
        }
        RequestBody::AuthorizedKeys { login } => authorized_keys(state, &login, peer.pid),
        RequestBody::Reload => reload_both(state),
        RequestBody::Sessions => ResponseBody::Sessions {
            sessions: crate::sessions::live(state),
        },
        RequestBody::Sync => ResponseBody::Synced(sync_unless_busy(state)),
        RequestBody::ForgetUser { name } => {
            match crate::state::forget_vanished_user(state, &name) {
                Ok(message) => ResponseBody::Forgot { ok: true, message },
                Err(message) => ResponseBody::Forgot { ok: false, message },
            }
        }
    }
}

/// A request on a connection whose login waits for its answer: anything
/// but an answer, a poll or a cancel cancels that login.
fn continue_conversation(
    state: &AgentState,
    conv: Box<Conversation>,
    pending: &mut Option<Box<Conversation>>,
    req: RequestBody,
) -> ResponseBody {
    match req {
        RequestBody::Answer { answers } => {
            let body = settle(answer(state, conv, &answers), pending);
            // Answers may hold a PIN: not left in freed memory.
            answers.into_iter().for_each(crate::attached::wipe);
            body
        }
        RequestBody::Poll => settle(poll(state, conv), pending),
        RequestBody::Cancel => cancel(state, conv),
        _ => {
            let _ = cancel(state, conv);
            ResponseBody::Error {
                message: "the agent was waiting for an answer".into(),
            }
        }
    }
}

/// `mfactl explain`: from the loaded policy, even one logins are not
/// decided from now (and then says so).
fn explain_login(state: &AgentState, q: &ExplainQuery) -> ResponseBody {
    match state.store.current() {
        Some(bundle) => {
            let stale = state.lock_view_stale();
            let mut e = explain(&bundle, &state.node, &state.services, q, state.now(), stale);
            // Say so when logins are not decided from this policy now, or
            // when a stale lock view denies those whose locking mode is
            // strict (per person: RoleSet.LockingMode).
            if let Err(why) = state.policy_for_login() {
                e.reasons.insert(
                    0,
                    format!("logins are not decided from this policy now: {why}"),
                );
            } else if stale {
                e.reasons.insert(
                    0,
                    "lock view stale (no contact for longer than cluster.lock_view_max_age): the logins of people whose locking mode is strict are denied now".into(),
                );
            }
            ResponseBody::Explanation(e)
        }
        None => ResponseBody::Unavailable {
            message: "no policy is loaded".into(),
        },
    }
}

/// sshd's AuthorizedKeysCommand. Keys come from a usable policy only: a
/// stale one serves none, and a stale lock view none of those whose
/// locking mode is strict (Teleport's `RoleSet.LockingMode`, per person).
/// What is served is remembered for the sshd connection of `peer` (the
/// command).
fn authorized_keys(state: &AgentState, login: &str, peer: i32) -> ResponseBody {
    match state.policy_for_login().ok() {
        Some(bundle) => {
            let stale = state.lock_view_stale();
            let lines = lines_for_login(&bundle, &state.node, login, state.now(), stale);
            if !lines.is_empty() {
                // The login's own key files as sshd just read them.
                let files = key_files_state(state, login);
                let connection = connection_of_keys_command(peer);
                state.served_keys.record(login, &lines, &files, connection);
            }
            ResponseBody::Keys {
                lines: lines.into_iter().map(|l| l.line).collect(),
            }
        }
        None => ResponseBody::Unavailable {
            message: "no policy is loaded".into(),
        },
    }
}

/// `mfactl sync`: a pull now, or (a pull in progress for longer than
/// [`BUSY_WAIT`]) why not, at once: not after that pull and another.
fn sync_unless_busy(state: &AgentState) -> pam_mfa_protocol::SyncReport {
    match sync_now_within(state, BUSY_WAIT) {
        Ok(r) => r.report,
        Err(busy) => {
            let revision = state.revision();
            pam_mfa_protocol::SyncReport {
                ok: false,
                previous_revision: revision.clone(),
                revision,
                changes: Vec::new(),
                message: busy.message("not pulled again"),
            }
        }
    }
}

/// `mfactl reload`: agent.yaml (refused whole when bad), then the policy
/// (unless a pull in progress does not end within [`BUSY_WAIT`]).
fn reload_both(state: &AgentState) -> ResponseBody {
    let config = reload_config(state);
    let path = state
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "agent.yaml".into());
    let outcome = sync_now_within(state, BUSY_WAIT).map(|r| r.outcome);
    let (policy_ok, policy) = match outcome {
        Ok(ReloadOutcome::Loaded { revision, warnings }) => (
            true,
            format!("policy: loaded revision {revision} ({warnings} warnings)"),
        ),
        Ok(ReloadOutcome::Unchanged { revision }) => {
            (true, format!("policy: unchanged (revision {revision})"))
        }
        Ok(ReloadOutcome::Rejected { error }) => (
            false,
            format!(
                "policy refused: {error}; kept revision '{}'",
                state.revision()
            ),
        ),
        Err(busy) => (false, format!("policy: {}", busy.message("not reloaded"))),
    };
    ResponseBody::Reloaded {
        ok: policy_ok && !matches!(config, ConfigReload::Refused { .. }),
        message: format!("{}\n{policy}", config.describe(&path)),
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
    let now = state.now();
    let node = state.node.get();
    let counts = snap
        .current
        .as_ref()
        .map(|b| PolicyCounts {
            roles: b.roles().len(),
            users: b.users().len(),
            locks: b.locks().len(),
            devices: b.devices().len(),
            warnings: b.warnings.len(),
            node_locks_elsewhere: crate::policy::node_locks_elsewhere(
                b.locks(),
                &node.name,
                node.id.as_deref(),
                now,
            ),
            vanished_users: b.vanished().count_in_force(now),
        })
        .unwrap_or_default();
    // The book's: the same set the bundle in force was installed with.
    let (vanished, vanished_users_error) = state.vanished.snapshot();
    let fresh = freshness(&snap, &state.config.cluster, now);
    let age =
        |t: Option<SystemTime>| t.map(|t| now.duration_since(t).unwrap_or_default().as_secs());
    StatusReport {
        agent_version: env!("CARGO_PKG_VERSION").into(),
        node: state.node.name.clone(),
        node_id: node.id.clone(),
        node_id_source: state.node_id.describe(),
        labels: state.node.labels.clone(),
        policy_source: state.source.describe(),
        policy_revision: snap
            .current
            .as_ref()
            .map(|b| b.revision.clone())
            .unwrap_or_default(),
        last_load: snap.last_load.map(rfc3339_utc),
        last_error: snap.last_error.clone(),
        counts,
        decisions: state.counters.snapshot(),
        decisions_hidden: false,
        uptime_seconds: state.started.elapsed().as_secs(),
        sync: Box::new(SyncStatus {
            policy_fetched_at: snap.provenance.fetched_at.map(rfc3339_utc),
            policy_age_seconds: age(snap.provenance.fetched_at),
            last_contact: snap.last_contact.map(rfc3339_utc),
            last_contact_age_seconds: age(snap.last_contact),
            last_attempt: snap.last_attempt.map(rfc3339_utc),
            pull_started: snap.pull_started.map(rfc3339_utc),
            pull_seconds: age(snap.pull_started),
            from_cache: snap.provenance.from_cache,
            cache_error: snap.cache_error.clone(),
            etag: snap.provenance.etag.clone(),
            policy_stale: fresh.policy_stale,
            lock_view_stale: fresh.lock_view_stale,
            locking_mode: fresh.locking_mode,
            policy_state: match judge(&snap, &state.config.cluster, now) {
                Ok(_) => "usable".into(),
                Err(why) => why.to_string(),
            },
            lost_at_restart: crate::state::lost_at_restart(&state.source, &snap),
            max_staleness_seconds: state.config.cluster.max_staleness.as_secs(),
            lock_view_max_age_seconds: state.config.cluster.lock_view_max_age().as_secs(),
            manifest: manifest_status(state, &snap, now),
        }),
        approval: crate::login::approval_status(state),
        vanished_users: super::vanished_status::vanished_user_infos(&vanished, now),
        vanished_users_error,
    }
}

/// Manifest mode: the manifest in force and the last refusal.
fn manifest_status(
    state: &AgentState,
    snap: &crate::state::StoreSnapshot,
    now: SystemTime,
) -> Option<ManifestStatus> {
    if !matches!(state.source, crate::config::PolicySource::Manifest(_)) {
        return None;
    }
    let m = snap.current.as_ref().and(snap.provenance.manifest.as_ref());
    let refusal = snap.last_refusal.as_ref();
    Some(ManifestStatus {
        source_name: state.config.cluster.source_name.clone().unwrap_or_default(),
        serial: m.map(|m| m.serial),
        bundle_sha256: m.map(|m| m.sha256.clone()),
        issued_at: m.map(|m| rfc3339_utc(m.issued_at)),
        expires_at: m.map(|m| rfc3339_utc(m.expires_at)),
        expired: m.is_some_and(|m| now > m.expires_at),
        last_refusal_kind: refusal.map(|r| r.refusal.kind.as_str().to_string()),
        last_refusal: refusal.map(|r| r.refusal.reason.clone()),
        last_refusal_at: refusal.map(|r| rfc3339_utc(r.at)),
    })
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;
