//! The real `mfa-agent` reads agent.yaml's `piv:` roots when it starts: a
//! root file minted here is accepted beside Yubico's shipped roots, a missing
//! or certificate-less file stops the agent with the file named (a bad root
//! never silently leaves every PIV key untrusted), and a configuration that
//! could trust no PIV key at all is refused.

use std::process::Command;
use std::time::Duration;

use pam_mfa_e2e::bins::{self, workspace_root};
use pam_mfa_e2e::process::{run_with_timeout, Finished};
use pam_mfa_e2e::workdir::WorkDir;

fn check(config: &std::path::Path) -> Finished {
    run_with_timeout(
        Command::new(bins::mfa_agent())
            .arg("--check")
            .arg("--config")
            .arg(config),
        Duration::from_secs(20),
    )
}

#[test]
fn agent_loads_configured_piv_roots_at_start() {
    let work = WorkDir::new("piv-roots");
    let bundle = workspace_root().join("config/examples/bundle.yaml");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Test PIV Root CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let root = params.self_signed(&key).unwrap();
    let root_file = work.write("piv-root.pem", &root.pem(), 0o644);
    let empty_file = work.write("empty.pem", "# no certificate here\n", 0o644);
    let missing = work.path().join("missing.pem");

    let config = |piv: &str| {
        work.write(
            "agent.yaml",
            &format!(
                "cluster:\n  source: file://{}\nsocket:\n  path: {}/agent.sock\naudit:\n  sink: stderr\n{piv}",
                bundle.display(),
                work.path().display()
            ),
            0o644,
        )
    };
    let ok = |piv: &str| {
        let f = check(&config(piv));
        assert!(
            f.success() && f.stdout.contains("configuration ok"),
            "{piv}\n{}\n{}",
            f.stdout,
            f.stderr
        );
    };
    ok("");
    ok(&format!(
        "piv:\n  attestation_roots: [{}]\n",
        root_file.display()
    ));
    ok(&format!(
        "piv:\n  include_yubico_roots: false\n  attestation_roots: [{}]\n",
        root_file.display()
    ));

    let refused = |piv: &str, want: &str| {
        let f = check(&config(piv));
        assert_eq!(f.code, Some(2), "{piv}\n{}\n{}", f.stdout, f.stderr);
        assert!(
            f.stderr.contains(want),
            "{piv}: want {want:?} in\n{}",
            f.stderr
        );
    };
    refused(
        &format!("piv:\n  attestation_roots: [{}]\n", missing.display()),
        &format!("{}: cannot read PIV attestation root", missing.display()),
    );
    refused(
        &format!("piv:\n  attestation_roots: [{}]\n", empty_file.display()),
        &format!("{}: no PEM certificate", empty_file.display()),
    );
    refused(
        "piv:\n  include_yubico_roots: false\n",
        "no PIV key could ever be trusted",
    );
    refused(
        "piv:\n  attestation_roots: [relative.pem]\n",
        "not an absolute path",
    );
}
