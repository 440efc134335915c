//! What the certificate is made of: exactly the bytes the CA signed, the
//! type word, the key id, the critical options and Teleport's extensions.

use super::testkit::*;
use super::*;

#[test]
fn ssh_cert_tampered_refused() {
    let (s, cas) = setup("tampered");
    let (ty, b64) = teleport_cert(&s, "ca");
    let blob = decode(&b64);
    // A byte of the nonce (after the 4+32-byte type string and the nonce's length).
    let mut nonce = blob.clone();
    nonce[4 + 32 + 4 + 3] ^= 0x01;
    // The key id: jerry -> jerrz.
    let at_id = blob.windows(5).position(|w| w == b"jerry").unwrap();
    let mut key_id = blob.clone();
    key_id[at_id + 4] = b'z';
    // The role inside the extension: access-prod -> access-prog.
    let at_role = blob.windows(11).position(|w| w == b"access-prod").unwrap();
    let mut role = blob.clone();
    role[at_role + 10] = b'g';
    // The last byte of the signature itself.
    let mut sig = blob.clone();
    *sig.last_mut().unwrap() ^= 0x80;
    for (what, bad) in [
        ("nonce", nonce),
        ("key id", key_id),
        ("role", role),
        ("sig", sig),
    ] {
        let err = verify_user_cert(&ty, &encode(&bad), &cas, "jerry", inside()).unwrap_err();
        assert_eq!(err, CertError::BadSignature, "{what}");
        assert!(
            err.to_string().contains("bad certificate signature"),
            "{err}"
        );
    }
    // Truncated, extended, or not base64: malformed.
    let truncated = encode(&blob[..blob.len() - 10]);
    let mut longer = blob.clone();
    longer.push(0);
    for bad in [
        truncated,
        encode(&longer),
        "AAAA!!".to_owned(),
        String::new(),
    ] {
        let err = verify_user_cert(&ty, &bad, &cas, "jerry", inside()).unwrap_err();
        assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
        assert!(
            err.to_string().starts_with("malformed certificate"),
            "{err}"
        );
    }
}

#[test]
fn ssh_cert_non_canonical_or_duplicate_refused() {
    let (s, cas) = setup("canonical");
    let (ty, b64) = s.sign(
        "ca",
        "user",
        &[
            "-I",
            "jerry",
            "-n",
            "jerry",
            "-V",
            &window(),
            "-O",
            "clear",
            "-O",
            "extension:permit-pty",
        ],
    );
    let blob = decode(&b64);
    assert!(verify_user_cert(&ty, &b64, &cas, "jerry", inside()).is_ok());
    // Walk an ed25519 certificate to its extensions.
    let mut pos = 0;
    for _ in 0..3 {
        skip_string(&blob, &mut pos); // type, nonce, key
    }
    pos += 8 + 4; // serial, type
    skip_string(&blob, &mut pos); // key id
    skip_string(&blob, &mut pos); // principals
    pos += 16; // valid after, valid before
    skip_string(&blob, &mut pos); // critical options
    let ext_at = pos;
    let (start, end) = skip_string(&blob, &mut pos);
    assert_eq!(&blob[start..end], b"\0\0\0\x0apermit-pty\0\0\0\0");
    // The empty value spelled as a string holding "": same meaning, other bytes.
    let mut odd = blob[..ext_at].to_vec();
    odd.extend_from_slice(&22u32.to_be_bytes());
    odd.extend_from_slice(b"\0\0\0\x0apermit-pty\0\0\0\x04\0\0\0\0");
    odd.extend_from_slice(&blob[end..]);
    let err = verify_user_cert(&ty, &encode(&odd), &cas, "jerry", inside()).unwrap_err();
    assert_eq!(
        err,
        CertError::Malformed("not canonically encoded".to_owned())
    );
    // The same extension twice: refused by the parser.
    let mut twice = blob[..ext_at].to_vec();
    twice.extend_from_slice(&36u32.to_be_bytes());
    twice.extend_from_slice(&blob[start..end]);
    twice.extend_from_slice(&blob[start..end]);
    twice.extend_from_slice(&blob[end..]);
    let err = verify_user_cert(&ty, &encode(&twice), &cas, "jerry", inside()).unwrap_err();
    assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
}

