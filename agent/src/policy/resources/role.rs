//! `kind: role` (v3..v8): the parts that decide SSH-style access and MFA.

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::common::{into_plain_map, role_version, Metadata, StringList, StringListMap};
use super::role_checks as checks;
use crate::policy::labels::{Labels, WILDCARD};
use crate::policy::predicate::LabelExpression;
use crate::policy::require_mfa::RequireMfa;

/// A Teleport role, as far as node access goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// `metadata.name`.
    pub name: String,
    /// `version` (`v3`..`v8`).
    pub version: String,
    /// `spec.options.require_session_mfa`.
    pub require_session_mfa: RequireMfa,
    /// `spec.options.lock`: `strict`, `best_effort`, or empty (the cap's
    /// `locking_mode` applies).
    pub lock: String,
    /// `spec.options.device_trust_mode` as written. A role asks for a
    /// trusted device only with exactly `required` (Teleport's
    /// `RoleSet.checkAccess`, lib/services/role.go); the cap's
    /// `device_trust.mode` (`required`, `required-for-humans`) is read
    /// apart (`policy::limits::device_trust_denial`).
    pub device_trust_mode: String,
    /// `spec.options.disconnect_expired_cert`: a session opened with a
    /// certificate ends when the certificate (or, for a per-session MFA
    /// certificate, the one it was issued from) expires.
    pub disconnect_expired_cert: bool,
    /// `spec.options.client_idle_timeout`, when set and positive: a session
    /// with no terminal input or output for that long ends (the smallest among the roles held
    /// when it started, Teleport's `AdjustClientIdleTimeout`).
    pub client_idle_timeout: Option<std::time::Duration>,
    /// `metadata.expires`: from then on the role no longer exists, so its
    /// holders are denied as with any missing role.
    pub expires: Option<std::time::SystemTime>,
    /// `spec.allow`.
    pub allow: RoleConditions,
    /// `spec.deny`.
    pub deny: RoleConditions,
}

/// One side (`allow` or `deny`) of a role. Templates are not expanded here:
/// that happens per user, in `decide`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleConditions {
    /// `logins`, may hold trait templates.
    pub logins: Vec<String>,
    /// `node_labels`, after the version defaults (v3: `'*': '*'` when absent
    /// and logins are set); keys and values may hold trait templates.
    pub node_labels: Labels,
    /// `node_labels_expression`, parsed at load (a syntax or type error is a
    /// load error at its position). See `policy::predicate`.
    pub node_labels_expression: Option<Box<LabelExpression>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RoleDoc {
    #[serde(deserialize_with = "role_version")]
    version: String,
    metadata: Metadata,
    #[serde(default)]
    spec: Option<RawRoleSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRoleSpec {
    #[serde(default)]
    options: Option<RawRoleOptions>,
    #[serde(default)]
    allow: Option<RawAllow>,
    #[serde(default)]
    deny: Option<RawConditions>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRoleOptions {
    #[serde(default)]
    require_session_mfa: RequireMfa,
    #[serde(default, deserialize_with = "locking_mode")]
    lock: String,
    #[serde(default)]
    device_trust_mode: Option<String>,
    #[serde(default, deserialize_with = "super::common::lenient_bool")]
    disconnect_expired_cert: bool,
    /// Teleport's duration (`never`, `0`, negative: none; newer Teleport's
    /// `d`, `mo`, `y` units too); anything else refuses the role.
    #[serde(default, deserialize_with = "super::go_duration::optional_timeout")]
    client_idle_timeout: Option<std::time::Duration>,
    #[serde(
        default,
        rename = "enhanced_recording",
        deserialize_with = "checks::enhanced_recording"
    )]
    _enhanced_recording: (),
}

