//! Whether pam_mfa.so's line really decides: libpam's walk of a stack
//! (Linux-PAM's pam_dispatch.c, `_pam_dispatch_aux`) over the lines of
//! [`super::pam_stack::handlers`], looking for a way past it or around its
//! refusal.
//!
//! As libpam does: `done` (`sufficient`) on success ends the stack with
//! success, but inside a substack only that substack; a jump (`code=N`,
//! any return code) skips N handlers of its own level, a `substack` line
//! with its whole file being one, and never out of its substack (too long
//! a jump fails the stack); `done`, `ok` or `bad` on a failure code keep
//! the failure (the stack ends with that code); `reset` forgets the
//! failures of its level so far.

use std::ops::Range;

use super::pam_stack::PamLine;

/// What libpam does with one return code of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Ignore,
    Ok,
    Bad,
    Die,
    Done,
    Reset,
    Jump(usize),
}

impl Action {
    /// As pam.conf(5) writes it.
    fn word(self) -> String {
        match self {
            Action::Ignore => "ignore".into(),
            Action::Ok => "ok".into(),
            Action::Bad => "bad".into(),
            Action::Die => "die".into(),
            Action::Done => "done".into(),
            Action::Reset => "reset".into(),
            Action::Jump(n) => n.to_string(),
        }
    }
}

/// A line's control as libpam reads it: the action for each named return
/// code, and `default`'s for the others.
struct Control {
    named: Vec<(String, Action)>,
    default: Action,
}

/// The return codes that are no refusal: libpam's `required` maps them
/// to something else than `bad`.
const NOT_REFUSALS: [&str; 4] = ["success", "ignore", "new_authtok_reqd", "incomplete"];

impl Control {
    /// The keywords as pam.conf(5) spells them out; an unknown one makes
    /// libpam fail the line.
    fn parse(control: &str) -> Control {
        use Action::*;
        let keyword = control.to_ascii_lowercase();
        let (named, default): (&[(&str, Action)], Action) = match keyword.as_str() {
            "required" => (
                &[
                    ("success", Ok),
                    ("new_authtok_reqd", Ok),
                    ("ignore", Ignore),
                ],
                Bad,
            ),
            "requisite" => (
                &[
                    ("success", Ok),
                    ("new_authtok_reqd", Ok),
                    ("ignore", Ignore),
                ],
                Die,
            ),
            "optional" => (&[("success", Ok), ("new_authtok_reqd", Ok)], Ignore),
            "sufficient" => (&[("success", Done), ("new_authtok_reqd", Done)], Ignore),
            "binding" => (
                &[
                    ("success", Done),
                    ("new_authtok_reqd", Done),
                    ("ignore", Ignore),
                ],
                Die,
            ),
            c if c.starts_with('[') => return Self::bracket(c),
            _ => (&[], Bad),
        };
        Control {
            named: named.iter().map(|(c, a)| (c.to_string(), *a)).collect(),
            default,
        }
    }

    /// `[code=action ...]`; the first `default` fills the codes not named
    /// (as libpam's `_pam_set_default_control`), else `bad`.
    fn bracket(control: &str) -> Control {
        let mut named = Vec::new();
        let mut default = None;
        for word in control.trim_matches(['[', ']']).split_whitespace() {
            let Some((code, action)) = word.split_once('=') else {
                continue;
            };
            let action = match action.to_ascii_lowercase().as_str() {
                "ignore" => Action::Ignore,
                "ok" => Action::Ok,
                "bad" => Action::Bad,
                "die" => Action::Die,
                "done" => Action::Done,
                "reset" => Action::Reset,
                n => match n.parse::<usize>() {
                    Ok(0) => Action::Ignore,
                    Ok(n) => Action::Jump(n),
                    Err(_) => Action::Bad,
                },
            };
            let code = code.to_ascii_lowercase();
            if code == "default" {
                default.get_or_insert(action);
            } else {
                named.retain(|(c, _)| *c != code);
                named.push((code, action));
            }
        }
        Control {
            named,
            default: default.unwrap_or(Action::Bad),
        }
    }

    fn action(&self, code: &str) -> Action {
        self.named
            .iter()
            .find(|(c, _)| c == code)
            .map_or(self.default, |(_, a)| *a)
    }

    /// Each named code's action, then `default`'s.
    fn actions(&self) -> impl Iterator<Item = (&str, Action)> {
        self.named
            .iter()
            .map(|(c, a)| (c.as_str(), *a))
            .chain(std::iter::once(("default", self.default)))
    }
}

/// The handlers a jump of `n` from `lines[i]` skips: `n` handlers of its
/// level, each with the deeper lines after it (a substack). None when
/// fewer are left before its substack (or the stack) ends: libpam then
/// fails the stack ("bad jump in stack").
fn jumped(lines: &[PamLine], i: usize, n: usize) -> Option<Range<usize>> {
    let level = lines[i].level;
    let (mut k, mut left) = (i, n);
    while k + 1 < lines.len() && lines[k + 1].level >= level && left > 0 {
        k += 1;
        while k + 1 < lines.len() && lines[k + 1].level > level {
            k += 1;
        }
        left -= 1;
    }
    (left == 0).then_some(i + 1..k + 1)
}

