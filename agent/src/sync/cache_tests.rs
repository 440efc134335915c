//! The last-known-good cache on disk: round trips, refusals, a file
//! source's copy, and a read-only store that writes nothing.

use super::*;

fn store(tag: &str) -> CacheStore {
    let dir = std::env::temp_dir().join(format!("pam-mfa-cache-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    CacheStore::new(dir, "https://policy.example/bundle.yaml".into(), 1 << 20)
}

fn lkg(s: &CacheStore, body: &str, at: u64) -> LastKnownGood {
    LastKnownGood {
        source: s.source.clone(),
        etag: Some("\"v1\"".into()),
        fetched_at: from_ms(at),
        confirmed_at: from_ms(at),
        sha256: hex_sha256(body.as_bytes()),
        signature: Some(vec![1, 2, 3]),
        bytes: body.as_bytes().to_vec(),
        manifest: Some(CachedManifest {
            bytes: b"{\"serial\":1}".to_vec(),
            signature: b"c2ln\n".to_vec(),
        }),
        files: None,
    }
}

#[test]
fn round_trip_keeps_times_and_confirmations() {
    let s = store("rt");
    assert_eq!(s.load().unwrap(), None);
    let l = lkg(&s, "kind: role\n", 1_000_000);
    s.save(&l).unwrap();
    assert_eq!(s.load().unwrap().unwrap(), l);
    s.save_contact(&l.sha256, from_ms(5_000_000)).unwrap();
    let back = s.load().unwrap().unwrap();
    assert_eq!(back.fetched_at, from_ms(1_000_000));
    assert_eq!(back.confirmed_at, from_ms(5_000_000));
    // A confirmation of another bundle does not count.
    s.save_contact("00", from_ms(9_000_000)).unwrap();
    assert_eq!(s.load().unwrap().unwrap().confirmed_at, from_ms(1_000_000));
    std::fs::remove_dir_all(s.dir()).unwrap();
}

#[test]
fn tampering_and_another_source_are_refused() {
    let s = store("tamper");
    s.save(&lkg(&s, "kind: role\nmetadata: {name: a}\n", 1))
        .unwrap();
    let path = s.path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("name: a", "name: b")).unwrap();
    let e = s.load().unwrap_err();
    assert!(e.contains("tampered"), "{e}");
    s.save(&lkg(&s, "x: 1\n", 1)).unwrap();
    let other = CacheStore::new(
        s.dir().to_path_buf(),
        "https://elsewhere.example/b".into(),
        s.max_bundle_bytes,
    );
    let e = other.load().unwrap_err();
    assert!(e.contains("not from the configured source"), "{e}");
    std::fs::write(&path, "{not json").unwrap();
    assert!(s.load().unwrap_err().contains("not a pam-mfa cache file"));
    std::fs::remove_dir_all(s.dir()).unwrap();
}

#[test]
fn a_file_source_copy_is_cut_back_into_its_files() {
    let s = store("files");
    let mut l = lkg(&s, "kind: role\nkind: lock\n", 1);
    l.manifest = None;
    l.files = Some(vec![
        CachedFile {
            origin: "/p/10.yaml".into(),
            bytes: 11,
        },
        CachedFile {
            origin: "/p/20.yaml".into(),
            bytes: 11,
        },
    ]);
    s.save(&l).unwrap();
    let back = s.load().unwrap().unwrap();
    assert_eq!(
        back.file_texts().unwrap(),
        vec![
            ("/p/10.yaml".to_string(), "kind: role\n".to_string()),
            ("/p/20.yaml".to_string(), "kind: lock\n".to_string())
        ]
    );
    // Lengths that do not fill the bundle, or overrun it, are refused.
    for lens in [[11, 10], [11, 12], [0, 0]] {
        let mut bad = back.clone();
        for (f, n) in bad.files.as_mut().unwrap().iter_mut().zip(lens) {
            f.bytes = n;
        }
        assert!(bad.file_texts().is_err(), "{lens:?}");
    }
    l.files = None;
    assert!(
        l.file_texts().is_err(),
        "no files: not a file source's copy"
    );
    std::fs::remove_dir_all(s.dir()).unwrap();
}

/// A read-only store (`mfa-agent --check`) reads what is there and writes
/// nothing: no bundle, no contact, no floor, not even its directory.
#[test]
fn a_read_only_store_reads_and_writes_nothing() {
    let s = store("read-only");
    let l = lkg(&s, "kind: role\n", 1_000_000);
    let floor = |serial| AcceptedManifest {
        source: "prod".into(),
        serial,
        sha256: l.sha256.clone(),
        issued_at: from_ms(serial),
        expires_at: from_ms(serial + 1),
    };
    let ro = s.clone().read_only();
    assert_eq!(ro.writes(), CacheWrites::Dropped);
    ro.save(&l).unwrap();
    ro.save_contact(&l.sha256, from_ms(2_000_000)).unwrap();
    ro.save_floor(&floor(7)).unwrap();
    assert!(!s.dir().exists(), "a read-only store made its directory");

    s.save(&l).unwrap();
    s.save_floor(&floor(7)).unwrap();
    let files = || {
        let mut names: Vec<_> = std::fs::read_dir(s.dir())
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (p.clone(), std::fs::read(&p).unwrap())
            })
            .collect();
        names.sort();
        names
    };
    let before = files();
    let mut newer = lkg(&s, "kind: lock\n", 3_000_000);
    newer.manifest = None;
    ro.save(&newer).unwrap();
    ro.save_contact(&l.sha256, from_ms(4_000_000)).unwrap();
    ro.save_floor(&floor(9)).unwrap();
    assert_eq!(files(), before);
    assert_eq!(ro.load().unwrap(), Some(l));
    assert_eq!(ro.load_floor("prod").unwrap().map(|f| f.serial), Some(7));
    std::fs::remove_dir_all(s.dir()).unwrap();
}
