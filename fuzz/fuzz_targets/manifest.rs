//! The signed manifest of a publisher directory (what an HTTPS server or a
//! CDN serves in manifest mode): `sync::manifest_format::parse_manifest`
//! and `verify_manifest`, then the agent's rules (`check_manifest`).
//! Properties: an error names its origin; what parses keeps its bundle
//! path below the manifest, serializes, and reads back to the same bytes;
//! nothing verifies against a key that signed nothing.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use mfa_agent::sync::manifest_check::{check_manifest, AcceptedManifest};
use mfa_agent::sync::manifest_format::{
    check_bundle_path, parse_manifest, verify_manifest, MANIFEST_FORMAT,
};

/// An Ed25519 public key (RFC 8032's first test vector) that signed
/// nothing in the corpus.
const KEY: [u8; 32] = [
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
];

fuzz_target!(|data: &[u8]| {
    // A signature line first (as manifest.json.sig), then the manifest.
    let (sig, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    assert!(
        verify_manifest(body, sig, &[KEY], "fuzz.json").is_err(),
        "a manifest verified with a key that signed nothing"
    );
    for input in [data, body] {
        let m = match parse_manifest(input, "fuzz.json") {
            Ok(m) => m,
            Err(e) => {
                assert!(e.place.starts_with("fuzz.json"), "{e}");
                continue;
            }
        };
        assert!(check_bundle_path(&m.bundle.path).is_ok());
        let text = m.to_json().expect("what parses serializes");
        assert!(text.contains(MANIFEST_FORMAT));
        let again = parse_manifest(text.as_bytes(), "again").expect("what is written parses");
        assert_eq!(again.to_json().unwrap(), text, "stable once written");
        let floor = AcceptedManifest {
            source: "prod".into(),
            serial: 1_800_000_000,
            sha256: "ab".repeat(32),
            issued_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            expires_at: UNIX_EPOCH + Duration::from_secs(1_800_086_400),
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_100);
        if check_manifest(&m, "prod", Some(&floor), now, 1 << 20).is_ok() {
            assert!(m.serial >= floor.serial && m.source == "prod");
        }
    }
});
