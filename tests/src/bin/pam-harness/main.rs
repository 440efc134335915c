//! `pam-harness`: runs a PAM service from a private configuration directory
//! through Linux-PAM's `pam_start_confdir`, with a scripted conversation.
//!
//! ```text
//! pam-harness --confdir DIR --service NAME --user USER [--ruser U] [--rhost H]
//!             [--tty T] [--env K=V]... [--answer TEXT]... [--op auth|account|auth+account|session]
//!             [--give-up-on-info TEXT] [--hold-on-prompt SECONDS]
//! ```
//!
//! The values of `--user`, `--ruser`, `--rhost` and `--tty` reach PAM as the
//! bytes given: they need not be UTF-8.
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

mod args;
mod codes;
mod conversation;

use std::collections::VecDeque;
use std::ffi::{c_int, CStr, CString};
use std::process::ExitCode;

use args::{parse_args, Args, Op, USAGE};
use codes::code_name;
use conversation::{conversation, say, Script};
use pam_mfa_e2e::pam_ffi::*;

fn cstring(what: &str, s: impl Into<Vec<u8>>) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{what} contains a NUL byte"))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
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

/// What is set on the handle before the operations: items and environment.
struct HandleSetup {
    items: Vec<(c_int, CString)>,
    env: Vec<CString>,
}

impl HandleSetup {
    fn from_args(args: &Args) -> Result<HandleSetup, String> {
        let mut items = Vec::new();
        for (kind, value) in [
            (PAM_RUSER, &args.ruser),
            (PAM_RHOST, &args.rhost),
            (PAM_TTY, &args.tty),
        ] {
            if let Some(v) = value {
                items.push((kind, cstring("item", v.as_slice())?));
            }
        }
        let env = args
            .env
            .iter()
            .map(|e| cstring("--env", e.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HandleSetup { items, env })
    }

    /// Sets the items and the environment on `pamh`; false when one failed
    /// (each failure is printed).
    fn apply(&self, pamh: *mut PamHandle) -> bool {
        let mut ok = true;
        for (kind, value) in &self.items {
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
        for e in &self.env {
            // SAFETY: pamh is live; pam_putenv copies the string.
            let rc = unsafe { pam_putenv(pamh, e.as_ptr()) };
            if rc != PAM_SUCCESS {
                say(&format!("OP putenv code={rc} name={}", code_name(rc)));
                ok = false;
            }
        }
        ok
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let service = cstring("--service", args.service.as_deref().unwrap_or_default())?;
    let user = cstring("--user", args.user.as_deref().unwrap_or_default())?;
    let confdir = cstring("--confdir", args.confdir.as_deref().unwrap_or_default())?;
    let setup = HandleSetup::from_args(args)?;

    let mut script = Box::new(Script {
        answers: args.answers.iter().cloned().collect::<VecDeque<_>>(),
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
    let mut ok = setup.apply(pamh);
    let mut results: Vec<(Op, String)> = Vec::new();
    if ok {
        for op in &args.ops {
            let rc = run_op(pamh, *op);
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
    say(&result_line(&args.ops, &results));
    Ok(ok)
}

/// Runs one operation on the live handle `pamh` and prints its `OP` line.
fn run_op(pamh: *mut PamHandle, op: Op) -> c_int {
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
    rc
}

/// `RESULT auth=<NAME> ...` for the operations asked for, `not-run` for
/// those that were not reached.
fn result_line(ops: &[Op], results: &[(Op, String)]) -> String {
    let mut line = String::from("RESULT");
    for op in [Op::Auth, Op::Account, Op::Session] {
        if !ops.contains(&op) {
            continue;
        }
        let v = results
            .iter()
            .find(|(o, _)| *o == op)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| "not-run".into());
        line.push_str(&format!(" {}={v}", op.name()));
    }
    line
}
