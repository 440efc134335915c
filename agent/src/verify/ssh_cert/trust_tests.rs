//! Who signed the certificate and when: trusted user CAs only (of every key
//! kind), the validity window, the login among the principals.

use std::collections::BTreeMap;
use std::time::Duration;

use super::testkit::*;
use super::*;

#[test]
fn ssh_cert_valid_teleport_cert() {
    let (s, cas) = setup("valid");
    let (ty, b64) = teleport_cert(&s, "ca");
    assert_eq!(ty, "ssh-ed25519-cert-v01@openssh.com");
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert_eq!(id.key_id, "jerry");
    assert_eq!(id.principals, ["jerry", "root"]);
    assert_eq!(id.roles, ["access-prod"]);
    assert_eq!(
        id.traits,
        BTreeMap::from([("logins".to_owned(), vec!["jerry".to_owned()])])
    );
    assert_eq!(id.mfa_verified.as_deref(), Some("device-1"));
    assert_eq!(id.private_key_policy.as_deref(), Some("hardware_key_touch"));
    assert_eq!(id.valid_after, at(VA));
    assert_eq!(id.valid_before, at(VB));
    assert_eq!(id.ca_cluster, "example.com");
    assert_eq!(id.subject_key_type, "ssh-ed25519");
    // Any principal will do; so will the edges of the window.
    assert!(verify_user_cert(&ty, &b64, &cas, "root", inside()).is_ok());
    assert!(verify_user_cert(&ty, &b64, &cas, "jerry", at(VA)).is_ok());
    assert!(verify_user_cert(&ty, &b64, &cas, "jerry", at(VB) - Duration::from_millis(1)).is_ok());
}

