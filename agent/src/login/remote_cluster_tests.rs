//! Teleport's `TestRoleParsing` and `TestRoleMap` (lib/services/role_test.go)
//! as cases of [`map_roles`], and which cluster a certificate is of.

use std::time::{Duration, UNIX_EPOCH};

use super::*;

fn m(remote: &str, local: &[&str]) -> RoleMapping {
    RoleMapping {
        remote: remote.into(),
        local: local.iter().map(|s| s.to_string()).collect(),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A case of `TestRoleMap`: its name, the remote roles, the local roles
/// expected, the map.
type Case = (
    &'static str,
    Vec<&'static str>,
    Vec<&'static str>,
    Vec<RoleMapping>,
);

#[test]
fn teleports_role_map_cases() {
    let cases: Vec<Case> = vec![
        ("all empty", vec![], vec![], vec![]),
        (
            "wildcard matches empty as well",
            vec![],
            vec!["local-devs", "local-admins"],
            vec![m("*", &["local-devs", "local-admins"])],
        ),
        (
            "direct match",
            vec!["remote-devs"],
            vec!["local-devs"],
            vec![m("remote-devs", &["local-devs"])],
        ),
        (
            "direct match for multiple roles",
            vec!["remote-devs", "remote-logs"],
            vec!["local-devs", "local-logs"],
            vec![
                m("remote-devs", &["local-devs"]),
                m("remote-logs", &["local-logs"]),
            ],
        ),
        (
            "direct match and wildcard",
            vec!["remote-devs"],
            vec!["local-devs", "local-logs"],
            vec![m("remote-devs", &["local-devs"]), m("*", &["local-logs"])],
        ),
        (
            "glob capture match",
            vec!["remote-devs"],
            vec!["local-devs"],
            vec![m("remote-*", &["local-$1"])],
        ),
        (
            "passthrough match",
            vec!["remote-devs"],
            vec!["remote-devs"],
            vec![m("^(.*)$", &["$1"])],
        ),
        (
            "passthrough match ignores implicit role",
            vec!["remote-devs", "default-implicit-role"],
            vec!["remote-devs"],
            vec![m("^(.*)$", &["$1"])],
        ),
        (
            "partial match",
            vec!["remote-devs", "something-else"],
            vec!["remote-devs"],
            vec![m("^(remote-.*)$", &["$1"])],
        ),
        (
            "partial empty expand section is removed",
            vec!["remote-devs"],
            vec!["remote-devs", "remote-"],
            vec![m("^(remote-.*)$", &["$1", "remote-$2", "$2"])],
        ),
        (
            "multiple matches yield different results",
            vec!["remote-devs"],
            vec!["remote-devs", "test"],
            vec![m("^(remote-.*)$", &["$1"]), m(r"^\Aremote-.*$", &["test"])],
        ),
        (
            "mapping is deduplicated",
            vec!["role1", "role2"],
            vec!["foo"],
            vec![m("*", &["foo"])],
        ),
        (
            "different expand groups can be referred",
            vec!["remote-devs"],
            vec!["remote-devs", "devs"],
            vec![m("^(remote-(.*))$", &["$1", "$2"])],
        ),
    ];
    for (name, remote, local, map) in cases {
        let got = map_roles(&map, &strings(&remote)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(sorted(got), sorted(strings(&local)), "{name}");
    }
}

/// A `local` expands as Go's `ReplaceAllString` template (Teleport's
/// `ReplaceRegexpWith`), not as the `regex` crate's: `$01` is the group
/// named `01` (none here: nothing), where the `regex` crate reads group 1.
#[test]
fn role_map_locals_expand_as_go_templates() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("^(remote-.*)$", "x$01", &["x"]),
        ("^(remote-.*)$", "x${01}", &["x"]),
        ("^(remote-.*)$", "$1x", &[]),
        ("^(remote-.*)$", "${1}x", &["remote-devsx"]),
        ("^remote-(?P<team>.*)$", "team-$team", &["team-devs"]),
        ("^remote-(?P<team>.*)$", "$$team", &["$team"]),
    ];
    for (remote, local, want) in cases {
        let got = map_roles(&[m(remote, &[local])], &strings(&["remote-devs"]))
            .unwrap_or_else(|e| panic!("{remote} {local}: {e}"));
        assert_eq!(got, strings(want), "{remote} -> {local}");
    }
}

#[test]
fn teleports_role_map_parsing_cases() {
    assert!(map_roles(&[], &[]).is_ok());
    assert!(map_roles(&[m("*", &["local-devs", "local-admins"])], &[]).is_ok());
    assert!(map_roles(&[m("remote-devs", &["local-devs"])], &[]).is_ok());
    let twice = [
        m("remote-devs", &["local-devs"]),
        m("remote-devs", &["local-devs"]),
    ];
    assert!(map_roles(&twice, &[]).is_err());
    let wild_twice = [m("*", &["local-devs"]), m("*", &["local-devs"])];
    assert!(map_roles(&wild_twice, &[]).is_err());
    // parseRoleMap's other refusals.
    assert!(map_roles(&[m("", &["x"])], &[]).is_err());
    assert!(map_roles(&[m("a", &[])], &[]).is_err());
    assert!(map_roles(&[m("a", &[""])], &[]).is_err());
    assert!(map_roles(&[m("a", &["*"])], &[]).is_err());
    assert!(map_roles(&[m("^(unclosed$", &["x"])], &[]).is_err());
}

fn ca(cluster: &str, map: Vec<RoleMapping>) -> CertAuthority {
    CertAuthority {
        cluster_name: cluster.into(),
        ca_type: "user".into(),
        ssh_public_keys: vec![],
        role_map: map,
    }
}

fn identity(cluster: &str, roles: &[&str]) -> TeleportIdentity {
    TeleportIdentity {
        key_id: "alice".into(),
        principals: strings(&["alice", "root"]),
        roles: strings(roles),
        traits: [("logins".to_string(), strings(&["from-the-cert"]))].into(),
        mfa_verified: None,
        private_key_policy: None,
        trusted_device: false,
        device_id: None,
        previous_identity_expires: None,
        bot: false,
        bot_instance_id: None,
        join_token_sha256: None,
        active_requests: Vec::new(),
        allowed_resources: None,
        valid_after: UNIX_EPOCH,
        valid_before: UNIX_EPOCH + Duration::from_secs(1),
        ca_cluster: cluster.into(),
        subject_key_type: "ssh-ed25519".into(),
        issuer: Issuer::UserCa,
        unmapped_roles: Vec::new(),
        from_trusted_cluster: false,
    }
}

#[test]
fn a_local_certificate_keeps_its_roles() {
    let cas = [
        ca("leaf", vec![]),
        ca("root", vec![m("admin", &["access"])]),
    ];
    let id = identity("leaf", &["admin"]);
    assert_eq!(as_local_identity(id.clone(), &cas, None).unwrap(), id);
    assert_eq!(
        as_local_identity(id.clone(), &cas, Some("leaf")).unwrap(),
        id
    );
}

#[test]
fn a_trusted_clusters_certificate_takes_the_mapped_roles_and_its_principals_as_logins() {
    let cas = [
        ca("leaf", vec![]),
        ca("root", vec![m("admin", &["access"])]),
    ];
    let got = as_local_identity(identity("root", &["admin", "dev"]), &cas, None).unwrap();
    assert_eq!(got.roles, ["access"]);
    assert_eq!(got.unmapped_roles, ["admin", "dev"]);
    assert!(got.from_trusted_cluster);
    assert_eq!(got.traits["logins"], ["alice", "root"]);
}

#[test]
fn a_trusted_clusters_certificate_with_no_mapped_role_is_refused() {
    let cas = [
        ca("leaf", vec![]),
        ca("root", vec![m("admin", &["access"])]),
    ];
    let err = as_local_identity(identity("root", &["dev"]), &cas, None).unwrap_err();
    assert!(err.contains("no role of this cluster is mapped"), "{err}");
}

#[test]
fn the_configured_cluster_name_decides_which_is_local() {
    // A root cluster's backend: the leaf's user CA carries no role_map, and
    // a leaf user's roles mean nothing here (Teleport maps none of them).
    let cas = [ca("root", vec![]), ca("leaf", vec![])];
    let err = as_local_identity(identity("leaf", &["admin"]), &cas, Some("root")).unwrap_err();
    assert!(err.contains("no role of this cluster is mapped"), "{err}");
    let ok = as_local_identity(identity("root", &["admin"]), &cas, Some("root")).unwrap();
    assert_eq!(ok.roles, ["admin"]);
}

#[test]
fn a_cluster_name_that_names_no_user_ca_is_refused_with_the_fix() {
    let cas = [ca("leaf", vec![])];
    let err = as_local_identity(identity("leaf", &["admin"]), &cas, Some("lead")).unwrap_err();
    assert!(err.contains("fix cluster.name"), "{err}");
}

#[test]
fn two_user_cas_of_one_cluster_with_different_maps_are_refused() {
    let cas = [
        ca("leaf", vec![]),
        ca("root", vec![m("admin", &["access"])]),
        ca("root", vec![m("admin", &["editor"])]),
    ];
    let err = as_local_identity(identity("root", &["admin"]), &cas, None).unwrap_err();
    assert!(err.contains("different role_maps"), "{err}");
    let same = [
        ca("leaf", vec![]),
        ca("root", vec![m("admin", &["access"])]),
        ca("root", vec![m("admin", &["access"])]),
    ];
    assert_eq!(
        as_local_identity(identity("root", &["admin"]), &same, None)
            .unwrap()
            .roles,
        ["access"]
    );
}

#[test]
fn several_unmapped_clusters_without_cluster_name_are_refused() {
    let cas = [ca("root", vec![]), ca("leaf", vec![])];
    let err = as_local_identity(identity("root", &["admin"]), &cas, None).unwrap_err();
    assert!(err.contains("set cluster.name"), "{err}");
}

#[test]
fn legacy_spec_roles_map_every_remote_role() {
    // What CombinedMapping makes of `spec.roles` (see cert_authority.rs).
    let root = ca("root", vec![m("*", &["access", "auditor"])]);
    let got = as_local_identity(identity("root", &[]), &[ca("leaf", vec![]), root], None).unwrap();
    assert_eq!(got.roles, ["access", "auditor"]);
}

#[test]
fn this_cluster_is_the_configured_one_or_the_one_without_a_role_map() {
    let root = ca("root", vec![]);
    let leaf = ca("leaf", vec![m("*", &["access"])]);
    let other = ca("other", vec![]);
    assert_eq!(
        this_cluster(&[root.clone(), leaf.clone()], None),
        Some("root")
    );
    assert_eq!(
        this_cluster(&[root.clone(), leaf], Some("leaf")),
        Some("leaf")
    );
    assert_eq!(
        this_cluster(&[root, other], None),
        None,
        "two without a map"
    );
    assert_eq!(this_cluster(&[], None), None);
}
