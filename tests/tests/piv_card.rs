//! The software PIV card under real middleware: pcscd with vsmartcard's vpcd driver,
//! opensc-tool, yubico-piv-tool, opensc's PKCS#11 module (pkcs11-tool) and openssl,
//! each test in its own mount and network namespaces.

#[path = "piv_card/pkcs11.rs"]
mod pkcs11;

use std::path::Path;

use pam_mfa_e2e::piv_card::env::{CardOptions, PcscEnv};
use pam_mfa_e2e::piv_card::tools::{ok, require_pcsc_tools, ykpiv};
use pam_mfa_e2e::require_root;

const CARD: &str = env!("CARGO_BIN_EXE_piv-card");
const PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

fn started(label: &str, opts: &CardOptions) -> PcscEnv {
    let mut env = PcscEnv::start(label);
    env.start_card(Path::new(CARD), opts);
    env
}

fn path_str(env: &PcscEnv, name: &str) -> String {
    env.dir().join(name).to_str().unwrap().to_string()
}

/// Sends raw APDUs (hex, space-free) in one session with opensc-tool; returns the
/// status words.
fn raw_apdus(env: &PcscEnv, apdus: &[String]) -> Vec<String> {
    raw_exchange(env, apdus)
        .into_iter()
        .map(|(sw, _)| sw)
        .collect()
}

/// As [`raw_apdus`], with each response's data (upper-case hex).
fn raw_exchange(env: &PcscEnv, apdus: &[String]) -> Vec<(String, String)> {
    let mut argv = vec!["opensc-tool".to_string(), "-r".into(), "0".into()];
    for a in apdus {
        argv.push("-s".into());
        argv.push(a.clone());
    }
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let f = env.run(&refs);
    let out = ok(&f, "opensc-tool -s", env);
    let mut exchanges: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        if let Some(l) = line.strip_prefix("Received (SW1=0x") {
            let sw2 = l.split("SW2=0x").nth(1).map(|s| &s[..2]).unwrap_or("??");
            exchanges.push((format!("{}{sw2}", &l[..2]).to_uppercase(), String::new()));
        } else if line.starts_with("Sending:") {
            continue;
        } else if let Some((_, data)) = exchanges.last_mut() {
            // "61 11 4F ... a.O..." : up to 16 "XX " bytes, then the ASCII column.
            let b = line.as_bytes();
            for i in 0..16 {
                match b.get(3 * i..3 * i + 3) {
                    Some([h, l, b' ']) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                        data.push(char::from(*h).to_ascii_uppercase());
                        data.push(char::from(*l).to_ascii_uppercase());
                    }
                    _ => break,
                }
            }
        }
    }
    exchanges
}

const SELECT: &str = "00A4040005A000000308";

fn verify_pin_apdu(pin: &str) -> String {
    let mut hex: String = pin.bytes().map(|b| format!("{b:02X}")).collect();
    for _ in pin.len()..8 {
        hex.push_str("FF");
    }
    format!("0020008008{hex}")
}

fn sign_apdu(slot: &str) -> String {
    format!("008711{slot}267C2482008120{}", "AB".repeat(32))
}

/// Extension OID -> hex of its value, as openssl asn1parse shows them.
fn extension_values(env: &PcscEnv, pem: &str) -> Vec<(String, String)> {
    let f = env.run(&["openssl", "asn1parse", "-in", pem]);
    let out = ok(&f, "openssl asn1parse", env);
    let lines: Vec<&str> = out.lines().collect();
    let mut found = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some(oid) = l.split(":1.3.6.1.4.1.41482.3.").nth(1) {
            let value = lines[i + 1..]
                .iter()
                .find_map(|n| n.split("[HEX DUMP]:").nth(1))
                .unwrap_or("")
                .trim()
                .to_string();
            found.push((oid.trim().to_string(), value));
        }
    }
    found
}

#[test]
fn opensc_sees_the_virtual_reader_and_the_yubikey_atr() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "pkcs11-tool", "openssl"]);
    let env = started("piv-readers", &CardOptions::default());
    let out = ok(
        &env.run(&["opensc-tool", "--list-readers"]),
        "list-readers",
        &env,
    );
    let line = out
        .lines()
        .find(|l| l.contains("Virtual PCD 00 00"))
        .unwrap_or_else(|| panic!("no Virtual PCD reader:\n{out}"));
    assert!(line.contains("Yes"), "no card in the reader: {line}");
    let atr = ok(&env.run(&["opensc-tool", "-r", "0", "--atr"]), "atr", &env);
    assert!(
        atr.to_lowercase()
            .contains("3b:fd:13:00:00:81:31:fe:15:80:73:c0:21:c0:57:59:75:62:69:4b:65:79:40"),
        "{atr}"
    );
}

