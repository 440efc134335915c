//! The step loop: `begin`, then one agent response after another until the
//! agent (or a failure) ends the exchange.
//!
//! Whenever the module ends the exchange itself (a failure, a conversation
//! error, the deadline), it sends `cancel` best-effort and closes the
//! connection without reading a reply.

use std::io;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant};

use pam_mfa_protocol::{
    FrameError, PamContext, PamHook, Prompt, PromptStyle, Request, RequestBody, ResponseBody,
};

use crate::args::Config;
use crate::client::{connect_as_caller, Connection, Deadline};
use crate::ffi::consts::PAM_MAX_RESP_SIZE;
use crate::handle::{ConvError, PamHandle};
use crate::log::Logger;
use crate::outcome::Outcome;
use crate::prompts::{self, AnswerError};
use crate::secret::{wipe_all, wipe_responses};
use crate::silent::TextKind;

/// Most `prompt` steps in one exchange (the agent's retries included).
pub const MAX_PROMPT_ROUNDS: u32 = 32;
/// Shortest pause before a `poll`, whatever `after_ms` says.
pub const MIN_POLL_PAUSE: Duration = Duration::from_millis(10);

/// Connects to the agent `config` names (as root, to its socket only
/// root may connect to first: [`crate::client::connect_as_caller`]); the
/// exchange's deadline (`timeout=`) starts now. `Ok` holds the socket
/// connected to. `Err` is the outcome without an agent: no agent at all
/// (fail mode applies), or a failure.
pub fn open(config: &Config) -> Result<(Connection, PathBuf), Outcome> {
    let deadline = Deadline::after(config.timeout);
    let caller_is_root = rustix::process::geteuid().is_root();
    connect_as_caller(&config.socket, config.agent_uid, deadline, caller_is_root).map_err(
        |(path, e)| {
            let why = format!("agent at {}: {e}", path.display());
            if e.is_unreachable() {
                Outcome::Unreachable(why)
            } else {
                Outcome::Failure(why)
            }
        },
    )
}

/// Runs one exchange with the agent for `hook` on `conn` (from [`open`]).
/// `silent` (PAM_SILENT) hides `allow`'s text and folds a prompt step's
/// messages into its questions; the tap cue and the refusal reason are
/// always shown ([`crate::silent`]).
pub fn exchange<H: PamHandle + ?Sized>(
    handle: &mut H,
    config: &Config,
    conn: Connection,
    request: (PamHook, PamContext),
    silent: bool,
    log: &mut Logger<'_>,
) -> Outcome {
    let (hook, context) = request;
    let mut steps = Steps {
        conn,
        handle,
        log,
        silent,
        rounds: 0,
        last_wait: None,
        wait_left: config.wait_timeout,
        wait_timeout: config.wait_timeout,
    };
    steps.run(hook, context)
}

struct Steps<'a, 'l, H: ?Sized> {
    conn: Connection,
    handle: &'a mut H,
    log: &'a mut Logger<'l>,
    silent: bool,
    rounds: u32,
    last_wait: Option<String>,
    /// What is left of `wait_timeout=`: the pauses of `wait` steps (a person
    /// tapping a key the agent talks to) count here, not against `timeout=`.
    wait_left: Duration,
    wait_timeout: Duration,
}

