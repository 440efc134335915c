//! The harness's command line.

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
    pub user: Option<String>,
    pub ruser: Option<String>,
    pub rhost: Option<String>,
    pub tty: Option<String>,
    pub env: Vec<String>,
    pub answers: Vec<String>,
    pub ops: Vec<Op>,
    pub give_up_on_info: Option<String>,
    pub hold_on_prompt: Option<u64>,
}

pub const USAGE: &str = "usage: pam-harness --confdir DIR --service NAME --user USER [--ruser U] \
[--rhost H] [--tty T] [--env K=V]... [--answer TEXT]... [--op auth|account|auth+account|session] \
[--give-up-on-info TEXT] [--hold-on-prompt SECONDS]";

pub fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args::default();
    let mut op_given = false;
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--confdir" => a.confdir = Some(value),
            "--service" => a.service = Some(value),
            "--user" => a.user = Some(value),
            "--ruser" => a.ruser = Some(value),
            "--rhost" => a.rhost = Some(value),
            "--tty" => a.tty = Some(value),
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
