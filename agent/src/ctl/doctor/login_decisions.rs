//! The policy's word on the logins a host cannot do without, as `mfactl
//! explain` gives it (the same `login::explain`): root over SSH while
//! sshd lets root in, and the sudo of each account a passwordless sudoers
//! rule names (root's own sudo is no policy's to refuse: it only needs the
//! agent running, `check_root_sudo_skip`). A login the policy allows but nobody can tap for is refused
//! (a lockout); root over SSH with `mfa: off` lets any key in root's
//! authorized_keys in with no tap.
//!
//! Only when a policy can be read: the running agent's (the one in force),
//! else agent.yaml's file or built-in source read here. Asking has no side
//! effect: an explanation is no login.

use std::time::{Duration, SystemTime};

use pam_mfa_protocol::{ExplainQuery, Explanation, RequestBody, ResponseBody};

use super::pam_stack::stack;
use super::sshd_fix::DROP_IN;
use super::sshd_match_root::{root_blocks, root_outside_blocks};
use super::sudoers::NOPASSWD_ACCOUNT_LINES;
use super::{Facts, Finding, Severity};
use crate::config::{AgentConfig, PolicySource};
use crate::ctl::AgentSocket;
use crate::login::{explain, nobody_can_tap};
use crate::policy::NodeInfo;

/// The decisions doctor asked for, and whose policy gave them.
#[derive(Debug, Clone)]
pub struct LoginDecisions {
    /// "the running agent", or the source read here.
    pub from: String,
    pub explanations: Vec<Explanation>,
}

/// At most this many NOPASSWD accounts are asked about (a large group).
const MAX_ACCOUNTS: usize = 64;

/// What doctor asks: root through sshd, then each account's sudo.
pub fn queries(passwordless: &[String]) -> Vec<ExplainQuery> {
    let ask = |login: &str, service: &str| ExplainQuery {
        login: login.into(),
        user: None,
        service: Some(service.into()),
    };
    let mut out = vec![ask("root", "sshd")];
    out.extend(
        passwordless
            .iter()
            .filter(|l| *l != "root")
            .take(MAX_ACCOUNTS)
            .map(|l| ask(l, "sudo")),
    );
    out
}

/// The running agent's answers when it has a policy (`agent_up`), else
/// the decisions of agent.yaml's file or built-in source, read here; None
/// when neither can be had.
pub fn gather_decisions(
    agent: &AgentSocket,
    agent_up: bool,
    config: Option<&AgentConfig>,
    queries: &[ExplainQuery],
    deadline: Duration,
) -> Option<LoginDecisions> {
    if agent_up {
        let asked: Option<Vec<Explanation>> = queries
            .iter()
            .map(
                |q| match crate::ctl::ask(agent, RequestBody::Explain(q.clone()), deadline) {
                    Ok(ResponseBody::Explanation(e)) => Some(e),
                    _ => None,
                },
            )
            .collect();
        if let Some(explanations) = asked {
            return Some(LoginDecisions {
                from: "the policy in force (the running agent)".into(),
                explanations,
            });
        }
    }
    let config = config?;
    let source = config.policy_source().ok()?;
    if !matches!(source, PolicySource::Path(_) | PolicySource::BuiltinExample) {
        return None;
    }
    let bundle = crate::state::load_from_source(&source).ok()?;
    let services = config.service_map().ok()?;
    let node = NodeInfo {
        name: config.node_name(),
        id: config.resolve_node_id().id,
        labels: config.node.labels.clone(),
    };
    let now = SystemTime::now();
    Some(LoginDecisions {
        from: format!(
            "cluster.source {}, read by doctor as the agent did not answer",
            source.describe()
        ),
        explanations: queries
            .iter()
            .map(|q| explain(&bundle, &node, &services, q, now, false))
            .collect(),
    })
}

fn decision<'a>(d: &'a LoginDecisions, login: &str, service: &str) -> Option<&'a Explanation> {
    d.explanations
        .iter()
        .find(|e| e.login == login && e.service == service)
}

