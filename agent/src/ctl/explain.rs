//! `mfactl explain`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use pam_mfa_protocol::{ExplainQuery, Explanation, RequestBody, ResponseBody};

use super::client::{ask, AgentSocket};
use crate::config::ServiceMap;
use crate::login::explain;
use crate::policy::{load_bundle_argument, NodeInfo};

pub struct ExplainArgs<'a> {
    pub policy: Option<&'a Path>,
    pub node: Option<String>,
    /// The node's Teleport host UUID, matched by `server_id`/`node` locks.
    pub node_id: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub query: ExplainQuery,
}

/// What an offline explanation cannot know: the users earlier bundles held.
const OFFLINE_NO_HISTORY: &str = "offline (--policy): a bundle file has no history; the running agent also remembers the users earlier bundles held and this one does not (Teleport deleted them), and denies a login that was theirs (`mfactl explain` without --policy asks it)";

/// Offline with a bundle file, or asking the running agent about this host.
pub fn run_explain(args: ExplainArgs<'_>, agent: &AgentSocket) -> Result<Explanation, String> {
    match args.policy {
        Some(path) => {
            let bundle = load_bundle_argument(path).map_err(|e| e.to_string())?;
            let node = NodeInfo {
                name: args.node.ok_or("--node is required with --policy")?,
                id: args.node_id,
                labels: args.labels,
            };
            let services = ServiceMap::new(&BTreeMap::new())?;
            let mut e = explain(
                &bundle,
                &node,
                &services,
                &args.query,
                SystemTime::now(),
                false,
            );
            // Allowed with no role: no user of this bundle holds the login.
            if e.access == "allow" && e.roles.is_empty() {
                e.reasons.push(OFFLINE_NO_HISTORY.into());
            }
            Ok(e)
        }
        None => {
            if args.node.is_some() || args.node_id.is_some() || !args.labels.is_empty() {
                return Err("--node, --node-id and --label describe a node for --policy; without --policy the agent answers for this host".into());
            }
            match ask(
                agent,
                RequestBody::Explain(args.query),
                Duration::from_secs(10),
            )? {
                ResponseBody::Explanation(e) => Ok(e),
                ResponseBody::Unavailable { message } | ResponseBody::Error { message } => {
                    Err(format!("mfa-agent: {message}"))
                }
                other => Err(format!(
                    "mfa-agent answered something unexpected: {other:?}"
                )),
            }
        }
    }
}

/// The human form.
pub fn render(e: &Explanation) -> String {
    let mut s = String::new();
    let named = match e.candidates.len() {
        0..=8 => e.candidates.join(", "),
        n => format!("{} and {} more", e.candidates[..8].join(", "), n - 8),
    };
    let several = format!("(not known: any of {named}; a tap or registered key says who)");
    let user = match (&e.user, e.candidates.is_empty()) {
        (Some(u), _) => u.as_str(),
        (None, false) => several.as_str(),
        (None, true) => "(not a single cluster user)",
    };
    s.push_str(&format!(
        "login {} on {} via {} ({})\n",
        e.login, e.node, e.service, e.class
    ));
    s.push_str(&format!("  cluster user: {user}\n"));
    // An allowed login that no tap can answer is refused all the same:
    // said where the access is, not only among the reasons, with the
    // reason's condition: over SSH a Teleport certificate names the person
    // (login/explain.rs `nobody_can_tap_note`).
    let refused = if crate::login::nobody_can_tap(e).is_some() {
        let unless = if e.class == crate::policy::ServiceClass::Ssh.name() {
            " unless a Teleport certificate names the person"
        } else {
            ""
        };
        format!(" by the policy, but nobody can tap for it: it will be refused{unless} (see below)")
    } else {
        String::new()
    };
    s.push_str(&format!(
        "  access:       {}{}{refused}\n",
        e.access,
        if e.locked { " (locked)" } else { "" }
    ));
    if !e.locked_candidates.is_empty() && !e.locked {
        s.push_str(&format!(
            "  locked:       {} (not asked: who logs in must be shown)\n",
            e.locked_candidates.join(", ")
        ));
    }
    let strictest = if e.user.is_none() && !e.candidates.is_empty() {
        " (the strictest among them)"
    } else {
        ""
    };
    s.push_str(&format!("  mfa:          {}{strictest}\n", e.mfa));
    let roles = if e.roles.is_empty() {
        "(none)".to_string()
    } else {
        e.roles.join(", ")
    };
    s.push_str(&format!("  roles:        {roles}\n"));
    s.push_str(&format!("  policy:       {}\n", short(&e.policy_revision)));
    s.push_str("  because:\n");
    for r in &e.reasons {
        s.push_str(&format!("    - {r}\n"));
    }
    s
}

