//! `mfactl enroll` end to end: the real mfactl talks to the software PIV card
//! through real pcscd + vsmartcard-vpcd (in private namespaces), generates the
//! key the cluster requires, and verifies the attestation as the agent will.
//! The printed mfa_device is then loaded by `mfactl check` and its chain
//! checked again by openssl.

#[path = "enroll/world.rs"]
mod world;

use std::path::PathBuf;

use pam_mfa_e2e::bins;
use pam_mfa_e2e::piv_card::attest::Authority;
use pam_mfa_e2e::piv_card::env::CardOptions;
use pam_mfa_e2e::piv_card::tools::require_pcsc_tools;
use pam_mfa_e2e::process::{run_with_timeout, Finished};
use pam_mfa_e2e::require_root;
use pam_mfa_e2e::workdir::WorkDir;
use world::*;

#[test]
fn generate_for_hardware_key_touch_is_accepted_under_the_configured_root() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "openssl"]);
    let w = world(
        "enroll-touch",
        &cap("hardware_key_touch", ""),
        None,
        &CardOptions::default(),
    );
    let f = w.enroll(&[
        "--piv",
        "--generate",
        "--policy",
        w.bundle.to_str().unwrap(),
    ]);
    assert!(f.success(), "enroll: {f:?}\ncard:\n{}", w.env.card_log());
    assert!(
        f.stdout.contains("kind: mfa_device") && f.stdout.contains("slot: \"9c\""),
        "{}",
        f.stdout
    );
    assert!(
        f.stdout.contains("name: \"jerry-piv-10000001-9c\""),
        "{}",
        f.stdout
    );
    assert!(
        f.stderr.contains("a hardware_key_touch key"),
        "{}",
        f.stderr
    );
    assert!(
        !f.stderr.contains("010203040506070801020304"),
        "no management key in output"
    );
    // Touch cached (3), PIN never (1): what the cap needs, read back from the card.
    assert_eq!(w.policies("9C"), (1, 3));
    loads_and_verifies(&w, &f.stdout, &w.env.root_cert_path());

    // The policy comes from agent.yaml's source when --policy is absent.
    let again = w.enroll(&["--piv", "--json"]);
    assert!(again.success(), "{again:?}");
    let v: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(v["spec"]["piv"]["slot"], "9c");
}

#[test]
fn generate_for_touch_and_pin_uses_slot_9d_with_both_policies() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "openssl"]);
    let w = world(
        "enroll-touch-pin",
        &cap("hardware_key_touch_and_pin", ""),
        None,
        &CardOptions::default(),
    );
    let f = w.enroll(&["--piv", "--generate", "--algorithm", "p384"]);
    assert!(f.success(), "enroll: {f:?}\ncard:\n{}", w.env.card_log());
    assert!(f.stdout.contains("slot: \"9d\""), "{}", f.stdout);
    assert_eq!(w.policies("9D"), (2, 3), "PIN once, touch cached");
    loads_and_verifies(&w, &f.stdout, &w.env.root_cert_path());
}

#[test]
fn an_attestation_from_an_untrusted_root_is_refused() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "openssl"]);
    // The agent trusts a root other than the one the card's F9 chains to.
    let other = Authority::test_root("someone-else").cert_pem();
    let w = world(
        "enroll-untrusted",
        &cap("hardware_key_touch", ""),
        Some(other),
        &CardOptions::default(),
    );
    let f = w.enroll(&["--piv", "--generate"]);
    assert_refused(&f, "from an untrusted root");
    assert!(
        f.stderr.contains("refusing the key in slot 9c"),
        "{}",
        f.stderr
    );
}

#[test]
fn a_key_weaker_than_the_cap_and_an_unlisted_serial_are_refused() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "openssl"]);
    let serials = "  hardware_key:\n    serial_number_validation: {enabled: true}\n";
    let w = world(
        "enroll-weak",
        &cap("hardware_key_touch", serials),
        None,
        &CardOptions::default(),
    );
    // A key made without touch (yubico-piv-tool, default management key).
    let pubkey = w.env.dir().join("9c.pub");
    let f = w.env.run(&[
        "yubico-piv-tool",
        "-r",
        "Virtual PCD",
        "-a",
        "generate",
        "-s",
        "9c",
        "-A",
        "ECCP256",
        "--touch-policy=never",
        "--pin-policy=never",
        "-o",
        pubkey.to_str().unwrap(),
    ]);
    assert!(f.success(), "yubico-piv-tool generate: {f:?}");
    let f = w.enroll(&["--piv"]);
    assert_refused(
        &f,
        "weaker than the hardware_key_touch the cluster requires",
    );

    // Generated right, but serial validation is on and --serial-trait does
    // not list this key (the bundle's user does: without it, accepted).
    let f = w.enroll(&["--piv", "--generate", "--serial-trait", "123,456"]);
    assert_refused(
        &f,
        "10000001 is not in the user's hardware_key_serial_numbers",
    );
    let f = w.enroll(&["--piv"]);
    assert!(f.success(), "the bundle lists 10000001: {f:?}");
}

