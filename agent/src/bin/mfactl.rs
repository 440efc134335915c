//! mfactl: pam-mfa's command line for admins (status, explain, check) and
//! for sshd (authorized-keys).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use mfa_agent::ctl::commands;
use mfa_agent::ctl::doctor::DoctorArgs;
use mfa_agent::ctl::publish::{run_publish, PublishArgs, TctlOptions};
use mfa_agent::ctl::{parse_label, EnrollArgs, EnrollMethod, ExplainArgs, PivEnrollArgs};
use pam_mfa_protocol::{ExplainQuery, DEFAULT_SOCKET};

#[derive(Parser)]
#[command(name = "mfactl", version, about = "Inspect and drive pam-mfa's agent")]
struct Cli {
    /// The agent's socket.
    #[arg(long, global = true, env = "PAM_MFA_SOCKET", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Explain the decision for a login: access, MFA requirement, roles, reasons.
    Explain {
        /// Decide offline from this bundle (a file or a directory) instead of asking the agent.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The node's name (with --policy).
        #[arg(long)]
        node: Option<String>,
        /// The node's Teleport host UUID (with --policy), matched by server_id/node locks.
        #[arg(long)]
        node_id: Option<String>,
        /// A node label KEY=VALUE (with --policy); repeat for more.
        #[arg(long = "label", value_parser = parse_label)]
        labels: Vec<(String, String)>,
        /// The cluster user; resolved from the login when absent.
        #[arg(long)]
        user: Option<String>,
        /// The host account being logged in to.
        #[arg(long)]
        login: String,
        /// The PAM service.
        #[arg(long, default_value = "sshd")]
        service: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy bundle (file or directory) or an agent.yaml.
    Check { path: PathBuf },
    /// Show the agent's policy source, revision, counts, last load and last error.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// sshd's AuthorizedKeysCommand: print the registered security keys for LOGIN.
    ///
    /// sshd waits for this command inside the login: with the agent stopped,
    /// a login takes up to --timeout here plus pam_mfa.so's timeout= later.
    AuthorizedKeys {
        login: String,
        /// Give up when the agent has not answered within this (e.g. 5s,
        /// 1500ms): no registered key is printed, the user's own
        /// authorized_keys still work.
        #[arg(long, default_value = "5s", value_parser = mfa_agent::config::parse_duration)]
        timeout: Duration,
    },
    /// Check this host against what pam-mfa needs: sshd's effective
    /// configuration (also root's), the PAM stacks, sudo's cached
    /// authentications, the agent. Each finding says what, why and the fix.
    /// Exits 0 when nothing is found, 1 with warnings only, 2 with an error.
    Doctor {
        /// Print {"ok": BOOL, "findings": [{id, severity, what, why, fix}]}.
        #[arg(long)]
        json: bool,
        /// agent.yaml.
        #[arg(long, default_value = mfa_agent::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// The sshd program (run as `sshd -T`).
        #[arg(long, default_value = "/usr/sbin/sshd")]
        sshd: PathBuf,
        /// The sshd_config to read (`sshd -f`); default: sshd's own.
        #[arg(long)]
        sshd_config: Option<PathBuf>,
        /// The PAM configuration directory.
        #[arg(long, default_value = "/etc/pam.d")]
        pam_dir: PathBuf,
    },
    /// Ask the agent to read agent.yaml again and reload its policy now
    /// (root only; exits 1 when either is refused, which keeps what runs).
    Reload,
    /// List the live login sessions the agent tracks (root only).
    Sessions {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Pull the policy from the cluster source now and print what changed
    /// (exits 1 when the pull was refused).
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
    SoftFido2New {
        #[arg(long)]
        rp_id: String,
        #[arg(long)]
        out: PathBuf,
        /// Give the authenticator this PIN (it then verifies its user only
        /// through ClientPIN).
        #[arg(long)]
        pin: Option<String>,
        /// PIN/UV auth protocols it offers, in order (`2,1`; `1`: a CTAP
        /// 2.0 key).
        #[arg(long, value_delimiter = ',')]
        pin_protocols: Option<Vec<u8>>,
        /// A non-discoverable credential (as `tsh mfa add` makes): it
        /// answers only when asked about it by id.
        #[arg(long)]
        non_discoverable: bool,
    },
    /// Register a security key for a cluster user: checks it as the agent
    /// will, and prints the mfa_device resource to add to the bundle (YAML).
    #[command(group(clap::ArgGroup::new("method").required(true).args(["sk", "piv", "webauthn"])))]
    Enroll {
        /// The cluster user the key belongs to.
        #[arg(long)]
        user: String,
        /// The resource name (default: USER-sk-FINGERPRINT, USER-piv-SERIAL-SLOT).
        #[arg(long)]
        name: Option<String>,
        /// An OpenSSH security-key public key file (sk-ssh-ed25519, sk-ecdsa).
        #[arg(long, value_name = "PUBKEY_FILE")]
        sk: Option<PathBuf>,
        /// A PIV key (YubiKey) through pcscd: its slot attestation is verified.
        #[arg(long)]
        piv: bool,
        /// A FIDO2 key (USB): registered for the cap's webauthn.rp_id, its
        /// attestation checked against the cap's attestation CAs.
        #[arg(long)]
        webauthn: bool,
        /// The PIV slot (9a, 9c, 9d, 9e); default: the cap's
        /// hardware_key.piv_slot, else the requirement's default slot.
        #[arg(long, requires = "piv")]
        slot: Option<String>,
        /// Generate a new key in the slot with the PIN and touch policy the
        /// cluster requires (replaces the slot's key).
        #[arg(long, requires = "piv")]
        generate: bool,
        /// The smart card reader (part of its name); default: the first with a card.
        #[arg(long, requires = "piv")]
        reader: Option<String>,
        /// The key algorithm for --generate: p256 (default) or p384.
        #[arg(long, requires = "generate")]
        algorithm: Option<String>,
        /// A file holding the card's management key (HEX for 3DES, or
        /// aes128:/aes192:/aes256:HEX); default: the factory key.
        #[arg(long, requires = "generate")]
        management_key_file: Option<PathBuf>,
        /// With the cap's serial number validation on: the serial numbers
        /// the user's trait lists (comma-separated), instead of the bundle's user.
        #[arg(long, requires = "piv")]
        serial_trait: Option<String>,
        /// Check against this bundle (file or directory) instead of the agent's policy.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The agent's configuration: PIV roots (piv:) and, without --policy, the policy source.
        #[arg(long, env = "PAM_MFA_CONFIG")]
        config: Option<PathBuf>,
        /// Print the resource as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Publish the cluster's policy for agents (on the Auth Service host):
    /// reads what `tctl get role,cap,user,lock,cert_authority --with-secrets
    /// --format=yaml` prints and our own mfa_device documents, checks them
    /// as the agent will, copies only an allowlist of fields (no password
    /// hash, TOTP key, WebAuthn user handle or CA private key ever leaves),
    /// and writes OUT atomically: bundles/SHA256.json, manifest.json and
    /// manifest.json.sig (Ed25519). Prints the key's public line for the
    /// agents' cluster.signing_keys. Every flag also reads PAM_MFA_PUBLISH_*
    /// (see /etc/pam-mfa/publish.env).
    Publish {
        /// What `tctl get ... --with-secrets --format=yaml` printed: a file,
        /// a directory of such files (*.yaml, *.yml, *.json), or - for
        /// standard input.
        #[arg(
            long,
            value_name = "PATH",
            env = "PAM_MFA_PUBLISH_FROM",
            required_unless_present = "tctl",
            conflicts_with = "tctl"
        )]
        from: Option<PathBuf>,
        /// Run `tctl get role,cap,user,lock,cert_authority --with-secrets
        /// --format=yaml` (tctl from PATH) instead of --from.
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
        /// tctl is killed when it has not finished within this.
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
    },
    /// Answer a pam-mfa challenge with your security key (also works as SSH_ASKPASS).
    Tap {
        /// The challenge (pmfa1:NODE:LOGIN:NONCE) or the whole prompt that
        /// carries it; read from standard input when absent.
        prompt: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(askpass_as_tap(std::env::args_os().collect()));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mfactl: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let socket = cli.socket.as_path();
    match cli.cmd {
        cmd @ Cmd::Explain { .. } => explain(cmd, socket),
        Cmd::Check { path } => commands::check(&path),
        Cmd::Status { json } => commands::status(socket, json),
        Cmd::AuthorizedKeys { login, timeout } => commands::authorized_keys(socket, login, timeout),
        #[cfg(feature = "soft-fido2")]
        cmd @ Cmd::SoftFido2New { .. } => soft_fido2_new(cmd),
        cmd @ Cmd::Enroll { .. } => enroll(cmd),
        Cmd::Tap { prompt } => commands::tap(prompt.as_deref()),
        Cmd::ExamplePolicy => commands::example_policy(),
        Cmd::Sessions { json } => commands::sessions(socket, json),
        Cmd::Sync { json } => commands::sync(socket, json),
        cmd @ Cmd::Doctor { .. } => doctor(cmd, socket),
        Cmd::Reload => commands::reload(socket),
        cmd @ Cmd::Publish { .. } => publish(cmd),
    }
}

/// `mfactl explain`; `run` passes it `Cmd::Explain` only.
fn explain(cmd: Cmd, socket: &Path) -> Result<ExitCode, String> {
    let Cmd::Explain {
        policy,
        node,
        node_id,
        labels,
        user,
        login,
        service,
        json,
    } = cmd
    else {
        unreachable!("run passes Cmd::Explain only");
    };
    let args = ExplainArgs {
        policy: policy.as_deref(),
        node,
        node_id,
        labels: labels.into_iter().collect::<BTreeMap<_, _>>(),
        query: ExplainQuery {
            login,
            user,
            service: Some(service),
        },
    };
    commands::explain(args, socket, json)
}

/// `mfactl enroll`; `run` passes it `Cmd::Enroll` only.
fn enroll(cmd: Cmd) -> Result<ExitCode, String> {
    let Cmd::Enroll {
        user,
        name,
        sk,
        piv,
        webauthn,
        slot,
        generate,
        reader,
        algorithm,
        management_key_file,
        serial_trait,
        policy,
        config,
        json,
    } = cmd
    else {
        unreachable!("run passes Cmd::Enroll only");
    };
    let method = match (sk, piv, webauthn) {
        (Some(path), false, false) => EnrollMethod::Sk(path),
        (None, false, true) => EnrollMethod::Webauthn,
        (None, true, false) => EnrollMethod::Piv(PivEnrollArgs {
            slot: slot
                .as_deref()
                .map(mfa_agent::piv::PivSlot::parse)
                .transpose()?,
            generate,
            reader,
            algorithm: algorithm
                .as_deref()
                .map(mfa_agent::piv::card::KeyAlgorithm::parse)
                .transpose()?,
            management_key_file,
            serial_trait,
        }),
        _ => return Err("give one of --sk FILE, --piv or --webauthn".into()),
    };
    let args = EnrollArgs {
        user,
        name,
        policy,
        config_given: config.is_some(),
        config: config.unwrap_or_else(|| PathBuf::from(mfa_agent::config::DEFAULT_CONFIG_PATH)),
        method,
    };
    commands::enroll(&args, json)
}

/// `mfactl publish`; `run` passes it `Cmd::Publish` only.
fn publish(cmd: Cmd) -> Result<ExitCode, String> {
    let Cmd::Publish {
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
    } = cmd
    else {
        unreachable!("run passes Cmd::Publish only");
    };
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

/// `mfactl doctor`; `run` passes it `Cmd::Doctor` only.
fn doctor(cmd: Cmd, socket: &Path) -> Result<ExitCode, String> {
    let Cmd::Doctor {
        json,
        config,
        sshd,
        sshd_config,
        pam_dir,
    } = cmd
    else {
        unreachable!("run passes Cmd::Doctor only");
    };
    let args = DoctorArgs {
        config,
        socket: socket.to_path_buf(),
        sshd,
        sshd_config,
        pam_dir,
        sudo: PathBuf::from("sudo"),
    };
    commands::doctor(&args, json)
}

/// `mfactl soft-fido2-new` (tests only); `run` passes it
/// `Cmd::SoftFido2New` only.
#[cfg(feature = "soft-fido2")]
fn soft_fido2_new(cmd: Cmd) -> Result<ExitCode, String> {
    let Cmd::SoftFido2New {
        rp_id,
        out,
        pin,
        pin_protocols,
        non_discoverable,
    } = cmd
    else {
        unreachable!("run passes Cmd::SoftFido2New only");
    };
    let mut a =
        mfa_agent::fido2::soft::SoftAuthenticator::generate(&rp_id).map_err(|e| e.to_string())?;
    if let Some(pin) = pin {
        a.set_pin(&pin);
    }
    if let Some(p) = pin_protocols {
        a.pin_protocols = p;
    }
    a.discoverable = !non_discoverable;
    a.save(&out).map_err(|e| e.to_string())?;
    println!("{}", a.registration());
    Ok(ExitCode::SUCCESS)
}

/// `SSH_ASKPASS=mfactl`: one argument that is no subcommand and reads like
/// an ssh prompt makes this `mfactl tap PROMPT`.
fn askpass_as_tap(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    mfa_agent::ctl::askpass_argv(args, |word| {
        word == "help"
            || cmd
                .get_subcommands()
                .any(|c| c.get_name() == word || c.get_all_aliases().any(|a| a == word))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real subcommand list: a prompt alone becomes `tap PROMPT`, a
    /// subcommand stays itself.
    #[test]
    fn askpass_argv_knows_mfactls_subcommands() {
        let p = "(jerry@prod3) MFA challenge pmfa1:prod3:jerry:BwcHBwcHBwcHBwcHBwcHBw answer: ";
        let parsed = Cli::try_parse_from(askpass_as_tap(vec!["mfactl".into(), p.into()])).unwrap();
        assert!(matches!(parsed.cmd, Cmd::Tap { prompt: Some(ref t) } if t == p));
        for word in ["status", "authorized-keys", "example-policy", "help"] {
            let args = askpass_as_tap(vec!["mfactl".into(), word.into()]);
            assert_eq!(args.len(), 2, "{word}");
        }
    }
}
