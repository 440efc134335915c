//! Message types. Every message is a JSON object with `v` (the protocol
//! version) and `type` (the variant, snake_case).

use serde::{Deserialize, Serialize};

use crate::PROTOCOL_VERSION;

/// A message from a client (the PAM module or mfactl) to the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    #[serde(flatten)]
    pub body: RequestBody,
}

impl Request {
    pub fn new(body: RequestBody) -> Self {
        Request {
            v: PROTOCOL_VERSION,
            body,
        }
    }
}

/// Which PAM hook is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PamHook {
    /// `pam_sm_authenticate`: may prompt.
    Auth,
    /// `pam_sm_acct_mgmt`: decides from the evidence at hand, never prompts.
    Account,
    /// `pam_sm_open_session`.
    OpenSession,
    /// `pam_sm_close_session`.
    CloseSession,
}

/// What the module read from PAM. The agent trusts none of it beyond what
/// SO_PEERCRED says about the peer; it is context, not identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PamContext {
    /// PAM_SERVICE, e.g. `sshd`, `sudo`, `login`.
    pub service: String,
    /// PAM_USER: the account being authenticated.
    pub user: String,
    /// PAM_RUSER, when set (the invoking user for su and sudo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruser: Option<String>,
    /// PAM_RHOST, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhost: Option<String>,
    /// PAM_TTY, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    /// `SSH_AUTH_INFO_0` from the PAM environment (sshd's ExposeAuthInfo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_auth_info: Option<String>,
    /// `SSH_AUTH_SOCK` from the PAM environment or the invoking process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_auth_sock: Option<String>,
    /// `SSH_CONNECTION` or `SSH_CLIENT` is set in the PAM environment or
    /// the environment the process was started with: it runs in an SSH
    /// session. Whether only, never the values. Sent only when set, and
    /// `false` when absent: an older module (or agent) without the field
    /// speaks the same protocol version, unknown fields being ignored.
    #[serde(default, skip_serializing_if = "is_false")]
    pub ssh_connection_env: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestBody {
    /// The module starts a decision for one PAM hook.
    Begin { hook: PamHook, context: PamContext },
    /// Answers to the prompts of the last [`ResponseBody::Prompt`], in order
    /// (one per echo-on/echo-off prompt).
    Answer { answers: Vec<String> },
    /// Asks again after a [`ResponseBody::Wait`].
    Poll,
    /// The person gave up (or the module reached its deadline).
    Cancel,
    /// mfactl: explain the decision for a login on this host.
    Explain(ExplainQuery),
    /// mfactl: the agent's state.
    Status,
    /// sshd's AuthorizedKeysCommand: registered keys for a login.
    AuthorizedKeys { login: String },
    /// mfactl: reload the policy now.
    Reload,
    /// Pull the policy from the cluster source now (`mfactl sync`).
    Sync,
    /// The live login sessions the agent tracks (`mfactl sessions`).
    Sessions,
    /// Forget a vanished cluster user now (`mfactl forget-user NAME`, root
    /// only): their logins are no longer denied as a deleted user's.
    ForgetUser { name: String },
}

/// A question for `mfactl explain` against the running agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainQuery {
    pub login: String,
    /// The cluster user; resolved from the login when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The PAM service; `sshd` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A message from the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub v: u32,
    #[serde(flatten)]
    pub body: ResponseBody,
}

impl Response {
    pub fn new(body: ResponseBody) -> Self {
        Response {
            v: PROTOCOL_VERSION,
            body,
        }
    }
}

