//! Files the agent keeps as root: a private directory, atomic writes
//! (temporary file, fsync, rename, fsync of the directory), and reads that
//! do not follow symlinks and check who owns what they read.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

fn nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Makes `dir` (mode 0700) if it is missing, and checks it: a real
/// directory (not a symlink), owned by this process's user, writable by
/// no one else.
pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create {shown}: {e}"))?;
        }
        Err(e) => return Err(format!("{shown}: {e}")),
        Ok(_) => {}
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| format!("{shown}: {e}"))?;
    if !m.file_type().is_dir() {
        return Err(format!("{shown} is not a directory (a symlink is refused)"));
    }
    if m.uid() != euid() {
        return Err(format!(
            "{shown} is owned by uid {}, not by the agent's user",
            m.uid()
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Err(format!(
            "{shown} is writable by group or others (mode {:o}); make it 0700",
            m.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Writes `bytes` to `dir/name` atomically, mode 0600.
pub fn write_private_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    ensure_private_dir(dir)?;
    let target = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nofollow())
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &target)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", target.display()));
    }
    Ok(())
}

/// Reads `path` without following a symlink, up to `max` bytes. The file must
/// be a regular file owned by root or by this process's user; with
/// `private`, also writable by no one else.
pub fn read_private_file(path: &Path, max: u64, private: bool) -> Result<Vec<u8>, String> {
    let shown = path.display();
    // O_NONBLOCK: a FIFO put in its place must not block the open (the type
    // check below refuses it); reads of a regular file ignore the flag.
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(nofollow() | rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| format!("cannot open {shown}: {e}"))?;
    let m = f.metadata().map_err(|e| format!("{shown}: {e}"))?;
    if !m.file_type().is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if m.uid() != 0 && m.uid() != euid() {
        return Err(format!("{shown} is owned by uid {}, not by root", m.uid()));
    }
    if private && m.mode() & 0o022 != 0 {
        return Err(format!("{shown} is writable by group or others"));
    }
    if m.len() > max {
        return Err(format!(
            "{shown} is {} bytes, over the limit of {max}",
            m.len()
        ));
    }
    let mut buf = Vec::with_capacity(m.len() as usize);
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if buf.len() as u64 > max {
        return Err(format!("{shown} grew over the limit of {max} bytes"));
    }
    Ok(buf)
}

/// Opens a file the agent keeps for itself alone (`append`: to add to it;
/// else to read it), such as the session journal beside the socket: never
/// through a symlink (O_NOFOLLOW), never waiting on a FIFO (O_NONBLOCK: a
/// FIFO opens at once for reading, or fails with ENXIO for writing),
/// close-on-exec; then the opened file must be a regular file of this
/// process's user that no group or other user may read or write (mode
/// 0600). A file that is not is refused (`InvalidData`), with what it is;
/// a missing one stays `NotFound`.
pub fn open_own_private_file(path: &Path, append: bool) -> std::io::Result<File> {
    use rustix::fs::OFlags;
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let f = OpenOptions::new()
        .read(!append)
        .append(append)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => {
                refused(path, "a symlink")
            }
            Some(code) if code == rustix::io::Errno::NXIO.raw_os_error() => {
                refused(path, "not a regular file (a FIFO or a device)")
            }
            _ => e,
        })?;
    let m = f.metadata()?;
    if !m.file_type().is_file() {
        return Err(refused(path, "not a regular file (a FIFO or a device)"));
    }
    if m.uid() != euid() {
        return Err(refused(
            path,
            &format!("owned by uid {}, not the agent's uid {}", m.uid(), euid()),
        ));
    }
    if m.mode() & 0o077 != 0 {
        return Err(refused(
            path,
            &format!(
                "open to group or others (mode {:o}), not 0600",
                m.mode() & 0o7777
            ),
        ));
    }
    Ok(f)
}

fn refused(path: &Path, what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} is {what}: refused", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "pam-mfa-safe-file-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn writes_are_private_and_replace_atomically() {
        let d = tmpdir("w").join("state");
        write_private_file(&d, "f", b"one").unwrap();
        write_private_file(&d, "f", b"two").unwrap();
        let m = std::fs::metadata(d.join("f")).unwrap();
        assert_eq!(m.mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        assert_eq!(read_private_file(&d.join("f"), 10, true).unwrap(), b"two");
        assert!(
            read_private_file(&d.join("f"), 2, true).is_err(),
            "size cap"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&d).unwrap().flatten().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left");
        std::fs::remove_dir_all(d.parent().unwrap()).unwrap();
    }

    #[test]
    fn symlinks_and_loose_modes_are_refused() {
        let base = tmpdir("s");
        let d = base.join("state");
        write_private_file(&d, "real", b"x").unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
        assert!(read_private_file(&d.join("link"), 10, true).is_err());
        std::os::unix::fs::symlink(&d, base.join("dirlink")).unwrap();
        assert!(ensure_private_dir(&base.join("dirlink")).is_err());
        std::fs::set_permissions(d.join("real"), std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(read_private_file(&d.join("real"), 10, true).is_err());
        assert!(read_private_file(&d.join("real"), 10, false).is_ok());
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(write_private_file(&d, "other", b"x").is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
