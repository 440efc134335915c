//! `mfactl tap`: answers a pam-mfa challenge on the person's own computer.
//!
//! Works three ways: `mfactl tap CHALLENGE`, pasting the challenge on
//! standard input, or as `SSH_ASKPASS` (ssh passes each prompt as the first
//! argument; prompts that carry no challenge, such as a key passphrase, are
//! asked on the terminal as ssh-askpass would, and "Confirm user presence"
//! notices are shown there too).
//!
//! Keys, in this order, as the prompt allows: a FIDO2 key (`rp_id=` in the
//! prompt), a PIV card through pcscd (`piv=SLOTS`: the slots of the user's
//! registered PIV keys), an sk key held by the local ssh-agent.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

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
            let mut errors = Vec::new();
            if let Some(rp) = rp_id {
                match answer_with_fido2(&c, &rp, uv, tty) {
                    Ok(a) => return Ok(TapOutput::Answer(a)),
                    Err(e) => errors.push(e),
                }
            }
            if let Some(slots) = token(&text, "piv=") {
                match answer_with_pcsc(&c, &slots, tty) {
                    Ok(a) => return Ok(TapOutput::Answer(a)),
                    Err(e) => errors.push(e),
                }
            }
            match answer_challenge(&c, tty) {
                Ok(a) => Ok(TapOutput::Answer(a)),
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

/// What mfactl tap needs from the terminal.
pub trait Terminal {
    fn say(&mut self, text: &str) -> Result<(), String>;
    /// Asks without echo (a passphrase, a security key's PIN).
    fn ask_hidden(&mut self, prompt: &str) -> Result<Zeroizing<String>, String>;
}

/// The program `mfactl tap` runs to ask a hidden question (a PIN) when it
/// has no terminal, as when ssh runs it as SSH_ASKPASS from a desktop:
/// an ssh-askpass style program (prompt as argument, answer on stdout).
pub const ASKPASS_ENV: &str = "MFACTL_ASKPASS";

/// The most of an askpass program's output that is read.
const ASKPASS_MAX: usize = 4096;

/// How long a person has to type a PIN or passphrase.
const PROMPT_DEADLINE: Duration = Duration::from_secs(120);

/// The controlling terminal (`/dev/tty`), else standard error; hidden
/// questions without a terminal go to `$MFACTL_ASKPASS`.
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

    fn ask_hidden(&mut self, prompt: &str) -> Result<Zeroizing<String>, String> {
        let deadline = Instant::now() + PROMPT_DEADLINE;
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
        {
            Ok(tty) => ask_on_tty(&tty, prompt, deadline),
            Err(e) => match std::env::var_os(ASKPASS_ENV).filter(|p| !p.is_empty()) {
                Some(program) => ask_with_program(&program, prompt, deadline),
                None => Err(format!(
                    "no terminal to ask on ({e}): set {ASKPASS_ENV} to a program that asks, such as ssh-askpass"
                )),
            },
        }
    }
}

/// Reads a line from the terminal with echo off, until `deadline`.
fn ask_on_tty(
    tty: &std::fs::File,
    prompt: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>, String> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let old = tcgetattr(tty).map_err(|e| e.to_string())?;
    let mut quiet = old.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(tty, OptionalActions::Now, &quiet).map_err(|e| e.to_string())?;
    let mut w = tty;
    let _ = write!(w, "{prompt}");
    // Canonical mode: the terminal is readable once a whole line is typed.
    let ready = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Err("no answer in time".to_string());
        }
        let timeout = Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(tty, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => {}
            Ok(_) => break Ok(()),
            Err(e) => break Err(e.to_string()),
        }
    };
    // One read returns the line (canonical mode), straight into a buffer
    // that is wiped, not a BufReader's that is not.
    let mut buf = Zeroizing::new([0u8; 512]);
    let read = ready.and_then(|()| {
        use std::io::Read;
        let mut r = tty;
        r.read(&mut buf[..]).map_err(|e| e.to_string())
    });
    let _ = tcsetattr(tty, OptionalActions::Now, &old);
    let _ = writeln!(w);
    let n = read?;
    let line = std::str::from_utf8(&buf[..n]).map_err(|_| "the answer is not UTF-8".to_string())?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\n', '\r']).to_string(),
    ))
}

