//! The harness's command line.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Auth,
    Account,
    Session,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Auth => "auth",
            Op::Account => "account",
            Op::Session => "session",
        }
    }
}

#[derive(Debug, Default)]
pub struct Args {
    pub confdir: Option<String>,
    pub service: Option<String>,
    /// The user name and the items are bytes: they need not be UTF-8.
    pub user: Option<Vec<u8>>,
    pub ruser: Option<Vec<u8>>,
    pub rhost: Option<Vec<u8>>,
    pub tty: Option<Vec<u8>>,
    pub env: Vec<String>,
    pub answers: Vec<String>,
    pub ops: Vec<Op>,
    pub give_up_on_info: Option<String>,
    pub hold_on_prompt: Option<u64>,
}

pub const USAGE: &str = "usage: pam-harness --confdir DIR --service NAME --user USER [--ruser U] \
[--rhost H] [--tty T] [--env K=V]... [--answer TEXT]... [--op auth|account|auth+account|session] \
[--give-up-on-info TEXT] [--hold-on-prompt SECONDS]";

/// Parses the command line. The values of `--user`, `--ruser`, `--rhost`
/// and `--tty` are taken as bytes (a name that is not UTF-8 reaches PAM as
/// it is); every other argument must be UTF-8.
pub fn parse_args(mut it: impl Iterator<Item = OsString>) -> Result<Args, String> {
    let mut a = Args::default();
    let mut op_given = false;
    while let Some(flag) = it.next() {
        let flag = flag
            .into_string()
            .map_err(|f| format!("unknown argument {f:?}"))?;
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let raw = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bytes = match flag.as_str() {
            "--user" => Some(&mut a.user),
            "--ruser" => Some(&mut a.ruser),
            "--rhost" => Some(&mut a.rhost),
            "--tty" => Some(&mut a.tty),
            _ => None,
        };
        if let Some(slot) = bytes {
            *slot = Some(raw.into_vec());
            continue;
        }
        let value = raw
            .into_string()
            .map_err(|v| format!("{flag} {v:?} is not UTF-8"))?;
        match flag.as_str() {
            "--confdir" => a.confdir = Some(value),
            "--service" => a.service = Some(value),
            "--env" => {
                if !value.contains('=') || value.starts_with('=') {
                    return Err(format!("--env wants K=V, got {value:?}"));
                }
                a.env.push(value);
            }
            "--answer" => a.answers.push(value),
            "--give-up-on-info" => a.give_up_on_info = Some(value),
            "--hold-on-prompt" => {
                a.hold_on_prompt = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--hold-on-prompt wants seconds, got {value:?}"))?,
                )
            }
            "--op" => {
                if op_given {
                    return Err("--op given twice".into());
                }
                op_given = true;
                a.ops = match value.as_str() {
                    "auth" => vec![Op::Auth],
                    "account" => vec![Op::Account],
                    "auth+account" => vec![Op::Auth, Op::Account],
                    "session" => vec![Op::Session],
                    other => return Err(format!("unknown --op {other:?}")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.confdir.is_none() || a.service.is_none() || a.user.is_none() {
        return Err("--confdir, --service and --user are required".into());
    }
    if a.ops.is_empty() {
        a.ops = vec![Op::Auth];
    }
    Ok(a)
}
