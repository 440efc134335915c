//! Ending a live session: SIGHUP to its processes now, SIGKILL to what is
//! left after `sessions.end_grace` (on a thread of its own, so the caller,
//! often the policy reloader, never waits), and logind where it runs.

use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::logind;
use super::procs::{is_alive, signal_all, table, tree, ProcId};
use super::registry::Session;
use crate::audit::AuditEvent;
use crate::state::AgentState;

/// An audit event about one session.
pub fn session_event(
    state: &AgentState,
    kind: &str,
    result: &str,
    s: &Session,
    revision: &str,
    reason: String,
) -> AuditEvent {
    let mut ev = AuditEvent::new(kind, result, &state.node.name, revision, reason);
    ev.service = Some(s.service.clone());
    ev.class = Some(s.class.name().into());
    ev.login = Some(s.login.clone());
    ev.user = s.user.clone();
    ev.rhost = s.rhost.clone();
    ev.tty = s.tty.clone();
    ev.evidence = Some(s.evidence.clone());
    ev.device = s.device.clone();
    ev.peer_pid = Some(s.leader.pid);
    ev.session = Some(s.id.clone());
    ev
}

/// Ends each session (already marked as ending in the registry) and
/// audits it as `session_ended` with its reason.
pub fn end_sessions(state: &AgentState, sessions: Vec<Session>, revision: &str) {
    let grace = state.config.sessions.end_grace;
    let systemd = logind::systemd_running();
    for s in sessions {
        let why = s.ending.clone().unwrap_or_default();
        let logind_session = systemd.then(|| logind::session_of(s.leader.pid)).flatten();
        let targets = tree(&table(), s.leader);
        let hupped = signal_all(&targets, Signal::HUP);
        let mut how = format!(
            "SIGHUP to {hupped} process(es), SIGKILL to any left after {}ms",
            grace.as_millis()
        );
        if let Some(id) = &logind_session {
            how.push_str(&format!("; logind session {id} terminated"));
        }
        let ev = session_event(
            state,
            "session_ended",
            "ended",
            &s,
            revision,
            format!("{why}; {how}"),
        );
        state.audit(&ev);
        let leader = s.leader;
        let id = s.id.clone();
        let spawned = std::thread::Builder::new()
            .name("session-end".into())
            .spawn(move || finish(&id, leader, targets, logind_session, grace));
        if let Err(e) = spawned {
            eprintln!(
                "mfa-agent: cannot start a thread to finish session {}: {e}",
                s.id
            );
        }
    }
}

/// logind (when the session has one), then SIGKILL after the grace to
/// what remains: the processes signalled before, and whatever the leader
/// started since.
fn finish(
    id: &str,
    leader: ProcId,
    mut targets: Vec<ProcId>,
    logind_session: Option<String>,
    grace: Duration,
) {
    let started = Instant::now();
    if let Some(ls) = logind_session {
        if let Err(e) = logind::terminate(&ls) {
            eprintln!("mfa-agent: session {id}: {e}; relying on signals");
        }
    }
    let all_gone = |t: &[ProcId]| t.iter().all(|p| !is_alive(*p));
    while started.elapsed() < grace && !all_gone(&targets) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in tree(&table(), leader) {
        if !targets.contains(&p) {
            targets.push(p);
        }
    }
    let killed = signal_all(&targets, Signal::KILL);
    if killed > 0 {
        eprintln!("mfa-agent: session {id}: SIGKILL to {killed} process(es) left after the grace");
    }
}
