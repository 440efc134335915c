use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::SshdOptions;
use crate::bins;
use crate::process::{in_new_session, kill_tree, pid_alive, run_checked, wait_until};
use crate::workdir::{write_atomic, WorkDir};

const START_DEADLINE: Duration = Duration::from_secs(10);

/// Ports handed out by this process, so parallel tests never pick the same one.
static PORTS: Mutex<Vec<u16>> = Mutex::new(Vec::new());

pub fn free_port() -> u16 {
    let mut taken = PORTS.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local addr").port();
        if !taken.contains(&port) {
            taken.push(port);
            return port;
        }
    }
}

/// The shell run inside the private mount namespace. Positional parameters:
/// $1 pam.d dir, $2 keys command program (or empty), $3 sshd symlink, $4 config,
/// $5 log, $6 where the keys command goes under /run/t, $7 a private sudoers
/// file to bind over /etc/sudoers (or empty), $8 root's authorized_keys (or
/// empty): copied onto a tmpfs over `~root/.ssh` (over `~root` when the host
/// has no `.ssh` there, so nothing is created on the host). `$NSSWITCH`, when
/// set, is bind-mounted over `/etc/nsswitch.conf`.
const NAMESPACE_SCRIPT: &str = r#"set -e
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sshd /run/t
chmod 755 /run/t
if [ -n "$2" ]; then install -m 755 -o root -g root "$2" "$6"; fi
mount --bind "$1" /etc/pam.d
if [ -n "$7" ]; then mount --bind "$7" /etc/sudoers; fi
if [ -n "${NSSWITCH:-}" ]; then mount --bind "$NSSWITCH" /etc/nsswitch.conf; fi
unset NSSWITCH
if [ -n "$8" ]; then
  home=$(getent passwd root | cut -d: -f6)
  [ -d "$home" ] && [ ! -L "$home" ] || { echo "root's home $home is not a directory"; exit 1; }
  if [ -d "$home/.ssh" ] && [ ! -L "$home/.ssh" ]; then
    mount -t tmpfs -o mode=700,uid=0,gid=0 tmpfs "$home/.ssh"
  else
    mount -t tmpfs -o mode=700,uid=0,gid=0 tmpfs "$home"
    mkdir -m 700 "$home/.ssh"
  fi
  install -m 600 -o root -g root "$8" "$home/.ssh/authorized_keys"
fi
if [ -n "${SYSLOG_SOCK:-}" ]; then eval "$DEV_LOG_SETUP"; fi
unset SYSLOG_SOCK HOSTDEV DEV_LOG_SETUP
exec "$3" -D -f "$4" -E "$5"
"#;

/// A running sshd (see the module docs). Killed with its whole process tree on drop.
pub struct Sshd {
    child: Option<Child>,
    pub port: u16,
    /// The PAM service name (the symlink's name), `sshd-mfat<random>`.
    pub service: String,
    pub dir: PathBuf,
    pub log_path: PathBuf,
    pub pam_file: PathBuf,
    pub config_path: PathBuf,
}

/// The files of one sshd, made before it starts.
struct Layout {
    service: String,
    dir: PathBuf,
    /// sshd through a symlink named as the PAM service.
    link: PathBuf,
    pam_dir: PathBuf,
    pam_file: PathBuf,
    sudoers: Option<PathBuf>,
    root_keys: Option<PathBuf>,
    host_key: PathBuf,
    keys_program: String,
    keys_installed: String,
    log_path: PathBuf,
    config_path: PathBuf,
}