pub fn short(rev: &str) -> &str {
    &rev[..rev.len().min(12)]
}

/// `KEY=VALUE` from `--label`.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("--label '{text}' must be KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` written to `name` in a temporary directory of its own
    /// (`tag` tells the tests apart), as `--policy` reads it.
    fn bundle_file(tag: &str, name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mfactl-explain-{tag}{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write bundle");
        path
    }

    /// `--node-id`: a `server_id` lock on the host UUID holds offline too.
    #[test]
    fn offline_node_id_is_matched_by_server_id_locks() {
        let path = bundle_file(
            "",
            "bundle.yaml",
            "kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  allow:\n    logins: [jerry]\n    node_labels: {'*': '*'}\n---\nkind: user\nversion: v2\nmetadata: {name: jerry}\nspec:\n  roles: [r]\n  traits: {logins: [jerry]}\n---\nkind: lock\nversion: v2\nmetadata: {name: host}\nspec:\n  target: {server_id: 5a3e1c2b-0000-4000-8000-000000000007}\n",
        );
        let ask = |node_id: Option<&str>| {
            let args = ExplainArgs {
                policy: Some(&path),
                node: Some("prod3".into()),
                node_id: node_id.map(str::to_owned),
                labels: BTreeMap::new(),
                query: ExplainQuery {
                    login: "jerry".into(),
                    user: None,
                    service: None,
                },
            };
            run_explain(args, &AgentSocket::of_root(Path::new("/nonexistent"))).expect("explained")
        };
        let locked = ask(Some("5a3e1c2b-0000-4000-8000-000000000007"));
        let other = ask(Some("5a3e1c2b-0000-4000-8000-000000000008"));
        let none = ask(None);
        let _ = std::fs::remove_dir_all(path.parent().expect("its directory"));
        assert!(locked.locked && locked.access == "deny", "{locked:?}");
        assert!(!other.locked && other.access == "allow", "{other:?}");
        assert!(!none.locked && none.access == "allow", "{none:?}");
        // Without --node-id the lock is said not to be judged for this
        // node; with one it was.
        let unjudged = |e: &Explanation| {
            e.reasons
                .iter()
                .any(|r| r.starts_with("server_id/node locks not judged for this node: 1 lock(s)"))
        };
        assert!(unjudged(&none), "{:?}", none.reasons);
        assert!(
            !unjudged(&other) && !unjudged(&locked),
            "{:?}",
            other.reasons
        );
    }

    /// A shared login with one of its users locked: the others, once shown.
    #[test]
    fn a_locked_candidate_is_named_and_not_asked() {
        let user = |n: &str| {
            format!("---\nkind: user\nversion: v2\nmetadata: {{name: {n}}}\nspec: {{roles: [r]}}\n")
        };
        let path = bundle_file(
            "lc-",
            "bundle.yaml",
            &("kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  allow:\n    logins: [root]\n    node_labels: {'*': '*'}\n".to_owned()
                + &user("ann")
                + &user("ben")
                + "---\nkind: lock\nversion: v2\nmetadata: {name: l}\nspec:\n  target: {user: ben}\n"),
        );
        let args = ExplainArgs {
            policy: Some(&path),
            node: Some("prod3".into()),
            node_id: None,
            labels: BTreeMap::new(),
            query: ExplainQuery {
                login: "root".into(),
                user: None,
                service: None,
            },
        };
        let e =
            run_explain(args, &AgentSocket::of_root(Path::new("/nonexistent"))).expect("explained");
        let _ = std::fs::remove_dir_all(path.parent().expect("its directory"));
        assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
        assert_eq!(
            (e.candidates.clone(), e.locked_candidates.clone()),
            (vec!["ann".to_string()], vec!["ben".to_string()])
        );
        let text = render(&e);
        assert!(text.contains("locked:       ben (not asked"), "{text}");
    }

    /// A login that is no cluster user's, on a cluster that requires MFA
    /// of every session: allowed by the policy, but nobody can tap, and the
    /// text says so where the access is.
    #[test]
    fn a_login_nobody_can_tap_for_is_shown_as_refused() {
        let e = Explanation {
            access: "allow".into(),
            mfa: "session".into(),
            user: None,
            candidates: Vec::new(),
            locked_candidates: Vec::new(),
            roles: Vec::new(),
            locked: false,
            reasons: vec![format!(
                "{}: login svc is not a cluster user's",
                crate::login::NOBODY_CAN_TAP
            )],
            node: "prod3".into(),
            login: "svc".into(),
            service: "sudo".into(),
            class: "admin".into(),
            policy_revision: "0123456789abcdef".into(),
        };
        let text = render(&e);
        assert!(
            text.contains("  access:       allow by the policy, but nobody can tap for it: it will be refused (see below)\n"),
            "{text}"
        );
        assert!(
            text.contains("    - nobody can tap for this login: login svc"),
            "{text}"
        );
        // Over SSH, as the reason says: unless a certificate names them.
        let over_ssh = Explanation {
            service: "sshd".into(),
            class: "ssh".into(),
            ..e.clone()
        };
        assert!(
            render(&over_ssh).contains("  access:       allow by the policy, but nobody can tap for it: it will be refused unless a Teleport certificate names the person (see below)\n"),
            "{}",
            render(&over_ssh)
        );
        let tappable = Explanation {
            reasons: Vec::new(),
            ..e
        };
        assert!(
            render(&tappable).contains("  access:       allow\n"),
            "{}",
            render(&tappable)
        );
    }

    /// Offline, a login no user of the bundle holds: the explanation says
    /// the agent may know better (a user that vanished from the bundle).
    #[test]
    fn offline_a_login_of_nobody_says_the_agent_has_the_history() {
        let path = bundle_file(
            "vu-",
            "s2.yaml",
            "kind: role\nversion: v7\nmetadata: {name: p}\nspec:\n  options: {require_session_mfa: true}\n  allow:\n    logins: ['{{internal.logins}}']\n    node_labels: {env: prod}\n---\n\
             kind: user\nversion: v2\nmetadata: {name: bob}\nspec: {roles: [p], traits: {logins: [bob]}}\n",
        );
        let ask = |login: &str| {
            let args = ExplainArgs {
                policy: Some(&path),
                node: Some("prod3".into()),
                node_id: None,
                labels: [("env".to_string(), "prod".to_string())].into(),
                query: ExplainQuery {
                    login: login.into(),
                    user: None,
                    service: None,
                },
            };
            run_explain(args, &AgentSocket::of_root(Path::new("/nonexistent"))).expect("explained")
        };
        let (nobody, bob) = (ask("alice"), ask("bob"));
        let _ = std::fs::remove_dir_all(path.parent().expect("its directory"));
        assert_eq!(nobody.access, "allow");
        assert_eq!(
            nobody.reasons.last().map(String::as_str),
            Some(OFFLINE_NO_HISTORY)
        );
        assert!(
            !bob.reasons.iter().any(|r| r == OFFLINE_NO_HISTORY),
            "{bob:?}"
        );
    }

    /// The reviewer's case, as `mfactl explain --policy X.yaml --node prod3
    /// --label env=prod --login ubuntu --user alice` runs it: the roles of
    /// alice's user_login_state decide, and the explanation says where
    /// they came from.
    #[test]
    fn roles_from_a_user_login_state_are_explained() {
        let path = bundle_file(
            "ls-",
            "X.yaml",
            "kind: role\nversion: v7\nmetadata: {name: dev}\nspec:\n  allow:\n    logins: [ubuntu]\n    node_labels: {'*': '*'}\n---\n\
             kind: role\nversion: v7\nmetadata: {name: prod}\nspec:\n  options: {require_session_mfa: true}\n  allow:\n    logins: [ubuntu]\n    node_labels: {env: prod}\n---\n\
             kind: user\nversion: v2\nmetadata: {name: alice}\nspec: {roles: [dev]}\n---\n\
             kind: user_login_state\nversion: v1\nmetadata: {name: alice}\nspec: {roles: [dev, prod], user_type: local}\n",
        );
        let args = ExplainArgs {
            policy: Some(&path),
            node: Some("prod3".into()),
            node_id: None,
            labels: [("env".to_string(), "prod".to_string())].into(),
            query: ExplainQuery {
                login: "ubuntu".into(),
                user: Some("alice".into()),
                service: None,
            },
        };
        let e = run_explain(
            args,
            &crate::ctl::client::AgentSocket::of_root(Path::new("/nonexistent")),
        )
        .expect("explained");
        let _ = std::fs::remove_dir_all(path.parent().expect("its directory"));
        assert_eq!((e.access.as_str(), e.mfa.as_str()), ("allow", "session"));
        let text = render(&e);
        assert!(text.contains("roles:        dev, prod"), "{text}");
        assert!(
            text.contains("are those of user_login_state alice and of the user resource together")
                && text.contains("the user resource lists [dev]"),
            "{text}"
        );
    }
}
