//! `pam-mfa-bench-verify`: figures for issuing a challenge and verifying an
//! answer, per kind, in-process (no socket, no PAM), for BENCHMARKS.md.
//!
//! Signatures come from real OpenSSH: an sk-dummy security key held by a
//! real ssh-agent signs the challenge once; the figure is the agent-side work
//! per login (parse the answer, verify the signature, read flags and counter).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use mfa_agent::challenge::{key_digest, Answer, Challenge};
use mfa_agent::ssh_agent::client::{list_keys, sign};
use mfa_agent::verify::ssh_sk::verify_sk_signature;
use mfa_agent::verify::webauthn::{verify_assertion, WebauthnCredential};

const SK_DUMMY: &str = "/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so";

fn time_per_op(n: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("running a helper program");
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

/// An sk key made with sk-dummy, loaded into a fresh ssh-agent: its wire
/// blob and a signature of `message`.
fn sk_signature(dir: &Path, kind: &str, message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let key = dir.join(format!("id_{kind}"));
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-w", SK_DUMMY, "-N", "", "-f"])
        .arg(&key)
        .stdin(Stdio::null()));
    let sock = dir.join(format!("{kind}.sock"));
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .env("SSH_SK_PROVIDER", SK_DUMMY)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    run(Command::new("ssh-add")
        .arg(&key)
        .env("SSH_AUTH_SOCK", &sock)
        .env("SSH_SK_PROVIDER", SK_DUMMY)
        .stdin(Stdio::null())
        .stderr(Stdio::null()));
    let uid = rustix_uid();
    let keys = list_keys(&sock, uid, Instant::now() + Duration::from_secs(10)).unwrap();
    let blob = keys[0].key_blob.clone();
    let sig = sign(
        &sock,
        uid,
        &blob,
        message,
        Instant::now() + Duration::from_secs(10),
    )
    .unwrap();
    let _ = agent.kill();
    let _ = agent.wait();
    (blob, sig)
}

fn rustix_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("pam-mfa-bench-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let now = SystemTime::now();
    let challenge = Challenge::new("prod3", "jerry", [7; 16], now, Duration::from_secs(60));
    let text = challenge.text();

    let mut nonce = [0u8; 16];
    let issue = time_per_op(20_000, || {
        // SAFETY: nonce is a valid 16-byte buffer.
        let n = unsafe { libc::getrandom(nonce.as_mut_ptr().cast(), nonce.len(), 0) };
        assert_eq!(n, 16);
        let c = Challenge::new("prod3", "jerry", nonce, now, Duration::from_secs(60));
        std::hint::black_box(c.text());
    });

    println!("| operation | time per operation | per second (one core) |");
    println!("|---|---|---|");
    println!(
        "| issue a challenge (16 random bytes, text form) | {} | {:.0} |",
        us(issue),
        1.0 / issue.as_secs_f64()
    );
    for (kind, label) in [
        ("ed25519-sk", "ed25519-sk"),
        ("ecdsa-sk", "ecdsa-sk (P-256)"),
    ] {
        let (blob, sig) = sk_signature(&dir, kind, text.as_bytes());
        let line = Answer::SshSk {
            key_digest: key_digest(&blob),
            signature: sig.clone(),
        }
        .encode();
        let verify = time_per_op(2_000, || {
            let Ok(Answer::SshSk { signature, .. }) = Answer::parse(&line) else {
                panic!("not an sk answer")
            };
            let a = verify_sk_signature(&blob, &signature, text.as_bytes()).unwrap();
            assert!(a.user_present());
        });
        println!(
            "| parse and verify an {label} answer ({} bytes) | {} | {:.0} |",
            line.len(),
            us(verify),
            1.0 / verify.as_secs_f64()
        );
    }
    if let Some(line) = webauthn_row(&dir, &text) {
        println!("{line}");
    }
    piv_rows(&text);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A YubiKey 5.7-shaped chain (slot 9c ← F9 ← intermediate, ECDSA P-256,
/// serial 12345) under a new P-384 root: the chain (DER, slot first), the
/// root's PEM and the slot key.
fn mint_piv_chain() -> (Vec<Vec<u8>>, String, rcgen::KeyPair) {
    use rcgen::{CertificateParams, CustomExtension, DnType, IsCa, KeyPair};
    let ca = |cn: &str, is_ca: bool, alg| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = if is_ca {
            IsCa::Ca(rcgen::BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        (p, KeyPair::generate_for(alg).unwrap())
    };
    let (rp, rk) = ca("Bench PIV Root", true, &rcgen::PKCS_ECDSA_P384_SHA384);
    let root = rp.self_signed(&rk).unwrap();
    let (ip, ik) = ca(
        "Bench PIV Attestation B 1",
        true,
        &rcgen::PKCS_ECDSA_P256_SHA256,
    );
    let inter = ip.signed_by(&ik, &root, &rk).unwrap();
    let (fp, fk) = ca(
        "Yubico PIV Attestation",
        false,
        &rcgen::PKCS_ECDSA_P256_SHA256,
    );
    let f9 = fp.signed_by(&fk, &inter, &ik).unwrap();
    let (mut sp, sk) = ca(
        "YubiKey PIV Attestation 9c",
        false,
        &rcgen::PKCS_ECDSA_P256_SHA256,
    );
    sp.custom_extensions = vec![
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 41482, 3, 3], vec![5, 7, 1]),
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 41482, 3, 7], vec![2, 2, 0x30, 0x39]),
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 41482, 3, 8], vec![1, 2]),
    ];
    let slot = sp.signed_by(&sk, &f9, &fk).unwrap();
    let chain: Vec<Vec<u8>> = [&slot, &f9, &inter]
        .iter()
        .map(|c| c.der().to_vec())
        .collect();
    (chain, root.pem(), sk)
}

