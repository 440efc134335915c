//! Module arguments from the pam.d line.
//!
//! | argument | meaning | default |
//! |---|---|---|
//! | `socket=PATH` | the agent's socket; absolute, at most 107 bytes | [`DEFAULT_SOCKET`] |
//! | `timeout=SECONDS` | deadline for the whole exchange with the agent, not counting the time the PAM conversation takes (the person typing or tapping); 1..=300 | 10 |
//! | `wait_timeout=SECONDS` | how long the module keeps waiting while the agent waits on a tap on a security key attached to this host; these pauses do not count against `timeout=` (a forwarded ssh-agent's signature, at most 8 s, does); 1..=300 | 60 |
//! | `fail_mode=closed\|open` | what an unreachable agent or an `unavailable` answer gives: `PAM_AUTHINFO_UNAVAIL` or `PAM_IGNORE` | `closed` |
//! | `debug` | one `LOG_DEBUG` line per step | off |
//!
//! Anything else (an unknown name, a bad value, an argument given twice) is a
//! configuration error: the hook fails with `PAM_SERVICE_ERR` and logs the
//! argument. A typo in a security setting must not pass silently.
//!
//! There is no `prompt_timeout`: the module cannot bound one round of the PAM
//! conversation (the application's conversation function blocks until the
//! person answers; sshd's `LoginGraceTime` and sudo's `passwd_timeout` do
//! that), and the agent expires its own challenges.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use pam_mfa_protocol::DEFAULT_SOCKET;

/// Default for `timeout=`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for `wait_timeout=`: longer than the agent's own tap deadline
/// (`attached_keys.timeout`, 30 s by default), so the agent's clear refusal
/// comes first.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Accepted range for `timeout=` and `wait_timeout=`, in seconds.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=300;
pub use pam_mfa_protocol::MAX_SOCKET_PATH;

/// What an unreachable agent or an `unavailable` answer gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// `PAM_AUTHINFO_UNAVAIL`: a `required` line fails.
    Closed,
    /// `PAM_IGNORE`, logged at `LOG_ALERT`.
    Open,
}

/// The parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub socket: PathBuf,
    pub timeout: Duration,
    pub wait_timeout: Duration,
    pub fail_mode: FailMode,
    pub debug: bool,
    /// The uid the agent's socket and peer must have. Always 0 from pam.d
    /// (no argument sets it); tests may change it.
    pub agent_uid: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            socket: PathBuf::from(DEFAULT_SOCKET),
            timeout: DEFAULT_TIMEOUT,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
            fail_mode: FailMode::Closed,
            debug: false,
            agent_uid: 0,
        }
    }
}

/// A configuration error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    Unknown(String),
    Duplicate(String),
    Invalid { arg: String, why: &'static str },
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Unknown(arg) => write!(f, "unknown module argument `{arg}`"),
            ArgError::Duplicate(name) => write!(f, "module argument `{name}` given twice"),
            ArgError::Invalid { arg, why } => write!(f, "bad module argument `{arg}`: {why}"),
        }
    }
}

impl std::error::Error for ArgError {}

impl Config {
    /// Parses the pam.d arguments.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Config, ArgError> {
        let mut config = Config::default();
        let mut seen: Vec<&str> = Vec::new();
        for arg in args {
            let arg = arg.as_ref();
            if arg.contains(char::REPLACEMENT_CHARACTER) {
                // The FFI layer turns bytes that are not UTF-8 into U+FFFD.
                return Err(ArgError::Invalid {
                    arg: arg.to_owned(),
                    why: "not valid UTF-8",
                });
            }
            let (name, value) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (arg, None),
            };
            let invalid = |why| ArgError::Invalid {
                arg: arg.to_owned(),
                why,
            };
            match (name, value) {
                ("socket", Some(v)) => config.socket = parse_socket(v).map_err(invalid)?,
                ("timeout", Some(v)) => config.timeout = parse_timeout(v).map_err(invalid)?,
                ("wait_timeout", Some(v)) => {
                    config.wait_timeout = parse_timeout(v).map_err(invalid)?
                }
                ("fail_mode", Some("closed")) => config.fail_mode = FailMode::Closed,
                ("fail_mode", Some("open")) => config.fail_mode = FailMode::Open,
                ("fail_mode", _) => {
                    return Err(invalid("expected fail_mode=closed or fail_mode=open"))
                }
                ("debug", None) => config.debug = true,
                ("socket" | "timeout" | "wait_timeout", None) => {
                    return Err(invalid("needs a value"))
                }
                ("debug", Some(_)) => return Err(invalid("takes no value")),
                _ => return Err(ArgError::Unknown(arg.to_owned())),
            }
            if seen.contains(&name) {
                return Err(ArgError::Duplicate(name.to_owned()));
            }
            seen.push(name);
        }
        Ok(config)
    }
}

fn parse_socket(value: &str) -> Result<PathBuf, &'static str> {
    if !value.starts_with('/') {
        return Err("the socket path must be absolute");
    }
    if value.len() > MAX_SOCKET_PATH {
        return Err("the socket path is longer than 107 bytes");
    }
    Ok(PathBuf::from(value))
}

fn parse_timeout(value: &str) -> Result<Duration, &'static str> {
    const WHY: &str = "expected whole seconds from 1 to 300";
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WHY);
    }
    match value.parse::<u64>() {
        Ok(secs) if TIMEOUT_RANGE.contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(WHY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::parse::<&str>(&[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.socket, PathBuf::from("/run/pam-mfa/agent.sock"));
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.wait_timeout, Duration::from_secs(60));
        assert_eq!(c.fail_mode, FailMode::Closed);
        assert!(!c.debug);
        assert_eq!(c.agent_uid, 0);
    }

    #[test]
    fn every_argument() {
        let c = Config::parse(&[
            "socket=/run/x.sock",
            "timeout=300",
            "wait_timeout=120",
            "fail_mode=open",
            "debug",
        ])
        .unwrap();
        assert_eq!(c.socket, PathBuf::from("/run/x.sock"));
        assert_eq!(c.timeout, Duration::from_secs(300));
        assert_eq!(c.wait_timeout, Duration::from_secs(120));
        assert_eq!(c.fail_mode, FailMode::Open);
        assert!(c.debug);
        assert_eq!(
            Config::parse(&["fail_mode=closed"]).unwrap().fail_mode,
            FailMode::Closed
        );
        assert_eq!(
            Config::parse(&["timeout=1"]).unwrap().timeout,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn errors() {
        for bad in [
            "prompt_timeout=5",
            "Debug",
            "debug=1",
            "timeout",
            "timeout=0",
            "timeout=301",
            "timeout=+5",
            "timeout=5s",
            "timeout=",
            "wait_timeout",
            "wait_timeout=0",
            "wait_timeout=301",
            "fail_mode=Open",
            "fail_mode",
            "socket=relative.sock",
            "socket=",
            "socket=/run/\u{FFFD}.sock",
            "",
        ] {
            assert!(Config::parse(&[bad]).is_err(), "{bad:?} was accepted");
        }
        let long = format!("socket=/{}", "a".repeat(107));
        assert!(Config::parse(&[long.as_str()]).is_err());
        let fits = format!("socket=/{}", "a".repeat(106));
        assert!(Config::parse(&[fits.as_str()]).is_ok());
        assert_eq!(
            Config::parse(&["fail_mode=open", "fail_mode=closed"]),
            Err(ArgError::Duplicate("fail_mode".into()))
        );
        assert_eq!(
            Config::parse(&["failmode=open"]).unwrap_err().to_string(),
            "unknown module argument `failmode=open`"
        );
    }
}
