//! Ending a live session: SIGHUP to its processes now, SIGKILL to what is
//! left after `sessions.end_grace` (on a thread of its own, so the caller,
//! often the policy reloader, never waits), and logind where it runs.

use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::logind;
use super::procs::{is_alive, signal_all, table, tree, ProcId};
use super::session::Session;
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

/// One session being ended, for the thread that finishes the job.
struct Ending {
    id: String,
    leader: ProcId,
    targets: Vec<ProcId>,
    logind_session: Option<String>,
}

/// Ends each session (already marked as ending in the registry) and
/// audits it as `session_ended` with its reason. SIGHUP goes out before
/// this returns; logind and SIGKILL run on one thread for the whole batch.
pub fn end_sessions(state: &AgentState, sessions: Vec<Session>, revision: &str) {
    let grace = state.config.sessions.end_grace;
    let systemd = logind::systemd_running();
    let table = table();
    let mut batch = Vec::with_capacity(sessions.len());
    for s in sessions {
        let why = s.ending.clone().unwrap_or_default();
        let logind_session = systemd.then(|| logind::session_of(s.leader.pid)).flatten();
        let targets = tree(&table, s.leader);
        let hupped = signal_all(&targets, Signal::HUP);
        let mut how = format!(
            "SIGHUP to {hupped} process(es), SIGKILL to any left after {}ms",
            grace.as_millis()
        );
        if let Some(id) = &logind_session {
            how.push_str(&format!("; logind asked to terminate session {id}"));
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
        batch.push(Ending {
            id: s.id,
            leader: s.leader,
            targets,
            logind_session,
        });
    }
    if batch.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("session-end".into())
        .spawn(move || finish(batch, grace));
    if let Err(e) = spawned {
        eprintln!("mfa-agent: cannot start a thread to finish ended sessions: {e}");
    }
}

/// logind (for sessions that have one), then SIGKILL after the grace to
/// what remains: the processes signalled before, and whatever the leaders
/// started since.
fn finish(mut batch: Vec<Ending>, grace: Duration) {
    let started = Instant::now();
    for e in &batch {
        if let Some(ls) = &e.logind_session {
            if let Err(err) = logind::terminate(ls) {
                eprintln!("mfa-agent: session {}: {err}; relying on signals", e.id);
            }
        }
    }
    let all_gone = |b: &[Ending]| b.iter().flat_map(|e| &e.targets).all(|p| !is_alive(*p));
    while started.elapsed() < grace && !all_gone(&batch) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let table = table();
    for e in &mut batch {
        for p in tree(&table, e.leader) {
            if !e.targets.contains(&p) {
                e.targets.push(p);
            }
        }
        let killed = signal_all(&e.targets, Signal::KILL);
        if killed > 0 {
            eprintln!(
                "mfa-agent: session {}: SIGKILL to {killed} process(es) left after the grace",
                e.id
            );
        }
    }
}
