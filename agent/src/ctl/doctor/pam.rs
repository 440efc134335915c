//! The PAM stacks that should load pam_mfa.so: present, once, and where
//! they run.

use std::collections::BTreeMap;

use super::{pam_flow, pam_missing, Facts, Finding, Severity};

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
    fn console_missed(&self) -> Option<&'static str> {
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

pub fn check_pam(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    // sudo-i: Debian's sudo runs `sudo -i` as its own service, with its own
    // `@include common-auth`; su-l is util-linux su's for `su -l` (most
    // include su); polkit-1 (pkexec, polkit's admin prompts) likewise.
    // Each is checked only where its file exists.
    let mut services: Vec<&str> = vec!["sshd", "sudo", "sudo-i", "su", "su-l", "login", "polkit-1"];
    let gdm: Vec<&String> = f
        .pam_files
        .keys()
        .filter(|k| {
            k.starts_with("gdm-") && *k != "gdm-autologin" && *k != "gdm-launch-environment"
        })
        .collect();
    services.extend(gdm.iter().map(|s| s.as_str()));
    for service in services {
        if !f.pam_files.contains_key(service) {
            continue;
        }
        out.extend(check_auth(f, service));
    }
    if f.pam_files.contains_key("sshd") {
        out.extend(check_sshd_phases(f));
    }
    if f.pam_files.contains_key("login") {
        out.extend(check_login_break_glass(f));
    }
    out
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

/// pam_mfa.so in login's stack with no break-glass before it: root at the
/// console is refused too while the agent is down or has no policy.
fn check_login_break_glass(f: &Facts) -> Vec<Finding> {
    let file = format!("{}/login", f.pam_dir);
    let lines = handlers(&f.pam_files, "login", "auth");
    let Some(first) = lines.iter().position(PamLine::is_mfa) else {
        return Vec::new();
    };
    // `success=1` jumps over exactly the next line (or substack): only
    // right before pam_mfa.so does it let root at the console past it.
    if let Some(glass) = pam_flow::break_glass_over(&lines, first) {
        let glass = &lines[glass];
        let Some(missed) = glass.console_missed() else {
            return Vec::new();
        };
        return vec![Finding::new(
            "pam.login.break_glass_misses_consoles",
            Severity::Warning,
            format!("{}: the break-glass's `tty =~` glob misses {missed}", glass.at()),
            "while the agent is stopped or has no usable policy, root cannot log in at those consoles either",
            format!("write `tty =~ {CONSOLE_TTY_GLOB}` instead (`{BREAK_GLASS_LINE}`; `pam-auth-update --package` rewrites the profile's line)"),
        )];
    }
    vec![Finding::new(
        "pam.login.no_break_glass",
        Severity::Warning,
        format!("{file}: pam_mfa.so runs for root at the console too (no break-glass line right before it)"),
        "while the agent is stopped or has no usable policy, root cannot log in anywhere: the console is the way back in",
        format!("put `{BREAK_GLASS_LINE}` just before `auth required pam_mfa.so` in {file} (`pam-auth-update --enable pam-mfa` writes both), and give root a password; leave it out only where root must tap at the console as well"),
    )]
}

fn check_auth(f: &Facts, service: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let file = format!("{}/{service}", f.pam_dir);
    let lines = handlers(&f.pam_files, service, "auth");
    let mfa: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].is_mfa()).collect();
    if mfa.is_empty() {
        return vec![pam_missing::missing(f, service)];
    }
    if mfa.len() > 1 {
        let places: Vec<String> = mfa.iter().map(|&i| lines[i].at()).collect();
        out.push(Finding::new(
            &format!("pam.{service}.duplicated"),
            Severity::Warning,
            format!("{file}: pam_mfa.so runs {} times in auth ({})", mfa.len(), places.join(", ")),
            "each line asks the agent again: a person may be asked to tap twice",
            "keep one: remove the line from the service file when common-auth has it (pam-auth-update), or disable the profile (`pam-auth-update --disable pam-mfa`)".into(),
        ));
    }
    if let Some(why) = mfa
        .iter()
        .find_map(|&j| pam_flow::not_effective(&lines, j, service))
    {
        out.push(Finding::new(
            &format!("pam.{service}.not_effective"),
            Severity::Error,
            format!("{file}: {why}"),
            "a login can pass this stack without pam-mfa's decision",
            format!("load it as `auth required pam_mfa.so`, after the lines that must run first and outside any jump, in {file}"),
        ));
    }
    if service == "sshd" && lines.iter().any(|l| l.module.ends_with("pam_unix.so")) {
        out.push(Finding::new(
            "pam.sshd.password_after_key",
            Severity::Error,
            format!("{file}: auth still runs pam_unix.so (common-auth) besides pam_mfa.so"),
            "keyboard-interactive then asks for the Unix password after the key: accounts without a usable password (root on most hosts) cannot log in",
            replace_common_auth(&file),
        ));
    }
    out
}

/// README step 2, and when: only once sshd asks every login for its key
/// first. Before that (sshd's default `PasswordAuthentication yes`, no
/// `AuthenticationMethods`, or a Match block with other methods) sshd hands
/// passwords to this stack, and without common-auth nothing checks them.
pub(super) fn replace_common_auth(file: &str) -> String {
    format!(
        "only after `sshd -T` shows `authenticationmethods publickey,keyboard-interactive` (README step 1, and no Match block with other methods: `sshd.match_authentication_methods`), in {file} replace `@include common-auth` with `auth required pam_mfa.so`; never in the other order: without the key first, any password logs in"
    )
}

fn check_sshd_phases(f: &Facts) -> Vec<Finding> {
    let file = format!("{}/sshd", f.pam_dir);
    let mut out = Vec::new();
    for (kind, after, why) in [
        (
            "account",
            "@include common-account",
            "a login that skipped keyboard-interactive is not checked in the account phase",
        ),
        (
            "session",
            "@include common-session",
            "sessions are not registered with the agent: a lock or a policy change cannot end them",
        ),
    ] {
        if !stack(&f.pam_files, "sshd", kind)
            .iter()
            .any(PamLine::is_mfa)
        {
            out.push(Finding::new(
                &format!("pam.sshd.{kind}_missing"),
                Severity::Warning,
                format!("{file}: no {kind} line loads pam_mfa.so"),
                why,
                format!("add `{kind} required pam_mfa.so` after `{after}` in {file}"),
            ));
        }
    }
    out
}
