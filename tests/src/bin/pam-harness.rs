//! `pam-harness`: runs a PAM service from a private configuration directory
//! through Linux-PAM's `pam_start_confdir`, with a scripted conversation.
//!
//! ```text
//! pam-harness --confdir DIR --service NAME --user USER [--ruser U] [--rhost H]
//!             [--tty T] [--env K=V]... [--answer TEXT]... [--op auth|account|auth+account|session]
//!             [--give-up-on-info TEXT] [--hold-on-prompt SECONDS]
//! ```
//!
//! `--give-up-on-info TEXT`: an info message containing TEXT is answered with
//! `PAM_CONV_ERR`, as a greeter does when its user presses Cancel.
//! `--hold-on-prompt SECONDS`: every prompt is held that long (a person
//! slow to answer, or who walked away from a sudo prompt), then answered
//! (or refused when no answer is left).
//!
//! Output (stdout, one line each): `PROMPT(echo_on|echo_off): text`,
//! `INFO: text`, `ERROR: text`, one `OP <op> code=<n> name=<NAME> strerror="..."`
//! per operation run, and finally `RESULT auth=<NAME> account=<NAME> session=<NAME>`
//! (`not-run` for operations that were not run). Exit code: 0 when every operation
//! returned `PAM_SUCCESS`, 1 otherwise, 2 for misuse.
//!
//! A test tool: the FFI is declared here and `unsafe` is allowed with SAFETY notes.

use std::collections::VecDeque;
use std::ffi::{c_int, c_void, CStr, CString};
use std::io::Write;
use std::process::ExitCode;

use pam_mfa_e2e::pam_ffi::*;

/// Linux-PAM's return codes, by number.
const CODE_NAMES: [&str; 32] = [
    "PAM_SUCCESS",
    "PAM_OPEN_ERR",
    "PAM_SYMBOL_ERR",
    "PAM_SERVICE_ERR",
    "PAM_SYSTEM_ERR",
    "PAM_BUF_ERR",
    "PAM_PERM_DENIED",
    "PAM_AUTH_ERR",
    "PAM_CRED_INSUFFICIENT",
    "PAM_AUTHINFO_UNAVAIL",
    "PAM_USER_UNKNOWN",
    "PAM_MAXTRIES",
    "PAM_NEW_AUTHTOK_REQD",
    "PAM_ACCT_EXPIRED",
    "PAM_SESSION_ERR",
    "PAM_CRED_UNAVAIL",
    "PAM_CRED_EXPIRED",
    "PAM_CRED_ERR",
    "PAM_NO_MODULE_DATA",
    "PAM_CONV_ERR",
    "PAM_AUTHTOK_ERR",
    "PAM_AUTHTOK_RECOVERY_ERR",
    "PAM_AUTHTOK_LOCK_BUSY",
    "PAM_AUTHTOK_DISABLE_AGING",
    "PAM_TRY_AGAIN",
    "PAM_IGNORE",
    "PAM_ABORT",
    "PAM_AUTHTOK_EXPIRED",
    "PAM_MODULE_UNKNOWN",
    "PAM_BAD_ITEM",
    "PAM_CONV_AGAIN",
    "PAM_INCOMPLETE",
];

fn code_name(code: c_int) -> String {
    usize::try_from(code)
        .ok()
        .and_then(|i| CODE_NAMES.get(i))
        .map(|s| (*s).to_string())
        .unwrap_or_else(|| format!("PAM_UNKNOWN_{code}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Auth,
    Account,
    Session,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Auth => "auth",
            Op::Account => "account",
            Op::Session => "session",
        }
    }
}

#[derive(Debug, Default)]
struct Args {
    confdir: Option<String>,
    service: Option<String>,
    user: Option<String>,
    ruser: Option<String>,
    rhost: Option<String>,
    tty: Option<String>,
    env: Vec<String>,
    answers: Vec<String>,
    ops: Vec<Op>,
    give_up_on_info: Option<String>,
    hold_on_prompt: Option<u64>,
}