#[test]
fn yubico_piv_tool_generates_and_attests_under_the_test_root() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "pkcs11-tool", "openssl"]);
    let opts = CardOptions {
        serial: 12_345_678,
        firmware: "5.7.1".into(),
        form_factor: 0x03,
        ..CardOptions::default()
    };
    let env = started("piv-attest", &opts);
    let status = ok(&ykpiv(&env, &["-a", "status"]), "status", &env);
    assert!(status.contains("Version:\t5.7.1"), "{status}");
    assert!(status.contains("Serial Number:\t12345678"), "{status}");
    assert!(status.contains("PIN tries left:\t3"), "{status}");
    ok(
        &ykpiv(&env, &["-a", "verify-pin", "-P", "123456"]),
        "verify-pin",
        &env,
    );

    let public = path_str(&env, "pub.pem");
    let args = ["-a", "generate", "-A", "ECCP256", "-s", "9c"];
    let args = [
        &args[..],
        &["--touch-policy=always", "--pin-policy=once", "-o", &public],
    ]
    .concat();
    ok(&ykpiv(&env, &args), "generate", &env);
    let att = path_str(&env, "att.pem");
    let f9 = path_str(&env, "f9.pem");
    ok(
        &ykpiv(&env, &["-a", "attest", "-s", "9c", "-o", &att]),
        "attest",
        &env,
    );
    ok(
        &ykpiv(&env, &["-a", "read-certificate", "-s", "f9", "-o", &f9]),
        "read f9",
        &env,
    );
    let root = env.root_cert_path();
    let root = root.to_str().unwrap();
    ok(
        &env.run(&[
            "openssl",
            "verify",
            "-CAfile",
            root,
            "-untrusted",
            &f9,
            &att,
        ]),
        "chain verification",
        &env,
    );
    // The same chain under another root does not verify.
    let other = pam_mfa_e2e::piv_card::attest::Authority::test_root("someone-else");
    let other_path = env.dir().join("other.pem");
    std::fs::write(&other_path, other.cert_pem()).unwrap();
    let bad = env.run(&[
        "openssl",
        "verify",
        "-CAfile",
        other_path.to_str().unwrap(),
        "-untrusted",
        &f9,
        &att,
    ]);
    assert!(!bad.success(), "verified under a foreign root: {bad:?}");
    // The attested key is the generated one.
    let att_key = ok(
        &env.run(&["openssl", "x509", "-in", &att, "-noout", "-pubkey"]),
        "pubkey",
        &env,
    );
    assert_eq!(
        att_key.trim(),
        std::fs::read_to_string(&public).unwrap().trim()
    );
    let exts = extension_values(&env, &att);
    let want = [
        ("3", "050701".to_string()),
        ("7", "020400BC614E".to_string()),
        ("8", "0202".to_string()),
        ("9", "03".to_string()),
    ];
    for (oid, value) in want {
        let got = exts
            .iter()
            .find(|(o, _)| o == oid)
            .map(|(_, v)| v.to_uppercase());
        assert_eq!(
            got.as_deref(),
            Some(value.as_str()),
            "extension .{oid} in {exts:?}"
        );
    }
    // GET METADATA: algorithm P-256, policy once/always, generated, the public point.
    let got = raw_exchange(
        &env,
        &[
            SELECT.into(),
            "00F7009C".into(),
            "00F70080".into(),
            "00F700F0".into(),
        ],
    );
    let der = pam_mfa_e2e::piv_card::attest::pem_decode(
        &std::fs::read_to_string(&public).unwrap(),
        "PUBLIC KEY",
    )
    .unwrap();
    let point: String = der[der.len() - 65..]
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    // alg 11 (P-256); policy 02 02 (PIN once, touch always); origin 01 (generated);
    // public key 86 <point>.
    let want_key = format!("010111020202020301010443 8641{point}").replace(' ', "");
    assert_eq!(got[1], ("9000".to_string(), want_key), "9c metadata");
    assert_eq!(
        got[2],
        ("9000".to_string(), "0101FF0501010602 0303".replace(' ', "")),
        "PIN metadata"
    );
    assert_eq!(got[3].0, "6A82", "metadata of an empty slot");
}

