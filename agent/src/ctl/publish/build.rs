//! From the inputs to the bundle text that is published: every input loaded
//! as the agent loads a bundle (an input the agent would refuse is refused
//! here, at its file:line:column), every resource copied through the
//! allowlist, and the result loaded again and compared with the input, so
//! the published bundle means to the agent exactly what tctl's output does.

use serde_json::Value;

use super::allowlist::{copy_resource, Dropped};
use super::clusters::{ca_cluster, local_cluster};
use super::input::Source;
use super::secrets::unmistakable_secret;
use crate::policy::{load_bundle_sources, load_bundle_str, raw_documents, Bundle};
use crate::sync::diff_bundles;

/// The bundle to publish.
#[derive(Debug)]
pub struct Built {
    /// A JSON array, one resource per line: the bytes published.
    pub text: String,
    /// `text`, as the agent loads it.
    pub bundle: Bundle,
    /// The inputs' warnings (`FILE:LINE: ...`).
    pub warnings: Vec<String>,
    /// Secret fields dropped.
    pub secret_fields: usize,
    /// Resources left out (kinds the agent does not read, devices with no
    /// public form, other clusters' CAs).
    pub left_out: usize,
    /// This cluster's name (its CAs'), when the input has CAs.
    pub cluster: Option<String>,
}

/// What the published bundle is named in errors.
const PUBLISHED: &str = "the published bundle";

/// Builds the bundle from tctl's output (`resources`) and our own
/// `mfa_device` documents (`devices`).
/// `cluster`: `--cluster-name` (see [`super::clusters`]).
pub fn build_bundle(
    resources: &[Source],
    devices: &[Source],
    cluster: Option<&str>,
) -> Result<Built, String> {
    let all: Vec<(String, String)> = resources
        .iter()
        .chain(devices)
        .map(|s| (s.origin.clone(), s.text.clone()))
        .collect();
    let mut input = load_bundle_sources(&all).map_err(|e| e.to_string())?;
    let local = local_cluster(&input, cluster)?;
    let mut dropped = Dropped::default();
    let mut kept = Vec::new();
    let mut left_out = 0;
    let mut has_cap = false;
    for (source, devices_only) in resources
        .iter()
        .map(|s| (s, false))
        .chain(devices.iter().map(|s| (s, true)))
    {
        for doc in raw_documents(&source.text, &source.origin).map_err(|e| e.to_string())? {
            let at = format!("{}:{}", source.origin, doc.line);
            has_cap |= doc.value["kind"] == "cluster_auth_preference";
            if let Some(other) = other_cluster_ca(&doc.value, local.as_deref()) {
                input.warnings.push(format!(
                    "{at}: left out the cert_authority of cluster {other:?}: not this cluster ({})",
                    local.as_deref().unwrap_or_default()
                ));
                left_out += 1;
                continue;
            }
            match copy_document(&doc.value, devices_only, &at, &mut dropped)? {
                Some(v) => kept.push(v),
                None => left_out += usize::from(!doc.value.is_null()),
            }
        }
    }
    if !has_cap {
        return Err(missing_cap(resources));
    }
    let text = bundle_text(&kept)?;
    check_no_secret(&text, &dropped)?;
    let bundle = load_bundle_str(&text, PUBLISHED).map_err(|e| {
        format!("{e} (the allowlist made a bundle the agent refuses: a bug, nothing was written)")
    })?;
    same_policy(&input, &bundle, local.as_deref())?;
    Ok(Built {
        text,
        bundle,
        warnings: input.warnings,
        secret_fields: dropped.secret_fields,
        left_out,
        cluster: local,
    })
}