#[test]
fn ssh_cert_untrusted_ca_refused() {
    let (s, cas) = setup("untrusted");
    s.keygen("other", &["-t", "ed25519"]);
    let (ty, b64) = teleport_cert(&s, "other");
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
    assert!(
        matches!(err, CertError::UnknownCa { known_as: None, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("signed by a CA that is not trusted"),
        "{err}"
    );
    // No CAs at all: the same.
    let err = verify_user_cert(&ty, &b64, &[], "jerry", inside()).unwrap_err();
    assert!(matches!(err, CertError::UnknownCa { .. }), "{err:?}");
}

#[test]
fn ssh_cert_host_ca_refused() {
    let (s, user_cas) = setup("hostca");
    let ca_line = &user_cas[0].ssh_public_keys[0];
    let (ty, b64) = teleport_cert(&s, "ca");
    let cas = [ca("host", "example.com", ca_line)];
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
    match &err {
        CertError::UnknownCa { known_as, .. } => {
            assert_eq!(known_as.as_deref(), Some("host CA of example.com"))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("signed by a CA that is not trusted"),
        "{err}"
    );
    assert!(err.to_string().contains("host CA of example.com"), "{err}");
    // The same key listed also as a user CA (after the host one) is trusted.
    let both = [cas[0].clone(), ca("user", "leaf.example.com", ca_line)];
    let id = verify_user_cert(&ty, &b64, &both, "jerry", inside()).unwrap();
    assert_eq!(id.ca_cluster, "leaf.example.com");
}

#[test]
fn ssh_cert_trusted_key_among_several() {
    let (s, mut cas) = setup("several");
    let other = s.keygen("other", &["-t", "ed25519"]);
    let (ty, b64) = teleport_cert(&s, "other");
    // A CA with a rotated key set: an unparseable line, the old key, the new key.
    cas.push(CertAuthority {
        cluster_name: "second.example.com".to_owned(),
        ca_type: "user".to_owned(),
        ssh_public_keys: vec![
            "ssh-ed25519 %%%not-base64".to_owned(),
            cas[0].ssh_public_keys[0].clone(),
            other,
        ],
        role_map: Vec::new(),
    });
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert_eq!(id.ca_cluster, "second.example.com");
}

#[test]
fn ssh_cert_expired_refused() {
    let (s, cas) = setup("expired");
    let (ty, b64) = teleport_cert(&s, "ca");
    for now in [at(VB), at(VB + 1), at(VB + 86_400)] {
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", now).unwrap_err();
        assert_eq!(
            err,
            CertError::Expired {
                valid_before: at(VB)
            }
        );
        assert!(err.to_string().contains("expired"), "{err}");
    }
    // A window wholly in the past, checked against the real clock.
    let (ty, b64) = s.sign(
        "ca",
        "user",
        &["-I", "jerry", "-n", "jerry", "-V", "0x10000000:0x10000E10"],
    );
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", SystemTime::now()).unwrap_err();
    assert!(matches!(err, CertError::Expired { .. }), "{err:?}");
    assert!(err.to_string().contains("1978-07-04T22:24:16Z"), "{err}");
}

/// sshd checked the certificate when it authenticated the connection: one
/// that expired after the connection began still counts at a later PAM
/// step; one that had expired before it began, or is not yet valid, never.
#[test]
fn ssh_cert_checked_since_the_connection_began() {
    let (s, cas) = setup("during");
    let (ty, b64) = teleport_cert(&s, "ca");
    let during = |since: u64, now: u64| CheckedDuring {
        since: at(since),
        now: at(now),
    };
    // Expired after the connection began, before now: accepted.
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", during(VB - 30, VB + 60)).unwrap();
    assert_eq!(id.key_id, "jerry");
    // The same certificate checked at `now` alone is refused.
    assert!(verify_user_cert(&ty, &b64, &cas, "jerry", at(VB + 60)).is_err());
    // Expired when (or before) the connection began: refused.
    for since in [VB, VB + 1] {
        let err = verify_user_cert(&ty, &b64, &cas, "jerry", during(since, VB + 60)).unwrap_err();
        assert_eq!(
            err,
            CertError::Expired {
                valid_before: at(VB)
            }
        );
    }
    // Not valid yet now, however early the connection began: refused.
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", during(VA - 100, VA - 1)).unwrap_err();
    assert!(matches!(err, CertError::NotYetValid { .. }), "{err:?}");
    // The other checks still apply over a window.
    let err = verify_user_cert(&ty, &b64, &cas, "alice", during(VB - 30, VB + 60)).unwrap_err();
    assert!(
        matches!(err, CertError::LoginNotInPrincipals { .. }),
        "{err:?}"
    );
}

#[test]
fn ssh_cert_not_yet_valid_refused() {
    let (s, cas) = setup("notyet");
    let (ty, b64) = teleport_cert(&s, "ca");
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", at(VA - 1)).unwrap_err();
    assert_eq!(
        err,
        CertError::NotYetValid {
            valid_after: at(VA)
        }
    );
    assert!(err.to_string().contains("not yet valid"), "{err}");
    let err =
        verify_user_cert(&ty, &b64, &cas, "jerry", at(VA) - Duration::from_millis(1)).unwrap_err();
    assert!(matches!(err, CertError::NotYetValid { .. }), "{err:?}");
}

#[test]
fn ssh_cert_login_not_in_principals_refused() {
    let (s, cas) = setup("principals");
    let (ty, b64) = teleport_cert(&s, "ca");
    for login in ["alice", "", "jerr", "jerry,root"] {
        let err = verify_user_cert(&ty, &b64, &cas, login, inside()).unwrap_err();
        assert!(
            matches!(err, CertError::LoginNotInPrincipals { .. }),
            "{login}: {err:?}"
        );
    }
    let err = verify_user_cert(&ty, &b64, &cas, "alice", inside()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "login `alice` is not in the certificate's principals (jerry, root)"
    );
    // No principals at all: valid for no login (unlike an OpenSSH wildcard).
    let (ty, b64) = s.sign("ca", "user", &["-I", "jerry", "-V", &window()]);
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
    assert!(
        matches!(err, CertError::LoginNotInPrincipals { .. }),
        "{err:?}"
    );
}

#[test]
fn ssh_cert_forever_is_refused_as_malformed() {
    let (s, cas) = setup("forever");
    let (ty, b64) = s.sign("ca", "user", &["-I", "jerry", "-n", "jerry"]);
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
    assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
}

fn check_ca_kind(tag: &str, key_args: &[&str]) {
    let s = Scratch::new(tag);
    let ca_line = s.keygen("ca", key_args);
    s.keygen("user", &["-t", "ecdsa", "-b", "256"]);
    let cas = [ca("user", "example.com", &ca_line)];
    let (ty, b64) = teleport_cert(&s, "ca");
    assert_eq!(ty, "ecdsa-sha2-nistp256-cert-v01@openssh.com");
    let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert_eq!(id.key_id, "jerry");
    assert_eq!(id.roles, ["access-prod"]);
    assert_eq!(id.subject_key_type, "ecdsa-sha2-nistp256");
    // Tampered: refused.
    let mut blob = decode(&b64);
    let at_id = blob.windows(5).position(|w| w == b"jerry").unwrap();
    blob[at_id + 4] = b'z';
    let err = verify_user_cert(&ty, &encode(&blob), &cas, "jerry", inside()).unwrap_err();
    assert_eq!(err, CertError::BadSignature, "{tag}");
    // Another CA of the same kind: untrusted.
    s.keygen("other", key_args);
    let (ty, b64) = teleport_cert(&s, "other");
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
    assert!(matches!(err, CertError::UnknownCa { .. }), "{tag}: {err:?}");
}

#[test]
fn ssh_cert_rsa_ca() {
    check_ca_kind("rsa", &["-t", "rsa", "-b", "2048"]);
}

#[test]
fn ssh_cert_ecdsa_ca() {
    check_ca_kind("p256", &["-t", "ecdsa", "-b", "256"]);
    check_ca_kind("p384", &["-t", "ecdsa", "-b", "384"]);
    check_ca_kind("p521", &["-t", "ecdsa", "-b", "521"]);
}
