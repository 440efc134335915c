//! The last signature counter seen per device: a counter that does not
//! move forward means a cloned key (or two taps answered out of order). An
//! OpenSSH sk tap with one is refused; a WebAuthn one is accepted with a
//! clone warning, as Teleport's login flow accepts it.
//!
//! The daemon keeps them under the state directory
//! (`signature-counters.json`, written atomically after every change), so a
//! restart does not forget them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::sync::{read_private_file, write_private_file};

/// The file under the state directory.
pub const COUNTERS_FILE: &str = "signature-counters.json";

/// Told, in words, when a counter could not be saved (the agent audits it).
pub type SaveFailureReport = Box<dyn Fn(&str) + Send + Sync>;

#[derive(Default)]
pub struct SignatureCounters {
    inner: Mutex<Inner>,
    report: std::sync::OnceLock<SaveFailureReport>,
    /// WebAuthn clone warnings given since the start.
    clone_warnings: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Inner {
    last: BTreeMap<String, u32>,
    /// Where they are kept; `None`: in memory only (tests, `--check`).
    dir: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CountersFile {
    format: u32,
    counters: BTreeMap<String, u32>,
}

/// The counters of a counters file.
fn load_counters(path: &Path) -> Result<BTreeMap<String, u32>, String> {
    let raw = read_private_file(path, 64 << 20, true)?;
    let file: CountersFile = serde_json::from_slice(&raw)
        .map_err(|e| format!("{}: not a counters file: {e}", path.display()))?;
    if file.format != 1 {
        return Err(format!(
            "{}: unknown format {}",
            path.display(),
            file.format
        ));
    }
    Ok(file.counters)
}

impl SignatureCounters {
    /// Loads the counters kept in `dir` (none yet is fine) and keeps every
    /// change there from now on. A file that cannot be read or parsed is an
    /// error: it is moved aside (`signature-counters.json.bad-SECS`, kept for
    /// the investigation, never overwritten), and the counters start from
    /// what is in memory.
    pub fn persist_in(&self, dir: &Path) -> Result<usize, String> {
        let mut inner = self.lock();
        inner.dir = Some(dir.to_path_buf());
        let path = dir.join(COUNTERS_FILE);
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(0);
        }
        match load_counters(&path) {
            Ok(counters) => {
                let n = counters.len();
                for (device, c) in counters {
                    let e = inner.last.entry(device).or_insert(c);
                    *e = (*e).max(c);
                }
                Ok(n)
            }
            Err(why) => {
                let secs = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let aside = dir.join(format!("{COUNTERS_FILE}.bad-{secs}"));
                match std::fs::rename(&path, &aside) {
                    Ok(()) => Err(format!("{why} (moved aside to {})", aside.display())),
                    Err(e) => {
                        // Not moved: keep it, and keep the counters in memory only.
                        inner.dir = None;
                        Err(format!(
                            "{why}; could not move it aside ({e}): counters kept in memory only"
                        ))
                    }
                }
            }
        }
    }

    /// A WebAuthn counter as Teleport's login flow reads it
    /// (lib/auth/webauthn/login.go `finish`): one at or below `floor` (the
    /// one Teleport last saw) or the last one seen here is a clone warning,
    /// returned, and not recorded (the kept counter stays); otherwise it is
    /// recorded as [`SignatureCounters::check_and_record`] does.
    pub fn webauthn_clone_warning(&self, device: &str, floor: u32, counter: u32) -> Option<String> {
        let warning = if (floor != 0 || counter != 0) && counter <= floor {
            Some(format!(
                "its signature counter ({counter}) did not move past the one the cluster last saw ({floor})"
            ))
        } else {
            self.check_and_record(device, counter).err()
        };
        if warning.is_some() {
            self.clone_warnings
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        warning
    }

    /// How many WebAuthn clone warnings were given since the start.
    pub fn clone_warnings(&self) -> u64 {
        self.clone_warnings
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The last counter kept for `device`.
    #[cfg(test)]
    pub fn last_seen(&self, device: &str) -> Option<u32> {
        self.lock().last.get(device).copied()
    }

    /// Accepts `counter` for `device` when it is above the last one seen (a
    /// counter of 0 means the authenticator keeps none, and is accepted only
    /// while the device has never reported another). Records it on success.
    /// A failure to save is logged; the check itself has been made.
    pub fn check_and_record(&self, device: &str, counter: u32) -> Result<(), String> {
        let mut inner = self.lock();
        match inner.last.get(device).copied() {
            Some(last) if counter == 0 && last == 0 => Ok(()),
            Some(last) if counter <= last => Err(format!(
                "signature counter went from {last} to {counter}: the key may be cloned, or the answer replayed"
            )),
            _ => {
                inner.last.insert(device.to_string(), counter);
                if let Some(dir) = &inner.dir {
                    let file = CountersFile {
                        format: 1,
                        counters: inner.last.clone(),
                    };
                    let saved = serde_json::to_vec(&file)
                        .map_err(|e| e.to_string())
                        .and_then(|json| write_private_file(dir, COUNTERS_FILE, &json));
                    if let Err(e) = saved {
                        // The tap is verified against the counters in memory,
                        // which stay; the file keeps its last good contents
                        // (written atomically, never truncated) and catches up
                        // with the next save that works.
                        let why = format!(
                            "signature counter {counter} of {device} kept in memory only: {e}; \
a restart before the next successful save forgets it"
                        );
                        eprintln!("mfa-agent: {why}");
                        if let Some(report) = self.report.get() {
                            report(&why);
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Where save failures are reported (once; later calls are ignored).
    pub fn report_save_failures(&self, report: SaveFailureReport) {
        let _ = self.report.set(report);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Teleport's login flow: a WebAuthn counter behind the cluster's or
    /// the one seen here is a warning, and the kept counter stays.
    #[test]
    fn webauthn_counters_that_do_not_move_only_warn() {
        let c = SignatureCounters::default();
        assert!(c.webauthn_clone_warning("u/d", 50, 42).is_some());
        assert_eq!(c.last_seen("u/d"), None, "a warned counter is not kept");
        assert_eq!(c.webauthn_clone_warning("u/d", 50, 60), None);
        assert_eq!(c.last_seen("u/d"), Some(60));
        assert!(c.webauthn_clone_warning("u/d", 50, 55).is_some());
        assert_eq!(c.last_seen("u/d"), Some(60));
        assert_eq!(
            c.webauthn_clone_warning("u/k", 0, 0),
            None,
            "no counter kept"
        );
        assert_eq!(c.clone_warnings(), 2);
    }

    #[test]
    fn counters_must_grow() {
        let c = SignatureCounters::default();
        assert!(c.check_and_record("d", 5).is_ok());
        assert!(c.check_and_record("d", 5).is_err());
        assert!(c.check_and_record("d", 4).is_err());
        assert!(c.check_and_record("d", 6).is_ok());
        assert!(c.check_and_record("e", 0).is_ok());
        assert!(c.check_and_record("e", 0).is_ok(), "no counter kept");
        assert!(c.check_and_record("e", 1).is_ok());
        assert!(c.check_and_record("e", 0).is_err());
    }

    #[test]
    fn a_restart_remembers_them() {
        let dir = std::env::temp_dir().join(format!("pam-mfa-counters-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let before = SignatureCounters::default();
        assert_eq!(before.persist_in(&dir).unwrap(), 0);
        before.check_and_record("d", 7).unwrap();
        before.check_and_record("e", 0).unwrap();
        let after = SignatureCounters::default();
        assert_eq!(after.persist_in(&dir).unwrap(), 2);
        assert!(
            after.check_and_record("d", 7).is_err(),
            "replay after a restart"
        );
        assert!(after.check_and_record("d", 8).is_ok());
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(dir.join(COUNTERS_FILE)).unwrap();
        assert_eq!(m.mode() & 0o777, 0o600);
        // A damaged file is an error, moved aside and kept, never overwritten.
        std::fs::write(dir.join(COUNTERS_FILE), "{").unwrap();
        let damaged = SignatureCounters::default();
        let err = damaged.persist_in(&dir).unwrap_err();
        assert!(err.contains("moved aside"), "{err}");
        damaged.check_and_record("d", 9).unwrap();
        let kept: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("signature-counters.json.bad-"))
            .collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(
            std::fs::read_to_string(dir.join(&kept[0])).unwrap(),
            "{",
            "the damaged file is kept as it was"
        );
        // A FIFO in its place does not block the agent.
        std::fs::remove_file(dir.join(COUNTERS_FILE)).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join(COUNTERS_FILE),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = SignatureCounters::default().persist_in(&dir).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
