//! The product scenario's host: an agent and a real sshd in front of it,
//! whose PAM service runs `pam_mfa.so` in auth and account and whose
//! `AuthorizedKeysCommand` asks the agent for the registered keys.

use std::path::Path;

use crate::agent::{Agent, AgentConfig, Bundle};
use crate::bins;
use crate::sshd::{Sshd, SshdOptions};
use crate::unique_name;
use crate::workdir::WorkDir;

/// The module's per-step timeout in these tests, in seconds.
pub const MODULE_TIMEOUT: u64 = 5;

/// `socket=... timeout=5 [extra]` for the module's lines.
pub fn module_args(socket: &Path, extra: &str) -> String {
    format!(
        "socket={} timeout={MODULE_TIMEOUT} {extra}",
        socket.display()
    )
    .trim_end()
    .to_string()
}

/// The sshd PAM service of the product scenarios:
/// `auth required pam_mfa.so ...`, `account required pam_mfa.so ...`,
/// `session required pam_permit.so`.
pub fn sshd_stack(socket: &Path, extra: &str) -> String {
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(socket, extra);
    format!(
        "auth required {m} {args}\naccount required {m} {args}\nsession required pam_permit.so\n",
        m = module.display()
    )
}

/// [`sshd_stack`] with pam_mfa.so in `session` too (live sessions
/// registered with the agent).
pub fn sshd_stack_with_sessions(socket: &Path) -> String {
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(socket, "");
    format!(
        "auth required {m} {args}\naccount required {m} {args}\nsession required {m} {args}\n",
        m = module.display()
    )
}

/// Like [`sshd_stack`] with `fail_mode=open`, followed by pam_permit in auth and
/// account: a stack where every module says PAM_IGNORE fails in Linux-PAM, so a
/// fail-open deployment always has another module deciding.
pub fn sshd_stack_fail_open(socket: &Path) -> String {
    let module = bins::pam_module();
    bins::require(&module);
    let args = module_args(socket, "fail_mode=open");
    format!(
        "auth required {m} {args}\nauth required pam_permit.so\n\
account required {m} {args}\naccount required pam_permit.so\nsession required pam_permit.so\n",
        m = module.display()
    )
}

impl SshdOptions {
    /// sshd for the agent at `agent_socket`: PAM service `service` with
    /// [`sshd_stack`], keys from the agent's `AuthorizedKeysCommand`.
    pub fn pam_mfa(agent_socket: &Path, service: &str) -> SshdOptions {
        SshdOptions::new(&sshd_stack(agent_socket, ""))
            .keys_from_agent(agent_socket)
            .service_name(service)
    }
}

/// An agent and an sshd in front of it: a fresh PAM service `sshd-mfat…`,
/// of class `ssh` in the agent's configuration, whose sshd runs
/// [`SshdOptions::pam_mfa`].
pub struct MfaSshd {
    pub service: String,
    pub agent: Agent,
    pub sshd: Sshd,
}

impl MfaSshd {
    pub fn start(work: &WorkDir, config: AgentConfig, bundle: &Bundle) -> MfaSshd {
        MfaSshd::start_with(work, config, bundle, |opts| opts)
    }

    /// Like [`MfaSshd::start`], with more sshd options (`more` gets the
    /// [`SshdOptions::pam_mfa`] ones).
    pub fn start_with(
        work: &WorkDir,
        config: AgentConfig,
        bundle: &Bundle,
        more: impl FnOnce(SshdOptions) -> SshdOptions,
    ) -> MfaSshd {
        let service = unique_name("sshd-mfat");
        let agent = Agent::start(work, &config.service(&service, "ssh"), bundle);
        let sshd = Sshd::start(work, &more(SshdOptions::pam_mfa(&agent.socket, &service)));
        MfaSshd {
            service,
            agent,
            sshd,
        }
    }
}
