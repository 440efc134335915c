//! The session list on disk, so an agent restart (an upgrade) does not make
//! live sessions immune to locks. Kept beside the socket (`agent.sock` →
//! `agent.sessions.json`, on /run: sessions do not outlive a boot).
//!
//! The file is a journal (JSON lines): a header `{"version":2,"next":N}`,
//! then `{"open":{...}}` and `{"close":"ID"}` records appended as sessions
//! come and go, so opening a session costs one short append, not a rewrite
//! of every session. When the journal has grown past twice the live list it
//! is compacted: written afresh (a new 0600 file renamed over the old one).
//! It is read or appended to only when it is a regular file of the agent's
//! own user that nobody else can read or write, opened without following a
//! symlink and without waiting on a FIFO (`open_own_private_file`):
//! anything else at its name is refused at once and never blocks a
//! session's open or close or the agent's start (and the socket's
//! directory is root's alone, ipc/socket_dir.rs). A torn last line (a
//! crash mid-append) is ignored. A record counts only while its process (pid and start time)
//! runs. A version 1 file (one JSON document, older agents) is read too.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::persist_record::{record, session, Record};
use super::session::Session;
use crate::sync::open_own_private_file;

/// Larger files are not read (10,000 sessions fit easily).
const MAX_FILE: u64 = 32 * 1024 * 1024;
const VERSION: u32 = 2;
/// The whole-document format of older agents (read, never written).
const VERSION_1: u32 = 1;

/// Where the list of the agent listening on `socket` is kept.
pub fn sessions_file(socket: &Path) -> PathBuf {
    socket.with_extension("sessions.json")
}

/// A version 1 file.
#[derive(Deserialize)]
struct FileBody {
    next: u64,
    sessions: Vec<Record>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    next: u64,
}

/// One journal line after the header.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entry {
    Open(Box<Record>),
    Close(String),
}

/// Writes the list afresh (compaction): a new 0600 file in the same
/// directory, renamed over the old one (a symlink at the final name is
/// replaced, never followed).
pub fn save(path: &Path, sessions: &[Session], next: u64) -> std::io::Result<()> {
    let mut text = line(&Header {
        version: VERSION,
        next,
    })?;
    for s in sessions {
        text.extend(line(&Entry::Open(Box::new(record(s))))?);
    }
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

/// Appends that `s` opened.
pub fn append_open(path: &Path, s: &Session) -> std::io::Result<()> {
    append(path, &line(&Entry::Open(Box::new(record(s))))?)
}

/// Appends that the sessions `ids` closed.
pub fn append_close<'a>(path: &Path, ids: impl Iterator<Item = &'a str>) -> std::io::Result<()> {
    let mut text = Vec::new();
    for id in ids {
        text.extend(line(&Entry::Close(id.to_string()))?);
    }
    append(path, &text)
}

fn line<T: Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    let mut v = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    v.push(b'\n');
    Ok(v)
}

/// One write to the end of the journal, which must exist already (it is
/// created by [`save`], 0600, never through a symlink) and be the agent's
/// own private regular file: anything else (a FIFO someone made there
/// first, another user's file) is refused at once, never waited on, and
/// the caller writes the list whole, replacing it.
fn append(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut f = open_own_private_file(path, true)?;
    f.write_all(text)
}

/// Reads the list back: `Ok(None)` when there is no file; `Err` names what
/// is wrong with it (the caller starts with an empty list).
pub fn load(path: &Path) -> Result<Option<(Vec<Session>, u64)>, String> {
    let at = |m: String| format!("{}: {m}", path.display());
    let mut f = match open_own_private_file(path, false) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(format!("{e}: ignored"))
        }
        Err(e) => return Err(at(format!("cannot open: {e}"))),
    };
    let meta = f.metadata().map_err(|e| at(e.to_string()))?;
    if meta.len() > MAX_FILE {
        return Err(at(format!("larger than {MAX_FILE} bytes: ignored")));
    }
    let mut text = Vec::new();
    f.read_to_end(&mut text).map_err(|e| at(e.to_string()))?;
    replay(&text).map(Some).map_err(at)
}

/// The sessions and next id a journal (or a version 1 file) describes.
fn replay(text: &[u8]) -> Result<(Vec<Session>, u64), String> {
    let mut lines = text.split(|b| *b == b'\n').enumerate().peekable();
    let (_, first) = lines.next().unwrap_or((0, b""));
    let version: serde_json::Value =
        serde_json::from_slice(first).map_err(|e| format!("not a session list: {e}"))?;
    match version.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(VERSION_1) => {
            let body: FileBody =
                serde_json::from_value(version).map_err(|e| format!("not a session list: {e}"))?;
            let list = body.sessions.into_iter().filter_map(session).collect();
            return Ok((list, body.next));
        }
        Some(v) if v == u64::from(VERSION) => {}
        other => return Err(format!("version {other:?} is not {VERSION}: ignored")),
    }
    let header: Header =
        serde_json::from_value(version).map_err(|e| format!("not a session list: {e}"))?;
    let mut next = header.next;
    let mut open: Vec<Session> = Vec::new();
    let mut damaged: Vec<usize> = Vec::new();
    while let Some((n, bytes)) = lines.next() {
        if bytes.is_empty() {
            continue;
        }
        let entry: Entry = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            // A crash mid-append leaves a torn last line: the rest stands.
            Err(_) if lines.peek().is_none() => break,
            // A damaged line costs that record only: forgetting every
            // session would leave them all out of reach of locks.
            Err(_) => {
                damaged.push(n + 1);
                continue;
            }
        };
        match entry {
            Entry::Open(r) => {
                let Some(s) = session(*r) else { continue };
                next = next.max(id_number(&s.id).saturating_add(1));
                open.retain(|o| o.id != s.id);
                open.push(s);
            }
            Entry::Close(id) => open.retain(|o| o.id != id),
        }
    }
    if !damaged.is_empty() {
        eprintln!(
            "mfa-agent: session journal: line(s) {} are not session records and were skipped; the other records stand",
            damaged
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok((open, next))
}

/// The counter part of a session id (`PID-N`).
fn id_number(id: &str) -> u64 {
    id.rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
