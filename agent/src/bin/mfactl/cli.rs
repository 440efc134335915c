//! mfactl's command line: the global flags and the subcommands; the larger
//! subcommands' flags are in a file each beside this one.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use super::doctor::DoctorCmd;
use super::enroll::EnrollCmd;
use super::explain::ExplainCmd;
use super::publish::PublishCmd;
#[cfg(feature = "soft-fido2")]
use super::soft_fido2::SoftFido2NewCmd;
use pam_mfa_protocol::DEFAULT_SOCKET;

#[derive(Parser)]
#[command(
    name = "mfactl",
    version,
    about = "Inspect and drive pam-mfa's agent",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// The agent's socket.
    #[arg(long, global = true, env = "PAM_MFA_SOCKET", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// The uid the agent runs as: the socket must be owned by it, and the
    /// process answering on it run as it. Only for an agent run by a user
    /// (tests); no environment variable sets it.
    #[arg(long, global = true, default_value_t = 0, value_name = "UID")]
    pub agent_uid: u32,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Explain the decision for a login: access, MFA requirement, roles, reasons.
    Explain(ExplainCmd),
    /// Validate a policy bundle (file or directory) or an agent.yaml.
    Check { path: PathBuf },
    /// Show the agent's policy source, revision, counts, last load and last error.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// sshd's AuthorizedKeysCommand: print the registered security keys for LOGIN.
    ///
    /// sshd waits for this command inside the login. A stopped agent has no
    /// socket: this fails at once. A hung agent (its socket still there, no
    /// answer) makes a login wait up to --timeout here plus pam_mfa.so's
    /// timeout= later.
    AuthorizedKeys {
        login: String,
        /// Give up when the agent has not answered within this (e.g. 5s,
        /// 1500ms): no registered key is printed, the user's own
        /// authorized_keys still work.
        #[arg(long, default_value = "5s", value_parser = mfa_agent::config::parse_duration)]
        timeout: Duration,
    },
    /// Check this host against what pam-mfa needs; each finding says what,
    /// why and the fix.
    ///
    /// Reads sshd's effective configuration (also root's) and its Match
    /// blocks, the PAM stacks, sudo's cached authentications and NOPASSWD
    /// rules, the agent, and the policy's decisions for root and the
    /// NOPASSWD accounts. Exits 0 when nothing is found, 1 with warnings
    /// only, 2 with an error.
    Doctor(DoctorCmd),
    /// Ask the agent to read agent.yaml again and reload its policy now
    /// (root only; exits 1 when either is refused, which keeps what runs,
    /// or when a pull in progress did not end within 2s).
    Reload,
    /// Forget a vanished cluster user now (root only).
    ///
    /// A user that an earlier policy bundle held and the one in force does
    /// not (Teleport deleted them: their metadata.expires passed, or an admin
    /// removed them) is remembered for 30 days, and their logins are denied
    /// meanwhile. Forgotten, their logins are decided as if they had never
    /// been in the policy (a login no current user claims: host
    /// authentication with the cluster's requirement). `mfactl status` lists
    /// them. Exits 1 when NAME is not remembered.
    ForgetUser {
        /// The cluster user's name (metadata.name).
        name: String,
    },
    /// List the live login sessions the agent tracks (root only).
    Sessions {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Pull the policy from the cluster source now and print what changed
    /// (exits 1 when the pull was refused, or when a pull already in
    /// progress did not end within 2s: then nothing is pulled).
    Sync {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the example policy compiled into this build (`builtin:example`).
    ExamplePolicy,
    /// Tests only (builds with the soft-fido2 feature): make a software FIDO2
    /// authenticator in FILE and print its mfa_device `webauthn` spec.
    #[cfg(feature = "soft-fido2")]
    #[command(hide = true)]
    SoftFido2New(SoftFido2NewCmd),
    /// Register a security key for a cluster user: checks it as the agent
    /// will, and prints the mfa_device resource to add to the bundle (YAML).
    Enroll(EnrollCmd),
    /// Publish the cluster's policy for agents (on the Auth Service host):
    /// reads what `tctl get
    /// role,cap,user,lock,cert_authority,cluster_networking_config
    /// --with-secrets --format=yaml` and `tctl get user_login_state
    /// --format=yaml` print and our own mfa_device documents, checks them
    /// as the agent will, copies only an allowlist of fields (no password
    /// hash, TOTP key, WebAuthn user handle or CA private key ever leaves),
    /// and writes OUT atomically: bundles/SHA256.json, manifest.json and
    /// manifest.json.sig (Ed25519). Prints the key's public line for the
    /// agents' cluster.signing_keys. Every flag also reads PAM_MFA_PUBLISH_*
    /// (see /etc/pam-mfa/publish.env).
    Publish(PublishCmd),
    /// Answer a pam-mfa challenge with your security key (also works as SSH_ASKPASS).
    Tap {
        /// The challenge (pmfa1:NODE:LOGIN:NONCE) or the whole prompt that
        /// carries it; read from standard input when absent.
        prompt: Option<String>,
    },
    // mfactl's own in place of clap's help subcommand, which takes no
    // flags: `mfactl help --help` was an error.
    /// Print this message or the help of the given subcommand(s)
    Help {
        /// Print help for the subcommand(s)
        #[arg(value_name = "COMMAND")]
        command: Vec<String>,
    },
}