/// Why input without a `cluster_auth_preference` is refused: a cluster
/// always has one, and the agent would take Teleport's default cap in its
/// place, dropping a cluster-wide `require_session_mfa` (an export of
/// `tctl get role,user` only). The agent loads such a bundle with a warning.
fn missing_cap(resources: &[Source]) -> String {
    let origins: Vec<&str> = resources.iter().map(|s| s.origin.as_str()).collect();
    let from = match origins.as_slice() {
        [] => "the input".to_owned(),
        [one] => (*one).to_owned(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    };
    format!(
        "{from}: no cluster_auth_preference (cap) in the input: every cluster has one, and without it the agents would take Teleport's defaults and lose a cluster-wide require_session_mfa; refusing to publish (nothing written). Add what `tctl get cap --format=yaml` prints (`mfactl publish --tctl` fetches it with the rest)"
    )
}

/// The cluster of a `cert_authority` document that is not `local`.
fn other_cluster_ca<'a>(value: &'a Value, local: Option<&str>) -> Option<&'a str> {
    let local = local?;
    (value["kind"] == "cert_authority")
        .then(|| ca_cluster(value))
        .filter(|c| *c != local)
}

/// One document through the allowlist; `at` is `FILE:LINE`.
fn copy_document(
    value: &Value,
    devices_only: bool,
    at: &str,
    dropped: &mut Dropped,
) -> Result<Option<Value>, String> {
    if value.is_null() {
        return Ok(None);
    }
    // The loader accepted it: it has a kind and a metadata.name.
    let kind = value["kind"].as_str().unwrap_or_default();
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if devices_only && kind != "mfa_device" {
        return Err(format!(
            "{at}: {kind} {name:?}: only mfa_device documents belong in --devices"
        ));
    }
    copy_resource(kind, value, dropped).map_err(|r| {
        format!(
            "{at}: {kind} {name:?}: field {} holds what looks like key material ({}), and the publisher does not know this field: refusing to publish (nothing written). Remove the field, or teach the allowlist (agent/src/ctl/publish/shapes.rs) what it is",
            r.path, r.why
        )
    })
}

/// A JSON array, one resource per line.
fn bundle_text(resources: &[Value]) -> Result<String, String> {
    let mut text = String::from("[\n");
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            text.push_str(",\n");
        }
        text.push_str(&serde_json::to_string(r).map_err(|e| e.to_string())?);
    }
    text.push_str("\n]\n");
    Ok(text)
}

/// The last guard: nothing that is never public, and no value of a dropped
/// secret field, is in the text (however it got there).
fn check_no_secret(text: &str, dropped: &Dropped) -> Result<(), String> {
    if let Some(why) = unmistakable_secret(text) {
        return Err(format!(
            "{PUBLISHED} would hold {why}: refusing to publish (nothing written)"
        ));
    }
    // One pass over the text for all of them (a large cluster drops a
    // hundred thousand password hashes).
    let values = aho_corasick::AhoCorasick::new(&dropped.secret_values)
        .map_err(|e| format!("checking {PUBLISHED} for secrets: {e}"))?;
    if values.is_match(text) {
        return Err(format!(
            "{PUBLISHED} would hold the value of a secret field (copied into another field): refusing to publish (nothing written)"
        ));
    }
    Ok(())
}

/// The published bundle must mean what the input means: same roles, users,
/// cap, locks, devices and (this cluster's) CAs, in the same order.
fn same_policy(input: &Bundle, published: &Bundle, local: Option<&str>) -> Result<(), String> {
    // Other clusters' CAs are left out on purpose (see `clusters`).
    let mut changes: Vec<String> = diff_bundles(Some(input), published)
        .into_iter()
        .filter(|c| {
            let other_ca = c
                .strip_prefix("- cert_authority/")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(_, cluster)| local.is_some_and(|l| cluster != l));
            !other_ca
        })
        .collect();
    let local_cas: Vec<_> = input
        .cert_authorities()
        .iter()
        .filter(|c| local.is_none_or(|l| c.cluster_name == l))
        .collect();
    let published_cas: Vec<_> = published.cert_authorities().iter().collect();
    if changes.is_empty()
        && (input.locks() != published.locks()
            || input.devices() != published.devices()
            || local_cas != published_cas)
    {
        changes.push("the order of locks, devices or CAs".into());
    }
    if changes.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the allowlist dropped something the agent reads ({}): a bug, nothing was written",
        changes.join(", ")
    ))
}

#[cfg(test)]
mod tests {
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
}
