//! The built packages, and a booted Debian container to install them in.
//!
//! `make deb` / `make rpm` build the packages (`make test` does it before the
//! tests run); these tests take them from `target/` and never build them
//! (cargo holds the build directory's lock while tests run).

pub mod container;
pub mod debian_root;

use std::path::PathBuf;

use crate::bins::workspace_root;

/// The one file in `target/<dir>` whose name starts with `prefix` and ends
/// with `suffix`; panics with what to run when there is none.
fn built(dir: &str, prefix: &str, suffix: &str, make: &str) -> PathBuf {
    let d = workspace_root().join("target").join(dir);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&d)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy();
                    name.starts_with(prefix) && name.ends_with(suffix)
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.pop() {
        Some(p) => p,
        None => panic!(
            "no {prefix}*{suffix} in {}: run `make {make}` first (make test does)",
            d.display()
        ),
    }
}

/// `target/debian/pam-mfa_*.deb`.
pub fn built_deb() -> PathBuf {
    built("debian", "pam-mfa_", ".deb", "deb")
}

/// `target/generate-rpm/pam-mfa-*.rpm`.
pub fn built_rpm() -> PathBuf {
    built("generate-rpm", "pam-mfa-", ".rpm", "rpm")
}