/// Runs an ssh-askpass style program with the prompt as its argument and
/// takes the first line of its output; killed past `deadline`.
fn ask_with_program(
    program: &std::ffi::OsStr,
    prompt: &str,
    deadline: Instant,
) -> Result<Zeroizing<String>, String> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let name = std::path::Path::new(program).display().to_string();
    let mut child = Command::new(program)
        .arg(prompt)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{ASKPASS_ENV} ({name}): {e}"))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{ASKPASS_ENV} ({name}): no answer in time"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{ASKPASS_ENV} ({name}): {e}")),
        }
    };
    // Room for any answer up front: a growing Vec would leave copies.
    let mut out = Zeroizing::new(Vec::with_capacity(ASKPASS_MAX + 1));
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(ASKPASS_MAX as u64)
            .read_to_end(&mut out)
            .map_err(|e| format!("{ASKPASS_ENV} ({name}): {e}"))?;
    }
    if !status.success() {
        return Err(format!("{ASKPASS_ENV} ({name}) was cancelled ({status})"));
    }
    let text = std::str::from_utf8(&out)
        .map_err(|_| format!("{ASKPASS_ENV} ({name}) answered something that is not text"))?;
    Ok(Zeroizing::new(
        text.lines().next().unwrap_or("").to_string(),
    ))
}

