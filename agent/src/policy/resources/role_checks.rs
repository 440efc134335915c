//! What Teleport's `RoleV6.CheckAndSetDefaults` (api/types/role.go) refuses
//! in the parts of a role that do not decide node access: such a role
//! cannot exist in a cluster (`tctl create` and every backend read refuse
//! it), so a bundle holding one is refused, as one with a `'*'` login is.
//! Each check reads its field and keeps nothing.

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::common::{StringList, StringListMap};
use crate::policy::labels::WILDCARD;

/// A `'*'` key with anything but `'*'` alone ("selector *:<val> is not
/// supported"), in any allow label selector.
pub(super) fn wildcard_selector_error(map: &StringListMap) -> Option<&'static str> {
    let values = map.get(WILDCARD)?;
    (values.0.len() != 1 || values.0[0] != WILDCARD).then_some(
        "selector *:<val> is not supported: a '*' label key takes only '*' (Teleport refuses the role)",
    )
}

/// `allow.app_labels`, `kubernetes_labels`, `db_labels` and the other label
/// selectors Teleport checks as it checks `node_labels`.
pub(super) fn selector<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    match Option::<StringListMap>::deserialize(d)?
        .as_ref()
        .and_then(wildcard_selector_error)
    {
        Some(why) => Err(de::Error::custom(why)),
        None => Ok(()),
    }
}

fn no_wildcard<'de, D: Deserializer<'de>>(d: D, field: &str) -> Result<(), D::Error> {
    let list = Option::<StringList>::deserialize(d)?;
    if list.iter().flat_map(|l| &l.0).any(|v| v == WILDCARD) {
        return Err(de::Error::custom(format!(
            "wildcard matcher is not allowed in allow.{field} (Teleport refuses the role)"
        )));
    }
    Ok(())
}

pub(super) fn aws_role_arns<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    no_wildcard(d, "aws_role_arns")
}

pub(super) fn azure_identities<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    no_wildcard(d, "azure_identities")
}

pub(super) fn gcp_service_accounts<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    no_wildcard(d, "gcp_service_accounts")
}

pub(super) fn db_roles<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    no_wildcard(d, "db_roles")
}

#[derive(Deserialize)]
struct RawRule {
    #[serde(default)]
    resources: Option<StringList>,
    #[serde(default)]
    verbs: Option<StringList>,
}

/// `rules` (either side): each needs resources and verbs
/// (`Rule.CheckAndSetDefaults`).
pub(super) fn rules<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    let rules = Option::<Vec<RawRule>>::deserialize(d)?.unwrap_or_default();
    for (i, rule) in rules.iter().enumerate() {
        let empty = |l: &Option<StringList>| l.as_ref().is_none_or(|l| l.0.is_empty());
        let why = if empty(&rule.resources) {
            "missing resources to match"
        } else if empty(&rule.verbs) {
            "missing verbs"
        } else {
            continue;
        };
        return Err(de::Error::custom(format!(
            "failed to process rule {i}: {why} (Teleport refuses the role)"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
struct RawImpersonate {
    #[serde(default)]
    users: Option<StringList>,
    #[serde(default)]
    roles: Option<StringList>,
    #[serde(default, rename = "where")]
    where_clause: Option<String>,
}

fn impersonate<'de, D: Deserializer<'de>>(d: D, deny: bool) -> Result<(), D::Error> {
    let Some(i) = Option::<RawImpersonate>::deserialize(d)? else {
        return Ok(());
    };
    let len = |l: &Option<StringList>| l.as_ref().map_or(0, |l| l.0.len());
    if deny && i.where_clause.is_some_and(|w| !w.is_empty()) {
        return Err(de::Error::custom(
            "'where' is not supported in deny.impersonate conditions (Teleport refuses the role)",
        ));
    }
    if len(&i.users) != 0 && len(&i.roles) == 0 {
        return Err(de::Error::custom(
            "impersonate: set both users and roles for user impersonation (Teleport refuses the role)",
        ));
    }
    Ok(())
}

pub(super) fn allow_impersonate<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    impersonate(d, false)
}

pub(super) fn deny_impersonate<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    impersonate(d, true)
}

/// `options.enhanced_recording`: `command`, `disk` or `network` only.
pub(super) fn enhanced_recording<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    let list = Option::<StringList>::deserialize(d)?;
    match list
        .iter()
        .flat_map(|l| &l.0)
        .find(|v| !["command", "disk", "network"].contains(&v.as_str()))
    {
        Some(bad) => Err(de::Error::custom(format!(
            "invalid value for role option enhanced_recording: {bad:?} (Teleport refuses the role)"
        ))),
        None => Ok(()),
    }
}
