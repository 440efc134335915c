//! Loading bundles from a directory: its files, sorted, as one bundle.

use std::path::PathBuf;

use super::bundle_loading::sha256_hex;
use super::support::{role, user};
use crate::policy::{load_bundle_path, RequireMfa};

/// A scratch directory, removed on drop.
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "pam-mfa-policy-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Only root may change what holds a policy file, whatever the umask.
        let mode = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
        std::fs::set_permissions(&dir, mode).unwrap();
        TempDir(dir)
    }

    pub(super) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn directories_load_sorted_files_as_one_bundle() {
    let dir = TempDir::new("dir");
    let cap_text = r#"{"kind": "cluster_auth_preference", "version": "v2", "metadata": {"name": "c"}, "spec": {"require_session_mfa": true}}"#;
    let roles = role(
        "dev",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {env: dev}",
    );
    let users = user("jerry", &["dev"], &["jerry"]);
    dir.write("10-roles.yaml", &roles);
    dir.write("20-users.YML", &users);
    dir.write("05-cap.json", cap_text);
    dir.write("README.md", "not yaml: [");
    dir.write(".hidden.yaml", "not yaml: [");
    dir.write("notes.yaml.bak", "not yaml: [");
    std::fs::create_dir(dir.0.join("sub.yaml")).unwrap();
    let b = load_bundle_path(&dir.0).unwrap();
    assert_eq!(b.cap.require_session_mfa, RequireMfa::Session);
    assert!(b.roles().contains_key("dev") && b.users().contains_key("jerry"));
    let concatenated = format!("{cap_text}{roles}{users}");
    assert_eq!(
        b.revision,
        sha256_hex(concatenated.as_bytes()),
        "sorted by name: 05, 10, 20"
    );

    // A duplicate across files names the later file and the first place.
    dir.write("30-more.yaml", &roles);
    let e = load_bundle_path(&dir.0).unwrap_err();
    let later = dir.0.join("30-more.yaml").display().to_string();
    let first = dir.0.join("10-roles.yaml").display().to_string();
    assert_eq!(e.file, later, "{e}");
    assert!(
        e.message.contains(&format!("first defined at {first}:2")),
        "{e}"
    );

    // An error inside one file names that file and its own line numbers.
    std::fs::remove_file(dir.0.join("30-more.yaml")).unwrap();
    let bad = dir.write("15-bad.yaml", "# c\n---\nkind: role\nversion: v7\nmetadata: {name: x}\nspec:\n  options: {require_session_mfa: perhaps}\n");
    let e = load_bundle_path(&dir.0).unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.line, e.column),
        (bad.display().to_string().as_str(), Some(7), Some(34)),
        "{e}"
    );
    assert!(
        e.to_string().starts_with(&format!(
            "{}:7:34: invalid require_session_mfa value \"perhaps\"",
            bad.display()
        )),
        "{e}"
    );

    // A single file; a missing path; a non-UTF-8 file.
    let b = load_bundle_path(&dir.0.join("10-roles.yaml")).unwrap();
    assert_eq!(b.revision, sha256_hex(roles.as_bytes()));
    let missing = dir.0.join("nope.yaml");
    let e = load_bundle_path(&missing).unwrap_err();
    assert_eq!((e.file, e.line), (missing.display().to_string(), None));
    std::fs::remove_file(&bad).unwrap();
    let latin1 = dir.0.join("40-latin1.yaml");
    std::fs::write(&latin1, b"kind: role\n# caf\xe9\n").unwrap();
    let e = load_bundle_path(&dir.0).unwrap_err();
    assert!(
        e.file.ends_with("40-latin1.yaml") && e.message.contains("UTF-8"),
        "{e}"
    );

    // An empty directory is no policy (logins then follow the fail mode),
    // never an empty bundle that would require MFA of nobody.
    let empty = TempDir::new("empty");
    let e = load_bundle_path(&empty.0).unwrap_err();
    assert!(
        e.file == empty.0.display().to_string() && e.message.contains("no *.yaml"),
        "{e}"
    );
    std::fs::write(empty.0.join("10-blank.yaml"), "# to be filled\n").unwrap();
    let e = load_bundle_path(&empty.0).unwrap_err();
    assert!(e.message.contains("no policy"), "{e}");
}