impl<H: PamHandle + ?Sized> Steps<'_, '_, H> {
    fn run(&mut self, hook: PamHook, context: PamContext) -> Outcome {
        let begin = Request::new(RequestBody::Begin { hook, context });
        if let Err(e) = self.conn.send(&begin) {
            return self.frame_failure("sending begin", e);
        }
        self.log
            .debug(format_args!("sent begin ({})", hook_name(hook)));
        loop {
            let response = match self.conn.recv() {
                Ok(response) => response,
                Err(e) => return self.frame_failure("reading a response", e),
            };
            let kind = response_kind(&response.body);
            self.log.debug(format_args!("received {kind}"));
            let step = match response.body {
                ResponseBody::Allow { message } => {
                    if let Some(message) = message {
                        self.show(PromptStyle::Info, &message, TextKind::AllowMessage);
                    }
                    Err(Outcome::Allow)
                }
                ResponseBody::Deny {
                    message,
                    tries_spent,
                } => {
                    self.show(PromptStyle::Error, &message, TextKind::RefusalReason);
                    Err(Outcome::Deny { tries_spent })
                }
                ResponseBody::Prompt { prompts } => self.prompt(prompts),
                ResponseBody::Wait { after_ms, message } => self.wait(after_ms, message),
                ResponseBody::Unavailable { message } => Err(Outcome::Unavailable(format!(
                    "the agent cannot decide: {message}"
                ))),
                ResponseBody::Error { message } => Err(Outcome::Failure(format!(
                    "the agent reported an error: {message}"
                ))),
                ResponseBody::Explanation(_)
                | ResponseBody::Status(_)
                | ResponseBody::Synced(_)
                | ResponseBody::Sessions { .. }
                | ResponseBody::Forgot { .. }
                | ResponseBody::Keys { .. }
                | ResponseBody::Reloaded { .. } => Err(self.cancel(Outcome::Failure(format!(
                    "protocol error: unexpected `{kind}` response"
                )))),
            };
            if let Err(outcome) = step {
                return outcome;
            }
        }
    }

    /// One `prompt` step: converse, then send the answers.
    fn prompt(&mut self, list: Vec<Prompt>) -> Result<(), Outcome> {
        self.rounds += 1;
        if self.rounds > MAX_PROMPT_ROUNDS {
            let why = format!("protocol error: more than {MAX_PROMPT_ROUNDS} prompt steps");
            return Err(self.cancel(Outcome::Failure(why)));
        }
        if let Err(why) = prompts::check_count(&list) {
            return Err(self.cancel(Outcome::Failure(format!("protocol error: {why}"))));
        }
        let shown: Vec<Prompt> = if self.silent {
            crate::silent::fold_into_questions(&list)
        } else {
            list.iter().map(prompts::fit).collect()
        };
        self.log
            .debug(format_args!("conversation: {}", styles(&shown)));
        let responses = match self.converse(&shown) {
            Ok(responses) => responses,
            Err(e) => return Err(self.cancel(Outcome::ConversationFailed(e.to_string()))),
        };
        let answers = match prompts::collect(&shown, responses) {
            Ok(answers) => answers,
            Err(AnswerError::BadReply(why)) => {
                let why = format!("unusable conversation reply: {why}");
                return Err(self.cancel(Outcome::ConversationFailed(why)));
            }
            Err(AnswerError::TooLong) => {
                let why = format!("an answer is longer than {PAM_MAX_RESP_SIZE} bytes: refused");
                return Err(self.cancel(Outcome::Failure(why)));
            }
        };
        let count = answers.len();
        let request = Request::new(RequestBody::Answer { answers });
        let sent = self.conn.send(&request);
        if let RequestBody::Answer { answers } = request.body {
            wipe_all(answers);
        }
        match sent {
            Ok(()) => {
                self.log
                    .debug(format_args!("sent answer ({count} answers)"));
                Ok(())
            }
            Err(e) => Err(self.frame_failure("sending answers", e)),
        }
    }

    /// One `wait` step: show the message if it is new, pause, then poll. An
    /// application that refuses the message (a greeter whose user pressed
    /// Cancel answers the conversation with an error) gives up the wait:
    /// the agent is told, and the login fails.
    fn wait(&mut self, after_ms: u32, message: Option<String>) -> Result<(), Outcome> {
        if let Some(message) = message {
            if self.last_wait.as_deref() != Some(message.as_str()) {
                if shown_now(self.silent, TextKind::TapCue) && !message.is_empty() {
                    let prompt = prompts::fit(&Prompt {
                        style: PromptStyle::Info,
                        text: message.clone(),
                    });
                    match self.converse(std::slice::from_ref(&prompt)) {
                        Ok(responses) => wipe_responses(responses),
                        Err(e) => {
                            let why = format!("the application gave up the wait: {e}");
                            return Err(self.cancel(Outcome::ConversationFailed(why)));
                        }
                    }
                }
                self.last_wait = Some(message);
            }
        }
        if self.wait_left.is_zero() {
            let why = format!(
                "gave up waiting for the security key after {} s (wait_timeout=)",
                self.wait_timeout.as_secs()
            );
            return Err(self.cancel(Outcome::Failure(why)));
        }
        let pause = Duration::from_millis(after_ms.into())
            .max(MIN_POLL_PAUSE)
            .min(self.wait_left);
        let started = Instant::now();
        sleep(pause);
        let slept = started.elapsed();
        self.wait_left = self.wait_left.saturating_sub(slept);
        self.conn.deadline_mut().extend(slept);
        if self.conn.deadline().remaining().is_none() {
            return Err(self.timed_out());
        }
        match self.conn.send(&Request::new(RequestBody::Poll)) {
            Ok(()) => {
                self.log.debug("sent poll");
                Ok(())
            }
            Err(e) => Err(self.frame_failure("sending poll", e)),
        }
    }

