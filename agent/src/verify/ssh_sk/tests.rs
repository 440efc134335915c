//! Real sk keys (OpenSSH's sk-dummy.so) and real signatures (`ssh-keygen -Y sign`).

use ssh_encoding::{Decode, Encode};

use super::testkit::{generate_key, sshsig_sign, TempDir, TestKey, SK_DUMMY_COUNTER};
use super::*;

const ED: &str = "ed25519-sk";
const EC: &str = "ecdsa-sk";

fn key(dir: &TempDir, name: &str, key_type: &str, options: &[&str]) -> TestKey {
    generate_key(dir.path(), name, key_type, options)
}

/// The byte offset of the flags in an sk signature blob (flags, then counter, end).
fn flags_offset(sig: &[u8]) -> usize {
    sig.len() - 5
}

fn sig_with_algorithm(sig: &[u8], algorithm: &str) -> Vec<u8> {
    let mut r = sig;
    let _old = Vec::<u8>::decode(&mut r).unwrap();
    let mut out = Vec::new();
    algorithm.encode(&mut out).unwrap();
    out.extend_from_slice(r);
    out
}

fn key_with_application(blob: &[u8], application: &str) -> Vec<u8> {
    // Every field but the last (the application) is kept as it is.
    let mut r = blob;
    let mut fields = Vec::new();
    while !r.is_empty() {
        fields.push(Vec::<u8>::decode(&mut r).unwrap());
    }
    fields.pop();
    fields.push(application.as_bytes().to_vec());
    let mut out = Vec::new();
    for f in &fields {
        f.encode(&mut out).unwrap();
    }
    out
}

#[test]
fn touched_signatures_carry_user_presence_and_the_counter() {
    let dir = TempDir::new("sk-touch");
    for key_type in [ED, EC] {
        let k = key(&dir, &format!("touch-{key_type}"), key_type, &[]);
        let (sig, signed) = sshsig_sign(&k, "pam-mfa@test", b"challenge 1");
        let a = verify_sk_signature(&k.public_blob, &sig, &signed).unwrap();
        assert_eq!(a.flags, 0x01, "{key_type}");
        assert_eq!(a.counter, SK_DUMMY_COUNTER, "{key_type}");
        assert!(a.user_present());
        assert!(!a.user_verified());
    }
}

#[test]
fn verify_required_signatures_carry_user_verification() {
    let dir = TempDir::new("sk-uv");
    for key_type in [ED, EC] {
        let k = key(
            &dir,
            &format!("uv-{key_type}"),
            key_type,
            &["verify-required"],
        );
        let (sig, signed) = sshsig_sign(&k, "pam-mfa@test", b"challenge 2");
        let a = verify_sk_signature(&k.public_blob, &sig, &signed).unwrap();
        assert_eq!(a.flags, 0x05, "{key_type}");
        assert!(a.user_present() && a.user_verified());
        assert_eq!(a.counter, SK_DUMMY_COUNTER);
    }
}

#[test]
fn no_touch_required_signatures_carry_no_flags() {
    let dir = TempDir::new("sk-notouch");
    for key_type in [ED, EC] {
        let k = key(
            &dir,
            &format!("nt-{key_type}"),
            key_type,
            &["no-touch-required"],
        );
        let (sig, signed) = sshsig_sign(&k, "pam-mfa@test", b"challenge 3");
        let a = verify_sk_signature(&k.public_blob, &sig, &signed).unwrap();
        assert_eq!(a.flags, 0x00, "{key_type}");
        assert!(!a.user_present() && !a.user_verified());
    }
}

#[test]
fn the_counter_is_read_from_the_signature() {
    let dir = TempDir::new("sk-counter");
    let k = key(&dir, "counter", ED, &[]);
    let (sig, signed) = sshsig_sign(&k, "pam-mfa@test", b"count me");
    let n = sig.len();
    assert_eq!(sig[n - 4..], SK_DUMMY_COUNTER.to_be_bytes());
    let a = verify_sk_signature(&k.public_blob, &sig, &signed).unwrap();
    assert_eq!(a.counter, 0x1234_5678);
}