#[test]
fn ssh_cert_empty_key_id_refused() {
    let (s, cas) = setup("emptyid");
    let (ty, b64) = s.sign("ca", "user", &["-I", "", "-n", "jerry", "-V", &window()]);
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
    assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
    assert!(err.to_string().contains("key id"), "{err}");
}

#[test]
fn ssh_cert_host_certificate_refused() {
    let (s, cas) = setup("hostcert");
    let mut args = teleport_args(&window());
    args.insert(0, "-h".to_owned());
    let (ty, b64) = s.sign("ca", "user", &strs(&args));
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
    assert_eq!(err, CertError::NotUserCertificate);
    assert!(err.to_string().contains("not a user certificate"), "{err}");
}

#[test]
fn ssh_cert_missing_extensions() {
    let (s, cas) = setup("noext");
    let (ty, b64) = s.sign(
        "ca",
        "user",
        &["-I", "jerry", "-n", "jerry", "-V", &window(), "-O", "clear"],
    );
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert_eq!(id.key_id, "jerry");
    assert!(id.roles.is_empty());
    assert!(id.traits.is_empty());
    assert_eq!(id.mfa_verified, None);
    assert_eq!(id.private_key_policy, None);
    // Present but empty values count as absent; null traits and roles are empty.
    let (ty, b64) = s.sign(
        "ca",
        "user",
        &[
            "-I",
            "jerry",
            "-n",
            "jerry",
            "-V",
            &window(),
            "-O",
            "extension:mfa-verified",
            "-O",
            "extension:private-key-policy",
            "-O",
            "extension:teleport-traits=null",
            "-O",
            r#"extension:teleport-roles={"version":"v1","roles":null}"#,
        ],
    );
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert!(id.roles.is_empty());
    assert!(id.traits.is_empty());
    assert_eq!(id.mfa_verified, None);
    assert_eq!(id.private_key_policy, None);
    let (ty, b64) = s.sign(
        "ca",
        "user",
        &[
            "-I",
            "jerry",
            "-n",
            "jerry",
            "-V",
            &window(),
            "-O",
            "extension:teleport-roles=null",
        ],
    );
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert!(id.roles.is_empty());
}

