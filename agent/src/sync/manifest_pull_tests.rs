//! Each refusal, and the happy path, on a publisher directory written as
//! BRIEF's format fixes it, with an injected clock (`now` is a parameter).

use std::time::UNIX_EPOCH;

use ed25519_dalek::{Signer, SigningKey};

use super::*;
use crate::sync::manifest_format::encode_signature;
use crate::sync::test_publisher::{key, Dir};

const T0: u64 = 1_800_000_000;
const BUNDLE_A: &str =
    "[{\"kind\":\"role\",\"version\":\"v7\",\"metadata\":{\"name\":\"a\"},\"spec\":{}}]\n";
const BUNDLE_B: &str =
    "[{\"kind\":\"role\",\"version\":\"v7\",\"metadata\":{\"name\":\"b\"},\"spec\":{}}]\n";

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn pull(dir: &Dir, floor: Option<&AcceptedManifest>, now: u64) -> Result<PullOutcome, PullError> {
    let keys = [
        SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes(),
        key().verifying_key().to_bytes(),
    ];
    let origin = dir.manifest().display().to_string();
    let input = PullInput {
        keys: &keys,
        source_name: "prod",
        floor,
        installed_sha256: floor.map(|f| f.sha256.as_str()),
        etag: None,
        now: at(now),
        max_bundle_bytes: 1 << 20,
        retry_delay: Duration::ZERO,
        deadline: crate::sync::PullDeadline::after(Duration::from_secs(3600)),
        origin: &origin,
    };
    pull_manifest(&ManifestFetcher::file(&dir.manifest()), &input)
}

fn accepted(r: Result<PullOutcome, PullError>) -> (Manifest, Option<Vec<u8>>) {
    match r {
        Ok(PullOutcome::Accepted {
            manifest, bundle, ..
        }) => (*manifest, bundle),
        other => panic!("not accepted: {other:?}"),
    }
}

