//! `mfactl tap`: answers a pam-mfa challenge on the person's own computer.
//!
//! Works three ways: `mfactl tap CHALLENGE`, pasting the challenge on
//! standard input, or as `SSH_ASKPASS` (ssh passes each prompt as the first
//! argument; prompts that carry no challenge, such as a key passphrase, are
//! asked on the terminal as ssh-askpass would, and "Confirm user presence"
//! notices are shown there too).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::challenge::{find_challenge, key_digest, Answer, ParsedChallenge};
use crate::ssh_agent::client::{list_keys, sign};

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
        None => {
            tty.say("Paste the pam-mfa challenge (pmfa1:...) and press Enter:")?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("reading the challenge: {e}"))?;
            line
        }
    };
    match find_challenge(&text) {
        Some(c) => {
            let rp_id = token(&text, "rp_id=");
            let uv = token(&text, "uv=").is_some_and(|v| v == "required");
            match rp_id {
                Some(rp) => answer_with_fido2(&c, &rp, uv, tty)
                    .or_else(|fido_err| {
                        answer_challenge(&c, tty).map_err(|sk_err| format!("{fido_err}; {sk_err}"))
                    })
                    .map(TapOutput::Answer),
                None => answer_challenge(&c, tty).map(TapOutput::Answer),
            }
        }
        None if arg.is_some() => askpass(&text, tty).map(TapOutput::Askpass),
        None => Err("no pam-mfa challenge (pmfa1:NODE:LOGIN:NONCE) in the input".into()),
    }
}

/// What mfactl tap needs from the terminal.
pub trait Terminal {
    fn say(&mut self, text: &str) -> Result<(), String>;
    fn ask_hidden(&mut self, prompt: &str) -> Result<String, String>;
}

/// The controlling terminal (`/dev/tty`), else standard error.
pub struct Tty;

impl Terminal for Tty {
    fn say(&mut self, text: &str) -> Result<(), String> {
        match std::fs::OpenOptions::new().write(true).open("/dev/tty") {
            Ok(mut t) => writeln!(t, "{text}").map_err(|e| e.to_string()),
            Err(_) => {
                eprintln!("{text}");
                Ok(())
            }
        }
    }

    fn ask_hidden(&mut self, prompt: &str) -> Result<String, String> {
        use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|e| format!("no terminal to ask on: {e}"))?;
        let old = tcgetattr(&tty).map_err(|e| e.to_string())?;
        let mut quiet = old.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(&tty, OptionalActions::Now, &quiet).map_err(|e| e.to_string())?;
        let mut w = &tty;
        let _ = write!(w, "{prompt}");
        let mut line = String::new();
        let read = std::io::BufReader::new(&tty).read_line(&mut line);
        let _ = tcsetattr(&tty, OptionalActions::Now, &old);
        let _ = writeln!(w);
        read.map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

fn askpass(prompt: &str, tty: &mut dyn Terminal) -> Result<String, String> {
    if prompt.starts_with("Confirm user presence") || prompt.contains("Confirm user presence") {
        tty.say(&format!("{prompt}\nTap your security key."))?;
        return Ok(String::new());
    }
    tty.ask_hidden(prompt)
}

/// The value of a `key=value` word in the prompt.
fn token(text: &str, key: &str) -> Option<String> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .map(str::to_string)
}

/// Where `mfactl enroll` keeps the person's WebAuthn credential ids, one
/// `RP_ID BASE64URL_ID` per line: a FIDO2 key only answers for a credential
/// it is asked about (Teleport's credentials are not discoverable).
pub(crate) fn credential_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("pam-mfa").join("webauthn-credentials"))
}

fn known_credentials(rp_id: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    let Some(text) = credential_file().and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let (rp, id) = l.trim().split_once(char::is_whitespace)?;
            (rp == rp_id).then(|| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(id.trim())
                    .ok()
            })?
        })
        .collect()
}