/// `options.lock`, as Teleport's `RoleV6.CheckAndSetDefaults` accepts it:
/// empty, `best_effort` or `strict`; anything else refuses the role.
fn locking_mode<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let mode = Option::<String>::deserialize(d)?.unwrap_or_default();
    match super::common::is_locking_mode(&mode) {
        true => Ok(mode),
        false => Err(de::Error::custom(format!(
            "invalid value for role option lock: {mode:?} (expected best_effort or strict)"
        ))),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RawConditions {
    #[serde(default)]
    logins: Option<StringList>,
    #[serde(default)]
    node_labels: Option<StringListMap>,
    #[serde(default, deserialize_with = "label_expression")]
    node_labels_expression: Option<LabelExpression>,
    /// Checked only: every list that loads means `default`.
    #[serde(default, rename = "namespaces", deserialize_with = "namespaces")]
    _namespaces: (),
    #[serde(default, rename = "rules", deserialize_with = "checks::rules")]
    _rules: (),
    #[serde(
        default,
        rename = "impersonate",
        deserialize_with = "checks::deny_impersonate"
    )]
    _impersonate: (),
}

/// The allow side, with what Teleport's `RoleV6.CheckAndSetDefaults`
/// refuses there (api/types/role.go, "restrict wildcards"): a `'*'` login,
/// a `'*'` node_labels key with any value but `'*'` alone, and the same in
/// the fields only checked ([`checks`]). The deny side is not restricted
/// so (as in Teleport).
#[derive(Debug, Default, Deserialize)]
struct RawAllow {
    #[serde(default, deserialize_with = "no_wildcard_login")]
    logins: Option<StringList>,
    #[serde(default, deserialize_with = "no_wildcard_selector")]
    node_labels: Option<StringListMap>,
    #[serde(default, deserialize_with = "label_expression")]
    node_labels_expression: Option<LabelExpression>,
    /// Checked only: every list that loads means `default`.
    #[serde(default, rename = "namespaces", deserialize_with = "namespaces")]
    _namespaces: (),
    #[serde(
        default,
        rename = "aws_role_arns",
        deserialize_with = "checks::aws_role_arns"
    )]
    _aws_role_arns: (),
    #[serde(
        default,
        rename = "azure_identities",
        deserialize_with = "checks::azure_identities"
    )]
    _azure_identities: (),
    #[serde(
        default,
        rename = "gcp_service_accounts",
        deserialize_with = "checks::gcp_service_accounts"
    )]
    _gcp_service_accounts: (),
    #[serde(default, rename = "db_roles", deserialize_with = "checks::db_roles")]
    _db_roles: (),
    #[serde(default, rename = "app_labels", deserialize_with = "checks::selector")]
    _app_labels: (),
    #[serde(
        default,
        rename = "kubernetes_labels",
        deserialize_with = "checks::selector"
    )]
    _kubernetes_labels: (),
    #[serde(default, rename = "db_labels", deserialize_with = "checks::selector")]
    _db_labels: (),
    #[serde(
        default,
        rename = "windows_desktop_labels",
        deserialize_with = "checks::selector"
    )]
    _windows_desktop_labels: (),
    #[serde(
        default,
        rename = "group_labels",
        deserialize_with = "checks::selector"
    )]
    _group_labels: (),
    #[serde(
        default,
        rename = "workload_identity_labels",
        deserialize_with = "checks::selector"
    )]
    _workload_identity_labels: (),
    #[serde(default, rename = "rules", deserialize_with = "checks::rules")]
    _rules: (),
    #[serde(
        default,
        rename = "impersonate",
        deserialize_with = "checks::allow_impersonate"
    )]
    _impersonate: (),
}

/// A `node_labels_expression`, parsed. Only the empty string counts as
/// absent: Teleport's `LabelMatchers.Empty` (api/types/role.go) and
/// `CheckLabelsMatch` (lib/services/role.go) test `len(Expression) == 0`, so
/// a blank one (spaces only) is an expression, which `parseLabelExpression`
/// refuses (go/parser: expected operand). An expression that does not parse
/// is kept with its error, as Teleport's `ValidateRole` only warns about it:
/// the loader warns, and every login of the role's holders is denied (the
/// access check fails on it).
fn label_expression<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LabelExpression>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some(LabelExpression::parse_or_keep(&text)))
}

