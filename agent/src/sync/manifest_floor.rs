//! The rollback floor of a manifest source, kept in the state directory
//! under the source's name (`cluster.source_name`), apart from the cached
//! bundle. The cached bundle belongs to one URL and is dropped when
//! `cluster.source` changes (a new mirror, another CDN); the floor belongs
//! to the publisher, so the highest serial accepted from it still holds
//! every later manifest, from wherever it is read.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::manifest_check::AcceptedManifest;
use super::safe_file::read_private_file;
use super::sha256_hex::hex_sha256;

const FORMAT: u32 = 1;
/// A floor file is a few hundred bytes.
const MAX_FLOOR_FILE: u64 = 16 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FloorFile {
    format: u32,
    source: String,
    serial: u64,
    sha256: String,
    /// Unix milliseconds.
    issued_at_ms: u64,
    expires_at_ms: u64,
}

/// The floor file of source `name`: the name itself when it is a plain
/// word, else its SHA-256 (a name may hold any character).
pub fn floor_file_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.');
    if plain {
        format!("manifest-floor-{name}.json")
    } else {
        format!("manifest-floor-sha256-{}.json", hex_sha256(name.as_bytes()))
    }
}

pub fn floor_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(floor_file_name(name))
}

/// The floor file to write for `floor` (its name and text), or `None`
/// when a higher floor is recorded in `dir` already: the file never goes
/// down. (At start the cached manifest is checked before the recorded floor
/// is read; when the cache was last saved with an older manifest than the
/// floor, it must not lower the floor.) An unreadable file is replaced.
/// Written by [`super::CacheStore::save_floor`], the one writer of the
/// state directory's sync files.
pub(super) fn floor_to_record(
    dir: &Path,
    floor: &AcceptedManifest,
) -> Result<Option<(String, Vec<u8>)>, String> {
    if let Ok(Some(recorded)) = load_floor(dir, &floor.source) {
        if recorded.serial > floor.serial {
            return Ok(None);
        }
    }
    let file = FloorFile {
        format: FORMAT,
        source: floor.source.clone(),
        serial: floor.serial,
        sha256: floor.sha256.clone(),
        issued_at_ms: to_ms(floor.issued_at),
        expires_at_ms: to_ms(floor.expires_at),
    };
    let json = serde_json::to_vec(&file).map_err(|e| e.to_string())?;
    Ok(Some((floor_file_name(&floor.source), json)))
}

/// The floor recorded for source `name`; `Ok(None)` when there is none.
pub fn load_floor(dir: &Path, name: &str) -> Result<Option<AcceptedManifest>, String> {
    let path = floor_path(dir, name);
    let shown = path.display().to_string();
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{shown}: {e}")),
        Ok(_) => {}
    }
    let raw = read_private_file(&path, MAX_FLOOR_FILE, true)?;
    let file: FloorFile = serde_json::from_slice(&raw)
        .map_err(|e| format!("{shown}: not a pam-mfa floor file: {e}"))?;
    if file.format != FORMAT {
        return Err(format!("{shown}: unknown floor format {}", file.format));
    }
    if file.source != name {
        return Err(format!(
            "{shown}: the floor of source {:?}, not {name:?}",
            file.source
        ));
    }
    Ok(Some(AcceptedManifest {
        source: file.source,
        serial: file.serial,
        sha256: file.sha256,
        issued_at: from_ms(file.issued_at_ms),
        expires_at: from_ms(file.expires_at_ms),
    }))
}

/// `candidate` as the floor unless the floor already held is higher: a
/// floor only rises.
pub fn raise_floor(floor: &mut Option<AcceptedManifest>, candidate: AcceptedManifest) {
    if floor.as_ref().is_none_or(|f| candidate.serial >= f.serial) {
        *floor = Some(candidate);
    }
}

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records `floor` as the agent does.
    fn save_floor(dir: &Path, floor: &AcceptedManifest) -> Result<(), String> {
        let store = super::super::CacheStore::new(
            dir.to_path_buf(),
            "https://policy.example/manifest.json".into(),
            1 << 20,
        );
        store.save_floor(floor)
    }

    fn floor(source: &str, serial: u64) -> AcceptedManifest {
        AcceptedManifest {
            source: source.into(),
            serial,
            sha256: "ab".repeat(32),
            issued_at: UNIX_EPOCH + Duration::from_secs(serial),
            expires_at: UNIX_EPOCH + Duration::from_secs(serial + 3600),
        }
    }

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pam-mfa-floor-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        d
    }

    #[test]
    fn a_saved_floor_reads_back_per_source() {
        let d = dir("roundtrip");
        save_floor(&d, &floor("prod", 42)).unwrap();
        save_floor(&d, &floor("staging/eu west", 7)).unwrap();
        assert_eq!(load_floor(&d, "prod").unwrap(), Some(floor("prod", 42)));
        assert_eq!(
            load_floor(&d, "staging/eu west").unwrap(),
            Some(floor("staging/eu west", 7))
        );
        assert_eq!(load_floor(&d, "other").unwrap(), None);
        assert!(floor_file_name("staging/eu west").starts_with("manifest-floor-sha256-"));
        assert_eq!(floor_file_name("prod"), "manifest-floor-prod.json");
        assert!(floor_file_name("..").starts_with("manifest-floor-sha256-"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_floor_file_of_another_source_or_garbage_is_an_error() {
        let d = dir("bad");
        std::fs::write(floor_path(&d, "prod"), b"{not json").unwrap();
        assert!(load_floor(&d, "prod")
            .unwrap_err()
            .contains("not a pam-mfa floor file"));
        save_floor(&d, &floor("staging", 1)).unwrap();
        std::fs::rename(floor_path(&d, "staging"), floor_path(&d, "prod")).unwrap();
        assert!(load_floor(&d, "prod").unwrap_err().contains("not \"prod\""));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_recorded_floor_never_goes_down() {
        let d = dir("down");
        save_floor(&d, &floor("prod", 42)).unwrap();
        save_floor(&d, &floor("prod", 40)).unwrap();
        assert_eq!(load_floor(&d, "prod").unwrap(), Some(floor("prod", 42)));
        save_floor(&d, &floor("prod", 43)).unwrap();
        assert_eq!(load_floor(&d, "prod").unwrap(), Some(floor("prod", 43)));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_floor_only_rises() {
        let mut f = None;
        raise_floor(&mut f, floor("prod", 10));
        raise_floor(&mut f, floor("prod", 5));
        assert_eq!(f.as_ref().map(|f| f.serial), Some(10));
        raise_floor(&mut f, floor("prod", 11));
        assert_eq!(f.map(|f| f.serial), Some(11));
    }
}
