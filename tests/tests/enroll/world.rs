//! What the enroll tests share: the cap and user documents, a world of the
//! software PIV card behind pcscd with a bundle and an agent.yaml, and the
//! checks of a refusal and of a printed mfa_device.

use std::path::{Path, PathBuf};

use pam_mfa_e2e::bins;
use pam_mfa_e2e::piv_card::env::{CardOptions, PcscEnv};
use pam_mfa_e2e::process::{run_with_timeout, Finished};

pub(crate) const CARD: &str = env!("CARGO_BIN_EXE_piv-card");

pub(crate) const JERRY: &str = r#"
kind: user
version: v2
metadata: {name: jerry}
spec:
  roles: [access]
  traits:
    logins: [jerry]
    hardware_key_serial_numbers: ["10000001"]
---
kind: role
version: v7
metadata: {name: access}
spec:
  allow:
    logins: ['{{internal.logins}}']
    node_labels: {'*': '*'}
"#;

pub(crate) fn cap(require: &str, hardware_key: &str) -> String {
    format!(
        "kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  require_session_mfa: {require}\n{hardware_key}---\n{JERRY}"
    )
}

/// A test world: pcscd + the card, a bundle and an agent.yaml trusting `roots`.
pub(crate) struct World {
    pub(crate) env: PcscEnv,
    pub(crate) bundle: PathBuf,
    pub(crate) config: PathBuf,
}

pub(crate) fn world(
    label: &str,
    bundle: &str,
    roots_pem: Option<String>,
    card: &CardOptions,
) -> World {
    let mut env = PcscEnv::start(label);
    env.start_card(Path::new(CARD), card);
    let dir = env.dir().to_path_buf();
    let bundle_path = dir.join("bundle.yaml");
    std::fs::write(&bundle_path, bundle).unwrap();
    let roots = dir.join("piv-roots.pem");
    let pem = roots_pem.unwrap_or_else(|| std::fs::read_to_string(env.root_cert_path()).unwrap());
    std::fs::write(&roots, pem).unwrap();
    let config = dir.join("agent.yaml");
    std::fs::write(
        &config,
        format!(
            "cluster:\n  source: file://{}\npiv:\n  attestation_roots: [{}]\n",
            bundle_path.display(),
            roots.display()
        ),
    )
    .unwrap();
    World {
        env,
        bundle: bundle_path,
        config,
    }
}

impl World {
    /// The real mfactl inside the namespaces (it reaches pcscd there).
    pub(crate) fn enroll(&self, extra: &[&str]) -> Finished {
        let mfactl = bins::mfactl();
        let mut c = self.env.command(mfactl.to_str().unwrap());
        c.args(["enroll", "--user", "jerry", "--config"])
            .arg(&self.config)
            .args(extra);
        run_with_timeout(&mut c, std::time::Duration::from_secs(60))
    }

    /// GET METADATA of `slot` through opensc-tool: (PIN policy, touch policy).
    pub(crate) fn policies(&self, slot: &str) -> (u8, u8) {
        let f = self.env.run(&[
            "opensc-tool",
            "-r",
            "0",
            "-s",
            "00A4040005A000000308",
            "-s",
            &format!("00F700{slot}"),
        ]);
        assert!(f.success(), "opensc-tool: {f:?}");
        // The answer's bytes, as opensc-tool prints them ("01 01 11 02 02 01 03 ...").
        let hex: Vec<u8> = f
            .stdout
            .split("Received")
            .nth(2)
            .expect("a second answer")
            .lines()
            .skip(1)
            .flat_map(|l| {
                l.split(' ')
                    .take(16)
                    .map_while(|w| u8::from_str_radix(w, 16).ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        let at = hex
            .windows(2)
            .position(|w| w == [0x02, 0x02])
            .unwrap_or_else(|| panic!("no policy in {hex:02x?}"));
        (hex[at + 2], hex[at + 3])
    }
}

pub(crate) fn assert_refused(f: &Finished, want: &str) {
    assert_eq!(f.code, Some(2), "should be refused: {f:?}");
    assert!(f.stdout.is_empty(), "nothing printed on refusal: {f:?}");
    assert!(f.stderr.contains(want), "want {want:?} in: {}", f.stderr);
}

/// Loads `device` in the bundle with `mfactl check`, and re-verifies the
/// chain with openssl against the root.
pub(crate) fn loads_and_verifies(w: &World, device: &str, root: &Path) {
    let full = w.env.dir().join("with-device.yaml");
    let bundle = std::fs::read_to_string(&w.bundle).unwrap();
    std::fs::write(&full, format!("{bundle}\n{device}")).unwrap();
    let f = run_with_timeout(
        std::process::Command::new(bins::mfactl())
            .arg("check")
            .arg(&full),
        std::time::Duration::from_secs(30),
    );
    assert!(
        f.success() && f.stdout.contains("1 devices"),
        "mfactl check: {f:?}"
    );
    let pems: Vec<String> = device
        .split("- |\n")
        .skip(1)
        .map(|b| {
            b.lines()
                .map(str::trim)
                .take_while(|l| !l.is_empty() && !l.contains(':'))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        })
        .collect();
    assert_eq!(pems.len(), 2, "slot and F9 certificates in {device}");
    let slot = w.env.dir().join("slot.pem");
    let f9 = w.env.dir().join("f9.pem");
    std::fs::write(&slot, &pems[0]).unwrap();
    std::fs::write(&f9, &pems[1]).unwrap();
    let f = run_with_timeout(
        std::process::Command::new("openssl")
            .args(["verify", "-no_check_time", "-CAfile"])
            .arg(root)
            .arg("-untrusted")
            .arg(&f9)
            .arg(&slot),
        std::time::Duration::from_secs(30),
    );
    assert!(f.success(), "openssl verify: {f:?}");
}
