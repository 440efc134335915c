//! One live login session as the agent keeps it (the registry's lists, the
//! journal's records, the decisions that may end it).

use std::time::SystemTime;

use pam_mfa_protocol::SessionInfo;

use super::procs::ProcId;
use crate::policy::{ServiceClass, SessionTerms, User};

/// One live login session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    /// The process that opened the session (for sshd its privileged monitor).
    pub leader: ProcId,
    /// The PAM user (the account logged in to).
    pub account: String,
    /// The login the policy is asked about (for sudo/su the invoking user).
    pub login: String,
    pub class: ServiceClass,
    /// The cluster user the session was decided for, when known.
    pub user: Option<String>,
    /// Whom the session counts against besides its cluster user: the
    /// invoking person as the agent's budgets name it
    /// (`ipc::session_person`): for sshd the key or certificate that
    /// authenticated the login, else the account's logins without a key;
    /// for sudo and su the invoking user.
    pub person: String,
    /// For a session sshd authenticated with a key or certificate: its
    /// account (by uid when the user database knows it), whose keys'
    /// sessions that showed no cluster user are capped together.
    pub keys_account: Option<String>,
    /// A verified Teleport certificate's identity (its roles and traits
    /// decide, as at login).
    pub identity: Option<User>,
    /// Roles fixed when the session started, which only locks read (beside
    /// the current decision's): a trusted cluster certificate's own roles,
    /// or the roles the bundle then gave the person.
    pub lock_roles: Vec<String>,
    /// What the session keeps from its start for a known person (its
    /// locking mode, when its certificate ends it); `None` for a session
    /// whose person was never shown, or one an older agent recorded: those
    /// are judged by the policy in force.
    pub terms: Option<SessionTerms>,
    /// The MFA device used, for `mfa_device` lock targets.
    pub device: Option<String>,
    pub evidence: String,
    pub service: String,
    pub tty: Option<String>,
    pub rhost: Option<String>,
    pub opened: SystemTime,
    /// Set once the agent has started to end it: why.
    pub ending: Option<String>,
}

impl Session {
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id.clone(),
            pid: self.leader.pid.max(0) as u32,
            login: self.account.clone(),
            user: self.user.clone(),
            service: self.service.clone(),
            tty: self.tty.clone(),
            rhost: self.rhost.clone(),
            evidence: self.evidence.clone(),
            opened: crate::utc_time::rfc3339_utc(self.opened),
            class: self.class.name().into(),
            device: self.device.clone(),
            ending: self.ending.clone(),
        }
    }
}
