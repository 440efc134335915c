//! `mfactl soft-fido2-new` (builds with the soft-fido2 feature, tests only):
//! a software FIDO2 authenticator in a file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Args)]
pub struct SoftFido2NewCmd {
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
}

impl SoftFido2NewCmd {
    pub fn run(self) -> Result<ExitCode, String> {
        let SoftFido2NewCmd {
            rp_id,
            out,
            pin,
            pin_protocols,
            non_discoverable,
        } = self;
        let mut a = mfa_agent::fido2::soft::SoftAuthenticator::generate(&rp_id)
            .map_err(|e| e.to_string())?;
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
}