    /// The PAM conversation; its time does not count against the deadline.
    fn converse(&mut self, prompts: &[Prompt]) -> Result<Vec<Option<String>>, ConvError> {
        let started = Instant::now();
        let result = self.handle.converse(prompts);
        self.conn.deadline_mut().extend(started.elapsed());
        result
    }

    /// Shows a text (not a question); failures only go to the debug log.
    fn show(&mut self, style: PromptStyle, text: &str, kind: TextKind) {
        if !shown_now(self.silent, kind) || text.is_empty() {
            return;
        }
        let prompt = prompts::fit(&Prompt {
            style,
            text: text.to_owned(),
        });
        match self.converse(std::slice::from_ref(&prompt)) {
            Ok(responses) => wipe_responses(responses),
            Err(e) => self
                .log
                .debug(format_args!("could not show a message: {e}")),
        }
    }

    fn timed_out(&mut self) -> Outcome {
        self.cancel(Outcome::Failure(
            "the deadline passed while waiting on the agent".into(),
        ))
    }

    /// A frame could not be read or written: always a failure, never
    /// "unreachable". An agent that accepted and then went away (closed,
    /// reset) or stayed silent may be a crowded or killed agent; a local
    /// user able to cause either must not turn MFA off with fail_mode=open.
    fn frame_failure(&mut self, doing: &str, e: FrameError) -> Outcome {
        let outcome = match e {
            FrameError::Io(e) => Outcome::Failure(format!(
                "transport failure during the exchange ({doing}): {}",
                io_reason(&e)
            )),
            other => Outcome::Failure(format!("protocol error ({doing}): {other}")),
        };
        self.cancel(outcome)
    }

    fn cancel(&mut self, outcome: Outcome) -> Outcome {
        self.log.debug("sending cancel");
        self.conn.cancel();
        outcome
    }
}

/// Whether a step's text of this kind is shown (PAM_SILENT or not).
fn shown_now(silent: bool, kind: TextKind) -> bool {
    !silent || crate::silent::shows(kind)
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::TimedOut => "timed out".into(),
        io::ErrorKind::UnexpectedEof => "the agent closed the connection".into(),
        _ => e.to_string(),
    }
}

pub(crate) fn hook_name(hook: PamHook) -> &'static str {
    match hook {
        PamHook::Auth => "auth",
        PamHook::Account => "account",
        PamHook::OpenSession => "open_session",
        PamHook::CloseSession => "close_session",
    }
}

fn response_kind(body: &ResponseBody) -> &'static str {
    match body {
        ResponseBody::Allow { .. } => "allow",
        ResponseBody::Deny { .. } => "deny",
        ResponseBody::Prompt { .. } => "prompt",
        ResponseBody::Wait { .. } => "wait",
        ResponseBody::Unavailable { .. } => "unavailable",
        ResponseBody::Error { .. } => "error",
        ResponseBody::Explanation(_) => "explanation",
        ResponseBody::Status(_) => "status",
        ResponseBody::Keys { .. } => "keys",
        ResponseBody::Reloaded { .. } => "reloaded",
        ResponseBody::Synced(_) => "synced",
        ResponseBody::Sessions { .. } => "sessions",
        ResponseBody::Forgot { .. } => "forgot",
    }
}

/// The styles of a round, for the debug log (never the texts).
fn styles(prompts: &[Prompt]) -> String {
    let names: Vec<&str> = prompts
        .iter()
        .map(|p| match p.style {
            PromptStyle::EchoOn => "echo_on",
            PromptStyle::EchoOff => "echo_off",
            PromptStyle::Info => "info",
            PromptStyle::Error => "error",
        })
        .collect();
    names.join(", ")
}
