//! A scripted PamHandle and a recording log sink.

use std::collections::VecDeque;
use std::thread::sleep;
use std::time::{Duration, Instant};

use pam_mfa::ffi::consts::PAM_CONV_ERR;
use pam_mfa::log::{Level, LogSink};
use pam_mfa::{ConvError, Host, Item, NotUtf8, PamHandle};
use pam_mfa_protocol::{PamHook, Prompt, PromptStyle};

/// One scripted PAM transaction.
pub struct Scripted {
    pub service: Option<String>,
    pub user: Result<String, i32>,
    /// Whether PAM_USER is already set (else `pam_get_user` asks the person).
    pub user_set: bool,
    /// How long `pam_get_user` takes (the person typing their name).
    pub typing: Duration,
    /// When `pam_get_user` returned.
    pub got_user_at: Option<Instant>,
    /// How many times PAM_SERVICE was read.
    pub service_reads: std::cell::Cell<u32>,
    /// How long the first read of the PAM environment takes, and when it
    /// was done (part of reading the context).
    pub env_delay: Duration,
    pub env_read_at: std::cell::Cell<Option<Instant>>,
    pub ruser: Option<String>,
    pub rhost: Option<String>,
    pub tty: Option<String>,
    pub env: Vec<(String, String)>,
    /// Items set to bytes that are not UTF-8, each with its lossy text
    /// (these win over the fields above).
    pub not_utf8: Vec<(Item, String)>,
    /// Replies for conversation rounds that ask something, in order.
    pub replies: VecDeque<Result<Vec<Option<String>>, ConvError>>,
    /// Every conversation call, as shown.
    pub calls: Vec<Vec<Prompt>>,
    /// How long each conversation call takes (the person).
    pub think: Duration,
    pub panic_in_converse: bool,
    /// Info and error messages fail (PAM_CONV_ERR), as a greeter's Cancel.
    pub refuse_messages: bool,
}

impl Scripted {
    pub fn new() -> Self {
        Scripted {
            service: Some("sshd".into()),
            user: Ok("jerry".into()),
            user_set: true,
            typing: Duration::ZERO,
            got_user_at: None,
            service_reads: std::cell::Cell::new(0),
            env_delay: Duration::ZERO,
            env_read_at: std::cell::Cell::new(None),
            ruser: None,
            rhost: None,
            tty: None,
            env: Vec::new(),
            not_utf8: Vec::new(),
            replies: VecDeque::new(),
            calls: Vec::new(),
            think: Duration::ZERO,
            panic_in_converse: false,
            refuse_messages: false,
        }
    }

    /// Queues the answers to the next round that asks something.
    pub fn reply(mut self, answers: &[Option<&str>]) -> Self {
        self.replies
            .push_back(Ok(answers.iter().map(|a| a.map(str::to_owned)).collect()));
        self
    }

    /// Every text shown with `style`, in order.
    pub fn shown(&self, style: PromptStyle) -> Vec<String> {
        self.calls
            .iter()
            .flatten()
            .filter(|p| p.style == style)
            .map(|p| p.text.clone())
            .collect()
    }
}

impl PamHandle for Scripted {
    fn item(&self, item: Item) -> Result<Option<String>, NotUtf8> {
        if item == Item::Service {
            self.service_reads.set(self.service_reads.get() + 1);
        }
        if let Some((_, lossy)) = self.not_utf8.iter().find(|(i, _)| *i == item) {
            return Err(NotUtf8 {
                lossy: lossy.clone(),
            });
        }
        Ok(match item {
            Item::Service => self.service.clone(),
            Item::User => self.user.clone().ok().filter(|_| self.user_set),
            Item::Ruser => self.ruser.clone(),
            Item::Rhost => self.rhost.clone(),
            Item::Tty => self.tty.clone(),
        })
    }

    fn user(&mut self) -> Result<String, i32> {
        sleep(self.typing);
        self.got_user_at = Some(Instant::now());
        self.user.clone()
    }

    fn env(&self, name: &str) -> Option<String> {
        if self.env_read_at.get().is_none() {
            sleep(self.env_delay);
            self.env_read_at.set(Some(Instant::now()));
        }
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn converse(&mut self, prompts: &[Prompt]) -> Result<Vec<Option<String>>, ConvError> {
        if self.panic_in_converse {
            panic!("scripted panic in the conversation");
        }
        assert!(!prompts.is_empty() && prompts.len() <= 32);
        for p in prompts {
            assert!(
                p.text.len() < 512 && !p.text.contains('\0'),
                "unfit prompt reached PAM"
            );
        }
        self.calls.push(prompts.to_vec());
        sleep(self.think);
        let asks = prompts
            .iter()
            .any(|p| matches!(p.style, PromptStyle::EchoOn | PromptStyle::EchoOff));
        if !asks {
            if self.refuse_messages {
                return Err(ConvError::Failed(PAM_CONV_ERR));
            }
            return Ok(vec![None; prompts.len()]);
        }
        self.replies
            .pop_front()
            .unwrap_or(Err(ConvError::Failed(PAM_CONV_ERR)))
    }
}

/// Log lines, as the module wrote them.
#[derive(Default)]
pub struct Lines(pub Vec<(Level, String)>);

impl LogSink for Lines {
    fn log(&mut self, level: Level, line: &str) {
        self.0.push((level, line.to_owned()));
    }
}

impl Lines {
    pub fn any(&self, level: Level, needle: &str) -> bool {
        self.0
            .iter()
            .any(|(l, line)| *l == level && line.contains(needle))
    }

    pub fn all_text(&self) -> String {
        self.0
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs `hook` with `args`; no process environment.
pub fn run(handle: &mut Scripted, hook: PamHook, args: &[&str]) -> (i32, Lines) {
    run_with(handle, hook, args, &|_| None, false)
}

pub fn run_with(
    handle: &mut Scripted,
    hook: PamHook,
    args: &[&str],
    process_env: &dyn Fn(&str) -> Option<String>,
    silent: bool,
) -> (i32, Lines) {
    let mut lines = Lines::default();
    let code = pam_mfa::run_hook(
        handle,
        hook,
        args,
        Host {
            log: &mut lines,
            process_env,
            silent,
        },
    );
    (code, lines)
}
