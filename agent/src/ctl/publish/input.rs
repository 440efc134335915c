//! The publisher's inputs: what `tctl get ... --with-secrets` printed (a
//! file, a directory of such files, standard input, or tctl run here) and
//! the `--devices` directory of our own `mfa_device` documents.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The most one input may hold (a large cluster's whole tctl output fits).
pub(crate) const MAX_INPUT_BYTES: u64 = 256 << 20;

/// One input text and the name its errors carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// A file's path, `<stdin>`, or `tctl get ...`.
    pub origin: String,
    pub text: String,
}

/// `--from PATH`: a file, a directory's `*.yaml`, `*.yml` and `*.json`
/// files (sorted, hidden ones left out), or `-` for standard input.
pub(crate) fn read_from(path: &Path) -> Result<Vec<Source>, String> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("<stdin>: {e}"))?;
        return Ok(vec![text_of("<stdin>".into(), bytes)?]);
    }
    read_path(path)
}

/// A file, or the bundle files of a directory.
pub(crate) fn read_path(path: &Path) -> Result<Vec<Source>, String> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    let files = if meta.is_dir() {
        let files = bundle_files(path).map_err(|e| format!("{shown}: {e}"))?;
        if files.is_empty() {
            return Err(format!("{shown}: no *.yaml, *.yml or *.json files"));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    files.iter().map(|f| read_file(f)).collect()
}

fn read_file(path: &Path) -> Result<Source, String> {
    let origin = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| format!("{origin}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{origin}: {e}"))?;
    text_of(origin, bytes)
}

/// The bytes as UTF-8 text, within the size limit.
pub(crate) fn text_of(origin: String, bytes: Vec<u8>) -> Result<Source, String> {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(format!(
            "{origin}: larger than {} MiB",
            MAX_INPUT_BYTES >> 20
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| format!("{origin}: not UTF-8 text: {e}"))?;
    Ok(Source { origin, text })
}

fn bundle_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ext = Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if name.starts_with('.') || !matches!(ext.as_deref(), Some("yaml" | "yml" | "json")) {
            continue;
        }
        if std::fs::metadata(entry.path())?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_gives_its_bundle_files_in_name_order() {
        let dir =
            std::env::temp_dir().join(format!("pam-mfa-publish-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            ("b.yaml", "b"),
            ("a.json", "a"),
            (".c.yaml", "c"),
            ("d.txt", "d"),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let got = read_path(&dir).unwrap();
        let texts: Vec<&str> = got.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["a", "b"]);
        assert!(got[0].origin.ends_with("a.json"));
        std::fs::remove_dir_all(&dir).unwrap();
        let e = text_of("x".into(), vec![0xff]).unwrap_err();
        assert!(e.starts_with("x: not UTF-8"), "{e}");
    }
}
