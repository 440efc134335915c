//! Yubico's shipped roots load, and a minted chain is checked by the same
//! path as one under Yubico's roots (the roots are only an argument).

use x509_parser::prelude::{FromDer, X509Certificate};

use super::chain::{Minted, Slot};
use crate::piv::{verify_chain, PivVerifier, TrustedRoots, YUBICO_ROOTS_PEM};

#[test]
fn yubico_roots_load() {
    let roots = TrustedRoots::yubico();
    let subjects: Vec<&str> = roots.roots().iter().map(|r| r.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "CN=Yubico U2F Root CA Serial 457200631",
            "CN=Yubico PIV Root CA Serial 263751",
            "CN=Yubico FIDO Root CA Serial 450203556",
            "CN=Yubico Attestation Root 1",
        ]
    );
    assert!(roots.roots().iter().all(|r| r.origin == "yubico"));
    // PIV chains are checked against the PIV root and the all-applications root only.
    let piv: Vec<String> = TrustedRoots::yubico_piv()
        .roots()
        .iter()
        .map(|r| r.subject.clone())
        .collect();
    assert_eq!(piv, crate::piv::YUBICO_PIV_ROOT_SUBJECTS);
    assert_ne!(
        TrustedRoots::yubico_piv().fingerprint(),
        roots.fingerprint()
    );
    // The shipped file is the project's copy of Yubico's list, byte for byte.
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/yubico-ca-certs.pem");
    if let Ok(text) = std::fs::read_to_string(&shared) {
        assert_eq!(text, YUBICO_ROOTS_PEM);
    }
}

#[test]
fn yubico_roots_self_signatures_verify() {
    // Exercises RSA PKCS#1 v1.5 with SHA-256 (PIV Root CA) and SHA-512
    // (Attestation Root 1) in the same signature code chains use.
    for r in TrustedRoots::yubico().roots() {
        let (_, c) = X509Certificate::from_der(&r.der).unwrap();
        crate::piv::signature::verify_signed_by(&c, c.public_key())
            .unwrap_or_else(|e| panic!("{}: {e}", r.subject));
        // A flipped bit in the signature is refused.
        let mut bad = r.der.clone();
        let n = bad.len();
        bad[n - 5] ^= 0x10;
        let (_, c) = X509Certificate::from_der(&bad).unwrap();
        assert!(
            crate::piv::signature::verify_signed_by(&c, c.public_key()).is_err(),
            "{}",
            r.subject
        );
    }
}

#[test]
fn test_root_goes_through_the_yubico_path() {
    let m = Minted::new(&Slot::default());
    // Yubico's roots alone: the minted chain is refused.
    let e = verify_chain(&m.chain(), &TrustedRoots::yubico()).unwrap_err();
    assert!(e.0.contains("from an untrusted root"), "{e}");
    // Yubico's roots plus the test root from a file, as agent.yaml configures it.
    let dir = std::env::temp_dir().join(format!("piv-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("test-root.pem");
    std::fs::write(&file, m.root.cert.pem()).unwrap();
    let roots = TrustedRoots::load(true, &[&file]).unwrap();
    assert_eq!(roots.roots().len(), 3);
    let verifier = PivVerifier::new(roots);
    let a = verifier.verify(&m.chain()).unwrap();
    assert_eq!(a.root, "CN=Test PIV Root CA");
    // Without Yubico's: only the test root.
    let only = TrustedRoots::load(false, &[&file]).unwrap();
    assert_eq!(only.roots().len(), 1);
    assert!(verify_chain(&m.chain(), &only).is_ok());
    // Bad root files are named.
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "nothing here\n").unwrap();
    let e = TrustedRoots::load(true, &[&empty]).unwrap_err();
    assert!(e.contains("empty.pem: no PEM certificate"), "{e}");
    let e = TrustedRoots::load(true, &[dir.join("missing.pem")]).unwrap_err();
    assert!(e.contains("missing.pem: cannot read"), "{e}");
    std::fs::write(
        &empty,
        "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = TrustedRoots::load(true, &[&empty]).unwrap_err();
    assert!(e.contains("empty.pem: a certificate does not parse"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_rsa_attested_key_has_an_openssh_form() {
    // An RSA-2048 key (the PIV root's own) standing in for an RSA slot key.
    let root = &TrustedRoots::yubico_piv().roots()[0].der.clone();
    let (_, c) = X509Certificate::from_der(root).unwrap();
    let mut a = sample_attestation();
    a.public_key_spki = c.public_key().raw.to_vec();
    let ssh = a.ssh_public_key().unwrap();
    assert_eq!(ssh.algorithm().as_str(), "ssh-rsa");
    assert!(a.is_ssh_key(&ssh));
    a.public_key_spki = vec![0x30, 0x00];
    assert!(a.ssh_public_key().is_err());
}

fn sample_attestation() -> crate::piv::Attestation {
    let m = Minted::new(&Slot::default());
    verify_chain(&m.chain(), &m.roots()).unwrap()
}
