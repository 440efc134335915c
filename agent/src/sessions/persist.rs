//! The session list on disk, so an agent restart (an upgrade) does not make
//! live sessions immune to locks. Kept beside the socket (`agent.sock` →
//! `agent.sessions.json`, on /run: sessions do not outlive a boot), written
//! atomically (a new 0600 file renamed over the old one), read only when it
//! is a regular file of the agent's own user that nobody else can read or
//! write. A record counts only while its process (pid and start time) runs.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::procs::ProcId;
use super::registry::Session;
use crate::policy::{ServiceClass, User};

/// Larger files are not read (10,000 sessions fit easily).
const MAX_FILE: u64 = 32 * 1024 * 1024;
const VERSION: u32 = 1;

/// Where the list of the agent listening on `socket` is kept.
pub fn sessions_file(socket: &Path) -> PathBuf {
    socket.with_extension("sessions.json")
}

#[derive(Serialize, Deserialize)]
struct FileBody {
    version: u32,
    next: u64,
    sessions: Vec<Record>,
}

#[derive(Serialize, Deserialize)]
struct Record {
    id: String,
    pid: i32,
    start: u64,
    account: String,
    login: String,
    class: String,
    user: Option<String>,
    identity: Option<Identity>,
    device: Option<String>,
    evidence: String,
    service: String,
    tty: Option<String>,
    rhost: Option<String>,
    opened_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    name: String,
    roles: Vec<String>,
    traits: BTreeMap<String, Vec<String>>,
}

fn class_named(name: &str) -> Option<ServiceClass> {
    [
        ServiceClass::Ssh,
        ServiceClass::Admin,
        ServiceClass::Desktop,
    ]
    .into_iter()
    .find(|c| c.name() == name)
}

fn record(s: &Session) -> Record {
    Record {
        id: s.id.clone(),
        pid: s.leader.pid,
        start: s.leader.start,
        account: s.account.clone(),
        login: s.login.clone(),
        class: s.class.name().into(),
        user: s.user.clone(),
        identity: s.identity.as_ref().map(|u| Identity {
            name: u.name.clone(),
            roles: u.roles.clone(),
            traits: u.traits.clone(),
        }),
        device: s.device.clone(),
        evidence: s.evidence.clone(),
        service: s.service.clone(),
        tty: s.tty.clone(),
        rhost: s.rhost.clone(),
        opened_ms: s
            .opened
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    }
}

fn session(r: Record) -> Option<Session> {
    Some(Session {
        id: r.id,
        leader: ProcId {
            pid: r.pid,
            start: r.start,
        },
        account: r.account,
        login: r.login,
        class: class_named(&r.class)?,
        user: r.user,
        identity: r.identity.map(|i| User {
            name: i.name,
            roles: i.roles,
            traits: i.traits,
        }),
        device: r.device,
        evidence: r.evidence,
        service: r.service,
        tty: r.tty,
        rhost: r.rhost,
        opened: SystemTime::UNIX_EPOCH + Duration::from_millis(r.opened_ms),
        // Whatever was ending it died with the last agent: judged afresh.
        ending: None,
    })
}

/// Writes the list: a fresh 0600 file in the same directory, renamed over
/// the old one (a symlink at the final name is replaced, never followed).
pub fn save(path: &Path, sessions: &[Session], next: u64) -> std::io::Result<()> {
    let body = FileBody {
        version: VERSION,
        next,
        sessions: sessions.iter().map(record).collect(),
    };
    let text = serde_json::to_vec(&body).map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&tmp)?;
    let written = f.write_all(&text).and_then(|_| f.flush());
    drop(f);
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Reads the list back: `Ok(None)` when there is no file; `Err` names what
/// is wrong with it (the caller starts with an empty list).
pub fn load(path: &Path) -> Result<Option<(Vec<Session>, u64)>, String> {
    let at = |m: String| format!("{}: {m}", path.display());
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(at(format!("cannot open: {e}"))),
    };
    let meta = f.metadata().map_err(|e| at(e.to_string()))?;
    let me = rustix::process::geteuid().as_raw();
    if !meta.is_file() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(at(format!(
            "not a regular file of uid {me} with mode 0600: ignored"
        )));
    }
    if meta.len() > MAX_FILE {
        return Err(at(format!("larger than {MAX_FILE} bytes: ignored")));
    }
    let mut text = Vec::new();
    f.read_to_end(&mut text).map_err(|e| at(e.to_string()))?;
    let body: FileBody =
        serde_json::from_slice(&text).map_err(|e| at(format!("not a session list: {e}")))?;
    if body.version != VERSION {
        return Err(at(format!(
            "version {} is not {VERSION}: ignored",
            body.version
        )));
    }
    Ok(Some((
        body.sessions.into_iter().filter_map(session).collect(),
        body.next,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::registry::tests::session as sample;
    use std::os::unix::fs::PermissionsExt;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "pam-mfa-sessions-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_and_refusals() {
        let d = dir();
        let path = sessions_file(&d.join("agent.sock"));
        assert_eq!(path, d.join("agent.sessions.json"));
        assert!(load(&path).unwrap().is_none());
        let mut a = sample(10, 10, "jerry");
        a.id = "10-1".into();
        a.ending = Some("locked".into());
        a.identity = Some(User {
            name: "jerry".into(),
            roles: vec!["r".into()],
            traits: BTreeMap::from([("logins".to_string(), vec!["jerry".to_string()])]),
        });
        save(&path, &[a.clone()], 7).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (back, next) = load(&path).unwrap().unwrap();
        assert_eq!(next, 7);
        assert_eq!(back.len(), 1);
        let b = &back[0];
        assert_eq!(
            (b.id.as_str(), b.leader, b.login.as_str()),
            ("10-1", a.leader, "jerry")
        );
        assert_eq!(b.identity, a.identity);
        assert_eq!(b.opened, a.opened);
        assert_eq!(b.ending, None, "judged afresh");
        // Readable by others: not trusted.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(&path).unwrap_err().contains("0600"));
        // A symlink is not followed.
        std::fs::remove_file(&path).unwrap();
        let real = d.join("elsewhere.json");
        save(&real, &[a], 1).unwrap();
        std::os::unix::fs::symlink(&real, &path).unwrap();
        assert!(load(&path).is_err());
        // Saving replaces the link, leaving its target alone.
        save(&path, &[], 2).unwrap();
        assert!(!std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(load(&real).unwrap().unwrap().0.len(), 1);
        // Garbage is refused with the file's name.
        std::fs::write(d.join("bad.json"), "{").unwrap();
        std::fs::set_permissions(d.join("bad.json"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        assert!(load(&d.join("bad.json")).unwrap_err().contains("bad.json"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
