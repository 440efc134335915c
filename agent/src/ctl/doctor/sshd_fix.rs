//! The fix for an sshd setting: the line to change where sshd reads the
//! value it uses, or the line to put in pam-mfa's drop-in.
//!
//! sshd keeps the first value it reads of a setting outside Match blocks.
//! A file read before the drop-in (a cloud image's 50-cloud-init.conf, or
//! sshd_config above its `Include`) wins over it, and a line in the drop-in
//! changes nothing there; a file read after it (Debian's sshd_config below
//! the `Include`) loses to any line the drop-in has.

use super::{DropInPlace, Facts, GlobalSetting, GlobalSettings};

pub const DROP_IN: &str = "/etc/ssh/sshd_config.d/pam-mfa.conf";
pub const RELOAD: &str = "then `sshd -t && systemctl reload ssh`";

/// sshd's value for a keyword no line sets (sshd_config(5), OpenSSH 9):
/// what removing the only setting leaves. `AuthorizedKeysCommandUser` has
/// none.
const DEFAULTS: &[(&str, &str)] = &[
    ("usepam", "no"),
    ("kbdinteractiveauthentication", "yes"),
    ("authenticationmethods", "any"),
    ("exposeauthinfo", "no"),
    ("permitrootlogin", "prohibit-password"),
    ("authorizedkeyscommand", "none"),
];

/// A value as `sshd -T` prints it, to compare with its output.
fn normal(v: &str) -> String {
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    let v = v.to_ascii_lowercase();
    // sshd -T's name for it.
    if v == "prohibit-password" {
        "without-password".to_string()
    } else {
        v
    }
}

/// The first setting outside Match blocks of `keyword`, the one whose
/// value sshd uses, when its value is the one `sshd -T` showed
/// (`effective`): a Match block that set it instead is not this line's
/// doing.
pub fn winning_setting<'a>(
    read: &'a GlobalSettings,
    keyword: &str,
    effective: &str,
) -> Option<&'a GlobalSetting> {
    read.by_keyword
        .get(&keyword.to_ascii_lowercase())?
        .first()
        .filter(|s| normal(&s.value) == normal(effective))
}

/// ", or remove it" when removing the winning line leaves the wanted
/// value: the next setting sshd reads (often the drop-in's), else sshd's
/// default. Where the default is itself the bad value (UsePAM no), removing
/// the line changes nothing for the better.
fn or_remove(read: &GlobalSettings, keyword: &str, wanted: &str) -> &'static str {
    let keyword = keyword.to_ascii_lowercase();
    let next = read
        .by_keyword
        .get(&keyword)
        .and_then(|all| all.get(1))
        .map(|s| s.value.as_str());
    let default = DEFAULTS
        .iter()
        .find(|(k, _)| *k == keyword)
        .map(|(_, v)| *v);
    match next.or(default) {
        Some(left) if normal(left) == normal(wanted) => ", or remove it",
        _ => "",
    }
}

/// The fix for a setting sshd applies with another value (`effective`)
/// than `line`'s: change it where the value sshd uses is set, when that is
/// pam-mfa.conf or a file read before it (a cloud image's
/// 50-cloud-init.conf); else put it in the drop-in, which sshd then reads
/// first. `also` follows the wanted line (another acceptable line).
pub fn fix_setting(f: &Facts, line: &str, effective: &str, also: &str) -> String {
    let (keyword, wanted) = line.split_once(' ').unwrap_or((line, ""));
    let Some(Ok(read)) = &f.sshd_global_settings else {
        return format!(
            "put `{line}` in {DROP_IN} (before any Match block; the first value wins){also}; {RELOAD}"
        );
    };
    let before_drop_in = |s: &GlobalSetting| read.drop_in.order.is_some_and(|d| s.order < d);
    match winning_setting(read, keyword, effective) {
        Some(s) if s.in_drop_in => format!(
            "{DROP_IN} has the wrong value: {} sets `{} {}`, the value sshd uses: change it to `{line}`{also}{}; {RELOAD}",
            s.at,
            s.keyword,
            s.value,
            or_remove(read, keyword, wanted)
        ),
        Some(s) if before_drop_in(s) => format!(
            "{} sets `{} {}`, the value sshd uses (read before {DROP_IN}, so a line there does not count): change it there to `{line}`{also}{}; {RELOAD}",
            s.at,
            s.keyword,
            s.value,
            or_remove(read, keyword, wanted)
        ),
        _ => put_in_drop_in(&read.drop_in, line, also),
    }
}

/// Nothing read before the drop-in sets the value: the drop-in's line wins,
/// once sshd reads the drop-in.
fn put_in_drop_in(place: &DropInPlace, line: &str, also: &str) -> String {
    let state = if place.exists {
        "it exists; put the line before any Match block in it"
    } else {
        "it does not exist yet: create it"
    };
    let include = if place.order.is_none() {
        ", and add `Include /etc/ssh/sshd_config.d/pam-mfa.conf` as the first line of sshd_config (sshd does not read the drop-in now, outside a Match block; name the file alone, as a glob would also bring in every other file there)"
    } else {
        ""
    };
    format!("put `{line}` in {DROP_IN} ({state}){also}{include}; {RELOAD}")
}