fn askpass(prompt: &str, tty: &mut dyn Terminal) -> Result<String, String> {
    if prompt.starts_with("Confirm user presence") || prompt.contains("Confirm user presence") {
        tty.say(&format!("{prompt}\nTap your security key."))?;
        return Ok(String::new());
    }
    tty.ask_hidden(prompt).map(|a| a.to_string())
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

/// How long a key may take over the PIN exchange (no touch involved).
const PIN_DEADLINE: Duration = Duration::from_secs(10);

/// Asks FIDO2 authenticators (USB keys; the software one in tests) for a
/// WebAuthn assertion of the challenge, with clientDataJSON as browsers
/// build it. With `uv` (the prompt says `uv=required`), a key with
/// built-in user verification is asked for it, and a key with a PIN gets
/// its PIN asked on the terminal (CTAP2 ClientPIN); without, no PIN is
/// asked.
fn answer_with_fido2(
    c: &ParsedChallenge,
    rp_id: &str,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    let keys = crate::fido2::authenticators().map_err(|e| format!("FIDO2: {e}"))?;
    answer_with_authenticators(keys, c, rp_id, uv, tty)
}

fn answer_with_authenticators(
    keys: Vec<Box<dyn crate::fido2::Authenticator>>,
    c: &ParsedChallenge,
    rp_id: &str,
    uv: bool,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    use crate::fido2::GetAssertionRequest;
    use crate::verify::webauthn::{client_data_hash, encode_answer};
    let base = GetAssertionRequest {
        rp_id: rp_id.to_string(),
        client_data_hash: client_data_hash(&c.text, rp_id),
        allow_credentials: known_credentials(rp_id),
        user_verification: false,
        pin_uv_auth: None,
    };
    let mut last_err = "no FIDO2 security key is connected".to_string();
    for mut a in keys {
        let req = if uv {
            match user_verification(a.as_mut(), &base, c, tty) {
                Ok(req) => req,
                Err(e) => {
                    last_err = format!("{}: {e}", a.name());
                    continue;
                }
            }
        } else {
            base.clone()
        };
        tty.say(&format!(
            "pam-mfa: approve {}@{} ({rp_id}) with {}: tap your security key now",
            c.login,
            c.node,
            a.name()
        ))?;
        match a.get_assertion(&req, Instant::now() + TOUCH_DEADLINE) {
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

/// The request with user verification: the `uv` option for a key that
/// verifies on its own, or a pinUvAuthParam from the PIN the person types
/// (asked once, for one try: a wrong PIN says how many tries are left).
fn user_verification(
    a: &mut dyn crate::fido2::Authenticator,
    base: &crate::fido2::GetAssertionRequest,
    c: &ParsedChallenge,
    tty: &mut dyn Terminal,
) -> Result<crate::fido2::GetAssertionRequest, String> {
    use crate::fido2::client_pin::{get_info, pin_retries, pin_token, UvMethod};
    let info = get_info(a, Instant::now() + PIN_DEADLINE).map_err(|e| e.to_string())?;
    let mut req = base.clone();
    match info.uv_method().map_err(|e| e.to_string())? {
        UvMethod::BuiltIn => req.user_verification = true,
        UvMethod::Pin => {
            let protocol = info
                .protocol()
                .ok_or("the key offers no PIN/UV auth protocol this client speaks")?;
            // A key that has no tries left is not asked for a PIN at all.
            let retries = pin_retries(a, protocol, Instant::now() + PIN_DEADLINE).ok();
            if retries == Some(0) {
                return Err(crate::fido2::Fido2Error::PinBlocked.to_string());
            }
            let left = match retries {
                Some(n) if n <= 3 => {
                    format!(" ({n} {} left)", if n == 1 { "try" } else { "tries" })
                }
                _ => String::new(),
            };
            let pin = tty.ask_hidden(&format!(
                "pam-mfa: {}@{} requires your security key's PIN. Enter the PIN of {}{left}: ",
                c.login,
                c.node,
                a.name()
            ))?;
            check_pin_format(&pin)?;
            let token = pin_token(a, &info, &pin, &base.rp_id, Instant::now() + PIN_DEADLINE)
                .map_err(|e| e.to_string())?;
            req.pin_uv_auth = Some(token.auth_param(&base.client_data_hash));
        }
    }
    Ok(req)
}

/// What CTAP2 takes as a PIN: 4 to 63 bytes of UTF-8, at least 4
/// characters. Anything else is refused here, before it costs one of the
/// key's tries.
fn check_pin_format(pin: &str) -> Result<(), String> {
    if pin.is_empty() {
        return Err("no PIN was entered".into());
    }
    if pin.chars().count() < 4 || pin.len() > 63 {
        return Err(
            "a security key PIN has 4 to 63 characters (nothing was sent to the key)".into(),
        );
    }
    Ok(())
}

/// Names the PC/SC reader `mfactl tap` uses for PIV (part of its name);
/// unset: the first reader holding a card.
pub const PIV_READER_ENV: &str = "MFACTL_PIV_READER";

/// How long `mfactl tap` waits for a PIV card to be inserted.
const PIV_CARD_WAIT: Duration = Duration::from_secs(3);

/// Answers with a PIV card through pcscd.
fn answer_with_pcsc(
    c: &ParsedChallenge,
    slots: &str,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    use crate::piv::card::PcscPivCard;
    let reader = std::env::var(PIV_READER_ENV).ok().filter(|r| !r.is_empty());
    let mut card = PcscPivCard::open_with(reader.as_deref(), PIV_CARD_WAIT)
        .map_err(|e| format!("PIV: {e}"))?;
    answer_with_piv(&mut card, c, slots, tty).map_err(|e| format!("PIV: {e}"))
}

/// The slots a `piv=` word names (`any`: the four PIV key slots).
fn piv_slots(list: &str) -> Result<Vec<crate::piv::PivSlot>, String> {
    use crate::piv::PivSlot;
    if list == "any" {
        return Ok(vec![
            PivSlot::Authentication,
            PivSlot::Signature,
            PivSlot::KeyManagement,
            PivSlot::CardAuthentication,
        ]);
    }
    list.split(',').map(PivSlot::parse).collect()
}

/// Signs the challenge's tap digest ([`crate::verify::piv_tap`]) with the
/// key in the first of `slots` that holds one: the PIN is asked (hidden,
/// never logged, wiped) unless the slot's policy says never or the card
/// has it verified already; "Tap your security key" is shown unless the
/// slot's touch policy says never. The card bounds the wait for the touch
/// (a YubiKey gives up after 15 s).
pub(crate) fn answer_with_piv(
    card: &mut dyn crate::piv::card::PivCard,
    c: &ParsedChallenge,
    slots: &str,
    tty: &mut dyn Terminal,
) -> Result<String, String> {
    use crate::piv::card::CardError;
    use crate::piv::{PinPolicy, TouchPolicy};
    use crate::verify::piv_tap::{digest_len, selector, tap_digest};
    use x509_parser::prelude::{FromDer, X509Certificate};
    let mut last_err = "the card holds no key in the registered slots".to_string();
    for slot in piv_slots(slots)? {
        // The slot's public key, as its attestation states it (what the
        // registered chain holds), and its policies.
        let cert = match card.attest(slot) {
            Ok(der) => der,
            Err(e @ CardError::NotFound { .. }) => {
                last_err = e.to_string();
                continue;
            }
            Err(e) => {
                last_err = format!("slot {}: {e}", slot.name());
                continue;
            }
        };
        let spki = X509Certificate::from_der(&cert)
            .map_err(|_| format!("slot {}: the attestation does not parse", slot.name()))?
            .1
            .public_key()
            .raw
            .to_vec();
        let len = digest_len(&spki).map_err(|e| format!("slot {}: {e}", slot.name()))?;
        let digest = tap_digest(&c.text, len).ok_or("no digest for this key")?;
        let (pin_policy, touch_policy) = match card.metadata(slot) {
            Ok(m) => (m.pin_policy, m.touch_policy),
            // Older keys: unknown, so ask what may be needed.
            Err(_) => (PinPolicy::Default, TouchPolicy::Default),
        };
        if pin_policy != PinPolicy::Never {
            match card.pin_tries_left().map_err(|e| e.to_string())? {
                None => {}
                Some(0) => return Err("the card's PIN is blocked (reset it with the PUK)".into()),
                Some(n) => {
                    let left = if n <= 3 {
                        format!(" ({n} {} left)", if n == 1 { "try" } else { "tries" })
                    } else {
                        String::new()
                    };
                    let pin = tty.ask_hidden(&format!(
                        "pam-mfa: {}@{} requires your PIV key's PIN. Enter the PIN of slot {}{left}: ",
                        c.login,
                        c.node,
                        slot.name()
                    ))?;
                    if pin.is_empty() {
                        return Err("no PIN was entered".into());
                    }
                    card.verify_pin(&pin).map_err(|e| e.to_string())?;
                }
            }
        }
        let touch = if touch_policy == TouchPolicy::Never {
            ""
        } else {
            ": Tap your security key now"
        };
        tty.say(&format!(
            "pam-mfa: approve {}@{} with the PIV key in slot {}{touch}",
            c.login,
            c.node,
            slot.name()
        ))?;
        let signature = card.sign(slot, &digest).map_err(|e| e.to_string())?;
        return Ok(Answer::Piv {
            selector: selector(&spki),
            signature,
        }
        .encode());
    }
    Err(last_err)
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
    use crate::fido2::soft::SoftAuthenticator;
    use crate::verify::webauthn::{decode_answer, verify_assertion};

    struct Script(Vec<String>);

    impl Terminal for Script {
        fn say(&mut self, text: &str) -> Result<(), String> {
            self.0.push(text.to_string());
            Ok(())
        }
        fn ask_hidden(&mut self, prompt: &str) -> Result<Zeroizing<String>, String> {
            self.0.push(format!("ASK {prompt}"));
            Ok(Zeroizing::new("secret".into()))
        }
    }

    /// Answers every hidden question with its PIN and records what was asked.
    struct PinPad(Vec<String>, String);

    impl Terminal for PinPad {
        fn say(&mut self, text: &str) -> Result<(), String> {
            self.0.push(text.to_string());
            Ok(())
        }
        fn ask_hidden(&mut self, prompt: &str) -> Result<Zeroizing<String>, String> {
            self.0.push(format!("ASK {prompt}"));
            Ok(Zeroizing::new(self.1.clone()))
        }
    }

    impl PinPad {
        fn asked(&self) -> Vec<&String> {
            self.0.iter().filter(|l| l.starts_with("ASK ")).collect()
        }
    }

    const RP: &str = "example.com";

    fn challenge() -> ParsedChallenge {
        find_challenge("pmfa1:prod3:jerry:AAAAAAAAAAAAAAAAAAAAAA").unwrap()
    }

    fn pinned(pin: &str, protocols: &[u8]) -> SoftAuthenticator {
        let mut a = SoftAuthenticator::from_seed(RP, b"tap-pin");
        a.set_pin(pin);
        a.pin_protocols = protocols.to_vec();
        a
    }

    fn tap(a: &SoftAuthenticator, uv: bool, t: &mut PinPad) -> Result<String, String> {
        answer_with_authenticators(vec![Box::new(a.clone())], &challenge(), RP, uv, t)
    }

    /// The flags (UP, UV) the agent's verifier reads from a tap's answer.
    fn verified_flags(a: &SoftAuthenticator, answer: &str) -> (bool, bool) {
        let (_, authenticator_data, signature) = decode_answer(answer).unwrap();
        let v = verify_assertion(
            &a.credential(),
            RP,
            &challenge().text,
            &authenticator_data,
            &signature,
        )
        .unwrap();
        (v.user_present(), v.user_verified())
    }

    #[test]
    fn uv_required_asks_the_pin_and_the_verifier_sees_uv() {
        for protocols in [&[2u8, 1][..], &[1]] {
            let a = pinned("4831", protocols);
            let mut t = PinPad(Vec::new(), "4831".into());
            let answer = tap(&a, true, &mut t).unwrap();
            assert_eq!(verified_flags(&a, &answer), (true, true), "{protocols:?}");
            // UP+UV is the class that meets hardware_key_pin.
            let req = crate::policy::Requirement {
                session: true,
                key_policy: crate::policy::KeyPolicy::HardwareKeyPin,
            };
            assert!(crate::login::check(&req, crate::login::KeyClass::TouchAndPin).is_ok());
            let asked = t.asked();
            assert_eq!(asked.len(), 1, "{:?}", t.0);
            assert!(asked[0].contains("PIN"), "{asked:?}");
            assert!(!t.0.iter().any(|l| l.contains("4831")), "{:?}", t.0);
        }
    }

    #[test]
    fn no_pin_is_asked_when_uv_is_not_required() {
        let a = pinned("4831", &[2, 1]);
        let mut t = PinPad(Vec::new(), "4831".into());
        let answer = tap(&a, false, &mut t).unwrap();
        assert_eq!(verified_flags(&a, &answer), (true, false));
        assert!(t.asked().is_empty(), "{:?}", t.0);
    }

    #[test]
    fn a_wrong_pin_is_refused_with_the_tries_left() {
        let a = pinned("4831", &[2, 1]);
        let mut t = PinPad(Vec::new(), "0000".into());
        let err = tap(&a, true, &mut t).unwrap_err();
        assert!(err.contains("wrong PIN (7 tries left"), "{err}");
        assert!(!err.contains("0000") && !err.contains("4831"), "{err}");
        // A key without a PIN is told to get one; nothing is asked.
        let mut none = SoftAuthenticator::from_seed(RP, b"tap-pin");
        none.user_verification = false;
        let mut t = PinPad(Vec::new(), "4831".into());
        let err = tap(&none, true, &mut t).unwrap_err();
        assert!(err.contains("has no PIN"), "{err}");
        assert!(t.asked().is_empty(), "{:?}", t.0);
        // A blocked key is not asked either.
        let mut blocked = pinned("4831", &[2, 1]);
        blocked.pin_retries = 0;
        let mut t = PinPad(Vec::new(), "4831".into());
        let err = tap(&blocked, true, &mut t).unwrap_err();
        assert!(err.contains("blocked"), "{err}");
        assert!(t.asked().is_empty(), "{:?}", t.0);
        // Few tries left: the prompt says so.
        let mut low = pinned("4831", &[2, 1]);
        low.pin_retries = 2;
        let mut t = PinPad(Vec::new(), "4831".into());
        tap(&low, true, &mut t).unwrap();
        assert!(t.asked()[0].contains("(2 tries left)"), "{:?}", t.0);
    }

    #[test]
    fn a_pin_of_the_wrong_length_costs_no_try() {
        let a = pinned("4831", &[2, 1]);
        for bad in ["", "123", "é1é", &"9".repeat(64)] {
            let mut t = PinPad(Vec::new(), bad.to_string());
            let err = tap(&a, true, &mut t).unwrap_err();
            assert!(
                err.contains("nothing was sent to the key") || err.contains("no PIN was entered"),
                "{err}"
            );
        }
        assert!(check_pin_format("1234").is_ok());
        assert!(check_pin_format("ééé1").is_ok());
    }

    #[test]
    fn built_in_uv_needs_no_pin() {
        let a = SoftAuthenticator::from_seed(RP, b"tap-bio");
        let mut t = PinPad(Vec::new(), "4831".into());
        let answer = tap(&a, true, &mut t).unwrap();
        assert_eq!(verified_flags(&a, &answer), (true, true));
        assert!(t.asked().is_empty(), "{:?}", t.0);
    }

    #[test]
    fn askpass_program_answers_without_a_terminal() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pam-mfa-askpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = |name: &str, body: &str| {
            let p = dir.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
            p
        };
        let later = Instant::now() + Duration::from_secs(10);
        let ok = script(
            "askpass",
            "echo \"$1\" > \"$(dirname \"$0\")/asked\"; echo 4831; echo more",
        );
        let got = ask_with_program(ok.as_os_str(), "PIN please: ", later).unwrap();
        assert_eq!(got.as_str(), "4831");
        assert_eq!(
            std::fs::read_to_string(dir.join("asked")).unwrap(),
            "PIN please: \n"
        );
        let cancel = script("cancel", "exit 1");
        let err = ask_with_program(cancel.as_os_str(), "PIN: ", later).unwrap_err();
        assert!(err.contains("cancelled"), "{err}");
        let slow = script("slow", "exec sleep 30");
        let t0 = Instant::now();
        let err = ask_with_program(
            slow.as_os_str(),
            "PIN: ",
            Instant::now() + Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(err.contains("in time"), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(5));
        std::fs::remove_dir_all(&dir).unwrap();
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

    /// A card with the minted slot-9c key `s` describes.
    fn piv_card(s: &crate::piv::tests::chain::Slot) -> crate::piv::tests::fake_card::FakeCard {
        let m = crate::piv::tests::chain::Minted::new(s);
        crate::piv::tests::fake_card::FakeCard::new(&m, s)
    }

    /// PIN once, touch always.
    fn pin_and_touch() -> crate::piv::tests::chain::Slot {
        crate::piv::tests::chain::Slot {
            pin: 2,
            touch: 2,
            ..Default::default()
        }
    }

    fn spki_of(card: &crate::piv::tests::fake_card::FakeCard) -> Vec<u8> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        X509Certificate::from_der(&card.slot_cert)
            .unwrap()
            .1
            .public_key()
            .raw
            .to_vec()
    }

    #[test]
    fn piv_tap_asks_the_pin_says_tap_and_signs_the_challenge() {
        use crate::verify::piv_tap::{selector, verify_piv_tap};
        let mut card = piv_card(&pin_and_touch());
        let mut t = PinPad(Vec::new(), "123456".into());
        let line = answer_with_piv(&mut card, &challenge(), "9a,9c", &mut t).unwrap();
        let Answer::Piv {
            selector: sel,
            signature,
        } = Answer::parse(&line).unwrap()
        else {
            panic!("{line}")
        };
        let spki = spki_of(&card);
        assert_eq!(sel, selector(&spki));
        verify_piv_tap(&spki, &challenge().text, &signature).unwrap();
        assert!(line.len() < 200, "{line}");
        assert_eq!(t.asked().len(), 1, "{:?}", t.0);
        assert!(t.asked()[0].contains("PIN of slot 9c"), "{:?}", t.0);
        assert!(
            t.0.iter().any(|l| l.contains("Tap your security key")),
            "{:?}",
            t.0
        );
        assert!(!t.0.iter().any(|l| l.contains("123456")), "{:?}", t.0);
    }

    #[test]
    fn piv_tap_without_pin_or_touch_policy_asks_nothing() {
        let s = crate::piv::tests::chain::Slot {
            pin: 1,
            touch: 1,
            ..Default::default()
        };
        let mut card = piv_card(&s);
        let mut t = PinPad(Vec::new(), "123456".into());
        answer_with_piv(&mut card, &challenge(), "9c", &mut t).unwrap();
        assert!(t.asked().is_empty(), "{:?}", t.0);
        assert!(!t.0.iter().any(|l| l.contains("Tap your")), "{:?}", t.0);
    }

    #[test]
    fn piv_tap_errors_say_why_without_the_pin() {
        // A wrong PIN: the tries left, not the PIN.
        let mut card = piv_card(&pin_and_touch());
        let mut t = PinPad(Vec::new(), "999999".into());
        let e = answer_with_piv(&mut card, &challenge(), "9c", &mut t).unwrap_err();
        assert!(e.contains("wrong PIN, 2 tries left"), "{e}");
        assert!(!e.contains("999999") && card.signed == 0, "{e}");
        // Few tries left: the prompt says so; blocked: not asked at all.
        let mut t = PinPad(Vec::new(), "999999".into());
        let _ = answer_with_piv(&mut card, &challenge(), "9c", &mut t);
        assert!(t.asked()[0].contains("(2 tries left)"), "{:?}", t.0);
        card.tries = 0;
        let mut t = PinPad(Vec::new(), "123456".into());
        let e = answer_with_piv(&mut card, &challenge(), "9c", &mut t).unwrap_err();
        assert!(e.contains("blocked") && t.asked().is_empty(), "{e}");
        // Not touched in time.
        let mut card = piv_card(&pin_and_touch());
        card.touched = false;
        let mut t = PinPad(Vec::new(), "123456".into());
        let e = answer_with_piv(&mut card, &challenge(), "9c", &mut t).unwrap_err();
        assert!(e.contains("not touched in time"), "{e}");
        // No key in the slots the prompt names; a bad slot list.
        let mut t = PinPad(Vec::new(), "123456".into());
        let e = answer_with_piv(&mut card, &challenge(), "9a,9d", &mut t).unwrap_err();
        assert!(e.contains("not found"), "{e}");
        let e = answer_with_piv(&mut card, &challenge(), "9z", &mut t).unwrap_err();
        assert!(e.contains("not one of"), "{e}");
        assert!(t.asked().is_empty(), "{:?}", t.0);
    }

    #[test]
    fn key_type_of_a_blob() {
        let mut blob = 26u32.to_be_bytes().to_vec();
        blob.extend_from_slice(b"sk-ssh-ed25519@openssh.com");
        assert_eq!(key_type(&blob), "sk-ssh-ed25519@openssh.com");
        assert_eq!(key_type(&[0, 0]), "");
    }
}
