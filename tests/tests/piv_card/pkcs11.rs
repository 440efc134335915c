//! The card through opensc's PKCS#11 module (pkcs11-tool, ssh-keygen -D):
//! signatures with PIN and touch, P-384 keys, a changed management key.

use super::*;

#[test]
fn pkcs11_signs_with_pin_and_touch_and_fails_untouched() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "pkcs11-tool", "openssl"]);
    let env = started("piv-pkcs11", &CardOptions::default());
    let public = path_str(&env, "pub.pem");
    let att = path_str(&env, "att.pem");
    let args = [
        "-a",
        "generate",
        "-A",
        "ECCP256",
        "-s",
        "9c",
        "--touch-policy=always",
    ];
    let args = [&args[..], &["--pin-policy=once", "-o", &public]].concat();
    ok(&ykpiv(&env, &args), "generate", &env);
    ok(
        &ykpiv(&env, &["-a", "attest", "-s", "9c", "-o", &att]),
        "attest",
        &env,
    );
    // opensc lists a key only with a certificate: store the attestation one in 9c.
    ok(
        &ykpiv(&env, &["-a", "import-certificate", "-s", "9c", "-i", &att]),
        "import",
        &env,
    );
    // The certificate went in chained PUT DATA parts, the attestation out through GET RESPONSE.
    let log = env.card_log();
    assert!(
        log.contains("10 db 3f ff") && log.contains("00 c0 00 00"),
        "{log}"
    );
    let slots = ok(
        &env.run(&["pkcs11-tool", "--module", PKCS11, "-L"]),
        "-L",
        &env,
    );
    assert!(
        slots.contains("Virtual PCD 00 00")
            && slots.contains("serial num         : 0000000000989681"),
        "{slots}"
    );
    let objects = ok(
        &env.run(&["pkcs11-tool", "--module", PKCS11, "-O"]),
        "-O",
        &env,
    );
    assert!(
        objects.contains("Certificate Object") && objects.contains("EC_POINT 256 bits"),
        "{objects}"
    );

    // OpenSSH's PKCS#11 client sees the same key (what PKCS11Provider logins use).
    let ssh_keys = ok(
        &env.run(&["ssh-keygen", "-D", PKCS11]),
        "ssh-keygen -D",
        &env,
    );
    let want = ok(
        &env.run(&["ssh-keygen", "-i", "-m", "PKCS8", "-f", &public]),
        "ssh-keygen -i",
        &env,
    );
    let want = want.split_whitespace().nth(1).unwrap().to_string();
    assert!(ssh_keys.contains(&want), "{ssh_keys}\nwanted {want}");
    let msg = env.dir().join("msg");
    std::fs::write(&msg, b"sign me").unwrap();
    let sig = path_str(&env, "sig");
    let sign = |pin: &str| {
        let _ = std::fs::remove_file(&sig);
        env.run(&[
            "pkcs11-tool",
            "--module",
            PKCS11,
            "--login",
            "--pin",
            pin,
            "--sign",
            "--id",
            "02",
            "-m",
            "ECDSA-SHA256",
            "--signature-format",
            "openssl",
            "-i",
            msg.to_str().unwrap(),
            "-o",
            &sig,
        ])
    };
    ok(&sign("123456"), "pkcs11 sign", &env);
    assert_eq!(
        env.card_log()
            .matches("touch requested for slot 9c")
            .count(),
        1
    );
    ok(
        &env.run(&[
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            &public,
            "-signature",
            &sig,
            msg.to_str().unwrap(),
        ]),
        "signature verification",
        &env,
    );
    let tampered = env.dir().join("tampered");
    std::fs::write(&tampered, b"sign me too").unwrap();
    let bad = env.run(&[
        "openssl",
        "dgst",
        "-sha256",
        "-verify",
        &public,
        "-signature",
        &sig,
        tampered.to_str().unwrap(),
    ]);
    assert!(!bad.success(), "signature verified over other data");

    let f = sign("111111");
    assert!(!f.success(), "signed with a wrong PIN: {f:?}");
    env.set_touch("not touched");
    let f = sign("123456");
    assert!(!f.success(), "signed without a touch: {f:?}");
    assert!(env
        .card_log()
        .contains("touch requested for slot 9c: NotTouched"));
    env.set_touch("delay 200 ms");
    ok(&sign("123456"), "sign after a delayed touch", &env);
}

#[test]
fn p384_keys_sign_through_pkcs11_and_a_changed_management_key_is_required() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "pkcs11-tool", "openssl"]);
    let env = started("piv-p384", &CardOptions::default());
    let public = path_str(&env, "p384.pem");
    let att = path_str(&env, "att.pem");
    let args = ["-a", "generate", "-A", "ECCP384", "-s", "9a", "-o", &public];
    ok(&ykpiv(&env, &args), "generate P-384", &env);
    ok(
        &ykpiv(&env, &["-a", "attest", "-s", "9a", "-o", &att]),
        "attest",
        &env,
    );
    let args = ["-a", "import-certificate", "-s", "9a", "-i", &att];
    ok(&ykpiv(&env, &args), "import", &env);
    let msg = env.dir().join("msg");
    std::fs::write(&msg, b"sign me with P-384").unwrap();
    let sig = path_str(&env, "sig");
    let f = env.run(&[
        "pkcs11-tool",
        "--module",
        PKCS11,
        "--login",
        "--pin",
        "123456",
        "--sign",
        "--id",
        "01",
        "-m",
        "ECDSA-SHA384",
        "--signature-format",
        "openssl",
        "-i",
        msg.to_str().unwrap(),
        "-o",
        &sig,
    ]);
    ok(&f, "pkcs11 P-384 sign", &env);
    let args = [
        "openssl",
        "dgst",
        "-sha384",
        "-verify",
        &public,
        "-signature",
        &sig,
    ];
    ok(
        &env.run(&[&args[..], &[msg.to_str().unwrap()]].concat()),
        "P-384 verification",
        &env,
    );

    let new_key = "0102030405060708010203040506070801020304050607ff";
    ok(
        &ykpiv(&env, &["-a", "set-mgm-key", "-n", new_key]),
        "set-mgm-key",
        &env,
    );
    let args = ["-a", "generate", "-A", "ECCP256", "-s", "9e", "-o", &public];
    let f = ykpiv(&env, &args);
    assert!(!f.success(), "the old management key still works: {f:?}");
    let key_arg = format!("--key={new_key}");
    let args = [&[key_arg.as_str()][..], &args[..]].concat();
    ok(&ykpiv(&env, &args), "generate with the new key", &env);
}
