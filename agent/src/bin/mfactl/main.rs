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

use clap::Parser;

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
    }
}

/// `SSH_ASKPASS=mfactl`: one argument that is no subcommand and reads like
/// an ssh prompt makes this `mfactl tap PROMPT`.
fn askpass_as_tap(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
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
}
