//! `kind: cluster_auth_preference` (v2): the cluster-wide MFA settings.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::common::{v2, Metadata};
use crate::policy::require_mfa::RequireMfa;

/// The cluster's authentication preference (`tctl get cap`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPreference {
    /// `spec.require_session_mfa`.
    pub require_session_mfa: RequireMfa,
    /// `spec.second_factor` (`off`, `otp`, `webauthn`, `on`, `optional`); empty
    /// when absent.
    pub second_factor: String,
    /// `spec.second_factors` (Teleport 17+), as written.
    pub second_factors: Vec<String>,
    /// `spec.webauthn.rp_id`.
    pub webauthn_rp_id: Option<String>,
    /// `spec.u2f.app_id`: the rpId legacy U2F devices sign for.
    pub u2f_app_id: Option<String>,
    /// `spec.locking_mode` (`best_effort` when absent, as in Teleport).
    pub locking_mode: String,
    /// `spec.device_trust.mode` as written (empty when absent). Only
    /// Teleport Enterprise accepts a mode other than `off`, so a bundle
    /// that sets `required` comes from a cluster that enforces it on every
    /// SSH login (`dtauthz.VerifySSHUser`).
    pub device_trust_mode: String,
    /// `spec.disconnect_expired_cert`: see `Role::disconnect_expired_cert`.
    pub disconnect_expired_cert: bool,
    /// `spec.webauthn` as written (Null when absent), e.g. for the
    /// attestation CA lists.
    pub raw_webauthn: serde_json::Value,
    /// `spec.hardware_key` as written (Null when absent).
    pub raw_hardware_key: serde_json::Value,
}

impl Default for AuthPreference {
    fn default() -> Self {
        AuthPreference {
            require_session_mfa: RequireMfa::Off,
            second_factor: String::new(),
            second_factors: Vec::new(),
            webauthn_rp_id: None,
            u2f_app_id: None,
            locking_mode: "best_effort".to_owned(),
            device_trust_mode: String::new(),
            disconnect_expired_cert: false,
            raw_webauthn: serde_json::Value::Null,
            raw_hardware_key: serde_json::Value::Null,
        }
    }
}

/// One second factor, as Teleport's `SecondFactorType` names it (its short
/// name or its protobuf enum name; cap_checks.rs refuses any other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Factor {
    Otp,
    Webauthn,
    Sso,
    Other,
}

fn factor(s: &str) -> Factor {
    match s {
        "otp" | "SECOND_FACTOR_TYPE_OTP" => Factor::Otp,
        "webauthn" | "SECOND_FACTOR_TYPE_WEBAUTHN" => Factor::Webauthn,
        "sso" | "SECOND_FACTOR_TYPE_SSO" => Factor::Sso,
        _ => Factor::Other,
    }
}

/// Teleport's `GetSecondFactors`: `list` (`second_factors`) when set, else
/// what the legacy `second_factor` stands for
/// (`secondFactorsFromLegacySecondFactor`).
fn factors_of(legacy: &str, list: &[&str]) -> Vec<Factor> {
    if !list.is_empty() {
        return list.iter().map(|s| factor(s)).collect();
    }
    match legacy {
        "on" | "optional" => vec![Factor::Otp, Factor::Webauthn],
        "otp" => vec![Factor::Otp],
        // Teleport's `CheckAndSetDefaults` turns a legacy `u2f` into
        // `webauthn` before anything reads it.
        "webauthn" | "u2f" => vec![Factor::Webauthn],
        _ => Vec::new(),
    }
}

impl AuthPreference {
    fn second_factors(&self) -> Vec<Factor> {
        let list: Vec<&str> = self.second_factors.iter().map(String::as_str).collect();
        factors_of(&self.second_factor, &list)
    }