#[test]
fn a_tampered_message_is_refused() {
    let dir = TempDir::new("sk-msg");
    for key_type in [ED, EC] {
        let k = key(&dir, &format!("msg-{key_type}"), key_type, &[]);
        let (sig, mut signed) = sshsig_sign(&k, "pam-mfa@test", b"the real challenge");
        let last = signed.len() - 1;
        signed[last] ^= 0x01;
        assert_eq!(
            verify_sk_signature(&k.public_blob, &sig, &signed),
            Err(SkVerifyError::SignatureInvalid),
            "{key_type}"
        );
        assert_eq!(
            verify_sk_signature(&k.public_blob, &sig, b"another message"),
            Err(SkVerifyError::SignatureInvalid)
        );
    }
}

#[test]
fn tampered_flags_are_refused() {
    let dir = TempDir::new("sk-flags");
    for key_type in [ED, EC] {
        // A touch signature claiming a PIN too, and a no-touch one claiming a touch.
        let touch = key(&dir, &format!("t-{key_type}"), key_type, &[]);
        let (mut sig, signed) = sshsig_sign(&touch, "pam-mfa@test", b"flags");
        let at = flags_offset(&sig);
        assert_eq!(sig[at], 0x01);
        sig[at] = 0x05;
        assert_eq!(
            verify_sk_signature(&touch.public_blob, &sig, &signed),
            Err(SkVerifyError::SignatureInvalid),
            "{key_type}"
        );

        let no_touch = key(
            &dir,
            &format!("n-{key_type}"),
            key_type,
            &["no-touch-required"],
        );
        let (mut sig, signed) = sshsig_sign(&no_touch, "pam-mfa@test", b"flags");
        let at = flags_offset(&sig);
        assert_eq!(sig[at], 0x00);
        sig[at] = 0x01;
        assert_eq!(
            verify_sk_signature(&no_touch.public_blob, &sig, &signed),
            Err(SkVerifyError::SignatureInvalid),
            "{key_type}"
        );
    }
}

#[test]
fn a_tampered_counter_is_refused() {
    let dir = TempDir::new("sk-ctr");
    for key_type in [ED, EC] {
        let k = key(&dir, &format!("c-{key_type}"), key_type, &[]);
        let (mut sig, signed) = sshsig_sign(&k, "pam-mfa@test", b"counter");
        let last = sig.len() - 1;
        sig[last] = sig[last].wrapping_add(1);
        assert_eq!(
            verify_sk_signature(&k.public_blob, &sig, &signed),
            Err(SkVerifyError::SignatureInvalid),
            "{key_type}"
        );
    }
}

#[test]
fn a_signature_from_another_key_is_refused() {
    let dir = TempDir::new("sk-other");
    for key_type in [ED, EC] {
        let mine = key(&dir, &format!("mine-{key_type}"), key_type, &[]);
        let theirs = key(&dir, &format!("theirs-{key_type}"), key_type, &[]);
        let (sig, signed) = sshsig_sign(&theirs, "pam-mfa@test", b"whose key");
        assert_eq!(
            verify_sk_signature(&mine.public_blob, &sig, &signed),
            Err(SkVerifyError::SignatureInvalid),
            "{key_type}"
        );
    }
}

#[test]
fn the_application_is_part_of_what_was_signed() {
    let dir = TempDir::new("sk-app");
    for key_type in [ED, EC] {
        let k = key(&dir, &format!("app-{key_type}"), key_type, &[]);
        let (sig, signed) = sshsig_sign(&k, "pam-mfa@test", b"app");
        let other_app = key_with_application(&k.public_blob, "ssh:other");
        assert_eq!(
            verify_sk_signature(&other_app, &sig, &signed),
            Err(SkVerifyError::SignatureInvalid),
            "{key_type}"
        );
        // The rebuilt blob with the original application still verifies.
        let same = key_with_application(&k.public_blob, "ssh:");
        assert!(verify_sk_signature(&same, &sig, &signed).is_ok());
    }
}

