//! Certificates of the cluster's `openssh` CA (Teleport's proxy logging in
//! to an agentless node): trusted only as this cluster's, checked as a user
//! CA's are, read for the user, roles and traits, and refused when they
//! carry an extension Teleport never puts there.

use super::openssh_ca::{NEVER_IN_OPENSSH_CERTS, OPENSSH_KEY_POLICIES};
use super::testkit::*;
use super::*;

const HERE: &str = "example.com";

/// `ssh-keygen -s` options for a certificate as lib/auth `generateCert`
/// makes one for the `openssh` CA in the `standard` format: key id, the
/// logins and `-teleport-internal-join`, roles, traits, route to cluster,
/// `disallow-reissue`, `private-key-policy` `web_session`, and the permits
/// (`ssh-keygen`'s defaults); `extra` (`name=value`) besides.
fn agentless_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "-I",
        "jerry",
        "-n",
        "jerry,root,-teleport-internal-join",
        "-V",
        &window(),
        "-O",
        &format!("extension:teleport-roles={ROLES}"),
        "-O",
        &format!("extension:teleport-traits={TRAITS}"),
        "-O",
        &format!("extension:teleport-route-to-cluster={HERE}"),
        "-O",
        "extension:disallow-reissue",
        "-O",
        "extension:private-key-policy=web_session",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for e in extra {
        args.extend(["-O".to_owned(), format!("extension:{e}")]);
    }
    args
}

/// A scratch dir with key `openssh` (this cluster's openssh CA, besides
/// its user CA `ca`), user key `user`, and the CA list.
fn setup_openssh(tag: &str) -> (Scratch, Vec<CertAuthority>) {
    let (s, mut cas) = setup(tag);
    let line = s.keygen("openssh", &["-t", "ed25519"]);
    cas.push(ca("openssh", HERE, &line));
    (s, cas)
}

fn agentless_cert(s: &Scratch, extra: &[&str]) -> (String, String) {
    s.sign("openssh", "user", &strs(&agentless_args(extra)))
}

/// Before, refused as "only user CAs sign login certificates"; now it
/// names the user with the roles and traits Teleport put in it, and no
/// MFA.
#[test]
fn this_clusters_openssh_ca_names_the_user_without_mfa() {
    let (s, cas) = setup_openssh("agentless");
    let (ty, b64) = agentless_cert(&s, &[]);
    let id = verify_login_cert(&ty, &b64, &cas, Some(HERE), "jerry", inside()).unwrap();
    assert_eq!(id.issuer, Issuer::OpenSshCa);
    assert_eq!(id.key_id, "jerry");
    assert_eq!(id.ca_cluster, HERE);
    assert_eq!(id.roles, ["access-prod"]);
    assert_eq!(id.traits["logins"], ["jerry"]);
    assert_eq!(id.mfa_verified, None);
    assert_eq!(id.private_key_policy.as_deref(), Some("web_session"));
    assert!(!id.trusted_device && !id.bot);
    // A tsh certificate of the user CA still says so.
    let (ty, b64) = teleport_cert(&s, "ca");
    let id = verify_login_cert(&ty, &b64, &cas, Some(HERE), "jerry", inside()).unwrap();
    assert_eq!(id.issuer, Issuer::UserCa);
}

/// Another cluster's openssh CA (a trusted cluster shares its own with
/// its leaves), or an openssh CA when this cluster is not known, signs
/// nothing here.
#[test]
fn only_this_clusters_openssh_ca_is_trusted() {
    let (s, mut cas) = setup_openssh("agentless-other");
    let (ty, b64) = agentless_cert(&s, &[]);
    let not_trusted = |cas: &[CertAuthority], here: Option<&str>| match verify_login_cert(
        &ty,
        &b64,
        cas,
        here,
        "jerry",
        inside(),
    ) {
        Err(CertError::UnknownCa { known_as, .. }) => known_as,
        other => panic!("{here:?}: {other:?}"),
    };
    assert_eq!(
        not_trusted(&cas, Some("leaf.example.com")).as_deref(),
        Some("openssh CA of example.com")
    );
    assert_eq!(
        not_trusted(&cas, None).as_deref(),
        Some("openssh CA of example.com")
    );
    let err = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap_err();
    assert!(
        err.to_string().contains(
            "that key is the openssh CA of example.com, and only user CAs and this cluster's openssh CA sign login certificates"
        ),
        "{err}"
    );
    // The same key listed as the openssh CA of this cluster, after
    // another cluster's: trusted as this cluster's.
    cas[1].cluster_name = "root.example.com".into();
    let line = cas[1].ssh_public_keys[0].clone();
    assert!(not_trusted(&cas, Some(HERE)).is_some());
    cas.push(ca("openssh", HERE, &line));
    let id = verify_login_cert(&ty, &b64, &cas, Some(HERE), "jerry", inside()).unwrap();
    assert_eq!(id.ca_cluster, HERE);
}