pub fn check_login_decisions(f: &Facts) -> Vec<Finding> {
    let Some(d) = &f.login_decisions else {
        return Vec::new();
    };
    let mut out = Vec::new();
    out.extend(check_root_over_ssh(f, d));
    // Root's own sudo is never the policy's to refuse (see
    // `check_root_sudo_skip`): a NOPASSWD rule naming root changes nothing.
    for p in f
        .sudoers_passwordless_logins
        .iter()
        .filter(|p| p.login != "root")
    {
        if let Some(e) = decision(d, &p.login, "sudo") {
            let context = format!(
                "{} lets {} run sudo without a password (NOPASSWD or !authenticate): pam-mfa decides it in sudo's account stack",
                p.at, p.login
            );
            out.extend(refused(e, d, &context, Severity::Error));
        }
    }
    out
}

/// Where sshd lets root in, and how to keep it out of each.
struct RootIn {
    /// `PermitRootLogin yes`, and each Match block that lets root in.
    ways: String,
    /// The lines to change.
    keep_out: String,
    /// Whether sshd trusts any certificate authority (a Teleport
    /// certificate can then name who logs in as root).
    cas: bool,
}

/// sshd's `PermitRootLogin` for root (`sshd -T -C user=root,...`) and in
/// every Match block that may cover root ([`root_blocks`]); None when
/// sshd lets root in nowhere.
fn root_sshd(f: &Facts) -> Option<RootIn> {
    let root = root_outside_blocks(f)?;
    let permit = root.get("permitrootlogin").cloned().unwrap_or_default();
    let cas = root
        .get("trustedusercakeys")
        .is_some_and(|v| !v.is_empty() && v != "none");
    let mut ways = Vec::new();
    let mut keep_out = Vec::new();
    if permit != "no" {
        ways.push(format!("PermitRootLogin {permit}"));
        keep_out.push(format!("`PermitRootLogin no` in {DROP_IN}"));
    }
    for b in root_blocks(f).iter().filter(|b| b.value() != "no") {
        ways.push(format!("{}, for the connections it covers", b.describe()));
        keep_out.push(format!(
            "`PermitRootLogin no` in place of the line at {}",
            b.permit.at
        ));
    }
    (!ways.is_empty()).then(|| RootIn {
        ways: ways.join("; "),
        keep_out: keep_out.join(" and "),
        cas,
    })
}

fn check_root_over_ssh(f: &Facts, d: &LoginDecisions) -> Vec<Finding> {
    let Some(RootIn {
        ways,
        keep_out,
        cas,
    }) = root_sshd(f)
    else {
        return Vec::new();
    };
    let Some(e) = decision(d, "root", "sshd") else {
        return Vec::new();
    };
    let trusts = if cas {
        "trusts a certificate authority (TrustedUserCAKeys): only a Teleport certificate naming the person gets root in"
    } else {
        "trusts no certificate authority (TrustedUserCAKeys none)"
    };
    let context = format!("sshd lets root log in ({ways}) and {trusts}");
    if nobody_can_tap(e).is_some() {
        // A Teleport certificate names its person: there root may still
        // log in with one, and only plain and registered keys are refused.
        let severity = if cas {
            Severity::Warning
        } else {
            Severity::Error
        };
        return refused(e, d, &context, severity).into_iter().collect();
    }
    if e.access == "allow" && e.mfa == "off" {
        return vec![Finding::new(
            "policy.root_ssh_mfa_off",
            Severity::Warning,
            format!(
                "`mfactl explain --login root` says allow with mfa: off (decided by {}), and sshd lets root log in ({ways})",
                d.from
            ),
            "root maps to no rule that asks for MFA: anyone whose key is in root's authorized_keys (any key, not a security key) logs in as root over SSH without a tap",
            format!("either keep root out of SSH: {keep_out}, then `sshd -t && systemctl reload ssh` (root then logs in at a local console, the break-glass); or name root in a role that requires MFA (its allow.logins, in a role with require_session_mfa: true given to the people who use root, each with a registered key) and run `mfactl explain --login root` again until it says an mfa other than off"),
        )];
    }
    Vec::new()
}

