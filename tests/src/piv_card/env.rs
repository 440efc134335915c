//! pcscd with vsmartcard's vpcd driver and the software PIV card, in private mount and
//! network namespaces: a tmpfs on `/run` gives pcscd its own `/run/pcscd/pcscd.comm`,
//! and vpcd's listener (0.0.0.0:35963) is reachable only inside the private network.
//!
//! ```ignore
//! # use pam_mfa_e2e::piv_card::env::{PcscEnv, CardOptions};
//! let mut env = PcscEnv::start("piv");
//! env.start_card(std::path::Path::new(env!("CARGO_BIN_EXE_piv-card")), &CardOptions::default());
//! let out = env.run(&["opensc-tool", "--list-readers"]);
//! ```
//! Every client tool runs through [`PcscEnv::command`] (nsenter into the namespaces).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::{kill_tree, run_with_timeout, wait_until, Finished};
use crate::workdir::WorkDir;

use super::attest::Authority;

const START_DEADLINE: Duration = Duration::from_secs(20);
/// Deadline of one client tool run.
pub const TOOL_DEADLINE: Duration = Duration::from_secs(60);

/// Namespace shell: loopback up, a private /run, then pcscd in the foreground (it
/// stays the namespaces' first process, so nsenter targets its PID).
const NAMESPACE_SCRIPT: &str = r#"set -e
ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/pcscd
exec pcscd --foreground --info --apdu
"#;

/// How to set up the card.
#[derive(Debug, Clone)]
pub struct CardOptions {
    pub pin: String,
    pub puk: String,
    /// `3des:HEX`, `aes192:HEX` or HEX.
    pub management_key: Option<String>,
    pub serial: u32,
    pub firmware: String,
    pub form_factor: u8,
    /// `touched`, `not touched` or `delay N ms`.
    pub touch: String,
    /// Seed of the test root the card's F9 certificate is issued under.
    pub root_seed: String,
}

impl Default for CardOptions {
    fn default() -> CardOptions {
        CardOptions {
            pin: "123456".into(),
            puk: "12345678".into(),
            management_key: None,
            serial: 10_000_001,
            firmware: "5.4.3".into(),
            form_factor: 1,
            touch: "touched".into(),
            root_seed: "pam-mfa-tests".into(),
        }
    }
}

/// A running pcscd in its namespaces, and at most one card.
pub struct PcscEnv {
    pcscd: Option<Child>,
    card: Option<Child>,
    dir: WorkDir,
}

impl PcscEnv {
    /// Starts pcscd in fresh namespaces; panics (naming the log) when it does not come up.
    pub fn start(label: &str) -> PcscEnv {
        let dir = WorkDir::new(label);
        let log = std::fs::File::create(dir.join("pcscd.log")).expect("pcscd log");
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--net", "--propagation", "private", "sh", "-c"])
            .arg(NAMESPACE_SCRIPT)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        let child = cmd.spawn().expect("spawn unshare pcscd");
        let mut env = PcscEnv {
            pcscd: Some(child),
            card: None,
            dir,
        };
        let up = wait_until(START_DEADLINE, Duration::from_millis(50), || {
            env.pcscd_exited()
                || env
                    .command("test")
                    .args(["-S", "/run/pcscd/pcscd.comm"])
                    .status()
                    .is_ok_and(|s| s.success())
        });
        if !up || env.pcscd_exited() {
            panic!("pcscd did not start:\n{}", env.pcscd_log());
        }
        env
    }

