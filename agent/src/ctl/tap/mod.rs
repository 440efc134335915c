//! `mfactl tap`: answers a pam-mfa challenge on the person's own computer.
//!
//! Works three ways: `mfactl tap CHALLENGE`, pasting the challenge on
//! standard input, or as `SSH_ASKPASS` (ssh passes each prompt as the first
//! argument; `SSH_ASKPASS=mfactl` works too: mfactl given one argument that
//! is an ssh prompt acts as `mfactl tap`; prompts that carry no challenge,
//! such as a key passphrase, are asked on the terminal as ssh-askpass
//! would, and "Confirm user presence" notices are shown there too).
//!
//! When the prompt says `answers=named`, the answer line is `<answer>
//! <challenge>`: the agent accepts it only for its own challenge, and names
//! the challenge it was for when it is not (already used, another node or
//! login). While a key waits for its touch,
//! the cue says what the touch approves ([`cue`]).
//!
//! Keys, in this order, as the prompt allows: a FIDO2 key (`rp_id=` in the
//! prompt, asked about the credential ids of `cred=` and of the `cred+=`
//! lines before it: ssh passes the whole prompt, and a pasted question
//! whose `cred_more=N` lines are missing gets them asked for), a PIV card through pcscd (`piv=SLOTS`: the slots of the user's
//! registered PIV keys), an sk key held by the local ssh-agent.

mod askpass_argv;
mod cue;
mod fido2;
#[cfg(test)]
mod fido2_tests;
mod piv;
mod ssh_agent;
mod terminal;
#[cfg(test)]
mod tests;

use std::io::BufRead;
use std::time::Duration;

use crate::challenge::{find_challenge, with_claim, CLAIMS_WELCOME};

pub use askpass_argv::askpass_argv;
pub(crate) use fido2::credential_file;
#[cfg(any(test, fuzzing))]
pub use fido2::prompt_credential_ids;
#[cfg(fuzzing)]
pub use fido2::prompt_missing_ids;
use fido2::{answer_with_fido2, FidoTarget};
use piv::answer_with_pcsc;
#[cfg(test)]
pub(crate) use piv::answer_with_piv;
use ssh_agent::answer_challenge;
use terminal::askpass;
pub use terminal::{Terminal, Tty};

/// How long a key may take to be touched.
const TOUCH_DEADLINE: Duration = Duration::from_secs(60);

/// What `mfactl tap` should print (the answer, or what askpass answers).
pub enum TapOutput {
    /// The answer line for the challenge.
    Answer(String),
    /// Text for an ordinary askpass prompt (a passphrase...), possibly empty.
    Askpass(String),
}

/// Runs `mfactl tap` with an optional argument.
pub fn run_tap(arg: Option<&str>, tty: &mut dyn Terminal) -> Result<TapOutput, String> {
    let text = match arg {
        Some(a) => a.to_string(),
        None => read_pasted(&mut std::io::stdin().lock(), tty)?,
    };
    match find_challenge(&text) {
        Some(c) => {
            // Name the challenge only to an agent that reads it (an older
            // one refuses the extra word).
            let named = text.split_whitespace().any(|w| w == CLAIMS_WELCOME);
            let line = |a: String| {
                if named {
                    with_claim(&a, &c.text)
                } else {
                    a
                }
            };
            let rp_id = token(&text, "rp_id=");
            let uv = token(&text, "uv=").is_some_and(|v| v == "required");
            let mut errors = Vec::new();
            if let Some(rp) = rp_id {
                let target = FidoTarget::from_prompt(&text, rp);
                if target.missing > 0 {
                    tty.say(&format!(
                        "mfactl tap: the prompt names {} more key ids on `cred+=` lines that did not reach mfactl: asking about the ids it has and those mfactl enroll recorded",
                        target.missing
                    ))?;
                }
                match answer_with_fido2(&c, &target, uv, tty) {
                    Ok(a) => return Ok(TapOutput::Answer(line(a))),
                    Err(e) => errors.push(e),
                }
            }
            if let Some(slots) = token(&text, "piv=") {
                match answer_with_pcsc(&c, &slots, tty) {
                    Ok(a) => return Ok(TapOutput::Answer(line(a))),
                    Err(e) => errors.push(e),
                }
            }
            match answer_challenge(&c, tty) {
                Ok(a) => Ok(TapOutput::Answer(line(a))),
                Err(e) => {
                    errors.push(e);
                    Err(errors.join("; "))
                }
            }
        }
        None if arg.is_some() => askpass(&text, tty).map(TapOutput::Askpass),
        None => Err("no pam-mfa challenge (pmfa1:NODE:LOGIN:NONCE) in the input".into()),
    }
}

/// The challenge pasted on standard input: one line, and when that line
/// says `cred_more=N` but holds fewer `cred+=` ids (the question was
/// pasted without the lines above it), those lines too, up to an empty
/// line or the end of input.
fn read_pasted(input: &mut dyn BufRead, tty: &mut dyn Terminal) -> Result<String, String> {
    tty.say("Paste the pam-mfa challenge (pmfa1:...) and press Enter:")?;
    let mut text = String::new();
    input
        .read_line(&mut text)
        .map_err(|e| format!("reading the challenge: {e}"))?;
    let missing = |t: &str| FidoTarget::from_prompt(t, String::new()).missing;
    let n = missing(&text);
    if n == 0 {
        return Ok(text);
    }
    tty.say(&format!(
        "The prompt names {n} more key ids on its `cred+=` lines (above the answer prompt): paste them, then an empty line (an empty line alone goes on without them):"
    ))?;
    loop {
        let mut line = String::new();
        let read = input
            .read_line(&mut line)
            .map_err(|e| format!("reading the cred+= lines: {e}"))?;
        if read == 0 || line.trim().is_empty() {
            break;
        }
        text.push_str(&line);
        if missing(&text) == 0 {
            break;
        }
    }
    Ok(text)
}

/// The value of a `key=value` word in the prompt.
fn token(text: &str, key: &str) -> Option<String> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .map(str::to_string)
}