/// How a prompt is shown (PAM's message styles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptStyle {
    EchoOn,
    EchoOff,
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub style: PromptStyle,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseBody {
    /// Let the login through (PAM_SUCCESS).
    Allow {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Refuse the login, showing `message` to the person (PAM_AUTH_ERR or
    /// PAM_PERM_DENIED for the account hook).
    Deny {
        message: String,
        /// The refusal ends a tap whose last try was spent: the module's
        /// auth hook returns PAM_MAXTRIES instead of PAM_AUTH_ERR, so sshd
        /// ends the connection rather than asking again. Left out when
        /// false, and false when absent, so older peers read and write the
        /// same frames as before.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        tries_spent: bool,
    },
    /// Show these prompts through the PAM conversation and send the answers.
    Prompt {
        prompts: Vec<Prompt>,
    },
    /// Nothing to answer yet: poll again after `after_ms`, showing `message`
    /// once as an info message if present.
    Wait {
        after_ms: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The agent cannot decide (no usable policy): the module's fail mode
    /// applies.
    Unavailable {
        message: String,
    },
    /// The request was wrong or the agent failed. Never a success.
    Error {
        message: String,
    },
    /// Answer to [`RequestBody::Explain`].
    Explanation(Explanation),
    /// Answer to [`RequestBody::Status`].
    Status(StatusReport),
    /// Answer to [`RequestBody::AuthorizedKeys`]: authorized_keys lines.
    Keys {
        lines: Vec<String>,
    },
    /// Answer to [`RequestBody::Reload`].
    Reloaded {
        ok: bool,
        message: String,
    },
    Synced(crate::SyncReport),
    Sessions {
        sessions: Vec<crate::SessionInfo>,
    },
    /// Answer to [`RequestBody::ForgetUser`]: `ok` false when the user was
    /// not remembered.
    Forgot {
        ok: bool,
        message: String,
    },
}

/// The outcome of a policy decision, as `mfactl explain --json` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// "allow" or "deny".
    pub access: String,
    /// "off", "session", "hardware_key", "hardware_key_touch",
    /// "hardware_key_pin" or "hardware_key_touch_and_pin".
    pub mfa: String,
    /// The cluster user the decision is for (absent: not a cluster user).
    pub user: Option<String>,
    /// When who logs in is not known and the login maps to several cluster
    /// users (a shared or system account some role names): those the policy
    /// allows here, whose tap or registered key would identify them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// Users the login maps to whom a lock holds (when who logs in is not
    /// known): not asked, and the others must show who logs in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locked_candidates: Vec<String>,
    /// The roles that allowed this login on this node.
    pub roles: Vec<String>,
    pub locked: bool,
    /// Sentences a person can read, in the order the rules were applied.
    pub reasons: Vec<String>,
    pub node: String,
    pub login: String,
    pub service: String,
    /// "ssh", "admin" or "desktop".
    pub class: String,
    pub policy_revision: String,
}

/// What `mfactl status` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub agent_version: String,
    pub node: String,
    /// This node's Teleport host UUID as the agent uses it (`node.id`, or
    /// Teleport's host_uuid file); absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// Where `node_id` came from, or why there is none.
    #[serde(default)]
    pub node_id_source: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub policy_source: String,
    /// Empty when no policy was ever loaded.
    pub policy_revision: String,
    /// RFC 3339 time of the last successful load, if any.
    pub last_load: Option<String>,
    /// The last load error, if the last attempt failed.
    pub last_error: Option<String>,
    pub counts: PolicyCounts,
    pub decisions: DecisionCounts,
    /// Set (and `decisions` left at zero) for a non-root peer: the counts
    /// are of everyone's logins, and polling them would tell a local user
    /// when other people log in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decisions_hidden: bool,
    pub uptime_seconds: u64,
    /// Where the policy came from and how fresh it is (cluster sync).
    #[serde(default)]
    pub sync: Box<crate::SyncStatus>,
    /// `approval_url` and whether the policy in force lets it work (the
    /// browser approval page); absent when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<String>,
    /// Cluster users earlier bundles held and the policy in force does not
    /// (their logins are denied as deleted users'), the most recent first,
    /// at most [`VANISHED_USERS_SHOWN`] (`counts.vanished_users` says how
    /// many); empty for a non-root peer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vanished_users: Vec<VanishedUserInfo>,
    /// Why the agent's record of vanished users could not be read or
    /// written (it then keeps them in memory only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanished_users_error: Option<String>,
}

/// How many vanished users `mfactl status` lists at most.
pub const VANISHED_USERS_SHOWN: usize = 20;

/// One vanished cluster user, as `mfactl status` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VanishedUserInfo {
    pub name: String,
    /// The host logins that were theirs (their name first).
    pub logins: Vec<String>,
    /// RFC 3339: when a bundle without them was first installed.
    pub since: String,
    /// RFC 3339: when the agent forgets them unless a bundle holds them again.
    pub until: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyCounts {
    pub roles: usize,
    pub users: usize,
    pub locks: usize,
    pub devices: usize,
    pub warnings: usize,
    /// Locks in force whose `node`/`server_id` names neither this node's
    /// name nor its `node.id`: without `node.id`, one of them may be
    /// this host's Teleport host UUID (`mfactl doctor` says so).
    #[serde(default)]
    pub node_locks_elsewhere: usize,
    /// Cluster users earlier bundles held and this one does not, remembered
    /// (see [`StatusReport::vanished_users`]).
    #[serde(default)]
    pub vanished_users: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionCounts {
    pub allowed: u64,
    pub denied: u64,
    pub unavailable: u64,
    pub errors: u64,
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
