//! The publisher's form, a JSON array of resources one a line, read in one
//! pass (`json_stream`): the same bundle and the same errors as the general
//! way (each element decoded from its own text).

use crate::policy::load_bundle_str;

const ROLE: &str = r#"{"kind":"role","version":"v7","metadata":{"name":"ops"},"spec":{"allow":{"logins":["{{internal.logins}}"],"node_labels":{"env":"prod"}},"options":{"require_session_mfa":true}}}"#;
const USER: &str = r#"{"kind":"user","version":"v2","metadata":{"name":"jerry"},"spec":{"roles":["ops"],"traits":{"logins":["jerry","ops"]}}}"#;
const DEVICE: &str = r#"{"kind":"mfa_device","version":"v1","metadata":{"name":"k1"},"spec":{"user":"jerry","ssh_sk":{"public_key":"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo= jerry@laptop"}}}"#;

/// The same resource with `kind` last (not the fast way's shape).
fn kind_last(resource: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(resource).unwrap();
    let kind = v["kind"].as_str().unwrap().to_owned();
    let mut rest = v.as_object().unwrap().clone();
    rest.remove("kind");
    let body = serde_json::to_string(&rest).unwrap();
    format!("{},\"kind\":\"{kind}\"}}", &body[..body.len() - 1])
}

#[test]
fn kind_first_or_not_the_same_bundle() {
    let fast = format!("[\n{ROLE},\n{USER},\n{DEVICE}\n]\n");
    let general = format!(
        "[\n{},\n{},\n{}\n]\n",
        kind_last(ROLE),
        kind_last(USER),
        kind_last(DEVICE)
    );
    let mixed = format!("[\n{ROLE},\nnull,\n{},\n{DEVICE}]", kind_last(USER));
    let a = load_bundle_str(&fast, "a.json").unwrap_or_else(|e| panic!("{e}"));
    for text in [&general, &mixed] {
        let b = load_bundle_str(text, "b.json").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.roles(), b.roles());
        assert_eq!(a.users(), b.users());
        assert_eq!(a.devices(), b.devices());
    }
    assert_eq!(
        a.users()["jerry"]
            .roles
            .iter()
            .map(|r| &**r)
            .collect::<Vec<_>>(),
        ["ops"]
    );
    assert_eq!(&*a.devices()[0].user, "jerry");
    assert!(a.device_by_ssh_key("sk-ssh-ed25519@openssh.com", "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo=").is_some());
}

#[test]
fn errors_name_the_element_line_and_column() {
    // A bad version in the third element, on line 4.
    let bad_role = ROLE.replace("\"v7\"", "\"v99\"");
    let text = format!(
        "[\n{ROLE},\n{USER},\n  {}\n]",
        bad_role.replace("\"ops\"", "\"ops2\"")
    );
    let e = load_bundle_str(&text, "e.json").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("unsupported role version"), "{e}");
    let column = e.column.expect("a column") as usize;
    let line4 = text.lines().nth(3).unwrap();
    assert!(
        line4[..column].contains("\"v99\""),
        "{e}: column {column} of {line4}"
    );

    // A second `kind` in an element read the fast way: refused, as the
    // general way refuses it.
    let twice = format!(
        "[\n{}\n]",
        USER.replace("\"version\"", "\"kind\":\"role\",\"version\"")
    );
    let e = load_bundle_str(&twice, "k.json").unwrap_err();
    assert!(e.message.contains("duplicate field `kind`"), "{e}");
    assert_eq!(e.line, Some(2), "{e}");
    let general = format!(
        "[\n{}\n]",
        kind_last(USER).replacen('{', "{\"kind\":\"user\",", 1)
    );
    let e = load_bundle_str(&general, "k.json").unwrap_err();
    assert!(e.message.contains("duplicate field `kind`"), "{e}");

    // A syntax error later in the text is reported before a bad element.
    let both = format!("[\n{bad_role},\n{USER},\n{{\"kind\": }}\n]");
    let e = load_bundle_str(&both, "s.json").unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");

    // A duplicate device and a trailing comma.
    let dup = format!("[\n{DEVICE},\n{DEVICE}\n]");
    let e = load_bundle_str(&dup, "d.json").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("first defined at d.json:2"), "{e}");
    let e = load_bundle_str(&format!("[\n{ROLE},\n]"), "t.json").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
}

#[test]
fn unknown_kinds_warn_with_their_line() {
    let text = format!("[\n{ROLE},\n{{\"kind\":\"windows_desktop\",\"version\":\"v3\"}}\n]");
    let b = load_bundle_str(&text, "w.json").unwrap();
    assert_eq!(
        super::support::warnings_beside_missing_cap(&b),
        ["w.json:3: skipped unknown kind 'windows_desktop'"]
    );
}
