//! `mfactl enroll`: registers a key for a cluster user and prints the
//! `mfa_device` resource to add to the bundle (`--sk`, `--piv`,
//! `--webauthn`). Every key is checked the way the agent will check it when
//! it is used, and refused with the reason when it would not pass.

mod context;
mod device_doc;
mod piv;
mod sk;
mod webauthn;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod webauthn_tests;

use std::path::PathBuf;

pub use context::{required_policy, EnrollContext};
pub use device_doc::{pem_encode, DeviceDoc, DeviceForm};
pub use piv::{check_piv_attestation, piv_policies_for, PivEnrollArgs};
pub use sk::sk_public_key_line;
pub use webauthn::{
    create_client_data_json, register as register_webauthn,
    register_with as register_webauthn_with, remember_credential, webauthn_spec,
};

use crate::piv::card::PcscPivCard;

/// Which key to enroll.
pub enum EnrollMethod {
    /// An OpenSSH security-key public key file.
    Sk(PathBuf),
    Piv(PivEnrollArgs),
    /// A FIDO2 key, registered for the cap's rp_id.
    Webauthn,
}

/// Everything `mfactl enroll` was given.
pub struct EnrollArgs {
    /// The cluster user the key belongs to.
    pub user: String,
    /// `metadata.name`; a default naming user, kind and key otherwise.
    pub name: Option<String>,
    /// A bundle (file or directory) to read the cap and the user from;
    /// else the agent's policy source (agent.yaml).
    pub policy: Option<PathBuf>,
    /// agent.yaml: the PIV roots (`piv:`) and, without `--policy`, the policy.
    pub config: PathBuf,
    /// Whether `config` was named on the command line (then it must exist).
    pub config_given: bool,
    pub method: EnrollMethod,
}

/// What enrollment produced: the resource, and notes for the person.
pub struct Enrolled {
    pub device: DeviceDoc,
    pub notes: Vec<String>,
}

/// Runs one enrollment. PIV keys are reached through pcscd.
pub fn run_enroll(args: &EnrollArgs) -> Result<Enrolled, String> {
    let ctx = EnrollContext::load(args)?;
    match &args.method {
        EnrollMethod::Sk(path) => sk::enroll_sk(&ctx, args, path),
        EnrollMethod::Piv(p) => piv::enroll_piv::<PcscPivCard>(&ctx, args, p),
        EnrollMethod::Webauthn => webauthn::enroll_webauthn(&ctx, args),
    }
}
