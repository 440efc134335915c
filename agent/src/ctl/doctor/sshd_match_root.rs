//! `PermitRootLogin` inside Match blocks. sshd applies a matching block's
//! value over the one outside Match blocks (`Match Address 10.0.0.0/8`
//! with `PermitRootLogin yes` under a global `no`), and `sshd -T -C
//! user=root,...` shows one connection's view only: doctor reads every
//! block that sets it and may cover root, and judges each as it judges the
//! global value, naming the block.
//!
//! A block may cover root unless its `User` list does not match `root`
//! (or it is `Invalid-User`): a `Group` list is taken to match (root's
//! groups are not read), as are addresses, hosts and ports.

use std::collections::BTreeMap;

use super::sshd_files::{glob_match, MatchSetting};
use super::sshd_fix::RELOAD;
use super::sshd_match::{blocks, place};
use super::sshd_t::{method_lists, parse_sshd_t, ROOT_KBD_REFUSED};
use super::{Facts, Finding, Severity};

/// A Match block that sets `PermitRootLogin` and may cover root.
pub struct RootBlock<'a> {
    /// Its `PermitRootLogin` (the block's first).
    pub permit: &'a MatchSetting,
    /// Its own `AuthenticationMethods`, when it sets one.
    pub methods: Option<&'a MatchSetting>,
}

impl RootBlock<'_> {
    /// The block's value as `sshd -T` prints it (lower case).
    pub fn value(&self) -> String {
        self.permit.value.to_ascii_lowercase()
    }

    /// `` `PermitRootLogin yes` at FILE:LINE inside `Match CRITERIA` ``.
    pub fn describe(&self) -> String {
        let s = self.permit;
        format!(
            "`{} {}` at {} inside `Match {}`",
            s.keyword, s.value, s.at, s.criteria
        )
    }
}

/// The Match blocks that set `PermitRootLogin` for connections that may be
/// root's, in the order sshd reads them.
pub fn root_blocks(f: &Facts) -> Vec<RootBlock<'_>> {
    let Some(Ok(settings)) = &f.sshd_match_settings else {
        return Vec::new();
    };
    let mut out: Vec<RootBlock> = blocks(settings)
        .into_values()
        .filter_map(|b| {
            let permit = *b.get("permitrootlogin")?;
            may_cover_root(&permit.criteria).then(|| RootBlock {
                permit,
                methods: b.get("authenticationmethods").copied(),
            })
        })
        .collect();
    let order: Vec<&str> = settings.iter().map(|s| s.at.as_str()).collect();
    out.sort_by_key(|b| order.iter().position(|at| *at == b.permit.at));
    out
}

/// Root's settings outside Match blocks: `sshd -T -C user=root,...`, but
/// with `sshd -T`'s `PermitRootLogin` (no Match block applied) when a
/// block sets it, as that block is judged on its own.
pub fn root_outside_blocks(f: &Facts) -> Option<BTreeMap<String, String>> {
    let text = match (&f.sshd_root, &f.sshd) {
        (Some(Ok(t)), _) | (None, Some(Ok(t))) => t,
        _ => return None,
    };
    let mut root = parse_sshd_t(text);
    if !root_blocks(f).is_empty() {
        if let Some(Ok(global)) = &f.sshd {
            if let Some(permit) = parse_sshd_t(global).remove("permitrootlogin") {
                root.insert("permitrootlogin".into(), permit);
            }
        }
    }
    Some(root)
}

/// Whether a Match line's criteria may hold for a connection of root's.
pub fn may_cover_root(criteria: &str) -> bool {
    let mut words = criteria.split_whitespace();
    while let Some(word) = words.next() {
        let (name, arg) = match word.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (word, None),
        };
        match name.to_ascii_lowercase().as_str() {
            "all" => {}
            "invalid-user" => return false,
            "user" => {
                let Some(list) = arg.or_else(|| words.next()) else {
                    return true;
                };
                if !list_matches("root", list) {
                    return false;
                }
            }
            // Group, Host, Address, LocalAddress, LocalPort, RDomain.
            _ => {
                if arg.is_none() {
                    words.next();
                }
            }
        }
    }
    true
}

/// sshd's match_pattern_list: any `!pattern` that matches refuses, else
/// some pattern must match.
fn list_matches(name: &str, list: &str) -> bool {
    let mut found = false;
    for pattern in list.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if glob_match(pattern.as_bytes(), name.as_bytes()) {
            if negated {
                return false;
            }
            found = true;
        }
    }
    found
}

/// Each block whose `prohibit-password` (or `forced-commands-only`)
/// refuses keyboard-interactive for root where pam-mfa runs in it: root's
/// connections the block covers are aborted.
pub fn check_root_blocks(f: &Facts) -> Vec<Finding> {
    let outside = root_outside_blocks(f).unwrap_or_default();
    let global_methods = outside
        .get("authenticationmethods")
        .map_or("", String::as_str);
    root_blocks(f)
        .iter()
        .filter(|b| {
            matches!(
                b.value().as_str(),
                "prohibit-password" | "without-password" | "forced-commands-only"
            )
        })
        .filter_map(|b| {
            let methods = b.methods.map_or(global_methods, |s| s.value.as_str());
            let uses_ki = method_lists(methods)
                .iter()
                .any(|l| l.iter().any(|m| m == "keyboard-interactive"));
            uses_ki.then(|| block_lockout(b, methods))
        })
        .collect()
}

fn block_lockout(b: &RootBlock, methods: &str) -> Finding {
    let s = b.permit;
    Finding::new(
        "sshd.permit_root_login",
        Severity::Error,
        format!(
            "{}, with AuthenticationMethods {methods} for root there",
            place(s)
        ),
        ROOT_KBD_REFUSED,
        format!(
            "in {}, write `PermitRootLogin yes` instead (root still needs its key first, then pam-mfa decides), or `PermitRootLogin no` to keep root out of SSH from these connections; {RELOAD}; then `sshd -T -C user=root,host=HOST,addr=ADDR | grep -i permitrootlogin` for a connection the block covers must show it",
            s.at
        ),
    )
}
