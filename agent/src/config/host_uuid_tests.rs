//! Reading Teleport's host_uuid file for `node.id`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::*;

const UUID: &str = "5e1c2f7a-0000-4000-8000-000000000001";

/// A fresh directory of this test's own.
fn data_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "pam-mfa-host-uuid-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, text: &str, mode: u32) {
    let f = dir.join(HOST_UUID_FILE);
    std::fs::write(&f, text).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_uuid_or_an_ec2_node_id_is_taken_trimmed_as_teleport_reads_it() {
    assert_eq!(
        parse_host_uuid(format!("{UUID}\n").as_bytes()).unwrap(),
        UUID
    );
    assert_eq!(
        parse_host_uuid(b"  5E1C2F7A-0000-4000-8000-00000000000A \t").unwrap(),
        "5E1C2F7A-0000-4000-8000-00000000000A"
    );
    for ec2 in [
        "123456789012-i-1234567890abcdef0",
        "123456789012-i-0a1b2c3d",
    ] {
        assert_eq!(parse_host_uuid(ec2.as_bytes()).unwrap(), ec2);
    }
}

#[test]
fn anything_else_is_refused_saying_why() {
    let refused = |b: &[u8]| parse_host_uuid(b).unwrap_err();
    assert!(refused(b"").contains("empty"));
    assert!(refused(b" \n").contains("empty"));
    assert!(refused(b"\xff\xfe").contains("not UTF-8"));
    for bad in [
        "prod3",
        "5e1c2f7a-0000-4000-8000-00000000000",
        "5e1c2f7a-0000-4000-8000-0000000000011",
        "5e1c2f7a00004000800000000000000001",
        "5e1c2f7g-0000-4000-8000-000000000001",
        "5e1c2f7a-0000-4000-8000-000000000001\nsecond line",
        "12345678901-i-1234567890abcdef0",
        "123456789012-i-1234567",
        "123456789012-i-1234567890ABCDEF0",
        "123456789012-x-1234567890abcdef0",
    ] {
        let why = refused(bad.as_bytes());
        assert!(
            why.contains("neither a UUID nor an EC2 node ID"),
            "{bad:?}: {why}"
        );
    }
    // What is shown is escaped and bounded.
    let long = "x\u{1b}".repeat(500);
    let why = refused(long.as_bytes());
    assert!(!why.contains('\u{1b}') && why.len() < 400, "{why}");
}

#[test]
fn no_file_is_no_id_and_a_bad_one_is_an_error_naming_it() {
    let d = data_dir("read");
    assert_eq!(read_host_uuid(&d), Ok(None));
    assert_eq!(read_host_uuid(&d.join("missing-dir")), Ok(None));
    write(&d, &format!("{UUID}\n"), 0o400);
    assert_eq!(read_host_uuid(&d), Ok(Some(UUID.to_owned())));
    write(&d, "not-a-uuid", 0o400);
    let e = read_host_uuid(&d).unwrap_err();
    assert!(
        e.contains(&d.join(HOST_UUID_FILE).display().to_string()) && e.contains("is refused"),
        "{e}"
    );
    // Writable by others: refused, whatever it says.
    write(&d, UUID, 0o666);
    let e = read_host_uuid(&d).unwrap_err();
    assert!(e.contains("writable by group or others"), "{e}");
    // Over the size limit.
    write(&d, &format!("{UUID}{}", " ".repeat(2000)), 0o400);
    assert!(read_host_uuid(&d).unwrap_err().contains("over the limit"));
    // A symlink is not followed.
    std::fs::remove_file(d.join(HOST_UUID_FILE)).unwrap();
    let real = d.join("real");
    std::fs::write(&real, UUID).unwrap();
    std::os::unix::fs::symlink(&real, d.join(HOST_UUID_FILE)).unwrap();
    assert!(read_host_uuid(&d).is_err());
    // A directory in its place is not a regular file.
    std::fs::remove_file(d.join(HOST_UUID_FILE)).unwrap();
    std::fs::create_dir(d.join(HOST_UUID_FILE)).unwrap();
    assert!(read_host_uuid(&d)
        .unwrap_err()
        .contains("not a regular file"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn agent_yaml_wins_then_the_file_then_none_with_why() {
    let d = data_dir("resolve");
    write(&d, UUID, 0o400);
    let from_yaml = resolve_node_id(Some("other".into()), Some(&d));
    assert_eq!(from_yaml.id.as_deref(), Some("other"));
    assert_eq!(from_yaml.source, NodeIdSource::AgentYaml);
    let from_file = resolve_node_id(None, Some(&d));
    assert_eq!(from_file.id.as_deref(), Some(UUID));
    assert_eq!(
        from_file.source,
        NodeIdSource::HostUuidFile(d.join(HOST_UUID_FILE))
    );
    assert!(from_file.describe().contains("host_uuid"));
    let off = resolve_node_id(None, None);
    assert_eq!(off.id, None);
    assert!(off.describe().contains("teleport_data_dir is empty"));
    write(&d, "junk", 0o400);
    let bad = resolve_node_id(None, Some(&d));
    assert_eq!(bad.id, None);
    assert!(bad.describe().contains("is refused"), "{}", bad.describe());
    std::fs::remove_dir_all(&d).unwrap();
    let none = resolve_node_id(None, Some(&d));
    assert_eq!(none.id, None);
    assert!(
        none.describe().contains("there is no"),
        "{}",
        none.describe()
    );
}

/// A failed read with the same settings keeps an ID the file gave; a good
/// read, changed settings, or an ID not from the file do not.
#[test]
fn a_failed_read_keeps_only_a_file_id_and_only_with_the_same_settings() {
    let path = PathBuf::from("/t/host_uuid");
    let from_file = ResolvedNodeId {
        id: Some(UUID.into()),
        source: NodeIdSource::HostUuidFile(path.clone()),
    };
    let failed = ResolvedNodeId {
        id: None,
        source: NodeIdSource::Unset(
            "agent.yaml sets none, and /t/host_uuid is refused: it is empty".into(),
        ),
    };
    let kept = keep_last_good(&from_file, failed.clone(), true);
    assert_eq!(kept.id.as_deref(), Some(UUID));
    assert_eq!(
        kept.source,
        NodeIdSource::HostUuidKept {
            path: path.clone(),
            failure: "/t/host_uuid is refused: it is empty".into()
        }
    );
    assert!(kept.describe().contains("reading it again failed"));
    // Kept again from a kept one, with the newest failure.
    assert_eq!(keep_last_good(&kept, failed.clone(), true), kept);
    assert_eq!(keep_last_good(&from_file, failed.clone(), false), failed);
    let good = ResolvedNodeId {
        id: Some("5e1c2f7a-0000-4000-8000-000000000009".into()),
        source: NodeIdSource::HostUuidFile(path),
    };
    assert_eq!(keep_last_good(&kept, good.clone(), true), good);
    let from_yaml = ResolvedNodeId {
        id: Some("yaml".into()),
        source: NodeIdSource::AgentYaml,
    };
    assert_eq!(keep_last_good(&from_yaml, failed.clone(), true), failed);
}
