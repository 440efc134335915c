//! `mfactl doctor`: checks this host against what pam-mfa needs, before
//! anyone is locked out (or let in without a tap). Each finding says what
//! is wrong, why it matters, and the exact fix.
//!
//! The checks ([`check_host`]) are pure functions of [`Facts`], which
//! [`gather`] collects from the host (`sshd -T`, sshd_config's Match
//! blocks, the PAM files, sudoers, `sudo -V`, the agent's status,
//! agent.yaml, the policy's decisions for root and the NOPASSWD accounts);
//! tests hand them broken ones.

mod agent_checks;
#[cfg(test)]
mod break_glass_tests;
mod gather;
mod login_decisions;
#[cfg(test)]
mod login_decisions_tests;
#[cfg(test)]
mod node_id_tests;
mod pam;
mod pam_account;
mod pam_flow;
#[cfg(test)]
mod pam_flow_tests;
mod pam_missing;
mod pam_socket;
#[cfg(test)]
mod pam_socket_tests;
mod pam_stack;
mod password_unchecked;
#[cfg(test)]
mod password_unchecked_tests;
#[cfg(test)]
mod policy_files_tests;
mod shared_uids;
mod sshd;
#[cfg(test)]
mod sshd_account_tests;
mod sshd_files;
mod sshd_fix;
#[cfg(test)]
mod sshd_fix_tests;
mod sshd_keys;
#[cfg(test)]
mod sshd_keys_tests;
mod sshd_match;
mod sshd_match_root;
#[cfg(test)]
mod sshd_match_root_tests;
#[cfg(test)]
mod sshd_match_tests;
mod sshd_t;
#[cfg(test)]
mod sudo_services_tests;
mod sudoers;
mod sudoers_accounts;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::AgentConfig;
use pam_mfa_protocol::StatusReport;

pub use gather::{gather, DoctorArgs, PAM_VENDOR_DIR};
pub use login_decisions::LoginDecisions;
pub use sshd_files::{DropInPlace, GlobalSetting, GlobalSettings, MatchSetting};
pub use sudoers_accounts::PasswordlessLogin;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; logins work as configured.
    Warning,
    /// A lockout, a login let in without the tap it needs, or pam-mfa not
    /// in the path at all.
    Error,
}

/// One thing wrong on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable name for scripts: `sshd.permit_root_login`, `pam.sshd.missing`...
    pub id: String,
    pub severity: Severity,
    /// What is wrong, naming the file or setting.
    pub what: String,
    /// Why it matters.
    pub why: String,
    /// The exact fix.
    pub fix: String,
}

impl Finding {
    pub fn new(id: &str, severity: Severity, what: String, why: &str, fix: String) -> Finding {
        Finding {
            id: id.into(),
            severity,
            what,
            why: why.into(),
            fix,
        }
    }
}

/// A path with its owner and mode (uid, mode), or why they could not be read.
pub type Ownership = (String, Result<(u32, u32), String>);

/// What doctor read from the host. `Err` holds why a fact could not be read
/// (itself a finding).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `sshd -T` (the effective configuration, no connection).
    pub sshd: Option<Result<String, String>>,
    /// `sshd -T -C user=root,host=localhost,addr=127.0.0.1`: root's view
    /// from there only; each Match block's `PermitRootLogin` is read from
    /// `sshd_match_settings`.
    pub sshd_root: Option<Result<String, String>>,
    /// The settings inside `Match` blocks of sshd_config and the files it
    /// includes that doctor checks (sshd -T does not show them:
    /// `sshd_match::MATCH_KEYWORDS`), or why those files could not be
    /// read.
    pub sshd_match_settings: Option<Result<Vec<MatchSetting>, String>>,
    /// For the keywords doctor fixes, their settings outside Match blocks
    /// in the order sshd reads them (the first one's value is the one sshd
    /// uses) and where pam-mfa's drop-in is read among them, or why
    /// sshd_config and its Include'd files could not be read: the file a
    /// fix must change.
    pub sshd_global_settings: Option<Result<GlobalSettings, String>>,
    /// The owner and mode of `AuthorizedKeysCommand`'s program and of each
    /// directory above it, from the program up: (path, uid, mode).
    pub ak_command_path: Vec<Ownership>,
    /// The PAM directory's files by name (only the services doctor reads).
    pub pam_files: BTreeMap<String, String>,
    /// Where they were read from (for the messages).
    pub pam_dir: String,
    /// sudoers rules that let sudo skip authentication (`file:line`).
    pub sudoers_passwordless: Vec<String>,
    /// The accounts those rules name (a `%group`'s members from
    /// /etc/group and /etc/passwd).
    pub sudoers_passwordless_logins: Vec<PasswordlessLogin>,
    /// sudoers defaults that make sudo skip the account stack (`file:line`).
    pub sudoers_no_account: Vec<String>,
    /// `sudo -V` as root (its "Authentication timestamp timeout" line).
    pub sudo_version: Option<String>,
    /// agent.yaml as the agent will read it.
    pub agent_config: Option<Result<AgentConfig, String>>,
    /// Its path (for the messages).
    pub agent_config_path: String,
    /// The running agent's status, or why it could not be asked.
    pub agent_status: Option<Result<StatusReport, String>>,
    /// The policy's decisions (`mfactl explain`) for root over SSH and
    /// through sudo and for the sudo of each passwordless account; None
    /// when no policy could be read (nothing is then said of them).
    pub login_decisions: Option<LoginDecisions>,
    /// The uids that several passwd names share (NSS enumeration), each
    /// with its names in passwd order.
    pub shared_uids: Vec<(u32, Vec<String>)>,
}

