//! `pam_mfa.so`: the PAM module of pam-mfa.
//!
//! The module runs inside sshd, sudo, su, login and screen lockers. It reads
//! the PAM context, asks the local agent (`mfa-agent`, root) over a Unix
//! socket what to do, relays the agent's prompts through the PAM
//! conversation, and returns a PAM code. It decides no policy, verifies no
//! crypto, starts no thread and touches no network.
//!
//! ```text
//! auth     required  pam_mfa.so [socket=PATH] [timeout=SECONDS] [fail_mode=closed|open] [debug]
//! account  required  pam_mfa.so ...
//! session  required  pam_mfa.so ...
//! ```
//!
//! See [`args`] for the arguments.
//!
//! # The exchange
//!
//! 1. The socket path must be a socket (not a symlink) owned by root
//!    (`lstat`); the module connects non-blocking, retrying while the agent's
//!    backlog is full, until the deadline; the peer's SO_PEERCRED uid must be
//!    0. Run as root (sshd, sudo, su, login), the module does so first on
//!    `<socket>.root`, the agent's socket only root may connect to (no local
//!    user can fill its queue), and on the public socket only when no agent
//!    serves that one ([`client::connect_as_caller`]). The socket stays non-blocking: a read or write that would block
//!    waits in `poll` for at most the time left, so a hung agent cannot hold
//!    the module past the deadline.
//! 2. The module sends `begin {hook, context}`: service, user
//!    (PAM_USER, else `pam_get_user`, asked before the deadline starts),
//!    ruser, rhost, tty (each UTF-8 or refused, but tty: see below the
//!    table), `SSH_AUTH_INFO_0` from the PAM environment, and
//!    `SSH_AUTH_SOCK` from the PAM environment or else the process
//!    environment.
//! 3. It then follows the agent: `prompt` → one conversation call, then
//!    `answer` with one answer per echo-on/echo-off prompt in prompt order
//!    (info and error prompts get none); `wait` → its message once as info
//!    (again only if the text changes), a pause of `after_ms` (at least
//!    10 ms, at most the time left), then `poll`; `allow`, `deny`,
//!    `unavailable` and `error` end the exchange.
//!
//! The deadline (`timeout=`, default 10 s) covers the whole exchange except
//! the time spent inside the PAM conversation (the person reading, typing,
//! tapping). `close_session` waits at most 2 s, so a hung agent cannot hold
//! a logout. When the module ends the exchange itself (any failure below, a
//! conversation failure, the deadline) it sends `cancel` best-effort (within
//! 100 ms) and closes the connection without reading a reply.
//!
//! # PAM codes
//!
//! | situation | code |
//! |---|---|
//! | `allow` (its message, if any, shown as info) | `PAM_SUCCESS` |
//! | `deny` (its message shown as error), hook `auth` | `PAM_AUTH_ERR` |
//! | `deny` with `tries_spent` (a tap's last try refused), hook `auth` | `PAM_MAXTRIES` (sshd starts no new tap on the connection) |
//! | `deny` (with `tries_spent` or not), hook `account` | `PAM_PERM_DENIED` |
//! | `deny` (with `tries_spent` or not), hooks `open_session`/`close_session` | `PAM_SESSION_ERR` |
//! | no agent at all: no socket file (`ENOENT`), or nobody listens on it (`ECONNREFUSED`) | fail mode |
//! | an untrusted socket: not a socket, a symlink, not owned by root, peer not uid 0, connect denied | `PAM_AUTH_ERR` |
//! | the backlog stays full (`EAGAIN`) until the deadline (never fail-open: a local user can fill it) | `PAM_AUTH_ERR` |
//! | the agent closes or resets the connection, or sends nothing, before the deadline (never fail-open: a crowded or killed agent must not turn MFA off) | `PAM_AUTH_ERR` |
//! | `unavailable` (the agent has no usable policy) | fail mode |
//! | — fail mode `closed` (default) | `PAM_AUTHINFO_UNAVAIL` |
//! | — fail mode `open` | `PAM_IGNORE`, logged at `LOG_ALERT` ("FAIL-OPEN") |
//! | `error` (even with `fail_mode=open`) | `PAM_AUTH_ERR` |
//! | protocol error: garbage, length over 64 KiB (refused before reading), wrong or missing version, a response type with no place here (`explanation`, `status`, `keys`, `reloaded`), a `prompt` with 0 or over 32 prompts, over 32 `prompt` steps | `PAM_AUTH_ERR` |
//! | the deadline passes while waiting (`wait`/`poll`) | `PAM_AUTH_ERR` |
//! | an answer over 512 bytes (`PAM_MAX_RESP_SIZE`): refused, not cut | `PAM_AUTH_ERR` |
//! | a local failure (no socket can be created, `begin` over 64 KiB) | `PAM_AUTH_ERR` |
//! | the conversation fails: no conversation function, it returns an error, no response to a question, a response not UTF-8 | `PAM_CONV_ERR` |
//! | a bad module argument (unknown, bad value, given twice) | `PAM_SERVICE_ERR` |
//! | `pam_get_user` fails | its code (`PAM_SYSTEM_ERR` if it claimed success or ignore) |
//! | empty or non-UTF-8 user name, whether the application set it (PAM_USER) or `pam_get_user` asked for it; the agent is not asked | `PAM_USER_UNKNOWN` |
//! | a PAM_RUSER that is not UTF-8 (the agent may ask about the invoking user by it); the agent is not asked | `PAM_USER_UNKNOWN` |
//! | a PAM_RHOST that is not UTF-8 (the agent matches a tap's grant and reuse window by it); the agent is not asked | `PAM_AUTH_ERR` |
//! | PAM has no service name, or one that is not UTF-8; the agent is not asked | `PAM_SYSTEM_ERR` |
//! | a panic anywhere in the module | `PAM_AUTH_ERR` |
//! | `pam_sm_setcred` (agent not asked) | `PAM_SUCCESS` |
//! | `pam_sm_chauthtok` (pam-mfa manages no passwords) | `PAM_IGNORE` |
//!
//! Only "unreachable" and `unavailable` ever give `PAM_IGNORE`, and only
//! with `fail_mode=open`; an internal error never does. An item that is not
//! UTF-8 is never sent lossy in place of what PAM holds (`caf\xe9` is not
//! `caf\u{FFFD}`), except PAM_TTY, which the agent only records (audit,
//! session list): its bad bytes are sent as U+FFFD.
//!
//! # Messages
//!
//! Texts are cut on a character boundary to 511 bytes
//! (`PAM_MAX_MSG_SIZE` with its NUL) and lose NUL bytes. With `PAM_SILENT`
//! the text of `allow` is not shown; the tap cue (`wait`) and the refusal
//! reason (`deny`) still are, and a `prompt` step's info and error texts are
//! folded into the question after them (see [`silent`]). A failure to show
//! such a text is not an error. Answers are wiped from
//! memory once sent (best effort; the application's buffers are zeroed
//! before they are freed).
//!
//! # Layout
//!
//! [`ffi`] is the only module with `unsafe`. Everything else is generic over
//! [`PamHandle`], so tests drive it with a scripted handle and an in-process
//! fake agent.

#![deny(unsafe_code)]

pub mod args;
pub mod client;
mod context;
pub mod ffi;
pub mod flow;
pub mod handle;
pub mod hooks;
pub mod log;
pub mod outcome;
mod process_env;
mod prompts;
mod secret;
pub mod silent;

pub use args::{Config, FailMode};
pub use handle::{ConvError, Item, NotUtf8, PamHandle};
pub use hooks::{guard, run_hook, Host};
pub use outcome::Outcome;
