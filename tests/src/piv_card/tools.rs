//! What the PIV end-to-end tests run besides the card: checked up front so a
//! missing package fails the test with the fix, never skips it (`make test`
//! installs them: tests/install-deps.sh), and the client tools' helpers.

use std::path::Path;

use crate::process::Finished;

use super::env::PcscEnv;

/// vsmartcard's driver for pcscd.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
/// opensc's PKCS#11 module (what ssh's PKCS11Provider loads).
pub const OPENSC_PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

/// Panics naming what is missing: pcscd, nsenter, vpcd's driver, and `tools`.
pub fn require_pcsc_tools(tools: &[&str]) {
    let missing: Vec<&str> = ["pcscd", "nsenter"]
        .iter()
        .chain(tools)
        .copied()
        .filter(|t| {
            !std::process::Command::new("sh")
                .args(["-c", &format!("command -v {t} >/dev/null")])
                .status()
                .is_ok_and(|s| s.success())
        })
        .chain(Some(VPCD_DRIVER).filter(|d| !Path::new(d).exists()))
        .collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}: run tests/install-deps.sh as root (make test does)"
    );
}

/// `yubico-piv-tool -r "Virtual PCD" ARGS` inside the card's namespaces.
pub fn ykpiv(env: &PcscEnv, args: &[&str]) -> Finished {
    let mut argv = vec!["yubico-piv-tool", "-r", "Virtual PCD"];
    argv.extend_from_slice(args);
    env.run(&argv)
}

/// Asserts that a client tool succeeded (the card's log on failure); returns
/// its stdout and stderr.
pub fn ok(f: &Finished, what: &str, env: &PcscEnv) -> String {
    assert!(
        f.success(),
        "{what} failed: {f:?}\ncard log:\n{}",
        env.card_log()
    );
    format!("{}{}", f.stdout, f.stderr)
}