/// PIV attestation: a YubiKey 5.7-shaped chain (slot ← F9 ← intermediate,
/// ECDSA P-256) under a P-384 test root, verified through the same code as
/// Yubico's roots; then the same chain through the verifier's cache.
fn piv_rows(text: &str) {
    use mfa_agent::piv::{verify_chain, PivVerifier, TrustedRoots};
    let (chain, root_pem, sk) = mint_piv_chain();
    let mut roots_pem = mfa_agent::piv::YUBICO_ROOTS_PEM.to_owned();
    roots_pem.push_str(&root_pem);
    let roots = TrustedRoots::from_pem(&roots_pem, "bench").unwrap();
    let cold = time_per_op(500, || {
        let a = verify_chain(&chain, &roots).unwrap();
        assert_eq!(a.serial, Some(12345));
    });
    let verifier = PivVerifier::new(roots.clone());
    let cached = time_per_op(20_000, || {
        std::hint::black_box(verifier.verify(&chain).unwrap());
    });
    // A PIV tap answer (pv1.) by the attested slot key, verified with the
    // chain's public key as the agent does once the device is accepted.
    let signing = {
        use p256::pkcs8::DecodePrivateKey;
        p256::ecdsa::SigningKey::from_pkcs8_der(&sk.serialize_der()).unwrap()
    };
    let spki = sk.public_key_der();
    let digest = mfa_agent::verify::piv_tap::tap_digest(text, 32).unwrap();
    let sig: p256::ecdsa::Signature =
        p256::ecdsa::signature::hazmat::PrehashSigner::sign_prehash(&signing, &digest).unwrap();
    let line = Answer::Piv {
        selector: mfa_agent::verify::piv_tap::selector(&spki),
        signature: sig.to_der().as_bytes().to_vec(),
    }
    .encode();
    let piv_verify = time_per_op(2_000, || {
        let Ok(Answer::Piv { signature, .. }) = Answer::parse(&line) else {
            panic!("not a PIV answer")
        };
        mfa_agent::verify::piv_tap::verify_piv_tap(&spki, text, &signature).unwrap();
    });
    println!(
        "| parse and verify a PIV (P-256) answer ({} bytes) | {} | {:.0} |",
        line.len(),
        us(piv_verify),
        1.0 / piv_verify.as_secs_f64()
    );
    println!(
        "| PIV attestation chain verify (slot, F9, intermediate: 3 ECDSA checks, Yubico + test roots) | {} | {:.0} |",
        us(cold),
        1.0 / cold.as_secs_f64()
    );
    println!(
        "| PIV attestation chain, verifier cache hit | {} | {:.0} |",
        us(cached),
        1.0 / cached.as_secs_f64()
    );
}

/// A WebAuthn (ES256) answer from the software FIDO2 authenticator, made by
/// the mfactl built with it (target/soft-fido2), verified in-process.
fn webauthn_row(dir: &Path, text: &str) -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let soft = std::env::var_os("PAM_MFA_SOFT_MFACTL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target/soft-fido2/debug/mfactl"));
    if !soft.exists() {
        eprintln!(
            "(no {}: skipping the WebAuthn row; run make build)",
            soft.display()
        );
        return None;
    }
    let file = dir.join("soft.json");
    let out = Command::new(&soft)
        .args(["soft-fido2-new", "--rp-id", "example.com", "--out"])
        .arg(&file)
        .output()
        .ok()?;
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let prompt = format!("MFA challenge {text} rp_id=example.com answer: ");
    let out = Command::new(&soft)
        .args(["tap", &prompt])
        .env("PAM_MFA_SOFT_FIDO2", &file)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let line = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let cred = WebauthnCredential::from_device_spec(&spec).ok()?;
    let verify = time_per_op(2_000, || {
        let Ok(Answer::Webauthn {
            authenticator_data,
            signature,
            ..
        }) = Answer::parse(&line)
        else {
            panic!("not a WebAuthn answer")
        };
        let a =
            verify_assertion(&cred, "example.com", text, &authenticator_data, &signature).unwrap();
        assert!(a.user_present());
    });
    Some(format!(
        "| parse and verify a WebAuthn ES256 answer ({} bytes) | {} | {:.0} |",
        line.len(),
        us(verify),
        1.0 / verify.as_secs_f64()
    ))
}
