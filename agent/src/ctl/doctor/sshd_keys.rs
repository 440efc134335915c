//! Where sshd and the agent must agree about keys. The agent credits a
//! security key's touch and PIN from the authorized_keys line sshd used,
//! reading the files agent.yaml's `sshd.authorized_keys_files` names, and
//! from agent.yaml's word on sshd's `PubkeyAuthOptions`, the same for every
//! login. Both hold only if sshd reads exactly those files and applies the
//! same options to every connection: no `Match` block may change them.

use std::collections::BTreeSet;

use super::sshd_files::MatchSetting;
use super::{Facts, Finding, Severity};
use crate::config::AgentConfig;

const DROP_IN: &str = "/etc/ssh/sshd_config.d/pam-mfa.conf";

/// The keywords the agent reads globally, as `match_settings` takes them.
pub const GLOBAL_KEYWORDS: &[&str] = &["pubkeyauthoptions", "authorizedkeysfile"];

/// sshd's effective `AuthorizedKeysFile` (`sshd -T`) against the agent's
/// list, and the Match blocks that set either keyword.
pub fn check_key_agreement(
    f: &Facts,
    sshd_authorized_keys_file: &str,
    config: Option<&AgentConfig>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(cfg) = config {
        out.extend(authorized_keys_files_finding(
            sshd_authorized_keys_file,
            &cfg.sshd.authorized_keys_files,
            &f.agent_config_path,
        ));
    }
    match &f.sshd_match_settings {
        None => {}
        Some(Ok(settings)) => out.extend(
            settings
                .iter()
                .filter(|s| GLOBAL_KEYWORDS.contains(&s.keyword.to_ascii_lowercase().as_str()))
                .map(match_finding),
        ),
        Some(Err(e)) => out.push(Finding::new(
            "sshd.match_unchecked",
            Severity::Warning,
            format!("sshd_config's Match blocks could not be checked: {e}"),
            "a Match block that sets PubkeyAuthOptions or AuthorizedKeysFile changes, for some connections, what the agent credits every login with, and one that sets AuthenticationMethods without the key first lets its accounts in without a password once /etc/pam.d/sshd holds only pam_mfa.so; doctor could not look",
            "make sshd_config and its Include'd files readable by root (doctor expands * and ? in an Include's file name only), or check by hand that no Match block sets PubkeyAuthOptions or AuthorizedKeysFile, nor AuthenticationMethods other than publickey,keyboard-interactive (`sshd -T -C user=NAME,host=HOST,addr=ADDR` for an account each block covers)".into(),
        )),
    }
    out
}

/// The files a list names, as sshd resolves them: a relative path is in
/// the home directory (`%h/`); `none` is no file.
fn as_sshd_reads(list: &[&str]) -> BTreeSet<String> {
    list.iter()
        .filter(|p| **p != "none")
        .map(|p| {
            if p.starts_with('/') || p.starts_with('%') {
                p.to_string()
            } else {
                format!("%h/{p}")
            }
        })
        .collect()
}

/// An error when sshd's `AuthorizedKeysFile` (sshd -T) and agent.yaml's
/// `sshd.authorized_keys_files` do not name the same files.
pub fn authorized_keys_files_finding(
    sshd_value: &str,
    agent: &[String],
    config_path: &str,
) -> Option<Finding> {
    let sshd: Vec<&str> = sshd_value.split_whitespace().collect();
    let agent_list: Vec<&str> = agent.iter().map(String::as_str).collect();
    if as_sshd_reads(&sshd) == as_sshd_reads(&agent_list) {
        return None;
    }
    let shown = |l: &[&str]| {
        if l.is_empty() {
            "(not set)".to_string()
        } else {
            l.join(" ")
        }
    };
    let yaml: Vec<String> = sshd
        .iter()
        .filter(|p| **p != "none")
        .map(|p| format!("\"{p}\""))
        .collect();
    Some(Finding::new(
        "sshd.authorized_keys_file",
        Severity::Error,
        format!(
            "sshd's AuthorizedKeysFile is {} but {config_path}'s sshd.authorized_keys_files is {}",
            shown(&sshd),
            shown(&agent_list)
        ),
        "the agent credits a security key's touch and PIN from the authorized_keys line sshd used, in the files it reads itself: a file sshd reads and the agent does not can list the key with no-touch-required, and the login counts as touched; a file only the agent reads credits options sshd never applied",
        format!(
            "set `sshd.authorized_keys_files: [{}]` in {config_path} (sshd's list), then `mfactl reload`",
            yaml.join(", ")
        ),
    ))
}

fn match_finding(s: &MatchSetting) -> Finding {
    Finding::new(
        "sshd.match_key_settings",
        Severity::Error,
        format!(
            "{}: `{} {}` inside `Match {}`",
            s.at, s.keyword, s.value, s.criteria
        ),
        "the agent reads PubkeyAuthOptions and AuthorizedKeysFile as sshd applies them to every connection (sshd -T, agent.yaml's sshd.pubkey_auth_options and sshd.authorized_keys_files): for the connections this Match block covers, sshd may enforce less or read other files than the agent credits, and a key's login can count as touched when sshd checked no touch",
        format!(
            "remove {} from the Match block and set it once for every connection, before any Match block (in {DROP_IN}), the same as agent.yaml's sshd section; then `sshd -t && systemctl reload ssh` and `mfactl reload`",
            s.keyword
        ),
    )
}