#[test]
fn a_signature_of_another_algorithm_is_refused() {
    let dir = TempDir::new("sk-alg");
    let ed = key(&dir, "alg-ed", ED, &[]);
    let ec = key(&dir, "alg-ec", EC, &[]);
    let (ed_sig, ed_signed) = sshsig_sign(&ed, "pam-mfa@test", b"alg");
    let (ec_sig, ec_signed) = sshsig_sign(&ec, "pam-mfa@test", b"alg");

    // An Ed25519 signature relabelled as ECDSA: wrong for the Ed25519 key...
    let relabelled = sig_with_algorithm(&ed_sig, SK_ECDSA_P256);
    assert!(matches!(
        verify_sk_signature(&ed.public_blob, &relabelled, &ed_signed),
        Err(SkVerifyError::WrongAlgorithm { .. })
    ));
    // ... and not an ECDSA signature for the ECDSA key.
    assert!(verify_sk_signature(&ec.public_blob, &relabelled, &ed_signed).is_err());

    // Unchanged signatures offered to the other key type.
    let err = verify_sk_signature(&ec.public_blob, &ed_sig, &ed_signed).unwrap_err();
    assert_eq!(
        err,
        SkVerifyError::WrongAlgorithm {
            key: SK_ECDSA_P256.into(),
            signature: SK_ED25519.into()
        }
    );
    assert!(err.to_string().contains("wrong signature algorithm"));
    assert!(matches!(
        verify_sk_signature(&ed.public_blob, &ec_sig, &ec_signed),
        Err(SkVerifyError::WrongAlgorithm { .. })
    ));
}

#[test]
fn plain_keys_and_signatures_are_refused() {
    let dir = TempDir::new("sk-plain");
    let plain = key(&dir, "plain", "ed25519", &[]);
    let (sig, signed) = sshsig_sign(&plain, "pam-mfa@test", b"plain");
    let err = verify_sk_signature(&plain.public_blob, &sig, &signed).unwrap_err();
    assert_eq!(err, SkVerifyError::UnsupportedKeyType("ssh-ed25519".into()));
    assert!(err.to_string().contains("unsupported key type"));

    // A plain ssh-ed25519 signature (no flags, no counter) for an sk key.
    let sk = key(&dir, "sk", ED, &[]);
    assert!(matches!(
        verify_sk_signature(&sk.public_blob, &sig, &signed),
        Err(SkVerifyError::BadSignatureEncoding(_))
    ));
}

#[test]
fn malformed_blobs_are_refused() {
    let dir = TempDir::new("sk-malformed");
    for key_type in [ED, EC] {
        let k = key(&dir, &format!("m-{key_type}"), key_type, &[]);
        let (sig, signed) = sshsig_sign(&k, "pam-mfa@test", b"malformed");

        let short = &sig[..sig.len() - 1];
        assert!(matches!(
            verify_sk_signature(&k.public_blob, short, &signed),
            Err(SkVerifyError::BadSignatureEncoding(_))
        ));
        let mut long = sig.clone();
        long.push(0);
        assert!(matches!(
            verify_sk_signature(&k.public_blob, &long, &signed),
            Err(SkVerifyError::BadSignatureEncoding(_))
        ));
        assert!(matches!(
            verify_sk_signature(&k.public_blob, &[], &signed),
            Err(SkVerifyError::BadSignatureEncoding(_))
        ));

        let cut_key = &k.public_blob[..k.public_blob.len() - 2];
        assert!(matches!(
            verify_sk_signature(cut_key, &sig, &signed),
            Err(SkVerifyError::BadKey(_))
        ));
        let mut long_key = k.public_blob.clone();
        long_key.extend_from_slice(&[0, 0, 0, 0]);
        let err = verify_sk_signature(&long_key, &sig, &signed).unwrap_err();
        assert!(matches!(err, SkVerifyError::BadKey(_)));
        assert!(err.to_string().starts_with("bad security-key public key"));
    }
}

#[test]
fn ecdsa_integers_must_be_positive_and_minimal() {
    assert!(mpint_to_field_bytes(&[], "r").is_err());
    assert!(mpint_to_field_bytes(&[0x80], "r").is_err());
    assert!(mpint_to_field_bytes(&[0x00], "r").is_err());
    assert!(mpint_to_field_bytes(&[0x00, 0x01], "r").is_err());
    assert!(mpint_to_field_bytes(&[0x01; 33], "r").is_err());
    let mut padded = vec![0x00];
    padded.extend_from_slice(&[0xff; 32]);
    assert_eq!(mpint_to_field_bytes(&padded, "r").unwrap(), [0xff; 32]);
    let mut small = [0u8; 32];
    small[31] = 0x7f;
    assert_eq!(mpint_to_field_bytes(&[0x7f], "s").unwrap(), small);
}

#[test]
fn errors_read_clearly() {
    assert_eq!(
        SkVerifyError::SignatureInvalid.to_string(),
        "signature invalid for this key and message"
    );
    assert_eq!(
        SkVerifyError::BadSignatureEncoding("flags: length invalid".into()).to_string(),
        "bad signature encoding: flags: length invalid"
    );
    assert_eq!(printable(b"a\nb"), "a\\nb");
}