    /// Teleport's rule for administrative actions
    /// (`AuthPreferenceV2.IsAdminActionMFAEnforced`): a second factor is
    /// enforced (some are allowed and `second_factor` is not `optional`)
    /// and OTP is not one of them (OTP cannot serve admin MFA). So
    /// `webauthn`, `[webauthn]`, `[webauthn, sso]` and `[sso]` enforce it;
    /// `on`, `optional`, `otp`, `off` and any list with OTP do not.
    pub fn admin_actions_require_mfa(&self) -> bool {
        let factors = self.second_factors();
        let enforced = !factors.is_empty() && (self.second_factor != "optional");
        enforced && !factors.contains(&Factor::Otp)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CapDoc {
    #[serde(rename = "version", deserialize_with = "v2")]
    _version: String,
    #[serde(rename = "metadata")]
    _metadata: Metadata,
    #[serde(default, deserialize_with = "checked_spec")]
    spec: Option<RawCapSpec>,
}

/// `spec`, refused when Teleport's `CheckAndSetDefaults` would refuse it
/// (cap_checks.rs).
fn checked_spec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RawCapSpec>, D::Error> {
    let spec = Option::<RawCapSpec>::deserialize(d)?;
    match spec.as_ref().and_then(checks::refusal) {
        Some(why) => Err(de::Error::custom(format!(
            "{why} (Teleport refuses this cluster_auth_preference)"
        ))),
        None => Ok(spec),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RawCapSpec {
    /// `spec.type`: `local`, `oidc`, `saml` or `github`.
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    allow_local_auth: Option<serde_json::Value>,
    #[serde(default)]
    allow_passwordless: Option<serde_json::Value>,
    #[serde(default)]
    allow_headless: Option<serde_json::Value>,
    #[serde(default)]
    connector_name: Option<String>,
    #[serde(default)]
    require_session_mfa: RequireMfa,
    #[serde(default)]
    second_factor: Option<SecondFactor>,
    #[serde(default)]
    second_factors: Option<Vec<SecondFactor>>,
    #[serde(default)]
    webauthn: Option<serde_json::Value>,
    #[serde(default)]
    hardware_key: Option<serde_json::Value>,
    #[serde(default)]
    u2f: Option<RawU2fSettings>,
    #[serde(default, deserialize_with = "locking_mode")]
    locking_mode: Option<String>,
    #[serde(default)]
    device_trust: Option<RawDeviceTrust>,
    #[serde(default, deserialize_with = "super::common::lenient_bool")]
    disconnect_expired_cert: bool,
}

/// `spec.locking_mode`, as Teleport's `AuthPreferenceV2.CheckAndSetDefaults`
/// accepts it: empty, `best_effort` or `strict`; anything else refuses the
/// cap (such a cap never exists in a cluster).
fn locking_mode<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let mode = Option::<String>::deserialize(d)?;
    match mode.as_deref() {
        Some(other) if !super::common::is_locking_mode(other) => Err(serde::de::Error::custom(
            format!("locking mode {other:?} is not supported (expected best_effort or strict)"),
        )),
        _ => Ok(mode),
    }
}

/// `spec.device_trust`: only the mode is read.
#[derive(Debug, Default, Deserialize)]
struct RawDeviceTrust {
    #[serde(default)]
    mode: Option<String>,
}

/// `spec.u2f`: the app id, and the device attestation CAs.
#[derive(Debug, Default, Deserialize)]
struct RawU2fSettings {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    device_attestation_cas: Option<Vec<String>>,
}

/// Teleport's `Webauthn.CheckAndSetDefaults`: U2F's device attestation CAs
/// become WebAuthn's allowed CAs when the webauthn block lists neither
/// allowed nor denied CAs (`tctl get cap` prints the result; a hand-written
/// cap needs this).
fn with_u2f_attestation_cas(
    mut webauthn: serde_json::Value,
    u2f_cas: Vec<String>,
) -> serde_json::Value {
    let listed = |field: &str| {
        webauthn
            .get(field)
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty())
    };
    if u2f_cas.is_empty() || listed("attestation_allowed_cas") || listed("attestation_denied_cas") {
        return webauthn;
    }
    if !webauthn.is_object() {
        webauthn = serde_json::Value::Object(serde_json::Map::new());
    }
    if let Some(map) = webauthn.as_object_mut() {
        map.insert("attestation_allowed_cas".into(), u2f_cas.into());
    }
    webauthn
}

/// A second factor name: a string; `true`/`false` (YAML `on`/`off` read by
/// older parsers) as `on`/`off`; protobuf enum numbers as their names.
#[derive(Debug)]
struct SecondFactor(String);

impl<'de> Deserialize<'de> for SecondFactor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SecondFactor;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a second factor name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecondFactor, E> {
                Ok(SecondFactor(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SecondFactor, E> {
                Ok(SecondFactor(if v { "on" } else { "off" }.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SecondFactor, E> {
                let name = match v {
                    0 => "SECOND_FACTOR_TYPE_UNSPECIFIED",
                    1 => "SECOND_FACTOR_TYPE_OTP",
                    2 => "SECOND_FACTOR_TYPE_WEBAUTHN",
                    3 => "SECOND_FACTOR_TYPE_SSO",
                    _ => return Err(E::custom(format!("unknown second factor {v}"))),
                };
                Ok(SecondFactor(name.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SecondFactor, E> {
                match u64::try_from(v) {
                    Ok(u) => self.visit_u64(u),
                    Err(_) => Err(E::custom(format!("unknown second factor {v}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Teleport's `Webauthn.CheckAndSetDefaults` without an `rp_id`: the U2F
/// app id's host, its port dropped (`https://tele.example.com:3080` gives
/// `tele.example.com`), or the app id itself when it is no URL
/// (`example.com`); `None` when neither (Teleport refuses such a cap).
fn rp_id_from_app_id(app_id: &str) -> Option<String> {
    // Go's url.Parse reads `//host/path` as a URL without a scheme: its
    // host is the authority.
    let authority_first = app_id.strip_prefix("//");
    if let Some(rest) = app_id.split_once("://").map(|(_, r)| r).or(authority_first) {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        let host = host.split(':').next().unwrap_or_default();
        return (!host.is_empty()).then(|| host.to_owned());
    }
    let url_like = app_id.contains([':', '?', '#']);
    (!url_like).then(|| app_id.to_owned())
}

impl CapDoc {
    pub(crate) fn into_cap(self) -> AuthPreference {
        let mut cap = self.read_cap();
        let webauthn_allowed = cap.second_factors().contains(&Factor::Webauthn);
        // A cap that allows WebAuthn with U2F set but no rp_id takes the
        // app id's host (Teleport's `AuthPreferenceV2.CheckAndSetDefaults`).
        if cap.webauthn_rp_id.is_none() && webauthn_allowed {
            cap.webauthn_rp_id = cap.u2f_app_id.as_deref().and_then(rp_id_from_app_id);
        }
        // Where WebAuthn is not a second factor of the cluster (`otp`,
        // `off`, or no second factor at all, which Teleport makes `otp`),
        // Teleport issues no WebAuthn challenge (`mfaAuthChallenge`:
        // `IsSecondFactorWebauthnAllowed`), so its WebAuthn and U2F devices
        // answer nothing: without an rp_id here, neither do they.
        if !webauthn_allowed {
            cap.webauthn_rp_id = None;
        }
        cap
    }

    fn read_cap(self) -> AuthPreference {
        let spec = self.spec.unwrap_or_default();
        let (u2f_app_id, u2f_cas) = spec
            .u2f
            .map(|u| (u.app_id, u.device_attestation_cas.unwrap_or_default()))
            .unwrap_or_default();
        let webauthn =
            with_u2f_attestation_cas(spec.webauthn.unwrap_or(serde_json::Value::Null), u2f_cas);
        let webauthn_rp_id = webauthn
            .get("rp_id")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        AuthPreference {
            require_session_mfa: spec.require_session_mfa,
            second_factor: spec.second_factor.map(|s| s.0).unwrap_or_default(),
            second_factors: spec
                .second_factors
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.0)
                .collect(),
            webauthn_rp_id,
            u2f_app_id: u2f_app_id.filter(|a| !a.trim().is_empty()),
            locking_mode: spec
                .locking_mode
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "best_effort".to_owned()),
            device_trust_mode: spec.device_trust.and_then(|d| d.mode).unwrap_or_default(),
            disconnect_expired_cert: spec.disconnect_expired_cert,
            raw_webauthn: webauthn,
            raw_hardware_key: spec.hardware_key.unwrap_or(serde_json::Value::Null),
        }
    }
}

#[path = "cap_checks.rs"]
mod checks;

#[cfg(test)]
#[path = "cap_tests.rs"]
mod tests;
