//! One audit event per decision (and per policy load).

use serde::Serialize;

/// A structured audit record. Secrets and challenge answers never go here:
/// the fields are names, results and reasons only.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AuditEvent {
    /// RFC 3339 UTC.
    pub time: String,
    /// `decision`, `policy_load`, `policy_rejected`, `keys`, `session_closed`,
    /// `session_ended`, `state_write`, `audit_suppressed`.
    pub event: String,
    /// `allow`, `deny`, `unavailable`, `error`, `ok`, `rejected`, `ended`,
    /// `suppressed`.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// The cluster user, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rhost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    pub node: String,
    pub policy_revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// What satisfied the requirement (e.g. `ssh_sk_touch`), if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_uid: Option<u32>,
    /// The live session an event is about (`mfactl sessions` shows the id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

impl AuditEvent {
    pub fn new(event: &str, result: &str, node: &str, revision: &str, reason: String) -> Self {
        AuditEvent {
            time: now_rfc3339(),
            event: event.into(),
            result: result.into(),
            node: node.into(),
            policy_revision: revision.into(),
            reason,
            ..Default::default()
        }
    }

    /// A one-line human summary for syslog and journald's MESSAGE.
    pub fn summary(&self) -> String {
        let mut s = format!("pam-mfa {} {}", self.event, self.result);
        for (k, v) in [
            ("service", &self.service),
            ("login", &self.login),
            ("user", &self.user),
            ("rhost", &self.rhost),
            ("requirement", &self.requirement),
            ("evidence", &self.evidence),
        ] {
            if let Some(v) = v {
                s.push_str(&format!(" {k}={}", plain_or_quoted(v)));
            }
        }
        s.push_str(&format!(": {}", self.reason.replace(char::is_control, " ")));
        s
    }
}

/// `v` as it is when it is one plain word, else quoted and escaped: a
/// non-root peer chooses its PAM service, rhost and tty, and must not
/// write `login=root` or a line break into the summary syslog shows.
fn plain_or_quoted(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_alphanumeric() || "._-@:/+,".contains(c));
    if plain {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_quotes_what_a_peer_chose() {
        let mut ev = AuditEvent::new("decision", "deny", "n", "r", "no tap\nfake line".into());
        ev.service = Some("sudo login=root evidence=ssh_sk_touch\nmfa-agent: allow".into());
        ev.login = Some("jerry".into());
        assert_eq!(
            ev.summary(),
            r#"pam-mfa decision deny service="sudo login=root evidence=ssh_sk_touch\nmfa-agent: allow" login=jerry: no tap fake line"#
        );
    }
}
