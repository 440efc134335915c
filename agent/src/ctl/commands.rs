//! What each `mfactl` subcommand does once its flags are parsed: ask the
//! agent (or decide offline), print, and give the exit code.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use pam_mfa_protocol::{RequestBody, ResponseBody};
use serde::Serialize;

use super::doctor::{run_doctor, DoctorArgs};
use super::status::render_status;
use super::{
    ask, fetch_sessions, render, render_sessions, render_sync, run_check, run_enroll, run_explain,
    run_sync, run_tap, short, AgentSocket, Checked, EnrollArgs, ExplainArgs, TapOutput, Tty,
};

/// How long a plain question to the agent may take.
pub const AGENT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `mfactl sync` and `reload` wait: each may pull, which the
/// agent ends within `cluster.timeout` (30s by default); a pull already in
/// progress is answered within `state::BUSY_WAIT`.
const SYNC_TIMEOUT: Duration = Duration::from_secs(120);

fn print_json<T: Serialize>(value: &T) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn exit_ok_or_1(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The message for an answer that is not the one asked for.
pub fn unexpected(body: ResponseBody) -> String {
    match body {
        ResponseBody::Error { message } | ResponseBody::Unavailable { message } => {
            format!("mfa-agent: {message}")
        }
        other => format!("mfa-agent answered something unexpected: {other:?}"),
    }
}

/// `mfactl explain`.
pub fn explain(args: ExplainArgs, agent: &AgentSocket, json: bool) -> Result<ExitCode, String> {
    let e = run_explain(args, agent)?;
    if json {
        print_json(&e)?;
    } else {
        print!("{}", render(&e));
    }
    Ok(ExitCode::SUCCESS)
}

/// `mfactl check PATH`.
pub fn check(path: &Path) -> Result<ExitCode, String> {
    match run_check(path)? {
        Checked::Bundle {
            roles,
            users,
            locks,
            devices,
            warnings,
            revision,
        } => {
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{}: valid bundle: {roles} roles, {users} users, {locks} locks, {devices} devices, {} warnings (revision {})",
                path.display(),
                warnings.len(),
                short(&revision)
            );
        }
        Checked::AgentConfig {
            node,
            node_id,
            source,
            warnings,
        } => {
            println!(
                "{}: valid agent configuration (node {node}, policy {source})",
                path.display()
            );
            if let Some(id) = &node_id.id {
                println!("node.id {id} ({})", node_id.describe());
            }
            for w in warnings {
                eprintln!("warning: {w}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mfactl status`.
pub fn status(agent: &AgentSocket, json: bool) -> Result<ExitCode, String> {
    match ask(agent, RequestBody::Status, AGENT_TIMEOUT)? {
        ResponseBody::Status(s) => {
            if json {
                print_json(&s)?;
            } else {
                print!("{}", render_status(&s));
            }
            Ok(ExitCode::SUCCESS)
        }
        other => Err(unexpected(other)),
    }
}

/// `mfactl authorized-keys LOGIN`: sshd treats a non-zero exit as "no
/// keys": the user's own authorized_keys still work, registered keys do not.
pub fn authorized_keys(
    agent: &AgentSocket,
    login: String,
    timeout: Duration,
) -> Result<ExitCode, String> {
    match ask(agent, RequestBody::AuthorizedKeys { login }, timeout)? {
        ResponseBody::Keys { lines } => {
            let mut out = std::io::stdout().lock();
            for l in lines {
                writeln!(out, "{l}").map_err(|e| e.to_string())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        other => Err(unexpected(other)),
    }
}

/// `mfactl enroll`: the notes on stderr, the resource on stdout.
pub fn enroll(args: &EnrollArgs, json: bool) -> Result<ExitCode, String> {
    let done = run_enroll(args)?;
    for n in &done.notes {
        eprintln!("mfactl enroll: {n}");
    }
    if json {
        print_json(&done.device.to_json())?;
    } else {
        print!("{}", done.device.to_yaml());
    }
    Ok(ExitCode::SUCCESS)
}

/// `mfactl tap [PROMPT]`.
pub fn tap(prompt: Option<&str>) -> Result<ExitCode, String> {
    match run_tap(prompt, &mut Tty)? {
        TapOutput::Answer(line) | TapOutput::Askpass(line) => {
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `mfactl example-policy`.
pub fn example_policy() -> Result<ExitCode, String> {
    print!("{}", crate::state::BUILTIN_EXAMPLE);
    Ok(ExitCode::SUCCESS)
}

/// `mfactl sessions`.
pub fn sessions(agent: &AgentSocket, json: bool) -> Result<ExitCode, String> {
    let list = fetch_sessions(agent, AGENT_TIMEOUT)?;
    if json {
        print_json(&list)?;
    } else {
        print!("{}", render_sessions(&list));
    }
    Ok(ExitCode::SUCCESS)
}

/// `mfactl sync`: exits 1 when the pull was refused.
pub fn sync(agent: &AgentSocket, json: bool) -> Result<ExitCode, String> {
    let r = run_sync(agent, SYNC_TIMEOUT)?;
    if json {
        print_json(&r)?;
    } else {
        print!("{}", render_sync(&r));
    }
    Ok(exit_ok_or_1(r.ok))
}

/// `mfactl doctor`: the exit code is the worst finding's.
pub fn doctor(args: &DoctorArgs, json: bool) -> Result<ExitCode, String> {
    let (text, code) = run_doctor(args, json);
    print!("{text}");
    Ok(ExitCode::from(code))
}

/// `mfactl forget-user NAME`: exits 1 when NAME is not a vanished user.
pub fn forget_user(agent: &AgentSocket, name: String) -> Result<ExitCode, String> {
    match ask(agent, RequestBody::ForgetUser { name }, AGENT_TIMEOUT)? {
        ResponseBody::Forgot { ok, message } => {
            if ok {
                println!("{message}");
            } else {
                eprintln!("mfactl: {message}");
            }
            Ok(exit_ok_or_1(ok))
        }
        other => Err(unexpected(other)),
    }
}

/// `mfactl reload`: exits 1 when agent.yaml or the policy was refused.
pub fn reload(agent: &AgentSocket) -> Result<ExitCode, String> {
    match ask(agent, RequestBody::Reload, SYNC_TIMEOUT)? {
        ResponseBody::Reloaded { ok, message } => {
            println!("{message}");
            Ok(exit_ok_or_1(ok))
        }
        other => Err(unexpected(other)),
    }
}
