//! `mfactl sync`: ask the agent to pull its policy source now, and print
//! what changed.

use std::time::Duration;

use pam_mfa_protocol::{RequestBody, ResponseBody, SyncReport};

use super::client::{ask, AgentSocket};
use super::explain::short;

/// Asks for a pull; the wait covers the agent's own fetch timeout.
pub fn run_sync(agent: &AgentSocket, timeout: Duration) -> Result<SyncReport, String> {
    match ask(agent, RequestBody::Sync, timeout)? {
        ResponseBody::Synced(r) => Ok(r),
        ResponseBody::Error { message } | ResponseBody::Unavailable { message } => {
            Err(format!("mfa-agent: {message}"))
        }
        other => Err(format!(
            "mfa-agent answered something unexpected: {other:?}"
        )),
    }
}

/// The report for people: the message, then one line per changed resource.
pub fn render_sync(r: &SyncReport) -> String {
    let mut out = format!("{}\n", r.message);
    if r.ok && r.previous_revision != r.revision && !r.previous_revision.is_empty() {
        out.push_str(&format!(
            "revision {} -> {}\n",
            short(&r.previous_revision),
            short(&r.revision)
        ));
    }
    for c in &r.changes {
        out.push_str(&format!("  {c}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_changes_under_the_message() {
        let r = SyncReport {
            ok: true,
            revision: "b".repeat(64),
            previous_revision: "a".repeat(64),
            changes: vec!["+ lock/x".into(), "~ role/y".into()],
            message: "loaded revision bbbbbbbbbbbb (2 changes, 0 warnings)".into(),
        };
        let text = render_sync(&r);
        assert!(text.contains("\n  + lock/x\n  ~ role/y\n"), "{text}");
    }
}
