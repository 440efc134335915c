//! mfactl: pam-mfa's command line for admins (status, explain, check) and
//! for sshd (authorized-keys). `cli` defines the command line; this file
//! dispatches each subcommand to `mfa_agent::ctl`.

mod cli;
mod doctor;
mod enroll;
mod explain;
mod publish;
#[cfg(feature = "soft-fido2")]
mod soft_fido2;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Cmd};
use mfa_agent::ctl::{commands, AgentSocket};

fn main() -> ExitCode {
    let cli = Cli::parse_from(askpass_as_tap(std::env::args_os().collect()));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mfactl: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let agent = AgentSocket {
        path: cli.socket,
        uid: cli.agent_uid,
    };
    match cli.cmd {
        Cmd::Explain(cmd) => cmd.run(&agent),
        Cmd::Check { path } => commands::check(&path),
        Cmd::Status { json } => commands::status(&agent, json),
        Cmd::AuthorizedKeys { login, timeout } => commands::authorized_keys(&agent, login, timeout),
        #[cfg(feature = "soft-fido2")]
        Cmd::SoftFido2New(cmd) => cmd.run(),
        Cmd::Enroll(cmd) => cmd.run(),
        Cmd::Tap { prompt } => commands::tap(prompt.as_deref()),
        Cmd::ExamplePolicy => commands::example_policy(),
        Cmd::Sessions { json } => commands::sessions(&agent, json),
        Cmd::Sync { json } => commands::sync(&agent, json),
        Cmd::Doctor(cmd) => cmd.run(&agent),
        Cmd::Reload => commands::reload(&agent),
        Cmd::ForgetUser { name } => commands::forget_user(&agent, name),
        Cmd::Publish(cmd) => cmd.run(),
        Cmd::Help { command } => {
            let mut cli = Cli::command();
            // As clap's own --help: a closed standard output (`| head`)
            // is no failure.
            let _ = help_of(&mut cli, &command)?.print_long_help();
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The command whose help `mfactl help PATH...` prints: mfactl itself, or
/// the subcommand PATH names.
fn help_of<'a>(
    cli: &'a mut clap::Command,
    path: &[String],
) -> Result<&'a mut clap::Command, String> {
    cli.build();
    let mut target = cli;
    for name in path {
        target = target
            .find_subcommand_mut(name)
            .ok_or_else(|| format!("unrecognized subcommand '{name}' (see mfactl --help)"))?;
    }
    Ok(target)
}

/// `SSH_ASKPASS=mfactl`: one argument that is no subcommand and reads like
/// an ssh prompt makes this `mfactl tap PROMPT`.
fn askpass_as_tap(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let cmd = Cli::command();
    mfa_agent::ctl::askpass_argv(args, |word| {
        word == "help"
            || cmd
                .get_subcommands()
                .any(|c| c.get_name() == word || c.get_all_aliases().any(|a| a == word))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real subcommand list: a prompt alone becomes `tap PROMPT`, a
    /// subcommand stays itself.
    #[test]
    fn askpass_argv_knows_mfactls_subcommands() {
        let p = "(jerry@prod3) MFA challenge pmfa1:prod3:jerry:BwcHBwcHBwcHBwcHBwcHBw answer: ";
        let parsed = Cli::try_parse_from(askpass_as_tap(vec!["mfactl".into(), p.into()])).unwrap();
        assert!(matches!(parsed.cmd, Cmd::Tap { prompt: Some(ref t) } if t == p));
        for word in ["status", "authorized-keys", "example-policy", "help"] {
            let args = askpass_as_tap(vec!["mfactl".into(), word.into()]);
            assert_eq!(args.len(), 2, "{word}");
        }
    }

    /// `mfactl help` is a subcommand of mfactl's own: it takes --help
    /// (clap's refused it: "unrecognized subcommand '--help'"), and prints
    /// the help of mfactl or of the subcommands it names.
    #[test]
    fn help_takes_help_and_names_subcommands() {
        let help_of_help = Cli::try_parse_from(["mfactl", "help", "--help"])
            .err()
            .unwrap();
        assert_eq!(help_of_help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(help_of_help.to_string().contains("Usage: mfactl help "));
        let parsed = Cli::try_parse_from(["mfactl", "help", "status"]).unwrap();
        assert!(matches!(parsed.cmd, Cmd::Help { ref command } if command == &["status"]));
        let render = |path: &[&str]| {
            let path: Vec<String> = path.iter().map(|p| p.to_string()).collect();
            let mut cli = Cli::command();
            help_of(&mut cli, &path).map(|c| c.render_long_help().to_string())
        };
        assert!(render(&["status"])
            .unwrap()
            .contains("Usage: mfactl status"));
        assert!(render(&["help"]).unwrap().contains("Usage: mfactl help"));
        let top = render(&[]).unwrap();
        assert!(
            top.contains("Commands:") && top.contains("forget-user"),
            "{top}"
        );
        assert!(render(&["no-such"]).unwrap_err().contains("'no-such'"));
    }
}
