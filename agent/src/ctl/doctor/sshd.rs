//! sshd's effective configuration (`sshd -T`) against what pam-mfa needs.

use std::collections::BTreeMap;

use super::sshd_fix::{fix_setting, winning_setting, DROP_IN, RELOAD};
use super::sshd_keys::check_key_agreement;
use super::sshd_match_root::{check_root_blocks, root_outside_blocks};
use super::sshd_t::{method_lists, methods_need_key_then_mfa, parse_sshd_t, ROOT_KBD_REFUSED};
use super::{Facts, Finding, Severity};
use crate::config::AgentConfig;

/// The keywords whose fixes name a file: sshd_config and its Include'd
/// files are read for where each is first set (lower case).
pub const FIXED_KEYWORDS: &[&str] = &[
    "usepam",
    "kbdinteractiveauthentication",
    "authenticationmethods",
    "exposeauthinfo",
    "permitrootlogin",
    "authorizedkeyscommand",
    "authorizedkeyscommanduser",
];

/// A switch pam-mfa needs `yes`: its keyword as `sshd -T` prints it, the
/// finding's id, and why.
struct Switch {
    keyword: &'static str,
    line: &'static str,
    id: &'static str,
    why: &'static str,
}

const USE_PAM: Switch = Switch {
    keyword: "usepam",
    line: "UsePAM yes",
    id: "sshd.use_pam",
    why: "without PAM, sshd never runs pam_mfa.so: SSH logins are not checked at all",
};
const KBD_INTERACTIVE: Switch = Switch {
    keyword: "kbdinteractiveauthentication",
    line: "KbdInteractiveAuthentication yes",
    id: "sshd.kbd_interactive",
    why: "pam-mfa's check runs in keyboard-interactive: with it off, AuthenticationMethods publickey,keyboard-interactive can never complete and every SSH login is refused",
};
const EXPOSE_AUTH_INFO: Switch = Switch {
    keyword: "exposeauthinfo",
    line: "ExposeAuthInfo yes",
    id: "sshd.expose_auth_info",
    why: "pam-mfa learns which key logged in from SSH_AUTH_INFO_0; without it no key's touch counts, and every login that needs MFA is refused",
};

fn check_switch(f: &Facts, text: &BTreeMap<String, String>, s: &Switch) -> Option<Finding> {
    let now = value(text, s.keyword);
    let written = s.line.split(' ').next().unwrap_or(s.line);
    (now != "yes").then(|| {
        Finding::new(
            s.id,
            Severity::Error,
            format!("sshd has {written} {}", or_unset(now)),
            s.why,
            fix_setting(f, s.line, now, ""),
        )
    })
}

pub fn check_sshd(f: &Facts, config: Option<&AgentConfig>) -> Vec<Finding> {
    let text = match &f.sshd {
        None => return Vec::new(),
        Some(Err(e)) => return vec![unreadable(f, e)],
        Some(Ok(t)) => parse_sshd_t(t),
    };
    let get = |k: &str| value(&text, k);
    let mut out: Vec<Finding> = [USE_PAM, KBD_INTERACTIVE]
        .iter()
        .filter_map(|s| check_switch(f, &text, s))
        .collect();
    out.extend(check_methods(f, get("authenticationmethods"), "", false));
    out.extend(check_switch(f, &text, &EXPOSE_AUTH_INFO));
    out.extend(check_keys_command(f, &text, config));
    if let Some(cfg) = config {
        out.extend(pubkey_options_findings(
            get("pubkeyauthoptions"),
            &cfg.sshd.pubkey_auth_options,
            &f.agent_config_path,
        ));
    }
    out.extend(check_key_agreement(f, get("authorizedkeysfile"), config));
    match &f.sshd_root {
        Some(Ok(_)) => {
            out.extend(check_root(f, &root_outside_blocks(f).unwrap_or_default()));
            out.extend(check_root_blocks(f));
        }
        Some(Err(e)) => out.push(Finding::new(
            "sshd.unreadable",
            Severity::Error,
            format!("sshd's configuration for root (sshd -T -C user=root,...) could not be read: {e}"),
            "a Match block may give root other settings; doctor cannot tell whether root can log in",
            "run `sshd -T -C user=root,host=localhost,addr=127.0.0.1` to see the error".into(),
        )),
        None => {}
    }
    out
}