fn refused(r: Result<PullOutcome, PullError>) -> Refusal {
    match r {
        Err(PullError::Refused(r)) => r,
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_newer_set_is_accepted_and_an_unchanged_bundle_is_not_fetched_again() {
    let d = Dir::new("happy");
    let m1 = d.publish("prod", T0, T0, BUNDLE_A);
    let (got, bundle) = accepted(pull(&d, None, T0 + 10));
    assert_eq!(got, m1);
    assert_eq!(bundle.unwrap(), BUNDLE_A.as_bytes());
    let floor = AcceptedManifest::from(&got);
    // Same bundle, a later serial: accepted, the bundle is the one in force.
    d.publish("prod", T0 + 60, T0 + 60, BUNDLE_A);
    let (got, bundle) = accepted(pull(&d, Some(&floor), T0 + 70));
    assert_eq!(got.serial, T0 + 60);
    assert!(bundle.is_none());
    // A new bundle.
    d.publish("prod", T0 + 120, T0 + 120, BUNDLE_B);
    let (_, bundle) = accepted(pull(&d, Some(&floor), T0 + 130));
    assert_eq!(bundle.unwrap(), BUNDLE_B.as_bytes());
    // The same manifest again is not a rollback.
    let floor = AcceptedManifest::from(&d.publish("prod", T0 + 200, T0 + 200, BUNDLE_B));
    accepted(pull(&d, Some(&floor), T0 + 210));
}

#[test]
fn a_lower_serial_is_a_rollback() {
    let d = Dir::new("rollback");
    let newer = AcceptedManifest::from(&d.publish("prod", T0 + 100, T0 + 100, BUNDLE_B));
    d.publish("prod", T0, T0, BUNDLE_A);
    let r = refused(pull(&d, Some(&newer), T0 + 200));
    assert_eq!(r.kind, RefusalKind::Rollback, "{r}");
    assert!(
        r.reason.contains(&format!(
            "lower than the last known good serial {}",
            T0 + 100
        )),
        "{r}"
    );
}

#[test]
fn the_same_serial_with_another_bundle_is_refused() {
    let d = Dir::new("reuse");
    let floor = AcceptedManifest::from(&d.publish("prod", T0, T0, BUNDLE_A));
    d.publish("prod", T0, T0, BUNDLE_B);
    let r = refused(pull(&d, Some(&floor), T0 + 10));
    assert_eq!(r.kind, RefusalKind::SerialReused, "{r}");
}

#[test]
fn another_source_is_refused() {
    let d = Dir::new("source");
    d.publish("staging", T0, T0, BUNDLE_A);
    let r = refused(pull(&d, None, T0 + 10));
    assert_eq!(r.kind, RefusalKind::WrongSource, "{r}");
    assert!(r.reason.contains("\"staging\""), "{r}");
}

#[test]
fn a_tampered_bundle_is_refused() {
    let d = Dir::new("tamper");
    let m = d.publish("prod", T0, T0, BUNDLE_A);
    std::fs::write(d.0.join(&m.bundle.path), BUNDLE_B).unwrap();
    let r = refused(pull(&d, None, T0 + 10));
    assert_eq!(r.kind, RefusalKind::BundleMismatch, "{r}");
    // Longer than it says: refused by hash, not mistaken for an outage.
    std::fs::write(d.0.join(&m.bundle.path), format!("{BUNDLE_A} ")).unwrap();
    let r = refused(pull(&d, None, T0 + 10));
    assert_eq!(r.kind, RefusalKind::BundleMismatch, "{r}");
}

#[test]
fn a_bad_signature_is_refused_after_one_more_read() {
    let d = Dir::new("sig");
    d.publish("prod", T0, T0, BUNDLE_A);
    let text = std::fs::read_to_string(d.manifest()).unwrap();
    std::fs::write(
        d.manifest(),
        text.replace("\"serial\":1800000000", "\"serial\":1900000000"),
    )
    .unwrap();
    let r = refused(pull(&d, None, T0 + 10));
    assert_eq!(r.kind, RefusalKind::BadSignature, "{r}");
    assert!(r.reason.contains("read again"), "{r}");
    // Signed by a key that is not configured.
    let stranger = SigningKey::from_bytes(&[3; 32]);
    let sig = encode_signature(&stranger.sign(text.as_bytes()).to_bytes());
    std::fs::write(d.manifest(), &text).unwrap();
    std::fs::write(d.0.join("manifest.json.sig"), sig).unwrap();
    assert_eq!(
        refused(pull(&d, None, T0 + 10)).kind,
        RefusalKind::BadSignature
    );
}

#[test]
fn a_manifest_from_the_future_is_refused_within_the_skew_it_is_not() {
    let d = Dir::new("future");
    d.publish("prod", T0, T0, BUNDLE_A);
    accepted(pull(&d, None, T0 - 300));
    let r = refused(pull(&d, None, T0 - 301));
    assert_eq!(r.kind, RefusalKind::IssuedInTheFuture, "{r}");
}

/// A newer set already past its expires_at (the test publisher's are good
/// for an hour) is refused; the one in force read again past it is not
/// (the policy goes stale instead).
#[test]
fn a_newer_set_already_expired_is_refused() {
    let d = Dir::new("expired");
    let floor = AcceptedManifest::from(&d.publish("prod", T0, T0, BUNDLE_A));
    accepted(pull(&d, Some(&floor), T0 + 3600 + 10));
    d.publish("prod", T0 + 5, T0 + 5, BUNDLE_B);
    let r = refused(pull(&d, Some(&floor), T0 + 3605));
    assert_eq!(r.kind, RefusalKind::Expired, "{r}");
    assert!(r.reason.contains("expired at"), "{r}");
    let r = refused(pull(&d, None, T0 + 3605));
    assert_eq!(r.kind, RefusalKind::Expired, "{r}");
    accepted(pull(&d, Some(&floor), T0 + 3604));
}

#[test]
fn an_unreadable_source_is_not_a_refusal() {
    let d = Dir::new("gone");
    assert!(matches!(pull(&d, None, T0), Err(PullError::Unreachable(_))));
    let m = d.publish("prod", T0, T0, BUNDLE_A);
    std::fs::remove_file(d.0.join(&m.bundle.path)).unwrap();
    assert!(matches!(pull(&d, None, T0), Err(PullError::Unreachable(_))));
}