impl Layout {
    fn create(work: &WorkDir, opts: &SshdOptions) -> Layout {
        let service = opts
            .service
            .clone()
            .unwrap_or_else(|| crate::unique_name("sshd-mfat"));
        let dir = work.subdir(&service, 0o755);
        let link = dir.join(&service);
        std::os::unix::fs::symlink(bins::SSHD, &link).expect("symlink sshd");
        let pam_dir = dir.join("pam.d");
        std::fs::create_dir(&pam_dir).expect("mkdir pam.d");
        let pam_file = pam_dir.join(&service);
        write_atomic(&pam_file, &opts.pam_stack, 0o644);
        for (name, text) in &opts.extra_pam_services {
            assert_ne!(name, &service, "an extra PAM file would replace sshd's");
            write_atomic(&pam_dir.join(name), text, 0o644);
        }
        // sudo wants its policy root-owned and not writable by group or others.
        let sudoers = opts.sudoers.as_ref().map(|text| {
            let p = dir.join("sudoers");
            write_atomic(&p, text, 0o440);
            std::os::unix::fs::chown(&p, Some(0), Some(0)).expect("chown sudoers");
            p
        });
        let root_keys = opts.root_authorized_keys.as_ref().map(|text| {
            let p = dir.join("root_authorized_keys");
            write_atomic(&p, text, 0o600);
            p
        });
        let host_key = dir.join("host_ed25519");
        run_checked(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&host_key),
        );
        let (keys_program, keys_installed) = match &opts.keys_command {
            Some(k) => (k.program.display().to_string(), k.installed_path()),
            None => (String::new(), String::new()),
        };
        Layout {
            log_path: dir.join("sshd.log"),
            config_path: dir.join("sshd_config"),
            service,
            dir,
            link,
            pam_dir,
            pam_file,
            sudoers,
            root_keys,
            host_key,
            keys_program,
            keys_installed,
        }
    }

    /// Starts sshd on `port` inside its private mount namespace (its own
    /// session, so it can be killed with everything it starts).
    fn spawn(&self, opts: &SshdOptions, port: u16) -> Child {
        write_atomic(
            &self.config_path,
            &opts.render(port, &self.host_key, &self.dir.join("sshd.pid")),
            0o644,
        );
        let _ = std::fs::remove_file(&self.log_path);
        let stderr = std::fs::File::create(self.dir.join("sshd.stderr")).expect("stderr file");
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            NAMESPACE_SCRIPT,
            "sh",
        ])
        .arg(&self.pam_dir)
        .arg(&self.keys_program)
        .arg(&self.link)
        .arg(&self.config_path)
        .arg(&self.log_path)
        .arg(&self.keys_installed)
        .arg(self.sudoers.as_deref().unwrap_or(std::path::Path::new("")))
        .arg(
            self.root_keys
                .as_deref()
                .unwrap_or(std::path::Path::new("")),
        )
        .env_remove("SYSLOG_SOCK")
        .env_remove("NSSWITCH")
        .stdin(Stdio::null())
        .stdout(stderr.try_clone().expect("dup"))
        .stderr(stderr);
        if let Some((sock, hostdev)) = &opts.syslog {
            cmd.env("SYSLOG_SOCK", sock)
                .env("HOSTDEV", hostdev)
                .env("DEV_LOG_SETUP", crate::syslog::DEV_LOG_SETUP);
        }
        if let Some((conf, lib_dir)) = &opts.nsswitch {
            cmd.env("NSSWITCH", conf).env("LD_LIBRARY_PATH", lib_dir);
        }
        in_new_session(&mut cmd);
        cmd.spawn().expect("spawn unshare sshd")
    }
}

impl Sshd {
    pub fn start(work: &WorkDir, opts: &SshdOptions) -> Sshd {
        let layout = Layout::create(work, opts);
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let child = layout.spawn(opts, port);
            let mut s = Sshd {
                child: Some(child),
                port,
                service: layout.service.clone(),
                dir: layout.dir.clone(),
                log_path: layout.log_path.clone(),
                pam_file: layout.pam_file.clone(),
                config_path: layout.config_path.clone(),
            };
            let listening = format!("Server listening on 127.0.0.1 port {port}");
            let mut died = false;
            wait_until(START_DEADLINE, Duration::from_millis(25), || {
                if let Some(c) = s.child.as_mut() {
                    if let Ok(Some(_)) = c.try_wait() {
                        died = true;
                        return true;
                    }
                }
                s.log().contains(&listening)
            });
            if !died && s.log().contains(&listening) {
                return s;
            }
            last_log = format!("{}\n(stderr) {}", s.log(), s.stderr());
            s.stop();
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("sshd did not start:\n{last_log}");
    }

    /// sshd's own log (`-E`), DEBUG3.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Output of the namespace setup script (mount errors and the like).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.stderr")).unwrap_or_default()
    }

    /// The log from byte `from` on (see [`Sshd::log_len`]).
    pub fn log_since(&self, from: usize) -> String {
        let bytes = std::fs::read(&self.log_path).unwrap_or_default();
        String::from_utf8_lossy(bytes.get(from..).unwrap_or_default()).into_owned()
    }

    pub fn log_len(&self) -> usize {
        std::fs::metadata(&self.log_path)
            .map(|m| m.len() as usize)
            .unwrap_or(0)
    }

    /// Replaces the PAM service file; the next connection uses it.
    pub fn set_pam_stack(&self, text: &str) {
        write_atomic(&self.pam_file, text, 0o644);
    }

    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    /// Whether the listening sshd still runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)) && pid_alive(c.id() as i32),
            None => false,
        }
    }

    /// Kills sshd and every process it started (connections, sessions).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_tree(c.id() as i32, Duration::from_secs(3));
            let _ = c.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}