    fn pcscd_exited(&mut self) -> bool {
        self.pcscd
            .as_mut()
            .is_none_or(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    fn pid(&self) -> u32 {
        self.pcscd.as_ref().expect("pcscd running").id()
    }

    /// pcscd's pid: `/proc/PID/root/run/pcscd/pcscd.comm` reaches it from
    /// outside the namespaces (libpcsclite's `PCSCLITE_CSOCK_NAME`).
    pub fn pcscd_pid(&self) -> u32 {
        self.pid()
    }

    /// A command that runs inside the namespaces.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--target={}", self.pid()))
            .args(["--mount", "--net", "--"])
            .arg(program);
        c
    }

    /// Runs `argv` inside the namespaces with [`TOOL_DEADLINE`].
    /// `nsenter` into the mount namespace only: a program run under it
    /// reaches this pcscd (`/run/pcscd`) but keeps the host's network, so an
    /// ssh client with opensc's PKCS#11 module can reach an sshd on loopback.
    pub fn mount_only_prefix(&self) -> Vec<String> {
        vec![
            "nsenter".into(),
            format!("--target={}", self.pid()),
            "--mount".into(),
            "--".into(),
        ]
    }

    pub fn run(&self, argv: &[&str]) -> Finished {
        let mut c = self.command(argv[0]);
        c.args(&argv[1..]);
        run_with_timeout(&mut c, TOOL_DEADLINE)
    }

    /// The work directory (outside the private /run; visible to both sides).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pcscd_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pcscd.log")).unwrap_or_default()
    }

    pub fn card_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("card.log")).unwrap_or_default()
    }

    /// The file the card reads its touch answer from at every touch; see
    /// [`set_touch`](Self::set_touch).
    pub fn touch_file(&self) -> PathBuf {
        self.dir.join("touch")
    }

    /// Changes the running card's touch answer (`touched`, `not touched`, `delay N ms`).
    pub fn set_touch(&self, answer: &str) {
        crate::workdir::write_atomic(&self.touch_file(), answer, 0o644);
    }

    /// Path of the test root certificate (PEM) the card's F9 certificate chains to.
    pub fn root_cert_path(&self) -> PathBuf {
        self.dir.join("root.pem")
    }

    /// Starts the card (binary `bin`, normally `env!("CARGO_BIN_EXE_piv-card")`) and
    /// waits until pcscd has powered it.
    pub fn start_card(&mut self, bin: &Path, opts: &CardOptions) {
        self.stop_card();
        let root = Authority::test_root(&opts.root_seed);
        let root_cert = self.root_cert_path();
        let root_key = self.dir.join("root.key");
        crate::workdir::write_atomic(&root_cert, &root.cert_pem(), 0o644);
        crate::workdir::write_atomic(&root_key, &root.key_pem(), 0o600);
        self.set_touch(&opts.touch);
        let log_path = self.dir.join("card.log");
        let _ = std::fs::remove_file(&log_path);
        let log = std::fs::File::create(&log_path).expect("card log");
        let mut c = self.command(bin.to_str().expect("utf-8 path"));
        c.arg("--pin")
            .arg(&opts.pin)
            .arg("--puk")
            .arg(&opts.puk)
            .arg("--serial")
            .arg(opts.serial.to_string())
            .arg("--firmware")
            .arg(&opts.firmware)
            .arg("--form-factor")
            .arg(opts.form_factor.to_string())
            .arg("--touch")
            .arg(&opts.touch)
            .arg("--touch-file")
            .arg(self.touch_file())
            .arg("--attestation-root-cert")
            .arg(&root_cert)
            .arg("--attestation-root-key")
            .arg(&root_key)
            .arg("--trace");
        if let Some(k) = &opts.management_key {
            c.arg("--management-key").arg(k);
        }
        c.stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log);
        self.card = Some(c.spawn().expect("spawn piv-card"));
        let ok = wait_until(START_DEADLINE, Duration::from_millis(50), || {
            self.card_log().contains("powered on")
        });
        assert!(
            ok,
            "the card was not powered by pcscd:\ncard:\n{}\npcscd:\n{}",
            self.card_log(),
            self.pcscd_log()
        );
    }

    /// Stops the card (the reader then reports no card).
    pub fn stop_card(&mut self) {
        if let Some(mut c) = self.card.take() {
            kill_tree(c.id() as i32, Duration::from_secs(2));
            let _ = c.wait();
        }
    }
}

impl Drop for PcscEnv {
    fn drop(&mut self) {
        self.stop_card();
        if let Some(mut c) = self.pcscd.take() {
            kill_tree(c.id() as i32, Duration::from_secs(2));
            let _ = c.wait();
        }
    }
}
