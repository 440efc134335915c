//! `mfactl enroll`: its flags, and the enrollment they describe.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use mfa_agent::ctl::commands;
use mfa_agent::ctl::{EnrollArgs, EnrollMethod, PivEnrollArgs};

#[derive(Args)]
#[command(group(clap::ArgGroup::new("method").required(true).args(["sk", "piv", "webauthn"])))]
pub struct EnrollCmd {
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
}

impl EnrollCmd {
    pub fn run(self) -> Result<ExitCode, String> {
        let EnrollCmd {
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
        } = self;
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
}
