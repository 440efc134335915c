//! `mfactl sessions`: the live login sessions the agent tracks.

use std::time::Duration;

use pam_mfa_protocol::{RequestBody, ResponseBody, SessionInfo};

use super::client::{ask, AgentSocket};

/// Asks the agent (root only) for its sessions.
pub fn fetch_sessions(agent: &AgentSocket, timeout: Duration) -> Result<Vec<SessionInfo>, String> {
    match ask(agent, RequestBody::Sessions, timeout)? {
        ResponseBody::Sessions { sessions } => Ok(sessions),
        ResponseBody::Error { message } | ResponseBody::Unavailable { message } => {
            Err(format!("mfa-agent: {message}"))
        }
        other => Err(format!(
            "mfa-agent answered something unexpected: {other:?}"
        )),
    }
}

/// One line per session under a header; `-` for what is unknown.
pub fn render_sessions(list: &[SessionInfo]) -> String {
    if list.is_empty() {
        return "no live sessions\n".into();
    }
    let header = [
        "ID", "PID", "LOGIN", "USER", "SERVICE", "TTY", "RHOST", "EVIDENCE", "OPENED", "STATE",
    ];
    let rows: Vec<[String; 10]> = list
        .iter()
        .map(|s| {
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            [
                s.id.clone(),
                s.pid.to_string(),
                s.login.clone(),
                or_dash(&s.user),
                s.service.clone(),
                or_dash(&s.tty),
                or_dash(&s.rhost),
                s.evidence.clone(),
                s.opened.clone(),
                match &s.ending {
                    Some(why) => format!("ending: {why}"),
                    None => "open".into(),
                },
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let n = cells.len();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == n {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push('\n');
    };
    line(header.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_empty() {
        assert_eq!(render_sessions(&[]), "no live sessions\n");
        let s = SessionInfo {
            id: "812-1".into(),
            pid: 812,
            login: "jerry".into(),
            user: Some("jerry@example.com".into()),
            service: "sshd".into(),
            tty: Some("ssh".into()),
            rhost: None,
            evidence: "ssh_sk_touch".into(),
            opened: "2026-11-21T19:00:00Z".into(),
            class: "ssh".into(),
            device: None,
            ending: None,
        };
        let text = render_sessions(&[s]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ID "));
        assert!(lines[1].starts_with("812-1 "));
        assert!(lines[1].contains(" jerry@example.com "));
        assert!(lines[1].contains(" - "), "no rhost: {}", lines[1]);
        assert!(lines[1].ends_with("open"));
    }
}