/// A test FIDO attestation CA and an attestation certificate under it:
/// (CA PEM, leaf DER, leaf key scalar).
fn fido_attestation(cn: &str) -> (String, Vec<u8>, [u8; 32]) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, PKCS_ECDSA_P256_SHA256,
    };
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, format!("{cn} attestation"));
    let leaf = p.signed_by(&key, &ca, &ca_key).unwrap();
    // PKCS#8 of a P-256 key: the scalar is the OCTET STRING (04 20) after
    // ECPrivateKey's version (02 01 01).
    let der = key.serialize_der();
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .unwrap();
    (
        ca.pem(),
        leaf.der().to_vec(),
        der[at + 5..at + 37].try_into().unwrap(),
    )
}

/// mfactl built with the software FIDO2 authenticator, whose file carries a
/// test attestation key and certificate; runs `enroll --webauthn`.
struct SoftKey {
    dir: WorkDir,
    file: PathBuf,
}

impl SoftKey {
    fn new(label: &str, leaf: &[u8], scalar: &[u8; 32]) -> SoftKey {
        use base64::Engine;
        let dir = WorkDir::new(label);
        let file = dir.join("soft-fido2.json");
        let mut c = std::process::Command::new(bins::require(&bins::soft_mfactl()));
        c.args(["soft-fido2-new", "--rp-id", "teleport.example.com", "--out"])
            .arg(&file);
        let out = run_with_timeout(&mut c, std::time::Duration::from_secs(60));
        assert!(out.success(), "{out:?}");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        v["attestation_key"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(scalar)
            .into();
        v["attestation_x5c"] =
            serde_json::json!([base64::engine::general_purpose::STANDARD.encode(leaf)]);
        std::fs::write(&file, v.to_string()).unwrap();
        SoftKey { dir, file }
    }

    fn enroll(&self, bundle: &str) -> Finished {
        let policy = self.dir.path().join("bundle.yaml");
        std::fs::write(&policy, bundle).unwrap();
        let mut c = std::process::Command::new(bins::soft_mfactl());
        c.args([
            "enroll",
            "--webauthn",
            "--user",
            "jerry",
            "--config",
            "/nonexistent/agent.yaml",
            "--policy",
        ])
        .arg(&policy)
        .env("PAM_MFA_SOFT_FIDO2", &self.file)
        .env("XDG_CONFIG_HOME", self.dir.path().join("config"));
        run_with_timeout(&mut c, std::time::Duration::from_secs(30))
    }

    fn credentials(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("config/pam-mfa/webauthn-credentials"))
            .unwrap_or_default()
    }
}

fn webauthn_cap(cas: &str) -> String {
    format!(
        "kind: cluster_auth_preference\nversion: v2\nmetadata: {{name: cluster-auth-preference}}\nspec:\n  second_factor: webauthn\n  require_session_mfa: true\n  webauthn:\n    rp_id: teleport.example.com\n{cas}---\n{JERRY}"
    )
}

#[test]
fn webauthn_from_a_denied_ca_is_refused_and_from_an_allowed_ca_registered() {
    // No root needed: no namespaces, no pcscd; the real (test-feature) mfactl.
    let (ca_pem, leaf, scalar) = fido_attestation("Test FIDO CA");
    let key = SoftKey::new("enroll-webauthn", &leaf, &scalar);
    let ca_path = key.dir.path().join("fido-ca.pem");
    std::fs::write(&ca_path, &ca_pem).unwrap();

    let denied = webauthn_cap(&format!(
        "    attestation_denied_cas: [{}]\n",
        ca_path.display()
    ));
    let f = key.enroll(&denied);
    assert_refused(
        &f,
        "chains to CN=Test FIDO CA, a denied CA (attestation_denied_cas)",
    );
    assert!(key.credentials().is_empty(), "nothing recorded on refusal");

    // Allowed, as an inline PEM.
    let inline = ca_pem.replace('\n', "\n      ");
    let allowed = webauthn_cap(&format!(
        "    attestation_allowed_cas:\n    - |\n      {inline}\n"
    ));
    let f = key.enroll(&allowed);
    assert!(f.success(), "{f:?}");
    assert!(
        f.stderr.contains("basic attestation by CN=Test FIDO CA"),
        "{}",
        f.stderr
    );
    assert!(
        f.stdout.contains("webauthn:")
            && f.stdout
                .contains("credential_rp_id: \"teleport.example.com\""),
        "{}",
        f.stdout
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&key.file).unwrap()).unwrap();
    assert_eq!(
        key.credentials(),
        format!(
            "teleport.example.com {}\n",
            saved["credential_id"].as_str().unwrap()
        )
    );
    // The printed device loads next to the cap.
    let full = key.dir.path().join("with-device.yaml");
    std::fs::write(&full, format!("{allowed}\n{}", f.stdout)).unwrap();
    let c = run_with_timeout(
        std::process::Command::new(bins::mfactl())
            .arg("check")
            .arg(&full),
        std::time::Duration::from_secs(30),
    );
    assert!(c.success() && c.stdout.contains("1 devices"), "{c:?}");

    // An allowed list that does not hold its CA: refused.
    let (other_pem, _, _) = fido_attestation("Another CA");
    let other_path = key.dir.path().join("other-ca.pem");
    std::fs::write(&other_path, other_pem).unwrap();
    let f = key.enroll(&webauthn_cap(&format!(
        "    attestation_allowed_cas: [{}]\n",
        other_path.display()
    )));
    assert_refused(&f, "chains to none of the attestation_allowed_cas");
}