const USAGE: &str = "usage: pam-harness --confdir DIR --service NAME --user USER [--ruser U] \
[--rhost H] [--tty T] [--env K=V]... [--answer TEXT]... [--op auth|account|auth+account|session] \
[--give-up-on-info TEXT] [--hold-on-prompt SECONDS]";

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
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

/// The conversation's state, reached through `appdata_ptr`.
struct Script {
    answers: VecDeque<String>,
    give_up_on_info: Option<String>,
    hold_on_prompt: Option<u64>,
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // Output errors (a closed pipe) are not the harness's business.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints `text` with newlines escaped so each message stays on one line.
fn one_line(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int {
    let result = std::panic::catch_unwind(|| converse(num_msg, msg, resp, appdata_ptr));
    result.unwrap_or(PAM_CONV_ERR)
}

fn converse(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int {
    let Ok(n) = usize::try_from(num_msg) else {
        return PAM_CONV_ERR;
    };
    if n == 0 || msg.is_null() || resp.is_null() || appdata_ptr.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: appdata_ptr is the `Script` that main() passed in `PamConv` and that
    // outlives the PAM handle; PAM calls the conversation from this thread only.
    let script = unsafe { &mut *appdata_ptr.cast::<Script>() };
    // SAFETY: calloc returns zeroed memory (null `resp` pointers) or null; PAM
    // frees the array and the strings in it with free().
    let replies =
        unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if replies.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..n {
        // SAFETY: Linux-PAM passes `msg` as an array of `n` pointers to messages
        // (the layout its own applications use).
        let m = unsafe { &**msg.add(i) };
        let text = if m.msg.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null message text is a NUL-terminated C string owned by PAM.
            unsafe { CStr::from_ptr(m.msg) }
                .to_string_lossy()
                .into_owned()
        };
        match m.msg_style {
            PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON => {
                let style = if m.msg_style == PAM_PROMPT_ECHO_ON {
                    "echo_on"
                } else {
                    "echo_off"
                };
                say(&format!("PROMPT({style}): {}", one_line(&text)));
                if let Some(secs) = script.hold_on_prompt {
                    say("CONV: holding the prompt");
                    std::thread::sleep(std::time::Duration::from_secs(secs));
                }
                let Some(answer) = script.answers.pop_front() else {
                    say("CONV: no answer left for this prompt");
                    free_replies(replies, n);
                    return PAM_CONV_ERR;
                };
                let Ok(c) = CString::new(answer) else {
                    free_replies(replies, n);
                    return PAM_CONV_ERR;
                };
                // SAFETY: strdup copies into malloc'd memory that PAM will free;
                // `replies` has room for `n` entries.
                unsafe {
                    let copy = libc::strdup(c.as_ptr());
                    if copy.is_null() {
                        free_replies(replies, n);
                        return PAM_BUF_ERR;
                    }
                    (*replies.add(i)).resp = copy;
                }
            }
            PAM_TEXT_INFO => {
                say(&format!("INFO: {}", one_line(&text)));
                if script
                    .give_up_on_info
                    .as_deref()
                    .is_some_and(|t| text.contains(t))
                {
                    say("CONV: giving up");
                    free_replies(replies, n);
                    return PAM_CONV_ERR;
                }
            }
            PAM_ERROR_MSG => say(&format!("ERROR: {}", one_line(&text))),
            other => {
                say(&format!("CONV: unsupported message style {other}"));
                free_replies(replies, n);
                return PAM_CONV_ERR;
            }
        }
    }
    // SAFETY: `resp` is PAM's out pointer; ownership of `replies` passes to PAM.
    unsafe { *resp = replies };
    PAM_SUCCESS
}

fn free_replies(replies: *mut PamResponse, n: usize) {
    for i in 0..n {
        // SAFETY: `replies` holds `n` entries, each null or a strdup'd string.
        unsafe {
            let r = (*replies.add(i)).resp;
            if !r.is_null() {
                libc::free(r.cast());
            }
        }
    }
    // SAFETY: `replies` came from calloc and is not handed to PAM on this path.
    unsafe { libc::free(replies.cast()) };
}

fn cstring(what: &str, s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{what} contains a NUL byte"))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("pam-harness: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("pam-harness: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let service = cstring("--service", args.service.as_deref().unwrap_or_default())?;
    let user = cstring("--user", args.user.as_deref().unwrap_or_default())?;
    let confdir = cstring("--confdir", args.confdir.as_deref().unwrap_or_default())?;
    let mut items = Vec::new();
    for (kind, value) in [
        (PAM_RUSER, &args.ruser),
        (PAM_RHOST, &args.rhost),
        (PAM_TTY, &args.tty),
    ] {
        if let Some(v) = value {
            items.push((kind, cstring("item", v)?));
        }
    }
    let env = args
        .env
        .iter()
        .map(|e| cstring("--env", e))
        .collect::<Result<Vec<_>, _>>()?;

    let mut script = Box::new(Script {
        answers: args.answers.iter().cloned().collect(),
        give_up_on_info: args.give_up_on_info.clone(),
        hold_on_prompt: args.hold_on_prompt,
    });
    let conv = PamConv {
        conv: conversation,
        appdata_ptr: (&mut *script as *mut Script).cast(),
    };
    let mut pamh: *mut PamHandle = std::ptr::null_mut();
    // SAFETY: all pointers are valid NUL-terminated strings or live structs; `conv`
    // and `script` outlive the handle (pam_end is called before they drop).
    let rc = unsafe {
        pam_start_confdir(
            service.as_ptr(),
            user.as_ptr(),
            &conv,
            confdir.as_ptr(),
            &mut pamh,
        )
    };
    if rc != PAM_SUCCESS || pamh.is_null() {
        say(&format!("OP start code={rc} name={}", code_name(rc)));
        say(&format!("RESULT start={}", code_name(rc)));
        return Ok(false);
    }
    let mut last = PAM_SUCCESS;
    let mut ok = true;
    for (kind, value) in &items {
        // SAFETY: pamh is a live handle; PAM copies string items.
        let rc = unsafe { pam_set_item(pamh, *kind, value.as_ptr().cast()) };
        if rc != PAM_SUCCESS {
            say(&format!(
                "OP set_item({kind}) code={rc} name={}",
                code_name(rc)
            ));
            ok = false;
        }
    }
    for e in &env {
        // SAFETY: pamh is live; pam_putenv copies the string.
        let rc = unsafe { pam_putenv(pamh, e.as_ptr()) };
        if rc != PAM_SUCCESS {
            say(&format!("OP putenv code={rc} name={}", code_name(rc)));
            ok = false;
        }
    }
    let mut results: Vec<(Op, String)> = Vec::new();
    if ok {
        for op in &args.ops {
            // SAFETY: pamh is a live handle from pam_start_confdir.
            let rc = unsafe {
                match op {
                    Op::Auth => pam_authenticate(pamh, 0),
                    Op::Account => pam_acct_mgmt(pamh, 0),
                    Op::Session => {
                        let rc = pam_open_session(pamh, 0);
                        if rc == PAM_SUCCESS {
                            pam_close_session(pamh, 0)
                        } else {
                            rc
                        }
                    }
                }
            };
            // SAFETY: pam_strerror returns a static or handle-owned C string.
            let text = unsafe {
                let p = pam_strerror(pamh, rc);
                if p.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(p).to_string_lossy().into_owned()
                }
            };
            say(&format!(
                "OP {} code={rc} name={} strerror={:?}",
                op.name(),
                code_name(rc),
                text
            ));
            results.push((*op, code_name(rc)));
            last = rc;
            if rc != PAM_SUCCESS {
                ok = false;
                break;
            }
        }
    }
    // SAFETY: pamh is live and not used after this call.
    unsafe { pam_end(pamh, last) };
    drop(script);
    let mut line = String::from("RESULT");
    for op in [Op::Auth, Op::Account, Op::Session] {
        if !args.ops.contains(&op) {
            continue;
        }
        let v = results
            .iter()
            .find(|(o, _)| *o == op)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "not-run".into());
        line.push_str(&format!(" {}={v}", op.name()));
    }
    say(&line);
    Ok(ok)
}
