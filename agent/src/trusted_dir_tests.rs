//! Tests of `trusted_dir.rs`.

use std::os::unix::fs::{chown, lchown, symlink, MetadataExt, PermissionsExt};

use super::*;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A scratch directory of mode 0755 under the temporary directory
/// (/tmp: sticky and world-writable), removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!(
            "pam-mfa-trusted-{label}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        chmod(&d, 0o755);
        Scratch(d)
    }

    fn sub(&self, name: &str, mode: u32) -> PathBuf {
        let d = self.0.join(name);
        std::fs::create_dir(&d).unwrap();
        chmod(&d, mode);
        d
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn refusal(dir: &Path) -> Untrusted {
    check(dir).expect_err("accepted")
}

#[test]
fn a_directory_only_its_owner_may_write_is_trusted_below_a_sticky_one() {
    // The scratch directory is in /tmp (1777): a sticky ancestor is
    // accepted, its next component being ours and not writable by others.
    let s = Scratch::new("ok");
    assert_eq!(check(&s.0), Ok(()));
    let deeper = s.sub("run", 0o755);
    assert_eq!(check(&deeper), Ok(()));
    // A sticky directory of ours between two others: accepted above.
    let sticky = s.sub("shared", 0o1777);
    let inner = sticky.join("mine");
    std::fs::create_dir(&inner).unwrap();
    chmod(&inner, 0o700);
    assert_eq!(check(&inner), Ok(()));
}

#[test]
fn the_holder_may_not_be_writable_by_others_even_when_sticky() {
    let s = Scratch::new("sticky");
    let sticky = s.sub("tmp", 0o1777);
    let e = refusal(&sticky);
    assert_eq!(e.at, sticky);
    assert!(e.why.contains("sticky or not"), "{e}");
    let group = s.sub("group", 0o1770);
    assert!(refusal(&group).why.contains("mode 1770"));
    // Above the holder, writable and not sticky: anyone may rename the
    // holder away.
    let open = s.sub("open", 0o777);
    let below = open.join("run");
    std::fs::create_dir(&below).unwrap();
    chmod(&below, 0o755);
    let e = refusal(&below);
    assert_eq!(e.at, open);
    assert!(e.why.contains("not sticky"), "{e}");
    // /tmp itself (the case that failed: socket.path in /tmp).
    let tmp = Path::new("/tmp");
    if std::fs::metadata(tmp).is_ok_and(|m| m.mode() & 0o7777 == 0o1777) {
        assert!(refusal(tmp).why.contains("sticky or not"));
    }
}

#[test]
fn a_symlink_leads_to_a_directory_checked_the_same_way() {
    let s = Scratch::new("links");
    let real = s.sub("real", 0o755);
    let link = s.0.join("link");
    symlink(&real, &link).unwrap();
    assert_eq!(check(&link), Ok(()));
    // A link to a sticky directory makes it the holder: refused.
    let sticky = s.sub("sticky", 0o1777);
    let to_sticky = s.0.join("to-sticky");
    symlink(&sticky, &to_sticky).unwrap();
    let e = refusal(&to_sticky);
    assert_eq!(e.at, sticky);
    // A link on the way up to a sticky directory leaves it an ancestor.
    let inner = sticky.join("mine");
    std::fs::create_dir(&inner).unwrap();
    chmod(&inner, 0o755);
    assert_eq!(check(&to_sticky.join("mine")), Ok(()));
    assert!(check(Path::new("relative/dir")).is_err());
}

#[test]
fn a_directory_or_link_of_someone_else_anywhere_on_the_way_is_refused() {
    if !rustix::process::geteuid().is_root() {
        return; // chown needs root
    }
    // A user's sticky directory: its owner may delete anything in it.
    let s = Scratch::new("theirs");
    let theirs = s.sub("theirs", 0o1777);
    chown(&theirs, Some(65534), None).unwrap();
    let e = refusal(&theirs);
    assert_eq!(
        (e.at.as_path(), e.why.as_str()),
        (theirs.as_path(), "owned by uid 65534")
    );
    // Root's directory below a user's: the user may rename it away (the
    // old-bundle swap).
    let below = theirs.join("run");
    std::fs::create_dir(&below).unwrap();
    chmod(&below, 0o755);
    assert_eq!(refusal(&below).at, theirs);
    // A symlink a user owns, to root's directory: in a sticky directory
    // the user may repoint it.
    let safe = s.sub("safe", 0o755);
    let link = s.0.join("link");
    symlink(&safe, &link).unwrap();
    assert_eq!(check(&link), Ok(()));
    lchown(&link, Some(65534), None).unwrap();
    assert_eq!(refusal(&link).why, "a symlink owned by uid 65534");
}

#[test]
fn the_nearest_existing_directory_is_where_a_missing_one_would_be_made() {
    let s = Scratch::new("nearest");
    assert_eq!(nearest_existing(&s.0.join("a/b/c")), s.0.as_path());
    assert_eq!(nearest_existing(&s.0), s.0.as_path());
}
