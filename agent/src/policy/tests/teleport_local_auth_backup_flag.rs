//! Teleport's `credentialBackupEligible` in the shapes a user resource may
//! carry it: jsonpb's bare boolean, the `google.protobuf.BoolValue` message
//! form (`{value: true}`), and a shape no Teleport prints, which leaves the
//! flag unknown with a warning and never fails the load.

use super::support::bundle;
use super::teleport_local_auth::{cap, keys, tctl_user, ROLE};
use crate::policy::DeviceKind;

/// The recorded flags of jerry's devices (yubikey-old, yubikey-new, the
/// U2F device, from-the-old-domain) when yubikey-new's line reads
/// `credentialBackupEligible: {be}`, and the load's warnings.
fn recorded_with(be: &str) -> (Vec<Option<bool>>, Vec<String>) {
    let text = tctl_user(&keys()).replace(
        "credentialBackupEligible: true",
        &format!("credentialBackupEligible: {be}"),
    );
    let b = bundle(&format!("{text}{ROLE}{}", cap(true)));
    let flags = b
        .devices_for_user("jerry")
        .iter()
        .map(|d| match &d.kind {
            DeviceKind::Webauthn(w) => w.backup_eligible,
            other => panic!("{other:?}"),
        })
        .collect();
    (flags, b.warnings)
}

#[test]
fn a_bare_boolean_and_the_bool_value_message_read_the_same() {
    for (be, recorded) in [
        ("true", Some(true)),
        ("{value: true}", Some(true)),
        ("false", Some(false)),
        ("{value: false}", Some(false)),
        // The message with its default left out, as proto3 prints it.
        ("{}", Some(false)),
        ("null", None),
    ] {
        let (flags, warnings) = recorded_with(be);
        assert_eq!(
            flags,
            [Some(false), recorded, Some(false), None],
            "credentialBackupEligible: {be}"
        );
        assert!(warnings.is_empty(), "{be}: {warnings:?}");
    }
}

#[test]
fn another_shape_is_unknown_with_a_warning_naming_the_device() {
    for be in [
        "maybe",
        "{value: maybe}",
        "[true]",
        "1",
        "{value: true, x: 1}",
    ] {
        let (flags, warnings) = recorded_with(be);
        assert_eq!(
            flags,
            [Some(false), None, Some(false), None],
            "credentialBackupEligible: {be}"
        );
        let [warning] = &warnings[..] else {
            panic!("{be}: {warnings:?}")
        };
        assert!(warning.starts_with("test.yaml:"), "{warning}");
        assert!(
            warning.contains(
                "user \"jerry\": local_auth.mfa[2] (\"yubikey-new\"): webauthn.credentialBackupEligible"
            ) && warning.contains("read as not recorded"),
            "{warning}"
        );
    }
}

/// Our `mfa_device` documents read the flag with the same reader, as
/// leniently as before: a shape it does not know leaves it unknown.
#[test]
fn an_mfa_device_document_reads_the_same_shapes() {
    use crate::policy::WebauthnDevice;
    use serde_json::json;
    for (be, recorded) in [
        (json!(true), Some(true)),
        (json!({"value": true}), Some(true)),
        (json!({"value": false}), Some(false)),
        (json!(null), None),
        (json!("yes"), None),
    ] {
        let form = json!({"webauthn": {"credentialBackupEligible": be}});
        let device = WebauthnDevice::from_mfa_device_form(&form);
        assert_eq!(device.backup_eligible, recorded, "{form}");
    }
}
