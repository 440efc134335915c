//! The man pages' troff, read as a reader sees it: escapes undone, and
//! the example blocks (`.EX`/`.EE`, `.nf`/`.fi`) a reader copies; and
//! what mfactl's help lists, to hold the pages against.

use std::process::Command;

use crate::bins;

/// `src` with the troff escapes that matter for searching undone: `\-` is
/// `-`, font changes and zero-width escapes vanish, `\(xx` is a space.
pub fn plain(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // \fB, \fI, \fR, \fP, \f[...]
            Some('f') => {
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                    }
                }
            }
            // \(em, \(aq ...: a two-letter special character.
            Some('(') => {
                chars.next();
                chars.next();
                out.push(' ');
            }
            Some('&' | 'c' | '%') | None => {}
            Some('e') => out.push('\\'),
            Some(other) => out.push(other),
        }
    }
    out
}

/// The `.EX`/`.EE` (or `.nf`/`.fi`) examples of a page, as plain text, each
/// with the page line it starts on.
pub fn examples(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in src.lines().enumerate() {
        if line.starts_with(".EX") || line.starts_with(".nf") {
            open = Some((i + 1, String::new()));
        } else if line.starts_with(".EE") || line.starts_with(".fi") {
            out.extend(open.take());
        } else if let Some((_, text)) = open.as_mut() {
            text.push_str(&plain(line));
            text.push('\n');
        }
    }
    out
}

/// `word` occurs in `text` not as part of a longer name.
pub fn has_word(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// What `mfactl ARGS` prints on standard output (a help text), without
/// colours; panics when mfactl is missing or fails.
pub fn mfactl_help(args: &[&str]) -> String {
    let bin = bins::mfactl();
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build --workspace`) or point \
         PAM_MFA_BIN_DIR at a directory holding mfactl",
        bin.display()
    );
    let out = Command::new(&bin)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{} {} failed: {}",
        bin.display(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of a clap help's section `heading` ("Commands:", "Options:").
fn help_section<'a>(help: &'a str, heading: &str) -> impl Iterator<Item = &'a str> {
    let heading = heading.to_owned();
    help.lines()
        .skip_while(move |l| l.trim() != heading)
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
}

/// The subcommands `mfactl --help` lists under "Commands:".
pub fn mfactl_subcommands() -> Vec<String> {
    let help = mfactl_help(&["--help"]);
    let names: Vec<String> = help_section(&help, "Commands:")
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert!(
        names.len() > 1,
        "found no subcommands in `mfactl --help`:\n{help}"
    );
    names
}

/// The long flags (`--name`) a short help (`-h`) lists under "Options:".
pub fn long_flags(help: &str) -> Vec<String> {
    help_section(help, "Options:")
        .flat_map(|l| {
            l.split_whitespace()
                .take_while(|w| w.starts_with('-') || w.starts_with('<'))
                .map(|w| w.trim_end_matches(','))
                .filter(|w| w.starts_with("--"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}
