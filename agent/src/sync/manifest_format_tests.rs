use super::*;
use ed25519_dalek::{Signer, SigningKey};

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn sample() -> Manifest {
    Manifest {
        source: "prod-cluster".into(),
        serial: 1_764_914_400,
        issued_at: at(1_764_914_400),
        expires_at: at(1_764_914_400 + 86_400),
        bundle: BundleRef {
            path: bundle_path_for(&"ab".repeat(32)),
            sha256: "ab".repeat(32),
            size: 1234,
        },
    }
}

#[test]
fn serializes_exactly_as_documented_and_parses_back() {
    let m = sample();
    let json = m.to_json().unwrap();
    assert_eq!(
        json,
        format!(
            "{{\"format\":\"pam-mfa-manifest/1\",\"source\":\"prod-cluster\",\"serial\":1764914400,\"issued_at\":\"2025-12-05T06:00:00Z\",\"expires_at\":\"2025-12-06T06:00:00Z\",\"bundle\":{{\"path\":\"bundles/{h}.json\",\"sha256\":\"{h}\",\"size\":1234}}}}",
            h = "ab".repeat(32)
        )
    );
    assert_eq!(parse_manifest(json.as_bytes(), "m").unwrap(), m);
}

#[test]
fn unknown_members_are_ignored_a_repeated_one_is_refused() {
    let json = sample().to_json().unwrap();
    let extra = json.replacen('{', "{\"comment\":\"x\",\"later\":{\"a\":[1]},", 1);
    assert_eq!(parse_manifest(extra.as_bytes(), "m").unwrap(), sample());
    let twice = json.replacen("\"serial\":", "\"serial\":1,\"serial\":", 1);
    let e = parse_manifest(twice.as_bytes(), "m").unwrap_err();
    assert!(e.message.contains("duplicate"), "{e}");
}

#[test]
fn errors_say_where() {
    let e =
        parse_manifest(b"{\n  \"format\": 1,\n}", "https://p.example/manifest.json").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("https://p.example/manifest.json:2:"),
        "{e}"
    );
    let json = sample().to_json().unwrap();
    let cases = [
        ("pam-mfa-manifest/1", "pam-mfa-manifest/2", "format"),
        ("prod-cluster", "", "source"),
        ("\"serial\":1764914400", "\"serial\":0", "serial"),
        ("\"serial\":1764914400", "\"serial\":-1", "u64"),
        ("2025-12-05T06:00:00Z", "2025-12-05T07:00:00+01:00", "UTC"),
        ("2025-12-05T06:00:00Z", "yesterday", "issued_at"),
        ("2025-12-06T06:00:00Z", "2025-12-05T06:00:00Z", "not after"),
        ("\"size\":1234", "\"size\":\"big\"", "u64"),
        ("\"size\":1234", "\"size\":1234.5", "u64"),
    ];
    for (from, to, needle) in cases {
        let bad = json.replacen(from, to, 1);
        let e = parse_manifest(bad.as_bytes(), "m").unwrap_err();
        assert!(e.to_string().contains(needle), "{to}: {e}");
    }
    let missing = json.replacen("\"source\":\"prod-cluster\",", "", 1);
    let e = parse_manifest(missing.as_bytes(), "m").unwrap_err();
    assert!(e.message.contains("source"), "{e}");
    for not_an_object in [&b""[..], b"[]", b"null", b"\xff\xfe"] {
        assert!(parse_manifest(not_an_object, "m").is_err());
    }
    let huge = vec![b' '; MAX_MANIFEST_BYTES as usize + 1];
    assert!(parse_manifest(&huge, "m")
        .unwrap_err()
        .message
        .contains("limit"));
}

#[test]
fn bundle_paths_stay_below_the_manifest() {
    for good in ["bundles/x.json", "b.json", "a/b/c-1_2.json"] {
        assert!(check_bundle_path(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "/etc/shadow",
        "../x.json",
        "bundles/../../x",
        "bundles//x",
        "./x",
        "bundles/",
        "https://evil.example/x",
        "//evil.example/x",
        "a\\..\\b",
        "x?y",
        "x#y",
        "%2e%2e/x",
        "a\nb",
    ] {
        assert!(check_bundle_path(bad).is_err(), "{bad:?}");
        let mut m = sample();
        m.bundle.path = bad.to_string();
        assert!(m.to_json().is_err(), "{bad:?}");
    }
    for bad_hash in ["AB".repeat(32), "ab".repeat(31), "zz".repeat(32)] {
        let json = sample().to_json().unwrap().replace(
            &format!("\"sha256\":\"{}\"", "ab".repeat(32)),
            &format!("\"sha256\":\"{bad_hash}\""),
        );
        assert!(parse_manifest(json.as_bytes(), "m").is_err(), "{bad_hash}");
    }
}

#[test]
fn verifies_with_any_rotation_key_over_the_exact_bytes() {
    let old = SigningKey::from_bytes(&[1; 32]);
    let new = SigningKey::from_bytes(&[2; 32]);
    let stranger = SigningKey::from_bytes(&[3; 32]);
    let json = sample().to_json().unwrap();
    let sig = encode_signature(&new.sign(json.as_bytes()).to_bytes());
    assert!(sig.ends_with('\n'));
    let keys = [
        old.verifying_key().to_bytes(),
        new.verifying_key().to_bytes(),
    ];
    let m = verify_manifest(json.as_bytes(), sig.as_bytes(), &keys, "m").unwrap();
    assert_eq!(m, sample());
    // One byte more (a trailing newline) is other bytes.
    let e =
        verify_manifest(format!("{json}\n").as_bytes(), sig.as_bytes(), &keys, "m").unwrap_err();
    assert!(e.message.contains("manifest signature"), "{e}");
    let wrong = encode_signature(&stranger.sign(json.as_bytes()).to_bytes());
    assert!(verify_manifest(json.as_bytes(), wrong.as_bytes(), &keys, "m").is_err());
    assert!(verify_manifest(json.as_bytes(), b"", &keys, "m").is_err());
    // A validly signed text that is not a manifest is still refused.
    let junk = b"{\"format\":\"other\"}";
    let sig = encode_signature(&new.sign(junk).to_bytes());
    assert!(verify_manifest(junk, sig.as_bytes(), &keys, "m").is_err());
}

#[test]
fn times_keep_whole_seconds_and_accept_fractions() {
    let json = sample()
        .to_json()
        .unwrap()
        .replace("2025-12-05T06:00:00Z", "2025-12-05T06:00:00.250+00:00");
    let m = parse_manifest(json.as_bytes(), "m").unwrap();
    assert_eq!(m.issued_at, at(1_764_914_400) + Duration::from_millis(250));
    assert_eq!(format_utc(m.issued_at).unwrap(), "2025-12-05T06:00:00Z");
    // Apart by less than a second: not after, as written.
    let json = sample()
        .to_json()
        .unwrap()
        .replace("2025-12-06T06:00:00Z", "2025-12-05T06:00:00.900Z");
    let e = parse_manifest(json.as_bytes(), "m").unwrap_err();
    assert!(e.message.contains("not after"), "{e}");
}