/// Whether `lines[j]` runs in the same (sub)stack as `lines[i]` or one it
/// opens: what a decision (`done`) at `i` skips.
fn same_scope(lines: &[PamLine], i: usize, j: usize) -> bool {
    lines[i + 1..=j].iter().all(|l| l.level >= lines[i].level)
}

/// pam_rootok succeeds when the caller's real uid is 0: for su and
/// runuser only root itself, who needs no tap to become anyone (Debian's
/// su starts with it); login, sshd and gdm run as root, where it lets
/// everyone in.
fn rootok_excused(line: &PamLine, service: &str) -> bool {
    line.module.rsplit('/').next() == Some("pam_rootok.so")
        && ["su", "su-l", "runuser", "runuser-l"].contains(&service)
}

/// Why `lines[j]` (pam_mfa.so in `service`'s stack from
/// [`super::pam_stack::handlers`]) may not run, or its refusal not count.
pub(super) fn not_effective(lines: &[PamLine], j: usize, service: &str) -> Option<String> {
    let mfa = &lines[j];
    let own = Control::parse(&mfa.control);
    if let Some((code, action)) = own
        .actions()
        .find(|(c, a)| !NOT_REFUSALS.contains(c) && refusal_dropped(*a))
    {
        return Some(format!(
            "{} loads pam_mfa.so as `{}`: its refusal does not refuse the login (`{code}={}`)",
            mfa.at(),
            mfa.control,
            action.word()
        ));
    }
    for (i, l) in lines[..j].iter().enumerate() {
        // The break-glass: root at a local console only.
        if l.is_substack() || l.is_break_glass() || rootok_excused(l, service) {
            continue;
        }
        let control = Control::parse(&l.control);
        if control.action("success") == Action::Done && same_scope(lines, i, j) {
            let what = if l.level == 0 {
                "the stack"
            } else {
                "its substack"
            };
            return Some(format!(
                "{} ({} `{}`) ends {what} with success before pam_mfa.so at {} runs",
                l.at(),
                l.module,
                l.control,
                mfa.at()
            ));
        }
        for (code, action) in control.actions() {
            let Action::Jump(n) = action else { continue };
            if jumped(lines, i, n).is_some_and(|r| r.contains(&j)) {
                let when = match code {
                    "success" => "when it succeeds".to_string(),
                    "default" => "on a return code its control does not name (`default`)".into(),
                    c => format!("when it returns `{c}`"),
                };
                return Some(format!(
                    "{} ({} `{}`) jumps over pam_mfa.so at {} {when}",
                    l.at(),
                    l.module,
                    l.control,
                    mfa.at()
                ));
            }
        }
    }
    reset_after(lines, j)
}

/// Whether `lines[i]` can keep `lines[j]` from deciding in a stack whose
/// caller lets every result but a refusal through (the account stack of
/// sudo under NOPASSWD, and of sshd, which both pass `new_authtok_reqd`:
/// sshd then asks for a new password): it ends the stack (`done`, `die`)
/// on a code that is no refusal (the stack `j` runs in, not only a
/// substack of it), or jumps over `j`.
pub(super) fn ends_or_skips(lines: &[PamLine], i: usize, j: usize) -> bool {
    // What a module returns that sudo (NOPASSWD) or sshd then lets the
    // request through with, should the stack end on it.
    const PASSED: [&str; 3] = ["success", "new_authtok_reqd", "ignore"];
    let control = Control::parse(&lines[i].control);
    // In a substack, `done` and `die` end only that substack.
    (same_scope(lines, i, j)
        && PASSED
            .iter()
            .any(|c| matches!(control.action(c), Action::Done | Action::Die)))
        || control.actions().any(|(_, a)| match a {
            Action::Jump(n) => jumped(lines, i, n).is_some_and(|r| r.contains(&j)),
            _ => false,
        })
}

/// A refusal met with this action leaves the stack's verdict as it was.
fn refusal_dropped(action: Action) -> bool {
    matches!(action, Action::Ignore | Action::Reset | Action::Jump(_))
}

/// A line after `lines[j]` whose `reset` puts back its (sub)stack's
/// verdict from before pam_mfa.so refused.
fn reset_after(lines: &[PamLine], j: usize) -> Option<String> {
    let k = (j + 1..lines.len()).find(|&k| {
        !lines[k].is_substack()
            && lines[j..k].iter().all(|l| l.level >= lines[k].level)
            && Control::parse(&lines[k].control)
                .actions()
                .any(|(_, a)| a == Action::Reset)
    })?;
    Some(format!(
        "{} ({} `{}`) resets the stack's verdict after pam_mfa.so at {}: its refusal is forgotten",
        lines[k].at(),
        lines[k].module,
        lines[k].control,
        lines[j].at()
    ))
}

/// The break-glass line whose jump skips `lines[j]` (pam_mfa.so): right
/// before it, or before the substack it runs in.
pub(super) fn break_glass_over(lines: &[PamLine], j: usize) -> Option<usize> {
    (0..j)
        .rev()
        .find(|&i| lines[i].is_break_glass() && jumped(lines, i, 1).is_some_and(|r| r.contains(&j)))
}
