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

    // A symlink is followed, and what it leads to is held to the same rule.
    let outside = TempDir::new("rights-outside");
    let target = outside.write(
        "roles.yaml",
        &role("ops", "v7", "  allow:\n    logins: [ops]"),
    );
    let link = dir.0.join("20-linked.yaml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(load_bundle_path(&dir.0)
        .unwrap()
        .roles()
        .contains_key("ops"));
    chmod(&target, 0o666);
    refused(&dir.0, &link, "writable by group or others");
    chmod(&target, 0o644);

    if rustix::process::geteuid().is_root() {
        chown(&target, Some(65534), None).unwrap();
        refused(&dir.0, &link, "owned by uid 65534, not by root");
        chown(&dir.0, Some(65534), None).unwrap();
        refused(&dir.0, &dir.0, "owned by uid 65534");
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
