//! The resource lists of a resource access request's certificate, read as
//! lib/sshca `DecodeIdentity` reads them.

use super::*;

fn node(cluster: &str, name: &str) -> ResourceId {
    ResourceId {
        cluster: cluster.into(),
        kind: "node".into(),
        name: name.into(),
    }
}

fn plain(id: ResourceId) -> ResourceAccess {
    ResourceAccess {
        id,
        constraint: None,
    }
}

fn logins(id: ResourceId, logins: &[&str]) -> ResourceAccess {
    ResourceAccess {
        id,
        constraint: Some(ResourceConstraint::SshLogins(
            logins.iter().map(|l| l.to_string()).collect(),
        )),
    }
}

/// `types.ResourceIDsFromString`: both forms; the name is the rest of the
/// string; a string that is not `/cluster/kind/name` with all three set
/// (`ResourceID.CheckAndSetDefaults`) refuses the certificate.
#[test]
fn the_older_extension_in_both_forms_and_its_refusals() {
    assert_eq!(
        parse_resource_ids(r#"["/root/node/uuid-1","/root/kube_cluster/k/ns/pod"]"#).unwrap(),
        vec![
            node("root", "uuid-1"),
            ResourceId {
                cluster: "root".into(),
                kind: "kube_cluster".into(),
                name: "k/ns/pod".into()
            }
        ]
    );
    assert_eq!(
        parse_resource_ids(r#"[{"cluster":"root","kind":"node","name":"uuid-2"}]"#).unwrap(),
        vec![node("root", "uuid-2")]
    );
    for bad in [
        r#"["root/node/x"]"#,
        r#"["/root/node"]"#,
        r#"["/root/node/"]"#,
        r#"["//node/x"]"#,
        r#"[["root","node","x"]]"#,
        r#"[null]"#,
        r#"[{"cluster":"root","kind":"node"}]"#,
        "{}",
        "nope",
    ] {
        assert!(parse_resource_ids(bad).is_err(), "{bad}");
    }
}

/// `ResourceIDsFromString` reads an empty value and `null` as no list and
/// `[]` as an empty one; `DecodeIdentity` keeps the list only when it holds
/// something (`len(...) > 0`), so none of the three limits the certificate.
/// The newer extension is an object: empty, `null`, `{}` and an empty
/// `resources` are no list (a JSON list is refused, as `json.Unmarshal`
/// into `ResourceAccessIDList` refuses it).
#[test]
fn empty_null_and_an_empty_list_limit_nothing() {
    for v in ["", "null", " null "] {
        assert_eq!(decode(Some(v), None), Ok(None), "{v:?}");
        assert_eq!(decode(None, Some(v)), Ok(None), "{v:?}");
        assert_eq!(decode(Some(v), Some(v)), Ok(None), "{v:?}");
    }
    assert_eq!(decode(Some("[]"), None), Ok(None));
    assert_eq!(decode(None, Some(r#"{"resources":null}"#)), Ok(None));
    assert_eq!(decode(None, Some(r#"{"resources":[]}"#)), Ok(None));
    assert_eq!(decode(None, Some("{}")), Ok(None));
    assert_eq!(
        decode(Some(r#"["/root/node/a"]"#), None),
        Ok(Some(vec![plain(node("root", "a"))]))
    );
}

/// `Identity.Encode` writes the sentinel into the older extension when every
/// resource is constrained; `DecodeIdentity` drops it and takes the newer
/// list, which it prefers whenever it lists anything.
#[test]
fn the_newer_extension_is_preferred_and_the_sentinel_dropped() {
    let sentinel = r#"["/__SENTINEL__/node/__SENTINEL__"]"#;
    let access = r#"{"resources":[
        {"id":{"cluster":"root","kind":"node","name":"web-1"},"constraints":{"version":"v1","ssh":{"logins":["root","admin"]}}},
        {"id":{"cluster":"root","kind":"node","name":"web-2","sub_resource":""}},
        {"id":{"cluster":"root","kind":"app","name":"aws"},"constraints":{"version":"v1","aws_console":{"role_arns":["arn"]}}}
    ]}"#;
    let expected = vec![
        logins(node("root", "web-1"), &["root", "admin"]),
        plain(node("root", "web-2")),
        ResourceAccess {
            id: ResourceId {
                cluster: "root".into(),
                kind: "app".into(),
                name: "aws".into(),
            },
            constraint: Some(ResourceConstraint::Other("aws_console".into())),
        },
    ];
    assert_eq!(
        decode(Some(sentinel), Some(access)),
        Ok(Some(expected.clone()))
    );
    // The unconstrained resources are in the older extension too: ignored
    // beside the newer list.
    assert_eq!(
        decode(Some(r#"["/root/node/web-2"]"#), Some(access)),
        Ok(Some(expected))
    );
    // The sentinel alone limits nothing (DecodeIdentity filters it out).
    assert_eq!(decode(Some(sentinel), None), Ok(None));
    // A sentinel beside real resources is only dropped.
    assert_eq!(
        decode(
            Some(r#"["/__SENTINEL__/node/__SENTINEL__","/root/node/a"]"#),
            None
        ),
        Ok(Some(vec![plain(node("root", "a"))]))
    );
    // The older list still has to parse (DecodeIdentity reads it first).
    assert!(decode(Some("nope"), Some(access)).is_err());
}

/// What `ResourceConstraints.CheckAndSetDefaults` refuses refuses the
/// certificate (`DecodeIdentity` fails on it); a detail of another kind is
/// kept by name.
#[test]
fn constraints_teleport_refuses_refuse_the_certificate() {
    let entry = |constraints: &str| {
        format!(
            r#"{{"resources":[{{"id":{{"cluster":"root","kind":"node","name":"n"}},"constraints":{constraints}}}]}}"#
        )
    };
    let read = |constraints: &str| decode(None, Some(&entry(constraints)));
    assert_eq!(
        read(r#"{"ssh":{"logins":["deploy"]}}"#),
        Ok(Some(vec![logins(node("root", "n"), &["deploy"])]))
    );
    assert_eq!(read("null"), Ok(Some(vec![plain(node("root", "n"))])));
    assert_eq!(
        read(r#"{"version":"v1","database":{"users":["x"]}}"#),
        Ok(Some(vec![ResourceAccess {
            id: node("root", "n"),
            constraint: Some(ResourceConstraint::Other("database".into())),
        }]))
    );
    for bad in [
        r#"{"version":"v2","ssh":{"logins":["root"]}}"#,
        r#"{"version":"v1"}"#,
        "{}",
        r#"{"ssh":{"logins":[]}}"#,
        r#"{"ssh":{}}"#,
        r#"{"ssh":[["root"]]}"#,
        r#"{"ssh":{"logins":["root"],"users":["x"]}}"#,
        r#"{"ssh":{"logins":["root"]},"aws_console":{"role_arns":["a"]}}"#,
        r#"["v1"]"#,
    ] {
        assert!(
            matches!(read(bad), Err(CertError::BadExtension { ref name, .. }) if name == EXT_ALLOWED_RESOURCE_ACCESS_IDS),
            "{bad}"
        );
    }
    for bad in [
        "[]",
        "nope",
        r#"{"resources":{}}"#,
        r#"{"resources":[null]}"#,
        r#"{"resources":[{"id":{"cluster":"root","kind":"node"}}]}"#,
        r#"{"resources":[["root"]]}"#,
    ] {
        assert!(decode(None, Some(bad)).is_err(), "{bad}");
    }
}