impl From<RawAllow> for RawConditions {
    fn from(a: RawAllow) -> RawConditions {
        RawConditions {
            logins: a.logins,
            node_labels: a.node_labels,
            node_labels_expression: a.node_labels_expression,
            _namespaces: (),
            _rules: (),
            _impersonate: (),
        }
    }
}

/// `namespaces`, as Teleport's `checkAndSetRoleConditionNamespaces` and
/// `ValidateNamespaceDefault` accept them: `default` or `*` only. Every
/// accepted list means the one namespace there is, `default`, an empty one
/// too: Teleport turns an empty list into nil on its way to a node (gRPC,
/// and the backend's JSON with `omitempty`), and nil into `[default]`.
fn namespaces<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    let list = Option::<StringList>::deserialize(d)?;
    if let Some(bad) = list
        .iter()
        .flat_map(|l| l.0.iter())
        .find(|n| *n != "default" && *n != WILDCARD)
    {
        return Err(de::Error::custom(format!(
            "invalid namespace {bad:?}: namespaces are deprecated and must be \"default\""
        )));
    }
    Ok(())
}

fn no_wildcard_login<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StringList>, D::Error> {
    let list = Option::<StringList>::deserialize(d)?;
    if list
        .as_ref()
        .is_some_and(|l| l.0.iter().any(|v| v == WILDCARD))
    {
        return Err(de::Error::custom(
            "wildcard matcher is not allowed in logins ('*' in allow logins is refused, as Teleport refuses the role)",
        ));
    }
    Ok(list)
}

fn no_wildcard_selector<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<StringListMap>, D::Error> {
    let map = Option::<StringListMap>::deserialize(d)?;
    match map.as_ref().and_then(checks::wildcard_selector_error) {
        Some(why) => Err(de::Error::custom(why)),
        None => Ok(map),
    }
}

impl RawConditions {
    fn into_conditions(self, default_labels: Option<Labels>) -> RoleConditions {
        let logins = self.logins.unwrap_or_default().0;
        let node_labels = match (self.node_labels, default_labels) {
            (Some(map), None) => into_plain_map(map),
            (_, default) => default.unwrap_or_default(),
        };
        RoleConditions {
            logins,
            node_labels,
            node_labels_expression: self.node_labels_expression.map(Box::new),
        }
    }
}

impl RoleDoc {
    pub(crate) fn into_role(self) -> Role {
        let spec = self.spec.unwrap_or_default();
        let allow = RawConditions::from(spec.allow.unwrap_or_default());
        // Teleport's RoleV6.CheckAndSetDefaults: a v3 role with logins but no
        // node_labels gets `'*': '*'`. An empty map counts as none: a role
        // reaches a Teleport node through gRPC (`Labels.Unmarshal` leaves an
        // empty map nil) and the backend's JSON (`omitempty`), and is
        // defaulted again after each.
        let v3_default = (self.version == "v3"
            && allow.node_labels.as_ref().is_none_or(|m| m.is_empty())
            && allow.logins.as_ref().is_some_and(|l| !l.0.is_empty()))
        .then(|| Labels::from([("*".to_owned(), vec!["*".to_owned()])]));
        let options = spec.options.unwrap_or_default();
        Role {
            name: self.metadata.name,
            version: self.version,
            require_session_mfa: options.require_session_mfa,
            lock: options.lock,
            device_trust_mode: options.device_trust_mode.unwrap_or_default(),
            disconnect_expired_cert: options.disconnect_expired_cert,
            client_idle_timeout: options.client_idle_timeout,
            expires: self.metadata.expires,
            allow: allow.into_conditions(v3_default),
            deny: spec.deny.unwrap_or_default().into_conditions(None),
        }
    }
}
