//! The built pam_mfa.so keeps the functions of a no-tap login together, in
//! the `.text.pam_mfa_hot` section `hot-text.ld` adds (pam_mfa/build.rs):
//! sshd and sudo load the module afresh for each login, and each first
//! touch of a code page is a page fault. A script whose patterns no longer
//! name the module's functions (renamed, moved) still links, so this test
//! is what notices: run `make hot-text` then.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The section hot-text.ld makes.
const HOT: &str = ".text.pam_mfa_hot";
/// Three of the kernel's 64 KiB fault-around windows.
const MOST_HOT_BYTES: u64 = 192 * 1024;

/// The pam_mfa.so cargo built with this test: beside it in
/// target/<profile>/deps/ (where `cargo test` leaves it), else one up.
fn built_module() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let beside = deps.join("libpam_mfa.so");
    match deps.parent() {
        Some(profile_dir) if !beside.exists() => profile_dir.join("libpam_mfa.so"),
        _ => beside,
    }
}

/// Each `*(.text.NAME)` line of hot-text.ld, as the glob NAME.
fn patterns() -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("hot-text.ld");
    let text = std::fs::read_to_string(&script).expect("pam_mfa/hot-text.ld");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("*(.text.")?.strip_suffix(')'))
        .map(str::to_string)
        .collect()
}

/// Whether `name` matches `glob`, whose only wildcard is `*`.
fn glob_matches(glob: &str, name: &str) -> bool {
    let mut parts = glob.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

fn run(program: &str, args: &[&str], module: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .arg(module)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} failed on {}",
        module.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (address, size) of the section `name`, from `readelf -SW`.
fn section(module: &Path, name: &str) -> Option<(u64, u64)> {
    run("readelf", &["-SW"], module).lines().find_map(|l| {
        let rest = l.split_once(']')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        (f.first() == Some(&name)).then(|| {
            let hex = |s: &str| u64::from_str_radix(s, 16).expect("readelf's hex");
            (hex(f[2]), hex(f[4]))
        })
    })
}

/// The module's defined symbols: (address, name).
fn symbols(module: &Path) -> Vec<(u64, String)> {
    run("nm", &["--defined-only"], module)
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            Some((addr, f.nth(1)?.to_string()))
        })
        .collect()
}

#[test]
fn glob_matching_is_what_the_linker_does_with_star() {
    assert!(glob_matches(
        "_ZN3foo3bar17h*",
        "_ZN3foo3bar17h0123456789abcdefE"
    ));
    assert!(glob_matches("_RNvCs*_3std4main", "_RNvCsAbC12_3std4main"));
    assert!(glob_matches("a*b*c", "a-b-b-c"));
    assert!(!glob_matches("_ZN3foo3bar17h*", "_ZN3foo3baz17h0123E"));
    assert!(!glob_matches("exact", "exactly"));
    assert!(glob_matches("exact", "exact"));
}

#[test]
fn a_no_tap_logins_functions_sit_together_at_the_start_of_the_code() {
    let module = built_module();
    assert!(module.exists(), "{} is not built", module.display());
    let (start, size) = section(&module, HOT).unwrap_or_else(|| {
        panic!(
            "{} has no {HOT} section: is hot-text.ld linked?",
            module.display()
        )
    });
    assert!(size <= MOST_HOT_BYTES, "{HOT} is {size} bytes");
    let symbols = symbols(&module);
    for entry in [
        "pam_sm_authenticate",
        "pam_sm_acct_mgmt",
        "pam_sm_open_session",
    ] {
        let at = symbols
            .iter()
            .find(|(_, n)| n == entry)
            .unwrap_or_else(|| panic!("{entry} is not defined"))
            .0;
        assert!(
            (start..start + size).contains(&at),
            "{entry} at {at:#x} is outside {HOT}"
        );
    }
    let patterns = patterns();
    let named = patterns
        .iter()
        .filter(|p| symbols.iter().any(|(_, n)| glob_matches(p, n)))
        .count();
    assert!(
        patterns.len() >= 50 && named * 10 >= patterns.len() * 8,
        "only {named} of hot-text.ld's {} patterns name a function of the module: run `make hot-text`",
        patterns.len()
    );
}