#[test]
fn a_wrong_pin_counts_down_blocks_and_the_puk_unblocks() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "pkcs11-tool", "openssl"]);
    let env = started("piv-pin", &CardOptions::default());
    for left in [2, 1] {
        let f = ykpiv(&env, &["-a", "verify-pin", "-P", "654321"]);
        assert!(!f.success(), "a wrong PIN passed");
        assert!(f.stderr.contains(&format!("{left} tries left")), "{f:?}");
    }
    let sws = raw_apdus(
        &env,
        &[
            SELECT.into(),
            "00200080".into(),
            verify_pin_apdu("000000"),
            "00200080".into(),
            verify_pin_apdu("123456"),
        ],
    );
    assert_eq!(
        sws,
        ["9000", "63C1", "63C0", "6983", "6983"],
        "blocked at 0"
    );
    let f = ykpiv(&env, &["-a", "verify-pin", "-P", "123456"]);
    assert!(!f.success(), "the right PIN passed a blocked card: {f:?}");
    ok(
        &ykpiv(
            &env,
            &["-a", "unblock-pin", "-P", "12345678", "-N", "24681357"],
        ),
        "unblock-pin",
        &env,
    );
    ok(
        &ykpiv(&env, &["-a", "verify-pin", "-P", "24681357"]),
        "new PIN",
        &env,
    );
    let f = ykpiv(&env, &["-a", "verify-pin", "-P", "123456"]);
    assert!(!f.success(), "the old PIN still passes");
}

#[test]
fn pin_policies_are_enforced_per_signature() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "pkcs11-tool", "openssl"]);
    let env = started("piv-pin-policy", &CardOptions::default());
    for (slot, pin) in [("9a", "never"), ("9d", "always"), ("9e", "once")] {
        let out = path_str(&env, &format!("{slot}.pem"));
        let args = [
            "-a",
            "generate",
            "-A",
            "ECCP256",
            "-s",
            slot,
            "--touch-policy=never",
        ];
        let pin_arg = format!("--pin-policy={pin}");
        let args = [&args[..], &[&pin_arg, "-o", &out]].concat();
        ok(&ykpiv(&env, &args), "generate", &env);
    }
    let v = verify_pin_apdu("123456");
    let sws = raw_apdus(
        &env,
        &[
            SELECT.into(),
            sign_apdu("9A"), // never: no PIN needed
            sign_apdu("9E"), // once: not yet verified
            sign_apdu("9D"), // always: not verified
            v.clone(),
            sign_apdu("9D"), // always: right after VERIFY
            sign_apdu("9D"), // always: VERIFY already used
            sign_apdu("9E"), // once: verified in this session
        ],
    );
    assert_eq!(
        sws,
        ["9000", "9000", "6982", "6982", "9000", "9000", "6982", "9000"],
        "card log:\n{}",
        env.card_log()
    );
}

#[test]
fn touch_policies_wait_for_the_scripted_touch_and_cache_it() {
    require_root!();
    require_pcsc_tools(&["opensc-tool", "yubico-piv-tool", "pkcs11-tool", "openssl"]);
    let env = started("piv-touch", &CardOptions::default());
    for (slot, touch) in [("9a", "cached"), ("9e", "always")] {
        let out = path_str(&env, &format!("{slot}.pem"));
        let args = [
            "-a",
            "generate",
            "-A",
            "ECCP256",
            "-s",
            slot,
            "--pin-policy=never",
        ];
        let touch_arg = format!("--touch-policy={touch}");
        let args = [&args[..], &[&touch_arg, "-o", &out]].concat();
        ok(&ykpiv(&env, &args), "generate", &env);
    }
    env.set_touch("not touched");
    let sws = raw_apdus(&env, &[SELECT.into(), sign_apdu("9A"), sign_apdu("9E")]);
    assert_eq!(sws, ["9000", "6982", "6982"], "untouched signatures");
    env.set_touch("touched");
    let sws = raw_apdus(&env, &[SELECT.into(), sign_apdu("9A"), sign_apdu("9E")]);
    assert_eq!(sws, ["9000", "9000", "9000"], "touched signatures");
    // Within the 15 s cache a cached-touch key signs untouched; an always key does not.
    env.set_touch("not touched");
    let sws = raw_apdus(&env, &[SELECT.into(), sign_apdu("9A"), sign_apdu("9E")]);
    assert_eq!(
        sws,
        ["9000", "9000", "6982"],
        "card log:\n{}",
        env.card_log()
    );
    assert_eq!(
        env.card_log()
            .matches("touch requested for slot 9a")
            .count(),
        2
    );
}