/// Asks FIDO2 authenticators (USB keys; the software one in tests) for a
/// WebAuthn assertion of the challenge, with clientDataJSON as browsers
/// build it.
fn answer_with_fido2(
    c: &ParsedChallenge,
    rp_id: &str,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    use crate::fido2::{authenticators, GetAssertionRequest};
    use crate::verify::webauthn::{client_data_hash, encode_answer};
    let req = GetAssertionRequest {
        rp_id: rp_id.to_string(),
        client_data_hash: client_data_hash(&c.text, rp_id),
        allow_credentials: known_credentials(rp_id),
        user_verification: uv,
    };
    let deadline = Instant::now() + TOUCH_DEADLINE;
    let mut last_err = "no FIDO2 security key is connected".to_string();
    for mut a in authenticators().map_err(|e| format!("FIDO2: {e}"))? {
        tty.say(&format!(
            "pam-mfa: approve {}@{} ({rp_id}) with {}: tap your security key now",
            c.login,
            c.node,
            a.name()
        ))?;
        match a.get_assertion(&req, deadline) {
            Ok(r) => {
                return Ok(encode_answer(
                    &r.credential_id,
                    &r.authenticator_data,
                    &r.signature,
                ))
            }
            Err(e) => last_err = format!("{}: {e}", a.name()),
        }
    }
    Err(format!("FIDO2: {last_err}"))
}

/// Signs the challenge with a security key held by the local ssh-agent.
fn answer_challenge(c: &ParsedChallenge, tty: &mut dyn Terminal) -> Result<String, String> {
    let sock = std::env::var_os("SSH_AUTH_SOCK")
        .map(PathBuf::from)
        .ok_or("no ssh-agent (SSH_AUTH_SOCK is not set): add your security key with ssh-add")?;
    let uid = rustix::process::getuid().as_raw();
    let deadline = Instant::now() + TOUCH_DEADLINE;
    let keys = list_keys(&sock, uid, deadline).map_err(|e| format!("ssh-agent: {e}"))?;
    let sk: Vec<_> = keys
        .iter()
        .filter(|k| key_type(&k.key_blob).starts_with("sk-"))
        .collect();
    if sk.is_empty() {
        return Err(
            "the ssh-agent holds no security key (ed25519-sk/ecdsa-sk): add yours with ssh-add"
                .into(),
        );
    }
    let mut last_err = String::new();
    for k in sk {
        tty.say(&format!(
            "pam-mfa: approve {}@{} with {}: tap your security key now",
            c.login, c.node, k.comment
        ))?;
        match sign(&sock, uid, &k.key_blob, c.text.as_bytes(), deadline) {
            Ok(signature) => {
                return Ok(Answer::SshSk {
                    key_digest: key_digest(&k.key_blob),
                    signature,
                }
                .encode());
            }
            Err(e) => last_err = format!("{}: {e}", k.comment),
        }
    }
    Err(format!("no security key signed the challenge ({last_err})"))
}

/// The key type name at the start of an SSH wire-format key blob.
fn key_type(blob: &[u8]) -> String {
    let Some(len) = blob
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    else {
        return String::new();
    };
    blob.get(4..4 + len)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Script(Vec<String>);

    impl Terminal for Script {
        fn say(&mut self, text: &str) -> Result<(), String> {
            self.0.push(text.to_string());
            Ok(())
        }
        fn ask_hidden(&mut self, prompt: &str) -> Result<String, String> {
            self.0.push(format!("ASK {prompt}"));
            Ok("secret".into())
        }
    }

    #[test]
    fn ordinary_askpass_prompts_go_to_the_terminal() {
        let mut t = Script(Vec::new());
        match run_tap(Some("Enter passphrase for key 'id':"), &mut t).unwrap() {
            TapOutput::Askpass(a) => assert_eq!(a, "secret"),
            TapOutput::Answer(_) => panic!(),
        }
        match run_tap(
            Some("Confirm user presence for key ED25519-SK SHA256:x"),
            &mut t,
        )
        .unwrap()
        {
            TapOutput::Askpass(a) => assert_eq!(a, ""),
            TapOutput::Answer(_) => panic!(),
        }
        assert!(t.0.iter().any(|l| l.contains("Tap your security key")));
    }

    #[test]
    fn key_type_of_a_blob() {
        let mut blob = 26u32.to_be_bytes().to_vec();
        blob.extend_from_slice(b"sk-ssh-ed25519@openssh.com");
        assert_eq!(key_type(&blob), "sk-ssh-ed25519@openssh.com");
        assert_eq!(key_type(&[0, 0]), "");
    }
}
