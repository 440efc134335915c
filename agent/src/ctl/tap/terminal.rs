//! Where `mfactl tap` talks to the person: the terminal, or an askpass
//! program when there is none.

use std::io::Write;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

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
pub(super) fn ask_with_program(
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

pub(super) fn askpass(prompt: &str, tty: &mut dyn Terminal) -> Result<String, String> {
    if prompt.starts_with("Confirm user presence") || prompt.contains("Confirm user presence") {
        tty.say(&format!("{prompt}\nTap your security key."))?;
        return Ok(String::new());
    }
    tty.ask_hidden(prompt).map(|a| a.to_string())
}
