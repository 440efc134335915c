//! How `Match` blocks change the way some connections log in. `sshd -T`
//! leaves every Match block out, so doctor reads them from sshd_config and
//! the files it includes ([`super::sshd_files`]), in the order sshd does.
//!
//! A block whose `AuthenticationMethods` does not ask for the key first,
//! then keyboard-interactive (`Match Group sftponly` with
//! `AuthenticationMethods keyboard-interactive` or `password`, common for
//! sftp-only accounts), is an error: once /etc/pam.d/sshd holds only
//! pam_mfa.so (README step 2), nothing checks a password there, and those
//! accounts log in with none. A block that turns off what pam-mfa's path
//! needs (`PubkeyAuthentication no` or `KbdInteractiveAuthentication no`
//! under the global `publickey,keyboard-interactive`, `ExposeAuthInfo no`)
//! fails closed: its accounts are refused, a warning. `UsePAM` is not
//! allowed in a Match block: `sshd -T` refuses the file (`sshd.unreadable`).
//! A block's `PermitRootLogin` is judged as the global one is
//! ([`super::sshd_match_root`]).

use std::collections::BTreeMap;

use super::sshd_files::MatchSetting;
use super::sshd_fix::{DROP_IN, RELOAD};
use super::sshd_t::{methods_need_key_then_mfa, parse_sshd_t};
use super::{Facts, Finding, Severity};

/// The keywords doctor reads inside Match blocks (lower case): those the
/// agent needs global ([`super::sshd_keys::GLOBAL_KEYWORDS`]) and those
/// that decide how a connection logs in.
pub const MATCH_KEYWORDS: &[&str] = &[
    "pubkeyauthoptions",
    "authorizedkeysfile",
    "authenticationmethods",
    "exposeauthinfo",
    "pubkeyauthentication",
    "kbdinteractiveauthentication",
    "challengeresponseauthentication",
    "passwordauthentication",
    "permitrootlogin",
];

/// The settings of one Match block (its `file:line`), by keyword in lower
/// case (`ChallengeResponseAuthentication` as the keyword it stands for);
/// within a block the first value counts, as in sshd.
pub fn blocks(settings: &[MatchSetting]) -> BTreeMap<&str, BTreeMap<String, &MatchSetting>> {
    let mut out: BTreeMap<&str, BTreeMap<String, &MatchSetting>> = BTreeMap::new();
    for s in settings {
        let mut keyword = s.keyword.to_ascii_lowercase();
        if keyword == "challengeresponseauthentication" {
            keyword = "kbdinteractiveauthentication".into();
        }
        out.entry(s.block.as_str())
            .or_default()
            .entry(keyword)
            .or_insert(s);
    }
    out
}

/// The Match blocks' `AuthenticationMethods` against pam-mfa's rule, and
/// the settings that lock a block's accounts out.
pub fn check_match_blocks(f: &Facts) -> Vec<Finding> {
    let Some(Ok(settings)) = &f.sshd_match_settings else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for block in blocks(settings).values() {
        let methods = block.get("authenticationmethods");
        if let Some(s) = methods.filter(|s| !methods_need_key_then_mfa(&s.value)) {
            out.push(methods_finding(s));
        }
        if let Some(s) = block.get("exposeauthinfo").filter(|s| is_no(s)) {
            out.push(locks_out(
                s,
                "pam-mfa learns which key logged in from SSH_AUTH_INFO_0: for these connections no key's touch counts, and every login that needs MFA is refused",
            ));
        }
        // Under the global publickey,keyboard-interactive (a block that
        // sets its own methods is judged above).
        if methods.is_none() && global_needs_both(f) {
            for keyword in ["pubkeyauthentication", "kbdinteractiveauthentication"] {
                if let Some(s) = block.get(keyword).filter(|s| is_no(s)) {
                    out.push(locks_out(
                        s,
                        "AuthenticationMethods publickey,keyboard-interactive needs both: no login this block covers can complete",
                    ));
                }
            }
        }
    }
    out
}

/// sshd's global `AuthenticationMethods` (`sshd -T`) needs a key, then
/// keyboard-interactive.
fn global_needs_both(f: &Facts) -> bool {
    let Some(Ok(text)) = &f.sshd else {
        return false;
    };
    let sshd = parse_sshd_t(text);
    methods_need_key_then_mfa(sshd.get("authenticationmethods").map_or("", String::as_str))
}

fn is_no(s: &MatchSetting) -> bool {
    s.value.eq_ignore_ascii_case("no")
}

/// Where a Match block's setting is, for the messages.
pub(super) fn place(s: &MatchSetting) -> String {
    format!(
        "{}: `{} {}` inside `Match {}` ({})",
        s.at, s.keyword, s.value, s.criteria, s.block
    )
}

/// How to see what sshd applies to one account a block covers.
pub const SSHD_T_FOR_ONE: &str =
    "`sshd -T -C user=NAME,host=HOST,addr=ADDR | grep -i authenticationmethods` for an account the block covers";

fn methods_finding(s: &MatchSetting) -> Finding {
    Finding::new(
        "sshd.match_authentication_methods",
        Severity::Error,
        place(s),
        "for the connections this Match block covers sshd does not ask for the key first, then keyboard-interactive (where pam-mfa decides): once /etc/pam.d/sshd holds only pam_mfa.so (README step 2) no password is checked, so these accounts log in without a password (keyboard-interactive or password alone, or `any`), or with a key and no pam-mfa check (publickey alone)",
        format!(
            "in {}, write `AuthenticationMethods publickey,keyboard-interactive` instead (or remove the line, and the global value holds), and give these accounts a key; keep the block's other lines (ForceCommand internal-sftp, ChrootDirectory); {RELOAD}; then {SSHD_T_FOR_ONE} must show `authenticationmethods publickey,keyboard-interactive`",
            s.at
        ),
    )
}

fn locks_out(s: &MatchSetting, why: &str) -> Finding {
    let keyword = s.keyword.as_str();
    Finding::new(
        "sshd.match_locks_out",
        Severity::Warning,
        place(s),
        why,
        format!(
            "remove `{keyword} {}` from the block in {} (the drop-in {DROP_IN} sets it for every connection), or keep it where these accounts are meant to be kept out of SSH; {RELOAD}",
            s.value, s.at
        ),
    )
}
