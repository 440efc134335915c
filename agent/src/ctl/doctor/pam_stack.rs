//! A service's PAM stack as Linux-PAM reads it: its module lines after
//! `@include`, `include` and `substack`, each with where it came from; and
//! the lines and texts of pam-mfa's own set-up that the checks name.

use std::collections::BTreeMap;

/// One module line of a stack, after includes: where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamLine {
    pub file: String,
    pub line: usize,
    pub control: String,
    pub module: String,
    /// The module's arguments, as written.
    pub args: String,
    /// How many `substack`s deep it runs (0: the service's own stack), as
    /// libpam's `stack_level`.
    pub level: usize,
}

impl PamLine {
    /// A `substack` line: libpam keeps it in the stack as one handler
    /// (a jump over it skips its whole file), followed by its file's lines
    /// one level deeper.
    pub(super) fn is_substack(&self) -> bool {
        self.control == "substack"
    }

    pub(super) fn is_mfa(&self) -> bool {
        self.module.rsplit('/').next() == Some("pam_mfa.so")
    }

    /// The documented break-glass (README, pam_mfa(8), the pam-auth-update
    /// profile): a `pam_succeed_if.so` line that jumps over pam_mfa.so only
    /// for root logging in through `login` on a local terminal
    /// ([`CONSOLE_TTY_GLOB`]; the older `*tty*` and `tty*` have the same
    /// shape but miss some consoles, see [`Self::console_missed`]). Its jump is meant: it is what
    /// keeps root able to log in when the agent is down or has no policy.
    /// Only as written: a jump of exactly one line (over the pam_mfa.so
    /// that follows it), and no `use_uid` (which would test the uid of
    /// login itself, root, instead of who logs in).
    pub(super) fn is_break_glass(&self) -> bool {
        if self.module.rsplit('/').next() != Some("pam_succeed_if.so") {
            return false;
        }
        let control: String = self
            .control
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if control != "[success=1 default=ignore]" {
            return false;
        }
        let words: Vec<&str> = self.args.split_whitespace().collect();
        if words.contains(&"use_uid") {
            return false;
        }
        let has = |cond: &[&str]| words.windows(cond.len()).any(|w| w == cond);
        has(&["service", "=", "login"])
            && has(&["user", "=", "root"])
            && [CONSOLE_TTY_GLOB, "*tty*", "tty*"]
                .iter()
                .any(|glob| has(&["tty", "=~", glob]))
    }

    /// The consoles a break-glass written as earlier builds did misses
    /// (root there meets pam_mfa.so), or None for [`CONSOLE_TTY_GLOB`].
    /// `tty =~ tty*`: shadow's login (Debian, Ubuntu) sets PAM_TTY to
    /// `ttyname(0)`, `/dev/tty1`, which that glob does not match.
    /// `tty =~ *tty*`: no `hvc0` or `console` (Xen, virtio and Power
    /// consoles).
    pub(super) fn console_missed(&self) -> Option<&'static str> {
        let words: Vec<&str> = self.args.split_whitespace().collect();
        if words.contains(&CONSOLE_TTY_GLOB) {
            None
        } else if words.contains(&"*tty*") {
            Some("`hvc0` and `console` (Xen, virtio and Power consoles)")
        } else {
            Some("Debian's and Ubuntu's consoles (PAM_TTY is `/dev/tty1` there), `hvc0` and `console`")
        }
    }

    pub(super) fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The `kind` (auth, account, session) lines of `service`, with `@include`,
/// `include` and `substack` expanded from `files` (depth at most 8).
pub fn stack(files: &BTreeMap<String, String>, service: &str, kind: &str) -> Vec<PamLine> {
    let mut out = handlers(files, service, kind);
    out.retain(|l| !l.is_substack());
    out
}

/// [`stack`] as libpam runs it: each `substack` line kept before its
/// file's lines, which are one [`PamLine::level`] deeper (an `include`d
/// file's lines are spliced in at the including line's level).
pub(super) fn handlers(
    files: &BTreeMap<String, String>,
    service: &str,
    kind: &str,
) -> Vec<PamLine> {
    let mut out = Vec::new();
    expand(files, service, kind, (0, 0), &mut out);
    out
}

