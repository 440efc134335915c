//! `mfactl publish`: its flags (each also read from `PAM_MFA_PUBLISH_*`),
//! and the publisher's arguments they make.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use mfa_agent::ctl::publish::{run_publish, PublishArgs, TctlOptions};

#[derive(Args)]
pub struct PublishCmd {
    /// What `tctl get ... --with-secrets --format=yaml` (and `tctl get
    /// user_login_state`) printed: a file, a directory of such files
    /// (*.yaml, *.yml, *.json), or - for standard input.
    #[arg(
        long,
        value_name = "PATH",
        env = "PAM_MFA_PUBLISH_FROM",
        required_unless_present = "tctl",
        conflicts_with = "tctl"
    )]
    from: Option<PathBuf>,
    /// Run `tctl get
    /// role,cap,user,lock,cert_authority,cluster_networking_config
    /// --with-secrets --format=yaml`, then `tctl get user_login_state
    /// --format=yaml` (tctl from PATH), instead of --from. A tctl that
    /// does not know user_login_state gives none, with a warning.
    #[arg(long)]
    tctl: bool,
    /// tctl's identity file (`tctl -i FILE`).
    #[arg(
        long,
        value_name = "FILE",
        env = "PAM_MFA_PUBLISH_TCTL_IDENTITY",
        requires = "tctl"
    )]
    tctl_identity: Option<PathBuf>,
    /// tctl's Auth Service or Proxy address (`tctl --auth-server ADDR`).
    #[arg(
        long,
        value_name = "ADDR",
        env = "PAM_MFA_PUBLISH_TCTL_AUTH_SERVER",
        requires = "tctl"
    )]
    tctl_auth_server: Option<String>,
    /// Each tctl run is killed when it has not finished within this.
    #[arg(long, value_name = "DURATION", default_value = "60s", env = "PAM_MFA_PUBLISH_TCTL_TIMEOUT",
          value_parser = mfa_agent::config::parse_duration)]
    tctl_timeout: Duration,
    /// A directory (or file) of our own mfa_device documents (ssh_sk,
    /// piv, webauthn), as `mfactl enroll` prints them.
    #[arg(long, value_name = "DIR", env = "PAM_MFA_PUBLISH_DEVICES")]
    devices: Option<PathBuf>,
    /// The directory to publish into (created when missing).
    #[arg(long, value_name = "DIR", env = "PAM_MFA_PUBLISH_OUT")]
    out: PathBuf,
    /// An unencrypted OpenSSH Ed25519 private key (ssh-keygen -t ed25519 -N '').
    #[arg(long, value_name = "FILE", env = "PAM_MFA_PUBLISH_SIGNING_KEY")]
    signing_key: PathBuf,
    /// The manifest's source name, which agents' cluster.source_name must
    /// equal (default: the cluster's name, from its cert_authority).
    #[arg(long, value_name = "NAME", env = "PAM_MFA_PUBLISH_SOURCE_NAME")]
    source_name: Option<String>,
    /// This cluster's name: only its certificate authorities are
    /// published (tctl also prints trusted clusters'); needed when the
    /// input holds CAs of several clusters.
    #[arg(long, value_name = "NAME", env = "PAM_MFA_PUBLISH_CLUSTER_NAME")]
    cluster_name: Option<String>,
    /// From issued_at to expires_at: agents treat the policy as stale after it.
    #[arg(long, value_name = "DURATION", default_value = "24h", env = "PAM_MFA_PUBLISH_VALID_FOR",
          value_parser = mfa_agent::config::parse_duration)]
    valid_for: Duration,
    /// Publish again every DURATION (re-signed, a fresh serial and
    /// expiry) until SIGTERM; a failed round keeps the published set.
    #[arg(long, value_name = "DURATION", env = "PAM_MFA_PUBLISH_INTERVAL",
          value_parser = mfa_agent::config::parse_duration)]
    interval: Option<Duration>,
}

impl PublishCmd {
    pub fn run(self) -> Result<ExitCode, String> {
        let PublishCmd {
            from,
            tctl,
            tctl_identity,
            tctl_auth_server,
            tctl_timeout,
            devices,
            out,
            signing_key,
            source_name,
            cluster_name,
            valid_for,
            interval,
        } = self;
        let tctl = tctl.then(|| TctlOptions {
            program: PathBuf::from("tctl"),
            identity: tctl_identity,
            auth_server: tctl_auth_server,
            timeout: tctl_timeout,
        });
        let args = PublishArgs {
            from,
            tctl,
            devices,
            out,
            signing_key,
            source_name,
            cluster_name,
            valid_for,
            interval,
        };
        run_publish(&args)
    }
}
