//! Teleport's certificate extensions beyond roles and traits: the trusted
//! device, `prev-identity-expires`, the Machine ID bot, the resources of an
//! access request.

use super::testkit::*;
use super::*;

/// Teleport's `dtauthz.IsSSHDeviceVerified`: a trusted device only when all
/// three device extensions are present and non-empty.
#[test]
fn ssh_cert_device_extensions() {
    let (s, cas) = setup("device");
    let sign = |extensions: &[&str]| {
        let mut args: Vec<String> = ["-I", "jerry", "-n", "jerry", "-V", &window()]
            .iter()
            .map(|a| a.to_string())
            .collect();
        for e in extensions {
            args.push("-O".into());
            args.push(format!("extension:{e}"));
        }
        let (ty, b64) = s.sign("ca", "user", &strs(&args));
        let id = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
        (id.trusted_device, id.device_id)
    };
    let all = [
        "teleport-device-id=d1",
        "teleport-device-asset-tag=tag",
        "teleport-device-credential-id=c1",
    ];
    let d1 = Some("d1".to_owned());
    assert_eq!(sign(&all), (true, d1.clone()));
    assert_eq!(sign(&[]), (false, None));
    // The device id alone is a lock target, not a trusted device.
    assert_eq!(sign(&all[..2]), (false, d1.clone()));
    assert_eq!(
        sign(&[all[0], all[1], "teleport-device-credential-id"]),
        (false, d1)
    );
}

/// `prev-identity-expires` (RFC 3339, as Teleport writes it on per-session
/// MFA certificates): read; absent, none; not a time (even empty), the
/// certificate is refused, as Teleport's `DecodeIdentity` refuses it.
#[test]
fn ssh_cert_previous_identity_expires() {
    let (s, cas) = setup("previd");
    let read = |ext: Option<&str>| {
        let mut args: Vec<String> = ["-I", "jerry", "-n", "jerry", "-V", &window()]
            .iter()
            .map(|a| a.to_string())
            .collect();
        if let Some(e) = ext {
            args.push("-O".into());
            args.push(format!("extension:prev-identity-expires={e}"));
        }
        let (ty, b64) = s.sign("ca", "user", &strs(&args));
        verify_user_cert(&ty, &b64, &cas, "jerry", inside()).map(|id| id.previous_identity_expires)
    };
    assert_eq!(
        read(Some("2030-01-02T03:04:05Z")),
        Ok(Some(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_893_553_445)
        ))
    );
    assert_eq!(read(None), Ok(None));
    assert!(
        matches!(read(Some("tomorrow")), Err(CertError::BadExtension { ref name, .. }) if name == "prev-identity-expires")
    );
    // Present but empty (a string of no bytes, which the parser cannot
    // tell from a flag, so it is not canonical either): refused.
    assert!(read(Some("")).is_err());
    // A Machine ID bot's certificate, and its instance (lock target
    // `bot_instance_id`).
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
            "extension:bot-name@goteleport.com=ci",
            "-O",
            "extension:bot-instance-id@goteleport.com=2f1c6a8e-7b4d-4e0f-9a31-5c2d8e6f7a10",
            "-O",
            "extension:join-token@goteleport.com=ci-token",
        ],
    );
    let bot = verify_user_cert(&ty, &b64, &cas, "jerry", inside()).unwrap();
    assert!(bot.bot);
    assert_eq!(
        bot.bot_instance_id.as_deref(),
        Some("2f1c6a8e-7b4d-4e0f-9a31-5c2d8e6f7a10")
    );
    // Its join token (lock target `join_token`), kept only as its SHA-256.
    assert_eq!(
        bot.join_token_sha256.as_deref(),
        Some(&*crate::policy::join_token_sha256("ci-token"))
    );
    assert!(!format!("{bot:?}").contains("ci-token"));
}

