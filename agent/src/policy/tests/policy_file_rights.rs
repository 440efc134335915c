//! Who may change a policy file: only root. A file or directory another
//! user can write (or owns) would let them drop the rule that requires MFA.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;

use super::bundle_directories::TempDir;
use super::support::{cap, role};
use crate::policy::load_bundle_path;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn refused(path: &Path, file: &Path, why: &str) {
    let e = load_bundle_path(path).unwrap_err();
    assert_eq!(e.file, file.display().to_string(), "{e}");
    assert!(e.message.contains(why), "{e}");
}

#[test]
fn only_root_may_change_a_policy_file_or_its_directory() {
    let dir = TempDir::new("rights");
    chmod(&dir.0, 0o755);
    let roles = dir.write(
        "10-roles.yaml",
        &role("dev", "v7", "  allow:\n    logins: [jerry]"),
    );
    dir.write("05-cap.yaml", &cap("  require_session_mfa: true"));
    assert!(load_bundle_path(&dir.0).is_ok());

    chmod(&roles, 0o664);
    refused(&dir.0, &roles, "writable by group or others (mode 664)");
    refused(&roles, &roles, "writable by group or others");
    chmod(&roles, 0o644);

    // Whoever can write the directory can remove the file that requires MFA.
    chmod(&dir.0, 0o775);
    refused(&dir.0, &dir.0, "writable by group or others (mode 775)");
    chmod(&dir.0, 0o755);

    if rustix::process::geteuid().is_root() {
        chown(&roles, Some(65534), None).unwrap();
        refused(&dir.0, &roles, "owned by uid 65534, not by root");
        chown(&roles, Some(0), None).unwrap();
        chown(&dir.0, Some(65534), None).unwrap();
        refused(&dir.0, &dir.0, "owned by uid 65534");
    }
}

/// A symlink at a policy file's own name, or in a policy directory, sits
/// where only root could have put it (its directory is root's alone), and
/// is followed only to a file in directories only root can change: a
/// symlink to a file whose directory others may change (a user's
/// bundle.yaml → one they can swap) is refused, naming where it leads; in a
/// directory source too (not skipped: the file it stood for may hold a
/// lock).
#[test]
fn a_symlink_is_followed_only_to_where_only_root_can_change_it() {
    let dir = TempDir::new("rights-link");
    dir.write("05-cap.yaml", &cap("  require_session_mfa: true"));
    let outside = TempDir::new("rights-link-outside");
    chmod(&outside.0, 0o755);
    let target = outside.write(
        "roles.yaml",
        &role("ops", "v7", "  allow:\n    logins: [ops]"),
    );
    assert!(load_bundle_path(&target).is_ok());
    let link = dir.0.join("20-linked.yaml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let b = load_bundle_path(&link).expect("a link to root's file in root's directory");
    assert_eq!(b.roles().len(), 1);
    let b = load_bundle_path(&dir.0).expect("the directory with the link");
    assert_eq!(b.roles().len(), 1, "the linked file is read");
    // Where it leads, others may change: refused, the file and the
    // directory source alike.
    chmod(&outside.0, 0o777);
    refused(&link, &link, "a symlink to");
    let e = load_bundle_path(&dir.0).unwrap_err();
    assert!(e.message.contains("a symlink to"), "{e}");
    assert_eq!(e.file, link.display().to_string(), "{e}");
    chmod(&outside.0, 0o755);
    // A symlink to the directory itself, and further up, are followed,
    // and where they lead checked.
    std::fs::remove_file(&link).unwrap();
    let dir_link = outside.0.join("policy.d");
    std::os::unix::fs::symlink(&dir.0, &dir_link).unwrap();
    assert!(load_bundle_path(&dir_link).is_ok());
    assert!(load_bundle_path(&dir_link.join("05-cap.yaml")).is_ok());
    chmod(&dir.0, 0o777);
    refused(&dir_link, &dir_link, "a symlink to");
    chmod(&dir.0, 0o700);
}

/// A file named on a command line to be checked (`mfactl check`, `explain
/// --policy`) is read wherever it is: nothing is decided with it.
#[test]
fn a_bundle_to_check_is_read_wherever_it_is() {
    let dir = TempDir::new("rights-argument");
    chmod(&dir.0, 0o1777);
    let bundle = dir.write("bundle.yaml", &cap("  require_session_mfa: true"));
    refused(&bundle, &bundle, "writable by group or others");
    assert!(crate::policy::load_bundle_argument(&bundle).is_ok());
    assert!(crate::policy::source_path_refusal(&bundle).is_some());
    chmod(&dir.0, 0o755);
    assert!(crate::policy::source_path_refusal(&bundle).is_none());
    // Whoever owns it, and whatever its mode: the refusal says why.
    chmod(&bundle, 0o666);
    assert!(crate::policy::load_bundle_argument(&bundle).is_ok());
    assert!(crate::policy::load_bundle_argument(&dir.0).is_ok());
    let why = crate::policy::source_path_refusal(&bundle).expect("mode 666");
    assert!(why.message.contains("writable by group or others"), "{why}");
    refused(&bundle, &bundle, "writable by group or others");
}

/// Every directory from / to a policy file must be root's and not
/// writable by others: a user who may rename entries on the way swapped
/// the old root-owned bundle (without a lock) back in for the new one.
#[test]
fn a_policy_file_below_a_directory_others_may_change_is_refused() {
    let top = TempDir::new("rights-ancestors");
    let inner = top.0.join("pam-mfa");
    std::fs::create_dir(&inner).unwrap();
    chmod(&inner, 0o755);
    let bundle = inner.join("bundle.yaml");
    std::fs::write(&bundle, cap("  require_session_mfa: true")).unwrap();
    assert!(load_bundle_path(&bundle).is_ok());
    assert!(load_bundle_path(&inner).is_ok());
    // The file's own directory sticky and world-writable: anyone may add
    // names (a file next to it in a directory source).
    chmod(&inner, 0o1777);
    refused(
        &bundle,
        &bundle,
        &format!("{} is writable by group or others", inner.display()),
    );
    refused(&inner, &inner, "sticky or not");
    chmod(&inner, 0o755);
    // A directory above writable and not sticky: the file's directory may
    // be renamed away and another put in its place.
    chmod(&top.0, 0o777);
    refused(&bundle, &bundle, "not sticky");
    refused(&inner, &inner, "not sticky");
    chmod(&top.0, 0o755);
    if rustix::process::geteuid().is_root() {
        // The reported case: a user's directory above root's bundle.
        chown(&top.0, Some(65534), None).unwrap();
        refused(
            &bundle,
            &bundle,
            &format!("{} is owned by uid 65534", top.0.display()),
        );
        refused(&inner, &inner, "owned by uid 65534");
    }
}

#[test]
fn a_fifo_named_as_the_policy_is_refused_without_waiting() {
    let dir = TempDir::new("rights-fifo");
    let fifo = dir.0.join("bundle.yaml");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    refused(&fifo, &fifo, "not a regular file");
}