/// The finding for a login the policy allows but nobody can tap for.
fn refused(
    e: &Explanation,
    d: &LoginDecisions,
    context: &str,
    severity: Severity,
) -> Option<Finding> {
    let reason = nobody_can_tap(e)?;
    let service = if e.service == "sshd" {
        String::new()
    } else {
        format!(" --service {}", e.service)
    };
    let way_out = match (e.login.as_str(), e.service.as_str()) {
        ("root", "sshd") => "or keep root out of SSH (`PermitRootLogin no` in the sshd drop-in) and use the break-glass: root's password at a local console".to_string(),
        _ => "or run sudo from an account the cluster knows, with a registered device".to_string(),
    };
    // Decided for one cluster user: it is their device that is missing.
    let enroll = match &e.user {
        Some(user) => format!(
            "enroll a device (`mfactl enroll`) for {user}, the cluster user login {} is decided for",
            e.login
        ),
        None => format!(
            "enroll a device (`mfactl enroll`) for someone whose roles give the login {} (a role's allow.logins, or their user's traits.logins)",
            e.login
        ),
    };
    Some(Finding::new(
        "policy.nobody_can_tap",
        severity,
        format!(
            "login {} ({} class, service {}) is allowed by the policy, but nobody can tap for it: it will be refused ({context}; decided by {})",
            e.login, e.class, e.service, d.from
        ),
        reason,
        format!(
            "{enroll}, and run `mfactl explain --login {}{service}` until it no longer says nobody can tap for it; {way_out}",
            e.login
        ),
    ))
}

/// Root's own sudo where sudo's account stack meets pam_mfa.so with no
/// root skip before it. The running agent lets it through whatever the
/// policy (login/opening.rs `roots_own_admin_action`: PAM_RUSER root, real
/// uid 0; root needs no tap to become anyone), so the policy's decision for
/// root is not asked. But the module asks the agent first: while the agent
/// is stopped, hung or starting, root's sudo (cron jobs, scripts, a root
/// shell) fails closed.
pub fn check_root_sudo_skip(f: &Facts) -> Option<Finding> {
    if !root_sudo_meets_pam_mfa(f) {
        return None;
    }
    Some(Finding::new(
        "pam.sudo.root_needs_agent",
        Severity::Warning,
        "root's own sudo (cron, scripts, a root shell) reaches pam_mfa.so in sudo's account stack with no root skip before it".into(),
        "the agent lets root's own sudo through while it runs (root needs no tap to become anyone), but while the agent is stopped, hung or starting, root's sudo fails",
        format!(
            "put `{}` right before `account required pam_mfa.so` in /etc/pam.d/sudo and /etc/pam.d/sudo-i (README's NOPASSWD lines)",
            NOPASSWD_ACCOUNT_LINES[0]
        ),
    ))
}

/// pam_mfa.so in the account stack of sudo (or sudo-i) with no line
/// before it that jumps over it for root (README's `pam_succeed_if.so
/// quiet use_uid uid = 0`): sudo run by root authenticates nobody, but its
/// account stack still runs, and pam-mfa decides it for root.
fn root_sudo_meets_pam_mfa(f: &Facts) -> bool {
    ["sudo", "sudo-i"].iter().any(|service| {
        let lines = stack(&f.pam_files, service, "account");
        let Some(j) = lines.iter().position(|l| l.is_mfa()) else {
            return false;
        };
        !lines[..j].iter().enumerate().any(|(i, l)| {
            let words: Vec<&str> = l.args.split_whitespace().collect();
            let for_root = words
                .windows(3)
                .any(|w| w == ["uid", "=", "0"] || w == ["user", "=", "root"]);
            let jump = l.control.split([' ', '[', ']']).find_map(|w| {
                w.strip_prefix("success=")
                    .and_then(|n| n.parse::<usize>().ok())
            });
            l.module.ends_with("pam_succeed_if.so") && for_root && jump.is_some_and(|n| j <= i + n)
        })
    })
}
