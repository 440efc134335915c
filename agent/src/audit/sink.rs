//! Where audit events go: journald, else syslog, else stderr (or a file).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::event::AuditEvent;
use super::stderr_line::write_stderr;

const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";
const SYSLOG_SOCKET: &str = "/dev/log";
/// LOG_AUTHPRIV (10 << 3).
const AUTHPRIV: u8 = 80;

/// The configured sink, as written in agent.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    Auto,
    Journald,
    Syslog,
    Stderr,
    File(PathBuf),
}

impl SinkSpec {
    pub fn parse(text: &str) -> Result<SinkSpec, String> {
        match text {
            "auto" => Ok(SinkSpec::Auto),
            "journald" => Ok(SinkSpec::Journald),
            "syslog" => Ok(SinkSpec::Syslog),
            "stderr" => Ok(SinkSpec::Stderr),
            _ => match text.strip_prefix("file:") {
                Some(p) if p.starts_with('/') => Ok(SinkSpec::File(PathBuf::from(p))),
                _ => Err(format!(
                    "audit.sink '{text}' must be auto, journald, syslog, stderr or file:/absolute/path"
                )),
            },
        }
    }
}

/// An open sink. Writing never fails the decision: a sink that cannot be
/// written falls back to stderr, so the event is never silently lost.
pub enum AuditSink {
    Journald(UnixDatagram),
    Syslog(UnixDatagram),
    Stderr,
    File(Mutex<File>),
}

impl AuditSink {
    pub fn open(spec: &SinkSpec) -> Result<AuditSink, String> {
        match spec {
            SinkSpec::Auto => {
                if Path::new(JOURNALD_SOCKET).exists() {
                    if let Ok(s) = AuditSink::open(&SinkSpec::Journald) {
                        return Ok(s);
                    }
                }
                if Path::new(SYSLOG_SOCKET).exists() {
                    if let Ok(s) = AuditSink::open(&SinkSpec::Syslog) {
                        return Ok(s);
                    }
                }
                Ok(AuditSink::Stderr)
            }
            SinkSpec::Journald => datagram(JOURNALD_SOCKET).map(AuditSink::Journald),
            SinkSpec::Syslog => datagram(SYSLOG_SOCKET).map(AuditSink::Syslog),
            SinkSpec::Stderr => Ok(AuditSink::Stderr),
            SinkSpec::File(path) => open_private_file(path)
                .map(|f| AuditSink::File(Mutex::new(f)))
                .map_err(|e| format!("cannot open audit file {}: {e}", path.display())),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            AuditSink::Journald(_) => "journald",
            AuditSink::Syslog(_) => "syslog",
            AuditSink::Stderr => "stderr",
            AuditSink::File(_) => "file",
        }
    }

    pub fn write(&self, ev: &AuditEvent) {
        let json = serde_json::to_string(ev).unwrap_or_else(|_| "{}".into());
        let ok = match self {
            AuditSink::Journald(sock) => send_now(sock, journald_record(ev, &json).as_bytes()),
            AuditSink::Syslog(sock) => {
                let prio = AUTHPRIV
                    + if ev.result == "allow" || ev.result == "ok" {
                        6
                    } else {
                        5
                    };
                let line = format!(
                    "<{prio}>mfa-agent[{}]: {} {json}",
                    std::process::id(),
                    ev.summary()
                );
                send_now(sock, line.as_bytes())
            }
            AuditSink::Stderr => {
                write_stderr(&json);
                true
            }
            // One write(2) per record, with the file opened O_APPEND: the
            // line lands whole, and is in the kernel's hands before the
            // decision is answered (an agent crash cannot lose it).
            AuditSink::File(f) => match f.lock() {
                Ok(mut f) => {
                    let mut line = json.clone().into_bytes();
                    line.push(b'\n');
                    f.write_all(&line).is_ok()
                }
                Err(_) => false,
            },
        };
        if !ok {
            write_stderr(&json);
        }
    }
}

fn datagram(path: &str) -> Result<UnixDatagram, String> {
    let s = UnixDatagram::unbound().map_err(|e| e.to_string())?;
    s.connect(path)
        .map_err(|e| format!("cannot connect to {path}: {e}"))?;
    Ok(s)
}

/// Sends one record without waiting for room in journald's or syslog's
/// queue. Every decision writes one before it is answered: a daemon that
/// stalls (or that a local user keeps busy with `logger` floods) must not
/// hold every login. When the queue is full the record goes to stderr.
fn send_now(sock: &UnixDatagram, record: &[u8]) -> bool {
    use rustix::net::SendFlags;
    rustix::net::send(sock, record, SendFlags::DONTWAIT | SendFlags::NOSIGNAL).is_ok()
}

