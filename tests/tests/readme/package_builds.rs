//! README.md's package builds: one block per platform (pasted whole on
//! Debian it runs no `dnf`, on Rocky no `apt-get`), and each `make` target
//! installs only its own packaging tool.

use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins::workspace_root;
use pam_mfa_e2e::process::run_with_timeout;

use super::{blocks, readme, Block};

/// Words that belong to one platform's build and install only.
const DEB_ONLY: [&str; 3] = ["make deb", "apt-get", "target/debian/"];
const RPM_ONLY: [&str; 3] = ["make rpm", "dnf ", "target/generate-rpm/"];

#[test]
fn readme_package_blocks_are_one_per_platform() {
    let md = readme();
    let shown: Vec<Block> = blocks(&md)
        .into_iter()
        .filter(|b| b.lang.is_empty())
        .filter(|b| b.text.contains("make deb") || b.text.contains("make rpm"))
        .collect();
    assert_eq!(shown.len(), 2, "a deb block and an rpm block");
    for b in &shown {
        let deb = DEB_ONLY.iter().any(|w| b.text.contains(w));
        let rpm = RPM_ONLY.iter().any(|w| b.text.contains(w));
        assert!(
            deb != rpm,
            "README.md:{}: a block pasted whole must build and install for one platform only:\n{}",
            b.line,
            b.text
        );
    }
}

/// `make -n TARGET` (what make would run, nothing run).
fn make_dry_run(target: &str) -> String {
    let f = run_with_timeout(
        Command::new("make")
            .args(["-n", target])
            .current_dir(workspace_root()),
        Duration::from_secs(60),
    );
    assert!(f.success(), "make -n {target}: {}{}", f.stdout, f.stderr);
    f.stdout
}

#[test]
fn make_deb_and_make_rpm_each_install_only_their_own_tool() {
    let deb = make_dry_run("deb");
    assert!(deb.contains("cargo install cargo-deb"), "{deb}");
    assert!(!deb.contains("cargo-generate-rpm"), "make deb: {deb}");
    let rpm = make_dry_run("rpm");
    assert!(rpm.contains("cargo install cargo-generate-rpm"), "{rpm}");
    assert!(!rpm.contains("cargo-deb"), "make rpm: {rpm}");
}
