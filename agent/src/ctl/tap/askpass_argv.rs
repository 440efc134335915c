//! `SSH_ASKPASS=mfactl`, as the README writes it: ssh runs the askpass
//! program through PATH with the prompt as its only argument, so `mfactl`
//! given one argument that is no subcommand and reads like an ssh prompt
//! acts as `mfactl tap PROMPT`.

use std::ffi::OsString;

use crate::challenge::PREFIX;

/// `args` (program name first) with `tap` inserted when they are ssh's
/// askpass call; `is_subcommand` says whether a word names a subcommand.
pub fn askpass_argv(
    mut args: Vec<OsString>,
    is_subcommand: impl Fn(&str) -> bool,
) -> Vec<OsString> {
    let [_, arg] = args.as_slice() else {
        return args;
    };
    let Some(text) = arg.to_str() else {
        return args;
    };
    if is_subcommand(text) || text.starts_with('-') || !looks_like_ssh_prompt(text) {
        return args;
    }
    args.insert(1, "tap".into());
    args
}

/// An ssh prompt: pam-mfa's challenge anywhere in it, the end of a question
/// ssh asks (`...: `, `...? `, as ssh passes them), or a touch notice.
fn looks_like_ssh_prompt(text: &str) -> bool {
    text.contains(&format!("{PREFIX}:"))
        || text.ends_with(": ")
        || text.ends_with("? ")
        || text.contains("Confirm user presence")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<String> {
        let subcommands = ["status", "reload", "tap", "help"];
        askpass_argv(args.iter().map(Into::into).collect(), |w| {
            subcommands.contains(&w)
        })
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect()
    }

    #[test]
    fn an_ssh_prompt_alone_is_a_tap() {
        let p = "(jerry@prod3) pam-mfa: prod3 requires MFA. Run `mfactl tap pmfa1:prod3:jerry:BwcHBwcHBwcHBwcHBwcHBw`, then enter its answer: ";
        assert_eq!(argv(&["mfactl", p]), ["mfactl", "tap", p]);
        let pass = "Enter passphrase for key '/home/j/.ssh/id_ed25519': ";
        assert_eq!(argv(&["mfactl", pass]), ["mfactl", "tap", pass]);
        let host = "Are you sure you want to continue connecting (yes/no/[fingerprint])? ";
        assert_eq!(argv(&["mfactl", host]), ["mfactl", "tap", host]);
    }

    #[test]
    fn subcommands_and_other_words_are_left_alone() {
        for args in [
            &["mfactl", "status"][..],
            &["mfactl", "reload"],
            &["mfactl", "help"],
            &["mfactl", "--version"],
            &["mfactl", "statsu"],
            &["mfactl", "tap", "x: "],
            &["mfactl"],
        ] {
            assert_eq!(argv(args), args, "{args:?}");
        }
    }
}