#[test]
fn ssh_cert_bad_extension_json_refused() {
    let (s, cas) = setup("badjson");
    let cases = [
        ("teleport-roles", r#"{"version":"v1","roles":["a""#),
        ("teleport-roles", r#"{"version":"v1","roles":"access"}"#),
        ("teleport-roles", "[]"),
        ("teleport-traits", r#"{"logins":"jerry"}"#),
        ("teleport-traits", r#"{"logins":[1]}"#),
        ("teleport-traits", "not json"),
    ];
    for (name, value) in cases {
        let ext = format!("extension:{name}={value}");
        let (ty, b64) = s.sign(
            "ca",
            "user",
            &["-I", "jerry", "-n", "jerry", "-V", &window(), "-O", &ext],
        );
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        match &err {
            CertError::BadExtension { name: got, .. } => assert_eq!(got, name, "{value}"),
            other => panic!("{name}={value}: {other:?}"),
        }
        assert!(err.to_string().contains(name), "{err}");
    }
    // Traits with a null list and unknown role fields are fine.
    let (ty, b64) = s.sign(
        "ca",
        "user",
        &[
            "-I",
            "jerry",
            "-n",
            "jerry",
            "-V",
            &window(),
            "-O",
            r#"extension:teleport-traits={"logins":null,"kubernetes_groups":["a","b"]}"#,
            "-O",
            r#"extension:teleport-roles={"version":"v2","roles":["r1","r2"],"extra":1}"#,
        ],
    );
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert_eq!(id.roles, ["r1", "r2"]);
    assert_eq!(id.traits["logins"], Vec::<String>::new());
    assert_eq!(id.traits["kubernetes_groups"], ["a", "b"]);
}

#[test]
fn ssh_cert_plain_key_refused() {
    let (s, cas) = setup("plain");
    let line = read_line(&s.path("user.pub"));
    let mut parts = line.split_whitespace();
    let (ty, b64) = (parts.next().unwrap(), parts.next().unwrap());
    let err = verify_user_cert(ty, b64, &cas, "jerry", inside()).unwrap_err();
    assert_eq!(
        err,
        CertError::NotACertificate {
            key_type: "ssh-ed25519".to_owned()
        }
    );
    assert!(err.to_string().contains("not a certificate"), "{err}");
    // A plain key claimed to be a certificate.
    let err = verify_user_cert(
        "ssh-ed25519-cert-v01@openssh.com",
        b64,
        &cas,
        "jerry",
        inside(),
    )
    .unwrap_err();
    assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
}

#[test]
fn ssh_cert_type_word_must_match() {
    let (s, cas) = setup("typeword");
    let (_, b64) = teleport_cert(&s, "ca");
    let err = verify_user_cert(
        "ssh-rsa-cert-v01@openssh.com",
        &b64,
        &cas,
        "jerry",
        inside(),
    )
    .unwrap_err();
    assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
    assert!(
        err.to_string().contains("ssh-ed25519-cert-v01@openssh.com"),
        "{err}"
    );
}

#[test]
fn ssh_cert_critical_options() {
    let (s, cas) = setup("critical");
    let base = ["-I", "jerry", "-n", "jerry", "-V", &window()];
    // source-address: left to sshd, as x/crypto's CheckCert leaves it to
    // the connection's address check.
    let mut args = base.to_vec();
    args.extend(["-O", "source-address=10.0.0.0/8"]);
    let (ty, b64) = s.sign("ca", "user", &args);
    assert!(verify_user_cert(&ty, &b64, &cas, "jerry", inside()).is_ok());
    // Any other, even one OpenSSH enforces: a Teleport node's CertChecker
    // (no SupportedCriticalOptions) refuses the certificate, so do we.
    for (option, name) in [
        ("force-command=/bin/true", "force-command"),
        ("verify-required", "verify-required"),
        ("critical:frobnicate=yes", "frobnicate"),
    ] {
        let mut args = base.to_vec();
        args.extend(["-O", "source-address=10.0.0.0/8", "-O", option]);
        let (ty, b64) = s.sign("ca", "user", &args);
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
        assert_eq!(
            err,
            CertError::UnsupportedCriticalOption {
                name: name.to_owned()
            },
            "{option}"
        );
    }
}

#[test]
fn ssh_cert_sk_subject_key() {
    let (s, cas) = setup("sk");
    // An sk-ssh-ed25519 public key, made by hand (no token needed to certify it).
    let mut blob = Vec::new();
    for field in [
        &b"sk-ssh-ed25519@openssh.com"[..],
        &[7u8; 32][..],
        &b"ssh:"[..],
    ] {
        blob.extend_from_slice(&u32::try_from(field.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(field);
    }
    s.write_pub(
        "sk",
        &format!("sk-ssh-ed25519@openssh.com {} sk", encode(&blob)),
    );
    let (ty, b64) = s.sign("ca", "sk", &strs(&teleport_args(&window())));
    assert_eq!(ty, "sk-ssh-ed25519-cert-v01@openssh.com");
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert_eq!(id.subject_key_type, "sk-ssh-ed25519@openssh.com");
    assert_eq!(id.mfa_verified.as_deref(), Some("device-1"));
}

#[test]
fn ssh_cert_rsa_type_word_spellings() {
    assert_eq!(
        normalize_cert_type("rsa-sha2-512-cert-v01@openssh.com"),
        "ssh-rsa-cert-v01@openssh.com"
    );
    assert_eq!(
        normalize_cert_type("ssh-ed25519-cert-v01@openssh.com"),
        "ssh-ed25519-cert-v01@openssh.com"
    );
}
