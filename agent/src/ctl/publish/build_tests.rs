//! The publisher's bundle build: what is kept, refused and where.

use super::*;

const FIXTURE: &str = include_str!("testdata/tctl_with_secrets.yaml");
const SECRETS: &str = include_str!("testdata/tctl_with_secrets.secrets");

fn source(origin: &str, text: &str) -> Source {
    Source {
        origin: origin.into(),
        text: text.into(),
    }
}

/// Every secret of the fixture: its bytes as text (when they are), and
/// their base64 and hex forms.
pub(crate) fn secret_forms() -> Vec<(String, String)> {
    use base64::Engine as _;
    let mut out = Vec::new();
    for line in SECRETS.lines().filter(|l| !l.starts_with('#')) {
        let (name, hex) = line.split_once('\t').unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            out.push((name.to_owned(), text.trim().to_owned()));
        }
        out.push((
            name.to_owned(),
            base64::engine::general_purpose::STANDARD.encode(&bytes),
        ));
        out.push((name.to_owned(), hex.to_owned()));
    }
    out
}

#[test]
fn the_fixture_publishes_without_any_of_its_secrets() {
    let built = build_bundle(&[source("tctl.yaml", FIXTURE)], &[], None).unwrap();
    assert!(FIXTURE.contains("password_hash"));
    let forms = secret_forms();
    for (name, form) in &forms {
        assert!(!built.text.contains(form.as_str()), "{name} leaked: {form}");
    }
    // The fixture does carry each of them.
    for (name, _) in &forms {
        assert!(
            forms
                .iter()
                .any(|(n, f)| n == name && FIXTURE.contains(f.as_str())),
            "{name} is not in the fixture"
        );
    }
    assert_eq!(built.secret_fields, 9);
    assert_eq!(
        built.left_out, 2,
        "recovery_codes and webauthn_session_data"
    );
    assert_eq!(built.bundle.users().len(), 2);
    assert_eq!(built.bundle.user_cert_authorities().len(), 1);
    assert!(built.text.contains("publicKeyCbor"));
    assert!(built.text.ends_with("}\n]\n"));
}

