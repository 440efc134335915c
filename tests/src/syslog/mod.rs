//! A private `/dev/log` for processes in a test's mount namespace.
//!
//! These machines run no syslog daemon. [`SyslogCapture`] binds a datagram
//! socket in the work dir and collects what arrives; [`DEV_LOG_SETUP`] is the
//! shell that, inside `unshare --mount`, puts a tmpfs over `/dev`, re-binds every
//! entry of the real `/dev` into it, and binds the capture socket as `/dev/log`.
//! The host's `/dev` is never changed.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::process::wait_until;
use crate::workdir::WorkDir;

/// Shell for inside a private mount namespace. Expects `$SYSLOG_SOCK` (the
/// capture socket) and `$HOSTDEV` (an empty directory) to be set.
pub const DEV_LOG_SETUP: &str = r#"
mount --rbind /dev "$HOSTDEV"
mount -t tmpfs -o mode=755 tmpfs /dev
for e in "$HOSTDEV"/* "$HOSTDEV"/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n=${e##*/}
    [ "$n" = log ] && continue
    if [ -L "$e" ]; then cp -P "$e" "/dev/$n"
    elif [ -d "$e" ]; then mkdir "/dev/$n"; mount --rbind "$e" "/dev/$n"
    else touch "/dev/$n"; mount --bind "$e" "/dev/$n"
    fi
done
touch /dev/log
mount --bind "$SYSLOG_SOCK" /dev/log
"#;

/// Collects syslog datagrams sent to its socket.
pub struct SyslogCapture {
    pub socket: PathBuf,
    /// The empty directory the namespace script binds the real /dev to.
    pub hostdev: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SyslogCapture {
    pub fn start(work: &WorkDir) -> SyslogCapture {
        let name = crate::unique_name("syslog-");
        let socket = work.join(&format!("{name}.sock"));
        let hostdev = work.subdir(&format!("{name}-hostdev"), 0o755);
        let sock = UnixDatagram::bind(&socket).expect("bind syslog capture");
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, s) = (lines.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 16 * 1024];
            while !s.load(Ordering::SeqCst) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).trim_end().to_string();
                    l.lock().unwrap_or_else(|p| p.into_inner()).push(text);
                }
            }
        });
        SyslogCapture {
            socket,
            hostdev,
            lines,
            stop,
            thread: Some(thread),
        }
    }

    /// Environment for [`DEV_LOG_SETUP`].
    pub fn env(&self) -> [(&'static str, &Path); 2] {
        [
            ("SYSLOG_SOCK", self.socket.as_path()),
            ("HOSTDEV", self.hostdev.as_path()),
        ]
    }

    /// Every message so far (`<PRI>` prefix included).
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits (bounded) for a message containing `needle`.
    pub fn wait_for(&self, needle: &str, deadline: Duration) -> Option<String> {
        let mut found = None;
        wait_until(deadline, Duration::from_millis(50), || {
            found = self.lines().into_iter().find(|l| l.contains(needle));
            found.is_some()
        });
        found
    }
}

impl Drop for SyslogCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}
