//! mfactl.1's SYNOPSIS against `mfactl COMMAND -h`: every flag a command
//! takes is on that command's SYNOPSIS line, and every global flag is in the
//! SYNOPSIS. Needs no root; needs `mfactl` built (`cargo build --workspace`,
//! or `$PAM_MFA_BIN_DIR`).

use std::path::Path;

use pam_mfa_e2e::man_page::{has_word, long_flags, mfactl_help, mfactl_subcommands, plain};

/// The SYNOPSIS of mfactl.1 as plain text, one entry per `.br`-separated
/// usage line.
fn synopsis_lines() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/man/mfactl.1");
    let src = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let section: Vec<&str> = src
        .lines()
        .skip_while(|l| *l != ".SH SYNOPSIS")
        .skip(1)
        .take_while(|l| !l.starts_with(".SH "))
        .collect();
    section
        .split(|l| *l == ".br")
        .map(|usage| plain(&usage.join(" ")))
        .filter(|usage| usage.contains("mfactl"))
        .collect()
}

#[test]
fn mfactl_synopsis_shows_every_flag_of_every_command() {
    let lines = synopsis_lines();
    assert!(
        lines.len() > 5,
        "found only {lines:?} in mfactl.1's SYNOPSIS"
    );
    let whole = lines.join("\n");
    let not_listed = |f: &String| f != "--help" && f != "--version";
    let globals: Vec<String> = long_flags(&mfactl_help(&["-h"]))
        .into_iter()
        .filter(not_listed)
        .collect();
    assert!(globals.iter().any(|g| g == "--socket"), "{globals:?}");
    let mut missing: Vec<String> = globals
        .iter()
        .filter(|g| !has_word(&whole, g))
        .map(|g| format!("global {g}"))
        .collect();
    for cmd in mfactl_subcommands().into_iter().filter(|c| c != "help") {
        let own: Vec<&String> = lines.iter().filter(|l| has_word(l, &cmd)).collect();
        if own.is_empty() {
            missing.push(format!("{cmd}: no SYNOPSIS line"));
            continue;
        }
        for flag in long_flags(&mfactl_help(&[&cmd, "-h"])) {
            if not_listed(&flag)
                && !globals.contains(&flag)
                && !own.iter().any(|l| has_word(l, &flag))
            {
                missing.push(format!("{cmd} {flag}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "flags of `mfactl COMMAND -h` missing from the SYNOPSIS of packaging/man/mfactl.1:\n  {}",
        missing.join("\n  ")
    );
}