/// A resource access request's certificate, signed: its resources are read
/// as lib/sshca `DecodeIdentity` reads them (`verify::ssh_cert::
/// allowed_resources` has the cases); a malformed list refuses it.
#[test]
fn ssh_cert_allowed_resources() {
    let (s, cas) = setup("resources");
    let with = |extensions: &[String]| {
        let mut args: Vec<String> = ["-I", "jerry", "-n", "jerry", "-V", &window()]
            .iter()
            .map(|a| a.to_string())
            .collect();
        for e in extensions {
            args.push("-O".into());
            args.push(format!("extension:{e}"));
        }
        let (ty, b64) = s.sign("ca", "user", &strs(&args));
        verify_user_cert(&ty, &b64, &cas, "jerry", inside()).map(|id| id.allowed_resources)
    };
    let older = |json: &str| vec![format!("teleport-allowed-resources={json}")];
    let node = |name: &str| crate::verify::ssh_cert::ResourceId {
        cluster: "example.com".into(),
        kind: "node".into(),
        name: name.into(),
    };
    let limited = with(&older(r#"["/example.com/node/uuid-1"]"#))
        .unwrap()
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(
        (&limited[0].id, &limited[0].constraint),
        (&node("uuid-1"), &None)
    );
    assert!(matches!(
        with(&older("not json")),
        Err(CertError::BadExtension { .. })
    ));
    // ResourceIDsFromString reads null as no list: not limited, not refused.
    assert_eq!(with(&older("null")), Ok(None));
    assert_eq!(with(&older("[]")), Ok(None));
    assert_eq!(with(&[]), Ok(None));
    // Newer Teleport, every resource constrained: the sentinel in the older
    // extension, the resources and their logins in the newer one.
    let constrained = vec![
        r#"teleport-allowed-resources=["/__SENTINEL__/node/__SENTINEL__"]"#.to_string(),
        r#"teleport-allowed-resource-access-ids={"resources":[{"id":{"cluster":"example.com","kind":"node","name":"uuid-2"},"constraints":{"version":"v1","ssh":{"logins":["deploy"]}}}]}"#.to_string(),
    ];
    let limited = with(&constrained).unwrap().unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(
        (&limited[0].id, &limited[0].constraint),
        (
            &node("uuid-2"),
            &Some(crate::verify::ssh_cert::ResourceConstraint::SshLogins(
                vec!["deploy".into()]
            ))
        )
    );
    assert!(matches!(
        with(&[r#"teleport-allowed-resource-access-ids={"resources":[{"id":{"cluster":"example.com","kind":"node","name":"n"},"constraints":{"version":"v1","ssh":{"logins":[]}}}]}"#.to_string()]),
        Err(CertError::BadExtension { ref name, .. }) if name == "teleport-allowed-resource-access-ids"
    ));
}

/// `teleport-active-requests` (`{"access_requests": [...]}`): read; a
/// malformed value refuses the certificate, as Teleport's
/// `parseAccessRequestIDs` does.
#[test]
fn ssh_cert_active_requests() {
    let (s, cas) = setup("requests");
    let with = |json: &str| {
        let ext = format!("extension:teleport-active-requests={json}");
        let (ty, b64) = s.sign(
            "ca",
            "user",
            &["-I", "jerry", "-n", "jerry", "-V", &window(), "-O", &ext],
        );
        verify_user_cert(&ty, &b64, &cas, "jerry", inside())
    };
    assert_eq!(
        with(r#"{"access_requests":["r1","r2"]}"#)
            .unwrap()
            .active_requests,
        ["r1", "r2"]
    );
    assert!(with("{}").unwrap().active_requests.is_empty());
    assert!(matches!(with("[1]"), Err(CertError::BadExtension { .. })));
}

/// Teleport's `DecodeIdentity` refuses a `generation` that is no decimal
/// uint64 and a `source-address` that is not one address and prefix.
#[test]
fn ssh_cert_values_teleport_decodes() {
    let (s, cas) = setup("decodes");
    let verify = |options: &[&str]| {
        let mut args: Vec<String> = ["-I", "jerry", "-n", "jerry", "-V", &window()]
            .iter()
            .map(|a| a.to_string())
            .collect();
        for o in options {
            args.push("-O".into());
            args.push(o.to_string());
        }
        let (ty, b64) = s.sign("ca", "user", &strs(&args));
        verify_user_cert(&ty, &b64, &cas, "jerry", inside()).map(|_| ())
    };
    assert_eq!(verify(&["extension:generation=7"]), Ok(()));
    assert_eq!(
        verify(&["extension:generation=0018446744073709551615"]),
        Ok(())
    );
    assert!(verify(&["extension:generation="]).is_err());
    for g in ["abc", "+7", "-1", "18446744073709551616"] {
        assert!(
            matches!(verify(&[&format!("extension:generation={g}")]), Err(CertError::BadExtension { ref name, .. }) if name == "generation"),
            "{g:?}"
        );
    }
    assert_eq!(verify(&["source-address=10.1.2.3/32"]), Ok(()));
    for a in ["10.1.2.3", "10.0.0.0/8,192.168.0.0/16"] {
        assert!(
            matches!(
                verify(&[&format!("source-address={a}")]),
                Err(CertError::Malformed(_))
            ),
            "{a:?}"
        );
    }
}