/// Every check, in the order an admin should fix them.
pub fn check_host(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let config = f.agent_config.as_ref().and_then(|c| c.as_ref().ok());
    // Open now: any password logs in. First, whatever else is found.
    out.extend(password_unchecked::check_password_unchecked(f));
    out.extend(agent_checks::check_agent(f));
    out.extend(sshd::check_sshd(f, config));
    out.extend(sshd_match::check_match_blocks(f));
    out.extend(pam::check_pam(f));
    out.extend(pam_socket::check_pam_sockets(f, config));
    out.extend(sudoers::check_passwordless_sudo(f));
    out.extend(agent_checks::check_sudo(f));
    out.extend(login_decisions::check_root_sudo_skip(f));
    out.extend(login_decisions::check_login_decisions(f));
    out.extend(shared_uids::check_shared_uids(f));
    out
}

/// The exit status: 0 nothing found, 1 warnings only, 2 an error.
pub fn exit_code(findings: &[Finding]) -> u8 {
    match findings.iter().map(|f| f.severity).max() {
        None => 0,
        Some(Severity::Warning) => 1,
        Some(Severity::Error) => 2,
    }
}

/// The report for a person.
pub fn render_text(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "ok: this host has what pam-mfa needs\n".into();
    }
    let mut s = String::new();
    for f in findings {
        let tag = match f.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "warning",
        };
        s.push_str(&format!(
            "{tag} [{}]: {}\n  why: {}\n  fix: {}\n",
            f.id, f.what, f.why, f.fix
        ));
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    s.push_str(&format!(
        "{errors} error(s), {} warning(s)\n",
        findings.len() - errors
    ));
    s
}

/// `mfactl doctor`: gathers, checks, and returns the report and exit code.
pub fn run_doctor(args: &DoctorArgs, json: bool) -> (String, u8) {
    let findings = check_host(&gather(args));
    let code = exit_code(&findings);
    let text = if json {
        let v = serde_json::json!({ "ok": code == 0, "findings": findings });
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        render_text(&findings)
    };
    (text, code)
}

/// For `mfactl check agent.yaml`: what this host's sshd enforces for every
/// key and the authorized_keys files it reads (`sshd -T`) against
/// `sshd.pubkey_auth_options` and `sshd.authorized_keys_files`; warnings
/// only (sshd may not run here, or the file may be meant for another host).
pub fn pubkey_options_warnings(config: &AgentConfig) -> Vec<String> {
    let sshd = gather::sshd_effective(std::path::Path::new("/usr/sbin/sshd"), None);
    match sshd {
        Err(e) => vec![format!(
            "sshd.pubkey_auth_options and sshd.authorized_keys_files not compared with sshd's: {e}"
        )],
        Ok(text) => {
            let sshd = sshd_t::parse_sshd_t(&text);
            let get = |k: &str| sshd.get(k).map(String::as_str).unwrap_or("");
            let mut found = sshd::pubkey_options_findings(
                get("pubkeyauthoptions"),
                &config.sshd.pubkey_auth_options,
                "this agent.yaml",
            );
            found.extend(sshd_keys::authorized_keys_files_finding(
                get("authorizedkeysfile"),
                &config.sshd.authorized_keys_files,
                "this agent.yaml",
            ));
            found
                .into_iter()
                .map(|f| format!("{} ({}); fix: {}", f.what, f.why, f.fix))
                .collect()
        }
    }
}
