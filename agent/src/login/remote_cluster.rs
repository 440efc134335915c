//! A certificate of a trusted cluster's user: its roles are that cluster's,
//! and only the `role_map` of the CA that signed it says which of this
//! cluster's roles they stand for. Teleport: `AccessInfoFromRemoteSSHIdentity`
//! (lib/services/access_checker.go) maps them with `MapRoles`
//! (lib/services/role.go) through `CertAuthorityV2.CombinedMapping`, sets
//! the `logins` trait to the certificate's principals, and refuses a user
//! none of whose roles map. A certificate of this cluster keeps its roles.
//!
//! Which cluster is this one: `cluster.name` in agent.yaml; when it is not
//! set, the one cluster whose user CA carries no role mapping (Teleport
//! gives one only to a trusted cluster's CA). With several such clusters
//! and no `cluster.name`, a certificate cannot be placed and is refused.

use std::collections::HashSet;

use crate::policy::{cached_regex, replace_all_go, CertAuthority, RoleMapping};
use crate::verify::ssh_cert::{Issuer, TeleportIdentity};

/// Teleport's `constants.DefaultImplicitRole`: never mapped.
const DEFAULT_IMPLICIT_ROLE: &str = "default-implicit-role";

/// The identity to decide with: a local certificate as it is; a trusted
/// cluster's with its roles mapped. `Err` is why it cannot be used.
pub fn as_local_identity(
    mut id: TeleportIdentity,
    cas: &[CertAuthority],
    cluster_name: Option<&str>,
) -> Result<TeleportIdentity, String> {
    let mapping = mapping_of(cas, &id.ca_cluster)?;
    match is_local(&id.ca_cluster, mapping, cas, cluster_name)? {
        true if id.issuer == Issuer::OpenSshCa => openssh_only_without_trusted_clusters(id, cas),
        true => Ok(id),
        // Only this cluster's openssh CA is trusted (`who::certificate`);
        // its certificates have no role mapping to go through.
        false if id.issuer == Issuer::OpenSshCa => Err(format!(
            "signed by the openssh CA of {}, which is not this cluster",
            id.ca_cluster
        )),
        false => {
            let roles = map_roles(mapping, &id.roles).map_err(|e| {
                format!(
                    "roles {:?} of trusted cluster {} cannot be mapped: {e}",
                    id.roles, id.ca_cluster
                )
            })?;
            if roles.is_empty() {
                return Err(format!(
                    "no role of this cluster is mapped from roles {:?} of trusted cluster {}",
                    id.roles, id.ca_cluster
                ));
            }
            id.unmapped_roles = std::mem::replace(&mut id.roles, roles);
            id.from_trusted_cluster = true;
            id.traits.insert("logins".into(), id.principals.clone());
            Ok(id)
        }
    }
}

/// A certificate of this cluster's openssh CA, where the bundle trusts no
/// other cluster's user CA. In a leaf cluster, Teleport's proxy asks the
/// leaf to sign one for a root cluster's user with that user's own,
/// unmapped roles and traits (lib/agentless `SignerFromAuthzContext`:
/// "the CertGenerator ... connected to the same cluster as the target
/// node", with the root user's roles): nothing in it tells a root user
/// from a leaf user, so its role names could be read as this cluster's
/// roles of the same name, or a leaf user's keys asked for. Refused there
/// (fails closed, as before openssh CAs were trusted at all).
fn openssh_only_without_trusted_clusters(
    id: TeleportIdentity,
    cas: &[CertAuthority],
) -> Result<TeleportIdentity, String> {
    let other = cas
        .iter()
        .find(|ca| ca.ca_type == "user" && ca.cluster_name != id.ca_cluster);
    match other {
        None => Ok(id),
        Some(ca) => Err(format!(
            "signed by the openssh CA of {}, which also signs for users of trusted cluster {} with their own, unmapped roles: such a certificate cannot say whose roles it carries, and is not accepted where the policy trusts another cluster",
            id.ca_cluster, ca.cluster_name
        )),
    }
}

/// The role mapping of `cluster`'s user CAs: one, even when the bundle
/// holds the cluster's CA twice (merged sources); two that differ make it
/// unknown which applies, and the certificate is refused.
fn mapping_of<'c>(cas: &'c [CertAuthority], cluster: &str) -> Result<&'c [RoleMapping], String> {
    let mut maps = cas
        .iter()
        .filter(|ca| ca.ca_type == "user" && ca.cluster_name == cluster)
        .map(|ca| ca.role_map.as_slice());
    let first = maps.next().unwrap_or_default();
    if maps.any(|m| m != first) {
        return Err(format!(
            "the policy holds user CAs of cluster {cluster} with different role_maps"
        ));
    }
    Ok(first)
}

