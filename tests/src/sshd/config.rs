use std::path::{Path, PathBuf};

/// sshd's AuthorizedKeysCommand.
#[derive(Debug, Clone)]
pub struct KeysCommand {
    /// The program on the host; sshd runs a root-owned copy in `/run/t`.
    pub program: PathBuf,
    /// Its arguments, with sshd's `%u`-style tokens.
    pub args: String,
}

impl KeysCommand {
    pub fn installed_path(&self) -> String {
        let name = self
            .program
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("keys-command");
        format!("/run/t/{name}")
    }
}

/// How one test's sshd is set up.
#[derive(Debug, Clone)]
pub struct SshdOptions {
    /// The PAM service file's text.
    pub pam_stack: String,
    /// When set: `AuthorizedKeysCommand /run/t/<program's file name> <args>`, run as
    /// `nobody`; the program is copied into the namespace's root-owned `/run/t`.
    pub keys_command: Option<KeysCommand>,
    /// `PubkeyAuthOptions touch-required`.
    pub touch_required: bool,
    /// Extra sshd_config lines.
    pub extra: Vec<String>,
    /// The PAM service name (and sshd symlink name); `sshd-mfat<random>` when unset.
    pub service: Option<String>,
    /// When set: sshd's namespace gets this capture as `/dev/log` (see [`crate::syslog`]).
    pub syslog: Option<(PathBuf, PathBuf)>,
    /// More PAM service files (name, text) in sshd's private `/etc/pam.d`, for
    /// programs run inside its sessions (sudo with its own `pam_service`).
    pub extra_pam_services: Vec<(String, String)>,
    /// When set: this text, in a root-owned 0440 file, is bind-mounted over
    /// `/etc/sudoers` inside sshd's namespace (the host's file is untouched).
    pub sudoers: Option<String>,
    /// When set: root's home gets an authorized_keys with these lines, inside
    /// sshd's namespace only (a tmpfs over `~root/.ssh`, or over `~root` when
    /// the host has no `.ssh` there; the host's files are untouched), and
    /// `PermitRootLogin yes`.
    pub root_authorized_keys: Option<String>,
    /// When set: (an nsswitch.conf bind-mounted over `/etc/nsswitch.conf`
    /// inside sshd's namespace, a directory for `LD_LIBRARY_PATH` where its
    /// NSS modules are), see [`crate::nss_directory`].
    pub nsswitch: Option<(PathBuf, PathBuf)>,
}

impl SshdOptions {
    pub fn new(pam_stack: &str) -> SshdOptions {
        SshdOptions {
            pam_stack: pam_stack.to_string(),
            keys_command: None,
            touch_required: false,
            extra: Vec::new(),
            service: None,
            syslog: None,
            nsswitch: None,
            extra_pam_services: Vec::new(),
            sudoers: None,
            root_authorized_keys: None,
        }
    }

    /// Sends syslog(3) of sshd and its PAM modules to `capture`.
    pub fn syslog_to(mut self, capture: &crate::syslog::SyslogCapture) -> SshdOptions {
        self.syslog = Some((capture.socket.clone(), capture.hostdev.clone()));
        self
    }

    /// Uses `name` as the PAM service (tests that must name it in agent.yaml first).
    pub fn service_name(mut self, name: &str) -> SshdOptions {
        self.service = Some(name.to_string());
        self
    }

    /// Adds `/etc/pam.d/<name>` with `text` to sshd's private PAM directory.
    pub fn pam_service_file(mut self, name: &str, text: &str) -> SshdOptions {
        assert!(
            !name.is_empty() && !name.contains('/') && name != "." && name != "..",
            "bad PAM service name {name:?}"
        );
        self.extra_pam_services
            .push((name.to_string(), text.to_string()));
        self
    }

    /// Gives sshd's sessions a private `/etc/sudoers` with this text.
    pub fn sudoers(mut self, text: &str) -> SshdOptions {
        self.sudoers = Some(text.to_string());
        self
    }

    /// Lets root log in with these authorized_keys lines (see
    /// [`SshdOptions::root_authorized_keys`]).
    pub fn root_keys(mut self, lines: &[&str]) -> SshdOptions {
        let mut text = lines.join("\n");
        text.push('\n');
        self.root_authorized_keys = Some(text);
        self
    }

    /// sshd's namespace gets `conf` as `/etc/nsswitch.conf` and runs sshd
    /// with `lib_dir` (its NSS modules) in `LD_LIBRARY_PATH`.
    pub fn nsswitch(mut self, conf: &Path, lib_dir: &Path) -> SshdOptions {
        self.nsswitch = Some((conf.to_path_buf(), lib_dir.to_path_buf()));
        self
    }

    /// `AuthorizedKeysCommand /run/t/mfactl --socket <socket> authorized-keys %u`.
    pub fn keys_from_agent(mut self, socket: &Path) -> SshdOptions {
        let program = crate::bins::mfactl();
        crate::bins::require(&program);
        self.keys_command = Some(KeysCommand {
            program,
            args: format!("--socket {} authorized-keys %u", socket.display()),
        });
        self
    }

    /// Any AuthorizedKeysCommand program (copied to `/run/t`) with its arguments.
    pub fn keys_command(mut self, program: &Path, args: &str) -> SshdOptions {
        self.keys_command = Some(KeysCommand {
            program: program.to_path_buf(),
            args: args.into(),
        });
        self
    }

    pub(crate) fn render(&self, port: u16, host_key: &Path, pid_file: &Path) -> String {
        let mut c = vec![
            format!("Port {port}"),
            "ListenAddress 127.0.0.1".into(),
            format!("HostKey {}", host_key.display()),
            format!("PidFile {}", pid_file.display()),
            "LogLevel DEBUG3".into(),
            "UsePAM yes".into(),
            "PasswordAuthentication no".into(),
            "KbdInteractiveAuthentication yes".into(),
            "PubkeyAuthentication yes".into(),
            "AuthenticationMethods publickey,keyboard-interactive".into(),
            "ExposeAuthInfo yes".into(),
            format!(
                "PermitRootLogin {}",
                if self.root_authorized_keys.is_some() {
                    "yes"
                } else {
                    "no"
                }
            ),
            "AuthorizedKeysFile .ssh/authorized_keys".into(),
            "PrintMotd no".into(),
            "PrintLastLog no".into(),
            "UseDNS no".into(),
            "MaxStartups 50:30:100".into(),
            "LoginGraceTime 60".into(),
        ];
        if let Some(k) = &self.keys_command {
            c.push(format!(
                "AuthorizedKeysCommand {} {}",
                k.installed_path(),
                k.args
            ));
            c.push("AuthorizedKeysCommandUser nobody".into());
        }
        if self.touch_required {
            c.push("PubkeyAuthOptions touch-required".into());
        }
        c.extend(self.extra.iter().cloned());
        let mut text = c.join("\n");
        text.push('\n');
        text
    }
}