/// `name`'s `kind` lines into `out`; `(depth, level)`: how many files
/// deep, and how many of them substacks.
fn expand(
    files: &BTreeMap<String, String>,
    name: &str,
    kind: &str,
    (depth, level): (u8, usize),
    out: &mut Vec<PamLine>,
) {
    let Some(text) = files.get(name) else {
        return;
    };
    if depth > 8 {
        return;
    }
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if let Some(inc) = line.strip_prefix("@include") {
            expand(files, inc.trim(), kind, (depth + 1, level), out);
            continue;
        }
        let Some((t, mut pam_line)) = module_line(name, i + 1, line) else {
            continue;
        };
        if t.trim_start_matches('-') != kind {
            continue;
        }
        pam_line.level = level;
        if pam_line.control == "include" {
            expand(files, &pam_line.module, kind, (depth + 1, level), out);
            continue;
        }
        if pam_line.is_substack() {
            let file = pam_line.module.clone();
            out.push(pam_line);
            expand(files, &file, kind, (depth + 1, level + 1), out);
            continue;
        }
        out.push(pam_line);
    }
}

/// Every module line of one file (`@include` and `include`/`substack`
/// lines are not followed), each with its type as written (`-auth`, ...).
pub(super) fn file_lines(file: &str, text: &str) -> Vec<(String, PamLine)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.starts_with("@include") {
                return None;
            }
            module_line(file, i + 1, line).map(|(t, l)| (t.to_string(), l))
        })
        .collect()
}

/// Line `number` of `file` (comment already cut): its type and the
/// module line, or None when it names no module.
fn module_line<'a>(file: &str, number: usize, line: &'a str) -> Option<(&'a str, PamLine)> {
    let mut words = line.split_whitespace();
    let (t, control) = (words.next()?, words.next()?);
    let control = if control.starts_with('[') && !control.ends_with(']') {
        // [a=b c=d] spans words.
        let mut c = control.to_string();
        for w in words.by_ref() {
            c.push(' ');
            c.push_str(w);
            if w.ends_with(']') {
                break;
            }
        }
        c
    } else {
        control.to_string()
    };
    let module = words.next()?;
    Some((
        t,
        PamLine {
            file: file.to_string(),
            line: number,
            control,
            module: module.to_string(),
            args: words.collect::<Vec<_>>().join(" "),
            level: 0,
        },
    ))
}

/// The terminals of the break-glass: any name containing `tty`, `hvc` or
/// `con` (`tty1`, `/dev/ttyS0`, `ttyAMA0`, `/dev/hvc0`, `/dev/console`,
/// with or without `/dev/` as login sets PAM_TTY), and never a
/// pseudo-terminal (`/dev/pts/N`, whose letters never fit the three
/// brackets). pam_succeed_if ANDs the conditions of one line and has no OR;
/// one glob keeps the break-glass a single line jumping over the next one.
pub const CONSOLE_TTY_GLOB: &str = "*[cht][otv][cny]*";

/// The break-glass line of pam_mfa(8), as the pam-auth-update profile
/// writes it.
pub const BREAK_GLASS_LINE: &str =
    "auth [success=1 default=ignore] pam_succeed_if.so quiet_fail service = login user = root tty =~ *[cht][otv][cny]*";

/// README step 2, and when: only once sshd asks every login for its key
/// first. Before that (sshd's default `PasswordAuthentication yes`, no
/// `AuthenticationMethods`, or a Match block with other methods) sshd hands
/// passwords to this stack, and without common-auth nothing checks them.
pub(super) fn replace_common_auth(file: &str) -> String {
    format!(
        "only after `sshd -T` shows `authenticationmethods publickey,keyboard-interactive` (README step 1, and no Match block with other methods: `sshd.match_authentication_methods`), in {file} replace `@include common-auth` with `auth required pam_mfa.so`; never in the other order: without the key first, any password logs in"
    )
}
