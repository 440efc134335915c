//! The browser approval page (`web/` at the repository root), carried in
//! the binary so `mfactl publish` can write it beside the bundle
//! (`OUT/web/`) on any host, without the package's `/usr/share/pam-mfa/web/`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The page's files: name and contents.
pub const WEB_FILES: &[(&str, &[u8])] = &[
    ("index.html", include_bytes!("../../web/index.html")),
    ("approval.css", include_bytes!("../../web/approval.css")),
    ("approval.js", include_bytes!("../../web/approval.js")),
];

/// The Content-Security-Policy a web server should send with the page (the
/// page carries the same in a meta tag; `frame-ancestors` works only as a
/// header).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Writes the page's files into `dir` (created if missing, mode 0755):
/// each to a temporary name in `dir`, fsynced, then renamed over the old
/// one, so a web server serving `dir` never sees half a file. A symlink at
/// `dir` itself or at a temporary name is refused, never followed.
pub fn write_web_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is a symbolic link", dir.display()),
            ))
        }
        Ok(m) if !m.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", dir.display()),
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new().mode(0o755).create(dir)?;
            // Whatever the umask: a web server reads these.
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
        }
        Err(e) => return Err(e),
    }
    for (name, bytes) in WEB_FILES {
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = fs::remove_file(&tmp);
        let mut f: File = OpenOptions::new()
            .write(true)
            .create_new(true) // O_EXCL: never through a symlink
            .mode(0o644)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&tmp)?;
        let written = f
            .set_permissions(fs::Permissions::from_mode(0o644))
            .and_then(|()| f.write_all(bytes))
            .and_then(|()| f.sync_all());
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, dir.join(name))) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    }
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("pam-mfa-web-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn writes_the_page_and_replaces_old_files() {
        let d = scratch("write");
        let out = d.join("web");
        fs::create_dir_all(&d).unwrap();
        write_web_dir(&out).unwrap();
        fs::write(out.join("approval.js"), "old").unwrap();
        write_web_dir(&out).unwrap();
        for (name, bytes) in WEB_FILES {
            assert_eq!(fs::read(out.join(name)).unwrap(), *bytes, "{name}");
        }
        let left: Vec<_> = fs::read_dir(&out).unwrap().collect();
        assert_eq!(left.len(), WEB_FILES.len(), "no temporary file is left");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refuses_a_symlinked_directory() {
        let d = scratch("link");
        fs::create_dir_all(d.join("real")).unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("web")).unwrap();
        assert!(write_web_dir(&d.join("web")).is_err());
        assert_eq!(fs::read_dir(d.join("real")).unwrap().count(), 0);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_page_and_the_header_say_the_same_policy() {
        let html = std::str::from_utf8(WEB_FILES[0].1).unwrap();
        let meta = CONTENT_SECURITY_POLICY.replace("; frame-ancestors 'none'", "");
        assert!(
            html.contains(&format!("content=\"{meta}\"")),
            "index.html's CSP meta differs"
        );
        // README's nginx example sends the same header
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(&format!(
                "Content-Security-Policy \"{CONTENT_SECURITY_POLICY}\""
            )),
            "README.md's nginx example sends another policy"
        );
        // no request leaves the page: no absolute URL it would load
        for (name, bytes) in WEB_FILES {
            let text = std::str::from_utf8(bytes).unwrap();
            for bad in [
                "src=\"http",
                "href=\"http",
                "fetch(",
                "XMLHttpRequest",
                "@import",
            ] {
                assert!(!text.contains(bad), "{name} contains {bad}");
            }
        }
    }
}
