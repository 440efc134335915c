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
#[path = "build_tests.rs"]
mod tests;