/// During a rotation both key sets sign (the CA's `ssh_public_keys` holds
/// its active and additional trusted keys).
#[test]
fn a_rotated_openssh_ca_key_is_trusted() {
    let (s, mut cas) = setup_openssh("agentless-rotation");
    let old = s.keygen("old_openssh", &["-t", "ed25519"]);
    cas[1].ssh_public_keys.push(old);
    let (ty, b64) = s.sign("old_openssh", "user", &strs(&agentless_args(&[])));
    let id = verify_login_cert(&ty, &b64, &cas, Some(HERE), "jerry", inside()).unwrap();
    assert_eq!(id.issuer, Issuer::OpenSshCa);
}

/// Validity, principals, the certificate type and critical options are
/// checked as for a user CA's certificate.
#[test]
fn an_openssh_certificate_is_checked_as_a_user_certificate() {
    let (s, cas) = setup_openssh("agentless-checks");
    let (ty, b64) = agentless_cert(&s, &[]);
    let verify = |ty: &str, b64: &str, login: &str, now| {
        verify_login_cert(ty, b64, &cas, Some(HERE), login, now).unwrap_err()
    };
    assert!(matches!(
        verify(&ty, &b64, "jerry", at(VB)),
        CertError::Expired { .. }
    ));
    assert!(matches!(
        verify(&ty, &b64, "jerry", at(VA - 1)),
        CertError::NotYetValid { .. }
    ));
    assert!(matches!(
        verify(&ty, &b64, "alice", inside()),
        CertError::LoginNotInPrincipals { .. }
    ));
    let host = s.sign(
        "openssh",
        "user",
        &["-h", "-I", "jerry", "-n", "jerry", "-V", &window()],
    );
    assert_eq!(
        verify(&host.0, &host.1, "jerry", inside()),
        CertError::NotUserCertificate
    );
    let mut args = agentless_args(&[]);
    args.extend(["-O".into(), "force-command=/bin/true".into()]);
    let forced = s.sign("openssh", "user", &strs(&args));
    assert!(matches!(
        verify(&forced.0, &forced.1, "jerry", inside()),
        CertError::UnsupportedCriticalOption { .. }
    ));
    let mut blob = decode(&b64);
    let at_id = blob.windows(5).position(|w| w == b"jerry").unwrap();
    blob[at_id + 4] = b'z';
    assert_eq!(
        verify(&ty, &encode(&blob), "jerry", inside()),
        CertError::BadSignature
    );
}

/// What Teleport never signs in an openssh CA certificate refuses it: MFA,
/// a hardware key policy, a trusted device, a bot, a longer session. The
/// same extensions in a user CA's certificate are read as before.
#[test]
fn extensions_teleport_never_puts_in_openssh_certificates_refuse_it() {
    let (s, cas) = setup_openssh("agentless-smuggled");
    let value = |name: &str| match name {
        "prev-identity-expires" => "2030-01-01T00:00:00Z",
        _ => "x",
    };
    for name in NEVER_IN_OPENSSH_CERTS {
        let ext = format!("{name}={}", value(name));
        let (ty, b64) = agentless_cert(&s, &[&ext]);
        let err = verify_login_cert(&ty, &b64, &cas, Some(HERE), "jerry", inside()).unwrap_err();
        assert_eq!(
            err,
            CertError::NotFromOpenSshCa {
                name: name.into(),
                value: String::new()
            }
        );
        assert!(
            err.to_string().contains("Teleport never signs there"),
            "{err}"
        );
        let (ty, b64) = s.sign("ca", "user", &strs(&agentless_args(&[&ext])));
        assert!(
            verify_login_cert(&ty, &b64, &cas, Some(HERE), "jerry", inside()).is_ok(),
            "{name} in a user CA's certificate"
        );
    }
    for policy in [
        "hardware_key",
        "hardware_key_touch",
        "hardware_key_pin",
        "web_session2",
    ] {
        let mut args = agentless_args(&[]);
        let last = args.len() - 1;
        args[last] = format!("extension:private-key-policy={policy}");
        let (ty, b64) = s.sign("openssh", "user", &strs(&args));
        let err = verify_login_cert(&ty, &b64, &cas, Some(HERE), "jerry", inside()).unwrap_err();
        assert_eq!(
            err,
            CertError::NotFromOpenSshCa {
                name: "private-key-policy".into(),
                value: policy.into()
            }
        );
    }
    for policy in OPENSSH_KEY_POLICIES {
        let mut args = agentless_args(&[]);
        let last = args.len() - 1;
        args[last] = format!("extension:private-key-policy={policy}");
        let (ty, b64) = s.sign("openssh", "user", &strs(&args));
        assert!(verify_login_cert(&ty, &b64, &cas, Some(HERE), "jerry", inside()).is_ok());
    }
}