/// journald's native protocol: KEY=value lines. Values are single-line here
/// (newlines are replaced), so the simple form is always valid.
fn journald_record(ev: &AuditEvent, json: &str) -> String {
    let clean = |s: &str| s.replace('\n', " ");
    let prio = if ev.result == "allow" || ev.result == "ok" {
        6
    } else {
        5
    };
    let mut out = format!(
        "MESSAGE={}\nPRIORITY={prio}\nSYSLOG_FACILITY=10\nSYSLOG_IDENTIFIER=mfa-agent\nPAM_MFA_EVENT={}\nPAM_MFA_JSON={}\n",
        clean(&ev.summary()),
        clean(&ev.event),
        clean(json)
    );
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(ev) {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            out.push_str(&format!(
                "PAM_MFA_{}={}\n",
                k.to_ascii_uppercase(),
                clean(&v)
            ));
        }
    }
    out
}

/// The audit file, for appending: never through a symlink, never a FIFO
/// or device (opened non-blocking, so a FIFO planted there cannot hang the
/// agent's start), only a regular file of the agent's own, readable by no
/// one else (a file left 0644, or created by a user in a directory they may
/// write, would show every login's audit to that user).
fn open_private_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(flags.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    let me = rustix::process::geteuid().as_raw();
    let refuse = |why: &str| {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            why,
        ))
    };
    if !meta.file_type().is_file() {
        return refuse("not a regular file");
    }
    if meta.uid() != me {
        return refuse(&format!("owned by uid {}, not {me}", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    // Writes are one line each and small: blocking is fine from here on.
    rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::APPEND)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(SinkSpec::parse("auto").unwrap(), SinkSpec::Auto);
        assert_eq!(
            SinkSpec::parse("file:/var/log/x").unwrap(),
            SinkSpec::File("/var/log/x".into())
        );
        assert!(SinkSpec::parse("file:relative").is_err());
        assert!(SinkSpec::parse("kafka").is_err());
    }

    #[test]
    fn file_sink_writes_json_lines() {
        let dir = std::env::temp_dir().join(format!("pam-mfa-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.log");
        let sink = AuditSink::open(&SinkSpec::File(path.clone())).unwrap();
        let mut ev = AuditEvent::new("decision", "deny", "prod3", "abc", "needs a tap".into());
        ev.login = Some("jerry".into());
        sink.write(&ev);
        sink.write(&ev);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["login"], "jerry");
        assert_eq!(lines[0]["result"], "deny");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_audit_file_is_private_and_never_a_fifo_or_someone_elses() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("pam-mfa-audit-own-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Left world-readable: made private.
        let loose = dir.join("loose.log");
        std::fs::write(&loose, "").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(AuditSink::open(&SinkSpec::File(loose.clone())).is_ok());
        assert_eq!(std::fs::metadata(&loose).unwrap().mode() & 0o777, 0o600);
        // A FIFO: refused at once (a blocking open would wait for a reader).
        let fifo = dir.join("fifo.log");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let f = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(AuditSink::open(&SinkSpec::File(f)).is_err());
        });
        let refused = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(refused, Ok(true), "a FIFO was opened, or the open hung");
        // Someone else's file (when running as root, as the agent does).
        if rustix::process::geteuid().is_root() {
            let theirs = dir.join("theirs.log");
            std::fs::write(&theirs, "").unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
            let err = AuditSink::open(&SinkSpec::File(theirs.clone()))
                .err()
                .unwrap();
            assert!(err.contains("owned by uid 65534"), "{err}");
            assert_eq!(std::fs::metadata(&theirs).unwrap().uid(), 65534);
        }
        // With a reader on the FIFO the thread above may still block: free it.
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_journal_that_reads_nothing_does_not_hold_the_decision() {
        let dir = std::env::temp_dir().join(format!("pam-mfa-audit-stall-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.sock");
        let _journal = UnixDatagram::bind(&path).unwrap(); // never reads
        let sink = AuditSink::Journald(datagram(path.to_str().unwrap()).unwrap());
        let ev = AuditEvent::new("decision", "allow", "n", "r", "ok".into());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Enough records to fill the queue, then some.
            for _ in 0..600 {
                sink.write(&ev);
            }
            let _ = tx.send(());
        });
        let done = rx.recv_timeout(std::time::Duration::from_secs(60));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(done.is_ok(), "an audit write waited on a stalled journal");
    }

    #[test]
    fn journald_record_is_key_value_lines() {
        let mut ev = AuditEvent::new("decision", "allow", "dev1", "r1", "line1\nline2".into());
        ev.login = Some("jerry".into());
        let json = serde_json::to_string(&ev).unwrap();
        let rec = journald_record(&ev, &json);
        for line in rec.lines() {
            assert!(line.contains('='), "{line}");
        }
        assert!(rec.contains("PAM_MFA_LOGIN=jerry\n"));
        assert!(rec.contains("PAM_MFA_REASON=line1 line2\n"));
        assert!(rec.contains("PRIORITY=6\n"));
    }
}
