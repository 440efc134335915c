//! One session as a journal record (`persist`), and back: what a record
//! keeps of a session, its certificate and its terms.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::persist_nodes;
use super::procs::ProcId;
use super::session::Session;
use crate::policy::{CertificateFacts, ServiceClass, SessionTerms, User};

/// One session as the journal keeps it.
#[derive(Serialize, Deserialize)]
pub(super) struct Record {
    id: String,
    pid: i32,
    start: u64,
    account: String,
    login: String,
    class: String,
    user: Option<String>,
    /// `Session::person` (absent from an older agent's: its `login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys_account: Option<String>,
    identity: Option<Identity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    lock_roles: Vec<String>,
    /// `SessionTerms::strict` (absent: a session without terms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    strict: Option<bool>,
    /// `SessionTerms::ends_at`, in Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ends_at_ms: Option<u64>,
    /// `SessionTerms::idle_timeout`, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idle_timeout_ms: Option<u64>,
    device: Option<String>,
    evidence: String,
    service: String,
    tty: Option<String>,
    rhost: Option<String>,
    opened_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    name: String,
    roles: Vec<String>,
    traits: BTreeMap<String, Vec<String>>,
    /// The certificate's device was trusted (a role may require it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    trusted_device: bool,
    /// The certificate's trusted device id (lock target `device`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_id: Option<String>,
    /// The certificate's MFA device (`mfa-verified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mfa_device: Option<String>,
    /// The certificate's key policy counts as MFA (touch or PIN).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    key_policy_mfa: bool,
    /// The certificate's hard deadline, in ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cert_expires_ms: Option<u64>,
    /// A Machine ID bot's certificate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    bot: bool,
    /// The bot certificate's instance (lock target `bot_instance_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bot_instance_id: Option<String>,
    /// The SHA-256 of the bot certificate's join token (lock target
    /// `join_token`). A record without it (an older agent's) is a bot
    /// certificate whose token is unknown: a `join_token` lock holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    join_token_sha256: Option<String>,
    /// The nodes a resource access request's certificate may reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allowed_nodes: Option<Vec<persist_nodes::RecordedNode>>,
    /// The certificate's access requests (lock target `access_request`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    access_requests: Vec<String>,
}

fn class_named(name: &str) -> Option<ServiceClass> {
    [
        ServiceClass::Ssh,
        ServiceClass::Admin,
        ServiceClass::Desktop,
    ]
    .into_iter()
    .find(|c| c.name() == name)
}

pub(super) fn record(s: &Session) -> Record {
    Record {
        id: s.id.clone(),
        pid: s.leader.pid,
        start: s.leader.start,
        account: s.account.clone(),
        login: s.login.clone(),
        class: s.class.name().into(),
        user: s.user.clone(),
        person: Some(s.person.clone()),
        keys_account: s.keys_account.clone(),
        identity: s.identity.as_ref().map(|u| {
            let c = u.cert();
            Identity {
                name: u.name.clone(),
                roles: u.roles.iter().map(|r| r.to_string()).collect(),
                traits: u.traits.to_map(),
                trusted_device: c.trusted_device,
                device_id: c.device_id.clone(),
                mfa_device: c.mfa_device.clone(),
                key_policy_mfa: c.key_policy_mfa,
                cert_expires_ms: c.cert_expires.map(unix_ms),
                bot: c.bot,
                bot_instance_id: c.bot_instance_id.clone(),
                join_token_sha256: c.join_token_sha256.clone(),
                allowed_nodes: c.allowed_nodes.as_deref().map(persist_nodes::recorded),
                access_requests: c.access_requests.clone(),
            }
        }),
        lock_roles: s.lock_roles.clone(),
        strict: s.terms.map(|t| t.strict),
        ends_at_ms: s.terms.and_then(|t| t.ends_at).map(unix_ms),
        idle_timeout_ms: s
            .terms
            .and_then(|t| t.idle_timeout)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        device: s.device.clone(),
        evidence: s.evidence.clone(),
        service: s.service.clone(),
        tty: s.tty.clone(),
        rhost: s.rhost.clone(),
        opened_ms: unix_ms(s.opened),
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn from_unix_ms(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

pub(super) fn session(r: Record) -> Option<Session> {
    Some(Session {
        id: r.id,
        leader: ProcId {
            pid: r.pid,
            start: r.start,
        },
        account: r.account,
        person: r.person.unwrap_or_else(|| r.login.clone()),
        keys_account: r.keys_account,
        login: r.login,
        class: class_named(&r.class)?,
        user: r.user,
        identity: r.identity.map(|i| User {
            name: i.name,
            roles: i.roles.into_iter().map(Into::into).collect(),
            traits: crate::policy::Traits::from(i.traits),
            limits: None,
            login_state: None,
            certificate: Some(Box::new(CertificateFacts {
                trusted_device: i.trusted_device,
                device_id: i.device_id,
                mfa_device: i.mfa_device,
                key_policy_mfa: i.key_policy_mfa,
                cert_expires: i.cert_expires_ms.map(from_unix_ms),
                bot: i.bot,
                bot_instance_id: i.bot_instance_id,
                join_token_sha256: i.join_token_sha256,
                allowed_nodes: i.allowed_nodes.map(persist_nodes::allowed),
                access_requests: i.access_requests,
            })),
        }),
        lock_roles: r.lock_roles,
        terms: r.strict.map(|strict| SessionTerms {
            strict,
            ends_at: r.ends_at_ms.map(from_unix_ms),
            idle_timeout: r.idle_timeout_ms.map(Duration::from_millis),
        }),
        device: r.device,
        evidence: r.evidence,
        service: r.service,
        tty: r.tty,
        rhost: r.rhost,
        opened: from_unix_ms(r.opened_ms),
        // Whatever was ending it died with the last agent: judged afresh.
        ending: None,
    })
}
