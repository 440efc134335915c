//! A bundle without a `cluster_auth_preference`: a real cluster always has
//! one, so the bundle loads with Teleport's defaults (no cluster-wide
//! MFA), but says that it lacks one, at every load.

use super::bundle_directories::TempDir;
use super::support::{cap, role, user};
use crate::policy::{load_bundle_path, load_bundle_str};

const MISSING: &str = "no cluster_auth_preference in the bundle";

fn missing_cap_warnings(warnings: &[String]) -> Vec<&String> {
    warnings.iter().filter(|w| w.starts_with(MISSING)).collect()
}

#[test]
fn a_bundle_without_a_cap_loads_and_says_so() {
    // What `tctl get role,user` prints: the cluster-wide requirement is lost.
    let text = role(
        "dev",
        "v7",
        "  allow:\n    logins: [jerry]\n    node_labels: {env: dev}",
    ) + &user("jerry", &["dev"], &["jerry"]);
    let b = load_bundle_str(&text, "export.yaml").unwrap();
    let warnings = missing_cap_warnings(&b.warnings);
    assert_eq!(warnings.len(), 1, "{:?}", b.warnings);
    assert!(
        warnings[0].starts_with(&format!("{MISSING} (export.yaml):"))
            && warnings[0].contains("`tctl get cap --format=yaml`"),
        "{warnings:?}"
    );
    // With a cap, nothing is said.
    let with_cap = text + &cap("  require_session_mfa: true");
    let b = load_bundle_str(&with_cap, "full.yaml").unwrap();
    assert!(
        missing_cap_warnings(&b.warnings).is_empty(),
        "{:?}",
        b.warnings
    );
}

/// A directory of files is one bundle: a cap in any one of them counts;
/// without one, the files are named.
#[test]
fn a_directory_without_a_cap_names_its_files() {
    let dir = TempDir::new("missing-cap");
    dir.write(
        "10-roles.yaml",
        &role("dev", "v7", "  allow:\n    logins: [jerry]"),
    );
    dir.write("20-users.yaml", &user("jerry", &["dev"], &["jerry"]));
    let b = load_bundle_path(&dir.0).unwrap();
    let warnings = missing_cap_warnings(&b.warnings);
    assert_eq!(warnings.len(), 1, "{:?}", b.warnings);
    assert!(
        warnings[0].contains("10-roles.yaml and ") && warnings[0].contains("20-users.yaml):"),
        "{warnings:?}"
    );
    dir.write("30-cap.yaml", &cap("  require_session_mfa: false"));
    let b = load_bundle_path(&dir.0).unwrap();
    assert!(
        missing_cap_warnings(&b.warnings).is_empty(),
        "{:?}",
        b.warnings
    );
}

/// The demo policy built in (`cluster.source: builtin:example`) carries its
/// cap, so it loads without the warning.
#[test]
fn the_builtin_example_has_a_cap() {
    let b = load_bundle_str(crate::state::BUILTIN_EXAMPLE, "builtin:example").unwrap();
    assert!(
        missing_cap_warnings(&b.warnings).is_empty(),
        "{:?}",
        b.warnings
    );
}