/// This cluster's name: `cluster.name` in agent.yaml, else the one cluster
/// whose user CA carries no role_map; `None` when that is not one cluster.
pub fn this_cluster<'c>(
    cas: &'c [CertAuthority],
    cluster_name: Option<&'c str>,
) -> Option<&'c str> {
    if cluster_name.is_some() {
        return cluster_name;
    }
    let unmapped = clusters_without_role_map(cas);
    match unmapped.len() {
        1 => unmapped.into_iter().next(),
        _ => None,
    }
}

/// The clusters whose user CA carries no role_map (Teleport gives one only
/// to a trusted cluster's CA).
fn clusters_without_role_map(cas: &[CertAuthority]) -> HashSet<&str> {
    cas.iter()
        .filter(|ca| ca.ca_type == "user" && ca.role_map.is_empty())
        .map(|ca| ca.cluster_name.as_str())
        .collect()
}

/// Whether `ca_cluster` is this cluster.
fn is_local(
    ca_cluster: &str,
    mapping: &[RoleMapping],
    cas: &[CertAuthority],
    cluster_name: Option<&str>,
) -> Result<bool, String> {
    if let Some(name) = cluster_name {
        if !cas
            .iter()
            .any(|ca| ca.ca_type == "user" && ca.cluster_name == name)
        {
            return Err(format!(
                "cluster.name {name:?} names no user CA in the policy: fix cluster.name in agent.yaml"
            ));
        }
        return Ok(ca_cluster == name);
    }
    if !mapping.is_empty() {
        return Ok(false);
    }
    let unmapped = clusters_without_role_map(cas);
    if unmapped.len() > 1 {
        let mut names: Vec<&str> = unmapped.into_iter().collect();
        names.sort_unstable();
        return Err(format!(
            "the user CAs of clusters {} carry no role_map, so which one is this cluster is not known: set cluster.name in agent.yaml",
            names.join(", ")
        ));
    }
    Ok(true)
}

/// Teleport's `MapRoles`: every remote role against every mapping, in
/// order; a mapping's `remote` is a name, a glob (`*`: any run) or a
/// `^...$` regex, matched against the whole role; each `local` is that
/// match's expansion (`$1`), kept when not empty, once. No remote roles
/// count as one empty role (which a wildcard matches). A malformed map
/// (an empty or invalid `remote`, an empty or `*` local, a `remote` given
/// twice) is an error, as `parseRoleMap` makes it.
pub fn map_roles(mapping: &[RoleMapping], remote_roles: &[String]) -> Result<Vec<String>, String> {
    check_map(mapping)?;
    let empty = [String::new()];
    let remote_roles = if remote_roles.is_empty() {
        &empty[..]
    } else {
        remote_roles
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for m in mapping {
        let re = cached_regex(&anchored(&m.remote))?;
        for role in remote_roles {
            if role == DEFAULT_IMPLICIT_ROLE || !re.is_match(role) {
                continue;
            }
            for local in &m.local {
                // Teleport's `ReplaceRegexpWith` (lib/utils/replace.go):
                // Go's `ReplaceAllString`, so `local` expands as Go's
                // `$` templates do (`$01` is a name, not group 1).
                let mapped = replace_all_go(&re, role, local);
                if !mapped.is_empty() && seen.insert(mapped.clone()) {
                    out.push(mapped);
                }
            }
        }
    }
    Ok(out)
}

/// A `remote` as the regex Teleport's `ReplaceRegexp` builds: `^...$` as
/// written, anything else quoted with `*` as `(.*)` and anchored.
fn anchored(remote: &str) -> String {
    if remote.starts_with('^') && remote.ends_with('$') {
        return remote.to_owned();
    }
    let quoted: Vec<String> = remote.split('*').map(regex::escape).collect();
    format!("^{}$", quoted.join("(.*)"))
}

fn check_map(mapping: &[RoleMapping]) -> Result<(), String> {
    let mut remotes = HashSet::new();
    for m in mapping {
        if m.remote.is_empty() {
            return Err("a role_map entry has no remote".into());
        }
        cached_regex(&anchored(&m.remote))?;
        if m.local.is_empty() || m.local.iter().any(|l| l.is_empty()) {
            return Err(format!("role_map entry {:?} has an empty local", m.remote));
        }
        if m.local.iter().any(|l| l == "*") {
            return Err(format!(
                "role_map entry {:?} maps to the wildcard",
                m.remote
            ));
        }
        if !remotes.insert(m.remote.as_str()) {
            return Err(format!("role_map names remote {:?} twice", m.remote));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "remote_cluster_tests.rs"]
mod tests;
