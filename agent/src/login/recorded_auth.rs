//! What sshd told `auth` and `account` (`SSH_AUTH_INFO_0`), kept for the
//! `open_session` of the same login.
//!
//! By `open_session` the PAM environment is no longer sshd's alone: a
//! session stack's `pam_env user_readenv=1` reads the user's
//! `~/.pam_environment`, which may set `SSH_AUTH_INFO_0` to any key. So
//! `open_session` never reads it there: it uses what a root peer sent to
//! `auth` or `account` of the same service and user, from the same process
//! or its child (sshd runs keyboard-interactive PAM, and then the account
//! check, in a child of the monitor that opens the session), each named by
//! pid and start time so a reused pid never matches.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use pam_mfa_protocol::PamContext;

use super::grants::{parent_pid, start_time};
use super::verdict::PeerIds;
use crate::state::AgentState;

/// How long a record waits for its session (sshd opens it right after
/// `account`).
pub const RECORD_TTL: Duration = Duration::from_secs(300);
const MAX_RECORDS: usize = 10_000;

struct Record {
    service: String,
    user: String,
    /// The process that sent it and its parent, each with its start time.
    pids: [(i32, Option<u64>); 2],
    auth_info: String,
    at: SystemTime,
}

#[derive(Default)]
pub struct RecordedAuthInfo {
    list: Mutex<Vec<Record>>,
}

impl RecordedAuthInfo {
    /// Keeps `auth_info` sent by root peer `pid` to `auth` or `account`.
    pub fn record(&self, service: &str, user: &str, pid: i32, auth_info: &str, now: SystemTime) {
        let ppid = parent_pid(pid).unwrap_or(pid);
        let pids = [(pid, start_time(pid)), (ppid, start_time(ppid))];
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|r| fresh(r.at, now) && !(r.pids[0] == pids[0] && r.service == service));
        if list.len() >= MAX_RECORDS {
            list.remove(0);
        }
        list.push(Record {
            service: service.into(),
            user: user.into(),
            pids,
            auth_info: auth_info.into(),
            at: now,
        });
    }

    /// The latest `SSH_AUTH_INFO_0` recorded for this session's process
    /// (`pid`, the session's opener), service and user.
    pub fn for_session(
        &self,
        service: &str,
        user: &str,
        pid: i32,
        now: SystemTime,
    ) -> Option<String> {
        let start = start_time(pid)?;
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        list.iter()
            .rev()
            .find(|r| {
                r.service == service
                    && r.user == user
                    && fresh(r.at, now)
                    && r.pids.contains(&(pid, Some(start)))
            })
            .map(|r| r.auth_info.clone())
    }
}

/// `auth` and `account`: keeps what a root peer (sshd) sent.
pub(super) fn remember(state: &AgentState, peer: PeerIds, ctx: &PamContext) {
    if let (0, Some(info)) = (peer.uid, ctx.ssh_auth_info.as_deref()) {
        state
            .recorded_auth
            .record(&ctx.service, &ctx.user, peer.pid, info, state.now());
    }
}

/// `open_session`: the context with `SSH_AUTH_INFO_0` replaced by what
/// `auth`/`account` recorded for this process (none when nothing was).
pub(super) fn session_context(state: &AgentState, peer: PeerIds, ctx: &PamContext) -> PamContext {
    PamContext {
        ssh_auth_info: state.recorded_auth.for_session(
            &ctx.service,
            &ctx.user,
            peer.pid,
            state.now(),
        ),
        ..ctx.clone()
    }
}

fn fresh(at: SystemTime, now: SystemTime) -> bool {
    now.duration_since(at).is_ok_and(|a| a < RECORD_TTL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_for_the_same_process_service_and_user_only() {
        let r = RecordedAuthInfo::default();
        let me = std::process::id() as i32;
        let now = SystemTime::now();
        assert_eq!(r.for_session("sshd", "root", me, now), None);
        r.record("sshd", "root", me, "publickey A B\n", now);
        assert_eq!(
            r.for_session("sshd", "root", me, now).as_deref(),
            Some("publickey A B\n")
        );
        assert_eq!(r.for_session("sshd", "bob", me, now), None, "other user");
        assert_eq!(
            r.for_session("login", "root", me, now),
            None,
            "other service"
        );
        let parent = parent_pid(me).unwrap();
        assert!(
            r.for_session("sshd", "root", parent, now).is_some(),
            "the monitor, parent of the account process"
        );
        let mut other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert_eq!(
            r.for_session("sshd", "root", other.id() as i32, now),
            None,
            "another process"
        );
        other.kill().unwrap();
        other.wait().unwrap();
        assert_eq!(
            r.for_session("sshd", "root", me, now + RECORD_TTL),
            None,
            "expired"
        );
        // A later record of the same process replaces the earlier one.
        r.record("sshd", "root", me, "publickey C D\n", now);
        assert_eq!(
            r.for_session("sshd", "root", me, now).as_deref(),
            Some("publickey C D\n")
        );
    }
}