/// `sshd -T` failed with `error`.
fn unreadable(f: &Facts, error: &str) -> Finding {
    // An earlier `KbdInteractiveAuthentication no` makes sshd refuse the
    // drop-in's AuthenticationMethods: name the file that says no.
    let kbd_no = match &f.sshd_global_settings {
        Some(Ok(read)) => winning_setting(read, "kbdinteractiveauthentication", "no").is_some(),
        _ => false,
    };
    let fix = if kbd_no && error.contains("keyboard-interactive") {
        fix_setting(f, "KbdInteractiveAuthentication yes", "no", "")
    } else {
        "fix what the message names (`sshd -t` shows it), as root on the SSH server; KbdInteractiveAuthentication no with AuthenticationMethods publickey,keyboard-interactive is refused so".into()
    };
    Finding::new(
        "sshd.unreadable",
        Severity::Error,
        format!("sshd's effective configuration could not be read: {error}"),
        "sshd refuses a configuration it cannot read this way (it will not restart or reload with it), and doctor cannot tell whether SSH logins reach pam-mfa",
        fix,
    )
}

fn value<'a>(m: &'a BTreeMap<String, String>, k: &str) -> &'a str {
    m.get(k).map(String::as_str).unwrap_or("")
}

fn or_unset(v: &str) -> &str {
    if v.is_empty() {
        "(not set)"
    } else {
        v
    }
}

/// Every list must be a key, then keyboard-interactive (pam-mfa).
fn check_methods(f: &Facts, value: &str, whom: &str, root: bool) -> Vec<Finding> {
    if methods_need_key_then_mfa(value) {
        return Vec::new();
    }
    let id = if root {
        "sshd.root_authentication_methods"
    } else {
        "sshd.authentication_methods"
    };
    vec![Finding::new(
        id,
        Severity::Error,
        format!("sshd has AuthenticationMethods {}{whom}", or_unset(value)),
        "every login must present its key first, then pass keyboard-interactive, where pam-mfa decides: another path logs in without pam-mfa's check, or without knowing which key was used",
        fix_setting(
            f,
            "AuthenticationMethods publickey,keyboard-interactive",
            value,
            "",
        ),
    )]
}

/// Root's settings (`sshd -T -C user=root,...`, with the value outside
/// Match blocks when a block sets PermitRootLogin: see
/// [`super::sshd_match_root`]); `prohibit-password` aborts it.
fn check_root(f: &Facts, root: &BTreeMap<String, String>) -> Vec<Finding> {
    let get = |k: &str| value(root, k);
    let permit = get("permitrootlogin");
    let methods = method_lists(get("authenticationmethods"));
    let uses_ki = methods
        .iter()
        .any(|l| l.iter().any(|m| m == "keyboard-interactive"));
    let mut out = Vec::new();
    if matches!(
        permit,
        "prohibit-password" | "without-password" | "forced-commands-only"
    ) && uses_ki
    {
        out.push(Finding::new(
            "sshd.permit_root_login",
            Severity::Error,
            format!("sshd has PermitRootLogin {permit} with AuthenticationMethods {} for root", get("authenticationmethods")),
            ROOT_KBD_REFUSED,
            fix_setting(
                f,
                "PermitRootLogin yes",
                permit,
                ", or `PermitRootLogin no` to keep root out of SSH (with `yes` root still needs its key first, then pam-mfa decides)",
            ),
        ));
    }
    if permit == "yes" {
        let mut m = check_methods(f, get("authenticationmethods"), " for root", true);
        for finding in &mut m {
            finding.why = "with PermitRootLogin yes, a method list without the key first lets root in by password alone".into();
        }
        out.extend(m);
    }
    out
}

/// The line that serves the policy's keys.
const KEYS_COMMAND_LINE: &str = "AuthorizedKeysCommand /usr/bin/mfactl authorized-keys %u";

