//! What the module needs from PAM, as a trait: the real handle lives in
//! `crate::ffi`, tests use a scripted one.

use std::fmt;

pub use pam_mfa_protocol::{Prompt, PromptStyle};

/// The PAM items the module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Service,
    User,
    Ruser,
    Rhost,
    Tty,
}

/// A PAM item that is set but is not UTF-8. It cannot be sent to the agent
/// as it is, and a lossy copy would name something else (`caf\xe9` would
/// become `caf\u{FFFD}`, which other bytes give too): callers refuse it
/// where the agent decides or identifies by it. `lossy` (U+FFFD for each
/// bad sequence) is for log lines, and for items that are only recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotUtf8 {
    pub lossy: String,
}

/// Why a conversation produced no usable answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvError {
    /// The application gave no conversation function.
    Unavailable,
    /// The conversation function returned this PAM code.
    Failed(i32),
    /// The reply was not usable (missing answer, not UTF-8, wrong count).
    BadReply(&'static str),
}

impl fmt::Display for ConvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvError::Unavailable => f.write_str("the application has no conversation function"),
            ConvError::Failed(code) => write!(f, "the conversation failed with PAM code {code}"),
            ConvError::BadReply(why) => write!(f, "unusable conversation reply: {why}"),
        }
    }
}

/// One PAM transaction, seen from the module.
pub trait PamHandle {
    /// A PAM item (service, user, ruser, rhost, tty): `Ok(None)` when it is
    /// not set, `Err` when it is set but is not UTF-8.
    fn item(&self, item: Item) -> Result<Option<String>, NotUtf8>;
    /// `pam_get_user`: the user name, prompting for it if the application did
    /// not set it. `Err` carries the PAM code to return.
    fn user(&mut self) -> Result<String, i32>;
    /// `pam_getenv`: a variable of the PAM environment.
    fn env(&self, name: &str) -> Option<String>;
    /// The PAM conversation: one response per prompt, `None` for info and
    /// error messages. Callers keep each call within `PAM_MAX_NUM_MSG`
    /// prompts of at most `PAM_MAX_MSG_SIZE - 1` bytes without NUL bytes.
    fn converse(&mut self, prompts: &[Prompt]) -> Result<Vec<Option<String>>, ConvError>;
}
