//! `mfactl doctor`: its flags, and what they point the checks at.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use mfa_agent::ctl::doctor::{DoctorArgs, PAM_VENDOR_DIR};
use mfa_agent::ctl::{commands, AgentSocket};

const DEFAULT_PAM_DIR: &str = "/etc/pam.d";

#[derive(Args)]
pub struct DoctorCmd {
    /// Print {"ok": BOOL, "findings": [{id, severity, what, why, fix}]}.
    #[arg(long)]
    json: bool,
    /// agent.yaml.
    #[arg(long, default_value = mfa_agent::config::DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    /// The sshd program (run as `sshd -T`).
    #[arg(long, default_value = "/usr/sbin/sshd")]
    sshd: PathBuf,
    /// The sshd_config to read (`sshd -f`, and its Match blocks); default:
    /// sshd's own (/etc/ssh/sshd_config).
    #[arg(long)]
    sshd_config: Option<PathBuf>,
    /// The PAM configuration directory (the default also reads
    /// /usr/lib/pam.d for a file it lacks, as PAM does).
    #[arg(long, default_value = DEFAULT_PAM_DIR)]
    pam_dir: PathBuf,
}

impl DoctorCmd {
    pub fn run(self, agent: &AgentSocket) -> Result<ExitCode, String> {
        let DoctorCmd {
            json,
            config,
            sshd,
            sshd_config,
            pam_dir,
        } = self;
        let args = DoctorArgs {
            config,
            agent: agent.clone(),
            sshd,
            sshd_config,
            // PAM's vendor files back the installed /etc/pam.d only, not
            // a directory named for a test.
            pam_vendor_dir: (pam_dir == Path::new(DEFAULT_PAM_DIR))
                .then(|| PathBuf::from(PAM_VENDOR_DIR)),
            pam_dir,
            sudo: PathBuf::from("sudo"),
        };
        commands::doctor(&args, json)
    }
}