fn check_keys_command(
    f: &Facts,
    text: &BTreeMap<String, String>,
    config: Option<&AgentConfig>,
) -> Vec<Finding> {
    let cmd = value(text, "authorizedkeyscommand");
    if cmd.is_empty() || cmd == "none" {
        return vec![Finding::new(
            "sshd.authorized_keys_command",
            Severity::Error,
            "sshd has no AuthorizedKeysCommand".into(),
            "the security keys registered in the policy are served by `mfactl authorized-keys`: without it they cannot log in",
            fix_setting(f, KEYS_COMMAND_LINE, cmd, ""),
        )];
    }
    let mut out = Vec::new();
    if !(cmd.contains("mfactl") && cmd.contains("authorized-keys")) {
        out.push(Finding::new(
            "sshd.authorized_keys_command",
            Severity::Warning,
            format!("sshd's AuthorizedKeysCommand is `{cmd}`, not mfactl's"),
            "the security keys registered in the policy are served by `mfactl authorized-keys %u`",
            fix_setting(f, KEYS_COMMAND_LINE, cmd, ""),
        ));
    }
    out.extend(check_keys_command_path(f));
    let user = value(text, "authorizedkeyscommanduser");
    if let Some(cfg) = config.filter(|cfg| user != cfg.socket.keys_user) {
        out.push(Finding::new(
            "sshd.authorized_keys_command_user",
            Severity::Error,
            format!(
                "sshd's AuthorizedKeysCommandUser is {} but agent.yaml's socket.keys_user is {}",
                or_unset(user),
                cfg.socket.keys_user
            ),
            "the agent answers key requests only from root and socket.keys_user: the registered keys are not served",
            fix_setting(
                f,
                &format!("AuthorizedKeysCommandUser {}", cfg.socket.keys_user),
                user,
                "",
            ),
        ));
    }
    out
}

/// The command's program and every directory above it must be root's and
/// not group/other-writable, or sshd does not run it.
fn check_keys_command_path(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for (path, owner) in &f.ak_command_path {
        let bad = match owner {
            Err(e) => Some(format!("{path}: {e}")),
            Ok((uid, _)) if *uid != 0 => Some(format!("{path} is owned by uid {uid}, not root")),
            Ok((_, mode)) if mode & 0o022 != 0 => Some(format!(
                "{path} is writable by group or others (mode {mode:o})"
            )),
            Ok(_) => None,
        };
        if let Some(what) = bad {
            let fix = if owner.is_err() {
                format!("install mfactl as {path} (the pam-mfa package does), or point AuthorizedKeysCommand at it in {DROP_IN}")
            } else {
                format!("`chown root:root {path} && chmod go-w {path}`")
            };
            out.push(Finding::new(
                "sshd.authorized_keys_command_path",
                Severity::Error,
                format!("AuthorizedKeysCommand: {what}"),
                "sshd runs the command only when it and every directory above it are root's and not group/other-writable: registered keys are not served",
                fix,
            ));
        }
    }
    out
}

/// What sshd enforces for every key against what the agent credits.
pub fn pubkey_options_findings(
    sshd_value: &str,
    agent: &[String],
    config_path: &str,
) -> Vec<Finding> {
    let sshd: Vec<&str> = sshd_value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|o| !o.is_empty() && *o != "none")
        .collect();
    let agent: Vec<&str> = agent
        .iter()
        .map(String::as_str)
        .filter(|o| *o != "none")
        .collect();
    let mut out = Vec::new();
    for opt in ["touch-required", "verify-required"] {
        match (sshd.contains(&opt), agent.contains(&opt)) {
            (false, true) => out.push(Finding::new(
                "sshd.pubkey_auth_options",
                Severity::Error,
                format!("{config_path} says sshd enforces {opt} (sshd.pubkey_auth_options), but sshd's PubkeyAuthOptions is {}", or_unset(sshd_value)),
                "the agent credits every security key's login with what sshd is said to enforce: a key logged in without it would count as tapped",
                format!("put `PubkeyAuthOptions {opt}` in {DROP_IN} and {RELOAD}, or take {opt} out of sshd.pubkey_auth_options and `mfactl reload`"),
            )),
            (true, false) => out.push(Finding::new(
                "sshd.pubkey_auth_options",
                Severity::Warning,
                format!("sshd enforces PubkeyAuthOptions {opt}, but {config_path}'s sshd.pubkey_auth_options does not say so"),
                "the agent does not credit what sshd enforced: logins that needed that are asked again or refused",
                format!("add {opt} to sshd.pubkey_auth_options in {config_path}, then `mfactl reload`"),
            )),
            _ => {}
        }
    }
    out
}