/// What `tctl get user_login_state` prints, beside the resources: the
/// published bundle holds the state's roles and traits (and not its
/// original ones), and means what the input means.
#[test]
fn login_states_are_published_with_their_roles_and_traits() {
    let states = include_str!("testdata/tctl_user_login_states.yaml");
    let built = build_bundle(
        &[source("tctl.yaml", FIXTURE), source("states.yaml", states)],
        &[],
        None,
    )
    .unwrap();
    let bob = &built.bundle.users()["bob"];
    let roles: Vec<&str> = bob.roles.iter().map(|r| &**r).collect();
    assert_eq!(roles, ["access", "prod-access"]);
    assert_eq!(bob.logins().to_vec(), ["bob", "deploy"]);
    assert!(bob.login_state.is_some());
    assert!(
        built
            .text
            .contains(r#"{"kind":"user_login_state","metadata":{"expires":"0001-01-01T00:00:00Z","name":"bob"},"spec":{"roles":["access","prod-access"],"traits":{"logins":["bob","deploy"]}},"version":"v1"}"#),
        "{}",
        built.text
    );
    for dropped in ["original_roles", "original_traits", "user_type", "okta"] {
        assert!(!built.text.contains(dropped), "{dropped}");
    }
    assert_eq!(
        built.left_out, 2,
        "recovery_codes and webauthn_session_data"
    );
}

/// A lock that names its join token as `join_token_sha256` (as a bundle
/// published before, or written by hand): 64 hex digits, not key
/// material to refuse; the agent reads the same lock.
#[test]
fn a_lock_with_a_join_token_sha256_is_published() {
    let hash = crate::policy::join_token_sha256("7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e");
    let lock = format!(
        "kind: lock\nversion: v2\nmetadata: {{name: hold-ci}}\nspec:\n  target: {{join_token_sha256: {hash}}}\n"
    );
    let built = build_bundle(
        &[source("tctl.yaml", FIXTURE), source("locks.yaml", &lock)],
        &[],
        None,
    )
    .unwrap();
    let held = built
        .bundle
        .locks()
        .iter()
        .find(|l| l.name == "hold-ci")
        .unwrap();
    assert_eq!(held.target.join_token_sha256.as_deref(), Some(&*hash));
    assert!(built
        .text
        .contains(&format!("\"join_token_sha256\":\"{hash}\"")));
}

#[test]
fn an_unknown_field_with_key_material_stops_the_publication() {
    let text = FIXTURE.replace(
        "  future_teleport_field:\n    enabled: true\n",
        "  future_teleport_field:\n    escrow: \"-----BEGIN PRIVATE KEY-----\"\n",
    );
    assert_ne!(text, FIXTURE);
    let e = build_bundle(&[source("tctl.yaml", &text)], &[], None).unwrap_err();
    assert!(
        e.starts_with("tctl.yaml:51: role \"prod-access\": field spec.future_teleport_field.escrow holds what looks like key material (a PEM block)"),
        "{e}"
    );
}

/// `tctl get role,user` leaves the cap out: the agents would take
/// Teleport's default in its place and drop a cluster-wide
/// require_session_mfa, so nothing is published.
#[test]
fn input_without_a_cap_is_refused() {
    let (cap, rest) = FIXTURE.split_once("\n---\n").unwrap();
    assert!(cap.starts_with("kind: cluster_auth_preference"));
    let e = build_bundle(&[source("roles-users.yaml", rest)], &[], None).unwrap_err();
    assert!(
        e.starts_with("roles-users.yaml: no cluster_auth_preference (cap) in the input")
            && e.contains("`tctl get cap --format=yaml`")
            && e.contains("nothing written"),
        "{e}"
    );
    // The cap in a file of its own beside the rest is the same input.
    let built = build_bundle(
        &[source("cap.yaml", cap), source("roles-users.yaml", rest)],
        &[],
        None,
    )
    .unwrap();
    assert!(built.text.contains("cluster_auth_preference"));
}

#[test]
fn what_the_agent_refuses_is_refused_at_its_place() {
    let text = FIXTURE.replace("    - ubuntu\n", "    - '*'\n");
    let e = build_bundle(&[source("tctl.yaml", &text)], &[], None).unwrap_err();
    assert!(e.starts_with("tctl.yaml:5"), "{e}");
    assert!(
        e.contains("wildcard matcher is not allowed in logins"),
        "{e}"
    );
    let role = "kind: role\nversion: v7\nmetadata: {name: r}\n";
    let e = build_bundle(
        &[source("tctl.yaml", FIXTURE)],
        &[source("dev.yaml", role)],
        None,
    )
    .unwrap_err();
    assert!(
        e.starts_with("dev.yaml:1: role \"r\": only mfa_device documents belong in --devices"),
        "{e}"
    );
}

/// A leaf cluster's tctl also prints its root's user CA: not published
/// (the hosts trust only this cluster's certificates), and without --cluster-name
/// the publisher cannot tell which cluster is this one.
#[test]
fn only_this_clusters_cas_are_published() {
    let root_ca = "---\nkind: cert_authority\nmetadata:\n  name: root.example.com\nspec:\n  active_keys:\n    ssh:\n    - public_key: c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSURPVmZLQ3A3N3YrOXJXRC9KL3ZsWlFueCsrTHFjajU4K1NxS3dhaVVxSE0K\n  cluster_name: root.example.com\n  type: user\nsub_kind: user\nversion: v2\n";
    let text = format!("{FIXTURE}{root_ca}");
    let e = build_bundle(&[source("tctl.yaml", &text)], &[], None).unwrap_err();
    assert!(
        e.contains("2 clusters (example.teleport.sh, root.example.com)")
            && e.contains("--cluster-name"),
        "{e}"
    );
    let built = build_bundle(
        &[source("tctl.yaml", &text)],
        &[],
        Some("example.teleport.sh"),
    )
    .unwrap();
    assert_eq!(built.cluster.as_deref(), Some("example.teleport.sh"));
    let cas = built.bundle.cert_authorities();
    assert!(!cas.is_empty() && cas.iter().all(|c| c.cluster_name == "example.teleport.sh"));
    assert!(!built.text.contains("root.example.com"));
    assert!(
        built
            .warnings
            .iter()
            .any(|w| w.contains("left out the cert_authority of cluster \"root.example.com\"")),
        "{:?}",
        built.warnings
    );
    let e = build_bundle(&[source("tctl.yaml", &text)], &[], Some("other")).unwrap_err();
    assert!(e.contains("--cluster-name other"), "{e}");
}

/// A cap the agent judges by fields tctl prints (an SSO cluster with local
/// auth off and SSO the only second factor): the fields reach the bundle,
/// and the agent loads what the publisher wrote.
#[test]
fn an_sso_only_cap_is_published_with_what_the_agent_judges_it_by() {
    let (_, rest) = FIXTURE.split_once("\n---\n").unwrap();
    let cap = "kind: cluster_auth_preference\nmetadata:\n  name: cluster-auth-preference\nspec:\n  allow_headless: false\n  allow_local_auth: false\n  allow_passwordless: false\n  connector_name: okta\n  require_session_mfa: true\n  second_factors:\n  - sso\n  type: saml\nversion: v2\n";
    let built = build_bundle(
        &[source("cap.yaml", cap), source("rest.yaml", rest)],
        &[],
        None,
    )
    .unwrap();
    for field in [
        r#""allow_local_auth":false"#,
        r#""type":"saml""#,
        r#""connector_name":"okta""#,
    ] {
        assert!(built.text.contains(field), "{field}: {}", built.text);
    }
    crate::policy::load_bundle_str(&built.text, "published.json").unwrap();
}
